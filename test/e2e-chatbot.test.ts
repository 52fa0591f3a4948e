// The chatbot through the gateway, on real Baileys against the simulator: rules by match type and
// priority, case and Turkish letters, placeholders, delays on durable timers, one reply per message,
// groups and own messages ignored, the loop cap, human takeover, a hostile regex, and rule changes
// reaching the worker at once, from any API process.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, Connection } from '@temporalio/client';
import { Simulator } from '../simulator/simulator.js';
import { sendFromOwnPhone, sendFromPhone } from '../simulator/messages.js';
import { eventually, type Gateway } from './support/gateway.js';
import type { Receiver } from './support/receiver.js';
import { jid, scenario } from './support/scenario.js';

let sim: Simulator;
let gw: Gateway;
let receiver: Receiver;
const OWNER = '905553400001';
// A customer per scenario: the loop cap and the takeover pause are per chat.
const CEM = '905553400002';
const DENIZ = '905553400003';
const EMRE = '905553400004';
const FERDI = '905553400005';
const GUL = '905553400006';
const HAKAN = '905553400007';
const IREM = '905553400008';
const JALE = '905553400009';
const KEREM = '905553400010';
const LALE = '905553400011';
const MERT = '905553400012';
const NAZ = '905553400013';
const OYA = '905553400014';

const s = scenario({
  name: 'e2e_chatbot',
  users: [
    [CEM, 'Cem'],
    [DENIZ, 'Deniz'],
    [EMRE, 'Emre'],
    [FERDI, 'Ferdi'],
    [GUL, 'Gül'],
    [HAKAN, 'Hakan'],
    [IREM, 'İrem'],
    [JALE, 'Jale'],
    [KEREM, 'Kerem'],
    [LALE, 'Lale'],
    [MERT, 'Mert'],
    [NAZ, 'Naz'],
    [OYA, 'Oya'],
  ],
  instances: [{ id: 'shop', phone: OWNER }],
  // Pauses are announced as webhook events.
  receiver: true,
});
before(async () => {
  ({ sim, gw, receiver } = await s.start());
  // Tests send a chat more than the default five answered messages a minute; the cap has its own test.
  await settings({ chatbotRepliesPerMinute: 60 });
});
after(() => s.stop());

const { call } = s;
const addRule = async (rule: Record<string, unknown>) => {
  const res = await call<{ success: boolean; id: number; error?: string }>('/chatbot/rules', { method: 'POST', json: rule });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.id;
};
const settings = async (json: Record<string, unknown>) => assert.equal((await call('/settings', { method: 'POST', json })).status, 200);
const textOf = (m: { message: { conversation?: string | null; extendedTextMessage?: { text?: string | null } | null } }) =>
  m.message.conversation ?? m.message.extendedTextMessage?.text ?? '';
/** What the gateway sent to `phone` (not the copies to the account's own phone). */
const repliesTo = (phone: string) => sim.received.filter((m) => m.to === phone && !m.ownCopy && m.from === OWNER);
const write = (phone: string, text: string, id?: string) =>
  sendFromPhone(sim, sim.user(phone), sim.user(OWNER), { conversation: text }, { id });
/** The reply at the customer's phone to the `n`th message the bot answers in that chat (counting from 1). */
const nthReply = (phone: string, n: number, what = `reply ${n} to ${phone}`) =>
  eventually(async () => repliesTo(phone)[n - 1], 20_000, what).then(textOf);
/** The bot's replies stored for an incoming message. */
const storedReplies = (incomingId: string) => gw.db('messages').where({ instance_id: 'shop', reply_to: incomingId, source: 'chatbot' });
/** How the bot's reply to an incoming message ended (its workflow's result), once it has. */
const outcomeOf = async (incomingId: string): Promise<string> => {
  const connection = await Connection.connect({ address: gw.env.TEMPORAL_ADDRESS! });
  try {
    const handle = new Client({ connection, namespace: gw.env.TEMPORAL_NAMESPACE! }).workflow.getHandle(`chatbot-shop-${incomingId}`);
    // The message may still be on its way to the worker.
    await eventually(() => handle.describe().then(() => true), 20_000, `the reply workflow for ${incomingId}`);
    return await handle.result();
  } finally {
    await connection.close();
  }
};

test('rules: listed with the contract field names, created with its defaults, updated by id, deleted; the switch toggles', async () => {
  const empty = await call('/chatbot/rules');
  assert.deepEqual(empty.body, { rules: [], enabled: true });

  const id = await addRule({ trigger_text: 'saat', response: 'Açığız' });
  const listed = await call<{ rules: any[]; enabled: boolean }>('/chatbot/rules');
  assert.deepEqual(listed.body.rules, [
    { id, match_type: 'exact', trigger_text: 'saat', response: 'Açığız', delay: 1, enabled: 1, priority: 0 },
  ]);

  // An update changes what is given and keeps the rest.
  const updated = await call<{ rule: any }>('/chatbot/rules', {
    method: 'POST',
    json: { id, response: 'Açığız: 09-18', enabled: false, priority: '3' },
  });
  assert.equal(updated.status, 200);
  assert.deepEqual(updated.body.rule, {
    id,
    match_type: 'exact',
    trigger_text: 'saat',
    response: 'Açığız: 09-18',
    delay: 1,
    enabled: 0,
    priority: 3,
  });
  const unknown = await call('/chatbot/rules', { method: 'POST', json: { id: 999_999, trigger_text: 'x', response: 'y' } });
  assert.equal(unknown.status, 404);
  assert.match(unknown.body.error, /999999 not found/);

  assert.deepEqual((await call(`/chatbot/rules/${id}`, { method: 'DELETE' })).body, { success: true });
  assert.equal((await call(`/chatbot/rules/${id}`, { method: 'DELETE' })).status, 404);
  assert.deepEqual((await call('/chatbot/rules')).body.rules, []);

  assert.deepEqual((await call('/chatbot/toggle', { method: 'POST', json: { enabled: false } })).body, { success: true, enabled: false });
  assert.equal((await call('/chatbot/rules')).body.enabled, false);
  // Without a value, a toggle flips the switch.
  assert.deepEqual((await call('/chatbot/toggle', { method: 'POST', json: {} })).body, { success: true, enabled: true });
  assert.equal((await call('/settings')).body.chatbotEnabled, 'true');
});

test('bad rules are refused with a 400 naming the field', async () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ response: 'x' }, /^trigger_text is required$/],
    [{ trigger_text: 'x' }, /^response is required$/],
    [{ trigger_text: '  ', response: 'x' }, /^trigger_text: must not be empty/],
    [{ trigger_text: 'x', response: 'y', match_type: 'fuzzy' }, /^match_type: must be one of exact, contains, startswith, regex/],
    [{ trigger_text: 'x', response: 'y', delay: -1 }, /^delay: must be at least 0/],
    [{ trigger_text: 'x', response: 'y', delay: 3_601 }, /^delay: must be at most 3600/],
    [{ trigger_text: 'x', response: 'y', delay: 'soon' }, /^delay: must be a number of seconds/],
    [{ trigger_text: 'x', response: 'y', priority: 1.5 }, /^priority: must be a whole number/],
    [{ trigger_text: 'x', response: 'y', enabled: 'maybe' }, /^enabled: must be true or false/],
    [{ trigger_text: '(?=fiyat)', response: 'y', match_type: 'regex' }, /^trigger_text: not a regular expression .*RE2.*\(\?=/],
    [{ trigger_text: '(a)\\1', response: 'y', match_type: 'regex' }, /^trigger_text: not a regular expression .*\\1/],
    [{ trigger_text: '[a-', response: 'y', match_type: 'regex' }, /^trigger_text: not a regular expression .*missing \]/],
    [{ trigger_text: 'a'.repeat(501), response: 'y', match_type: 'regex' }, /^trigger_text: a regex may have at most 500 characters/],
  ];
  for (const [rule, error] of cases) {
    const res = await call('/chatbot/rules', { method: 'POST', json: rule });
    assert.equal(res.status, 400, JSON.stringify(rule));
    assert.match(res.body.error, error, JSON.stringify(rule));
  }
  // Turning an existing rule into a bad regex is refused too, and leaves it as it was.
  const id = await addRule({ trigger_text: '(a)', response: 'y', enabled: false });
  const res = await call('/chatbot/rules', { method: 'POST', json: { id, match_type: 'regex', trigger_text: '(a)\\1' } });
  assert.equal(res.status, 400);
  assert.equal((await gw.db('chatbot_rules').where({ id }).first()).match_type, 'exact');
  await call(`/chatbot/rules/${id}`, { method: 'DELETE' });
  assert.deepEqual((await call('/chatbot/rules')).body.rules, []);
});

test('each match type answers, the lowest priority wins (ties by id), and case and Turkish letters do not matter', async () => {
  await addRule({ match_type: 'contains', trigger_text: 'fiyat', response: 'fiyat listesi', delay: 0, priority: 5 });
  await addRule({ match_type: 'exact', trigger_text: 'Merhaba', response: 'hoş geldiniz', delay: 0 });
  await addRule({ match_type: 'startswith', trigger_text: 'sipariş', response: 'sipariş durumu', delay: 0 });
  await addRule({ match_type: 'regex', trigger_text: '^kod\\s*\\d{3}$', response: 'kod alındı', delay: 0 });
  // Both match "fiyat ve kargo": this one by its lower priority.
  await addRule({ match_type: 'contains', trigger_text: 'kargo', response: 'kargo bilgisi', delay: 0, priority: 1 });
  // Same priority, later id: "İade" goes to the first.
  await addRule({ match_type: 'contains', trigger_text: 'iade', response: 'iade birinci', delay: 0, priority: 2 });
  await addRule({ match_type: 'contains', trigger_text: 'iade', response: 'iade ikinci', delay: 0, priority: 2 });

  const asked: Array<[string, string]> = [
    ['FİYAT nedir?', 'fiyat listesi'],
    ['FIYAT', 'fiyat listesi'],
    ['  merhaba  ', 'hoş geldiniz'],
    ['SİPARİŞ 1234 nerede', 'sipariş durumu'],
    ['siparis verdim', 'sipariş durumu'],
    ['KOD 123', 'kod alındı'],
    ['fiyat ve kargo', 'kargo bilgisi'],
    ['İade etmek istiyorum', 'iade birinci'],
  ];
  for (const [i, [text, reply]] of asked.entries()) {
    await write(CEM, text);
    assert.equal(await nthReply(CEM, i + 1), reply, text);
  }
  // No rule matches these: an exact rule wants the whole text, a regex its anchors.
  const unanswered = [await write(CEM, 'merhaba dostum'), await write(CEM, 'kod 12345'), await write(CEM, 'bir sipariş vardı')];
  // Answered after them: when its reply is in, theirs would be too.
  await write(CEM, 'merhaba');
  assert.equal(await nthReply(CEM, asked.length + 1), 'hoş geldiniz');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(repliesTo(CEM).length, asked.length + 1);
  for (const id of unanswered) assert.equal((await storedReplies(id)).length, 0);
});

test('placeholders: {name} is the saved or push name, {phone} the number, {time} the time in the instance time zone', async () => {
  await addRule({ match_type: 'exact', trigger_text: 'kimim', response: 'Merhaba {name}, numaranız {phone}, saat {time}', delay: 0 });
  const clock = (timeZone: string, at: number) =>
    new Intl.DateTimeFormat('tr-TR', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(at);

  let before = Date.now();
  await write(DENIZ, 'kimim');
  let reply = await nthReply(DENIZ, 1);
  let match = /^Merhaba Deniz, numaranız 905553400003, saat (\d\d:\d\d)$/.exec(reply);
  assert.ok(match, reply);
  assert.ok([clock('Europe/Istanbul', before), clock('Europe/Istanbul', Date.now())].includes(match[1]!), `${match[1]} is Istanbul time`);

  await settings({ timezone: 'America/New_York' });
  await gw
    .db('contacts')
    .where({ instance_id: 'shop', id: jid(DENIZ) })
    .update({ name: 'Deniz Hanım' });
  before = Date.now();
  await write(DENIZ, 'kimim');
  reply = await nthReply(DENIZ, 2);
  match = /^Merhaba Deniz Hanım, numaranız 905553400003, saat (\d\d:\d\d)$/.exec(reply);
  assert.ok(match, reply);
  assert.ok([clock('America/New_York', before), clock('America/New_York', Date.now())].includes(match[1]!), `${match[1]} is New York time`);
  await settings({ timezone: 'Europe/Istanbul' });

  const bad = await call('/settings', { method: 'POST', json: { timezone: 'Mars/Olympus' } });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error, /^timezone: must be an IANA time zone/);
});

test('the reply waits its delay on a durable timer, goes out once even for a message delivered twice, and is in the history', async () => {
  const ruleId = await addRule({
    match_type: 'exact',
    trigger_text: 'randevu',
    response: 'Randevu için 2 saniye sonra yazıyorum',
    delay: 2,
  });
  const sentAt = Date.now();
  const id = await write(EMRE, 'randevu');
  // WhatsApp delivers it again while the reply waits.
  await new Promise((r) => setTimeout(r, 300));
  await write(EMRE, 'randevu', id);
  assert.equal(await nthReply(EMRE, 1), 'Randevu için 2 saniye sonra yazıyorum');
  const waited = repliesTo(EMRE)[0]!.receivedAt - sentAt;
  assert.ok(waited >= 2_000, `the reply came ${waited} ms after the message`);
  assert.equal(await outcomeOf(id), 'queued');
  await new Promise((r) => setTimeout(r, 3_000));
  assert.equal(repliesTo(EMRE).length, 1, 'one reply');
  assert.equal((await storedReplies(id)).length, 1);

  const history = await call<{ messages: any[] }>(`/messages?chatId=${EMRE}`);
  const reply = history.body.messages.find((m) => m.replyTo === id);
  assert.ok(reply, 'the reply is in the history');
  assert.equal(reply.source, 'chatbot');
  assert.equal(reply.ruleId, ruleId);
  assert.equal(reply.fromMe, true);
  assert.equal(reply.body, 'Randevu için 2 saniye sonra yazıyorum');
  const incoming = history.body.messages.find((m) => m.id === id);
  assert.equal(incoming.source, undefined, 'an incoming message has no source');
});

test('groups, the account’s own messages and messages from minutes ago get no reply', async () => {
  await addRule({ match_type: 'exact', trigger_text: 'bilgi', response: 'bilgi verdim', delay: 0 });
  const group = sim.createGroup({ subject: 'Müşteriler', owner: FERDI, participants: [OWNER, GUL] });
  const inGroup = await sim.sendGroupText(FERDI, group.id, 'bilgi');
  const own = await sendFromOwnPhone(sim, sim.user(OWNER), sim.user(GUL), { conversation: 'bilgi' });
  // Written ten minutes ago, and delivered only now (the instance was offline): too late for a bot's answer.
  const stale = await sendFromPhone(
    sim,
    sim.user(FERDI),
    sim.user(OWNER),
    { conversation: 'bilgi' },
    { attrs: { t: String(Math.floor(Date.now() / 1000) - 600) } },
  );
  await eventually(
    async () => (await gw.db('messages').where({ instance_id: 'shop', id: own }).first())?.source === 'phone',
    20_000,
    'own message stored',
  );
  await eventually(async () => gw.db('messages').where({ instance_id: 'shop', id: inGroup }).first(), 20_000, 'group message stored');
  // Ferdi asks 1:1: answered, after the two above.
  await write(FERDI, 'bilgi');
  assert.equal(await nthReply(FERDI, 1), 'bilgi verdim');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await storedReplies(inGroup)).length, 0, 'no reply in the group');
  assert.equal((await storedReplies(own)).length, 0, 'no reply to our own message');
  assert.equal((await storedReplies(stale)).length, 0, 'no reply to a message from ten minutes ago');
  assert.ok(await gw.db('messages').where({ instance_id: 'shop', id: stale }).first(), 'the old message is stored');
  assert.equal(sim.received.filter((m) => m.group === group.id && textOf(m) === 'bilgi verdim').length, 0);
});

test('at most chatbotRepliesPerMinute replies per chat per minute: two bots answering each other stop there', async () => {
  await settings({ chatbotRepliesPerMinute: 3 });
  await addRule({ match_type: 'contains', trigger_text: 'bot mesajı', response: 'bot cevabı', delay: 0 });
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push(await write(HAKAN, `bot mesajı ${i}`));
  const outcomes = await Promise.all(ids.map(outcomeOf));
  assert.deepEqual(outcomes.filter((o) => o === 'queued').length, 3, outcomes.join());
  assert.deepEqual(outcomes.filter((o) => o === 'limit').length, 2, outcomes.join());
  await nthReply(HAKAN, 3);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(repliesTo(HAKAN).length, 3);
  // Another chat has its own count.
  await write(IREM, 'bot mesajı');
  assert.equal(await nthReply(IREM, 1), 'bot cevabı');
  await settings({ chatbotRepliesPerMinute: 60 });
});

test('human takeover: after a person writes in a chat (the phone, or a send marked byPerson) the bot is silent there, and a waiting reply is dropped; automated API sends leave it answering', async () => {
  await addRule({ match_type: 'exact', trigger_text: 'yardım', response: 'bot yardımı', delay: 0 });
  await addRule({ match_type: 'exact', trigger_text: 'beklerim', response: 'bekleyen bot cevabı', delay: 3 });

  // The owner answered Jale by hand from the phone a moment ago: the bot keeps out of that chat.
  await sendFromOwnPhone(sim, sim.user(OWNER), sim.user(JALE), { conversation: 'Merhaba Jale, ben bakıyorum' });
  await eventually(
    async () =>
      gw
        .db('messages')
        .where({ instance_id: 'shop', chat_id: jid(JALE), source: 'phone' })
        .first(),
    20_000,
    'phone message',
  );
  const afterPhone = await write(JALE, 'yardım');
  assert.equal(await outcomeOf(afterPhone), 'takeover');

  // The shop's system sends an order update through the API: automated, the bot keeps answering Kerem.
  const update = await gw.request('/api/instance/shop/messages/chat', { method: 'POST', json: { to: KEREM, body: 'Siparişiniz kargoda' } });
  assert.ok([200, 202].includes(update.status), String(update.status));
  const afterUpdate = await write(KEREM, 'yardım');
  assert.equal(await outcomeOf(afterUpdate), 'queued');
  assert.equal(await nthReply(KEREM, 2), 'bot yardımı', 'the reply after the order update');
  // A send marked as a person's (staff answering from the shop's own system) pauses it.
  const sent = await gw.request('/api/instance/shop/messages/chat', {
    method: 'POST',
    json: { to: KEREM, body: 'Temsilciniz Kerem Bey', byPerson: true },
  });
  assert.ok([200, 202].includes(sent.status), String(sent.status));
  const personal = (await sent.json()) as { id: string };
  assert.equal((await gw.db('messages').where({ instance_id: 'shop', id: personal.id }).first()).source, 'person');
  const afterPerson = await write(KEREM, 'yardım');
  assert.equal(await outcomeOf(afterPerson), 'takeover');
  assert.equal(repliesTo(KEREM).filter((m) => textOf(m) === 'bot yardımı').length, 1);
  // byPerson is a yes or no.
  const wrong = await gw.request('/api/instance/shop/messages/chat', { method: 'POST', json: { to: KEREM, body: 'x', byPerson: 'yes' } });
  assert.equal(wrong.status, 400);
  assert.match(((await wrong.json()) as { error: string }).error, /^byPerson: must be true or false$/);

  // A reply waiting on its timer is dropped when a person answers meanwhile.
  const waiting = await write(LALE, 'beklerim');
  await eventually(async () => gw.db('messages').where({ instance_id: 'shop', id: waiting }).first(), 20_000, 'stored');
  await sendFromOwnPhone(sim, sim.user(OWNER), sim.user(LALE), { conversation: 'Ben hallediyorum' });
  assert.equal(await outcomeOf(waiting), 'takeover');
  assert.equal(repliesTo(LALE).filter((m) => textOf(m) === 'bekleyen bot cevabı').length, 0);
  // Where nobody answers, the same rule replies after its delay.
  await write(HAKAN, 'beklerim');
  assert.equal(await nthReply(HAKAN, 4), 'bekleyen bot cevabı');

  // With the pause at 0, only an answer after the message counts: Jale gets the bot again.
  await settings({ chatbotPauseMinutes: 0 });
  await write(JALE, 'yardım');
  assert.equal(await nthReply(JALE, 1), 'bot yardımı');
  await settings({ chatbotPauseMinutes: 30 });
});

test('a pause is visible (chats, pauses, a chatbot_paused event once when it starts) and lifted by resume; campaigns and schedules never pause', async () => {
  await addRule({ match_type: 'exact', trigger_text: 'durum', response: 'durum botu', delay: 0 });
  const pausedEvents = (chatId: string) => receiver.byEvent('chatbot_paused').filter((r) => r.json.data.chatId === chatId);

  // Mert gets a campaign message and a scheduled one: nothing pauses, the bot answers.
  const bulk = await call('/bulk', { method: 'POST', json: { recipients: [{ id: MERT }], body: 'Kampanya: indirim', delay: 0 } });
  assert.equal(bulk.status, 200, JSON.stringify(bulk.body));
  const scheduled = await call('/scheduled', {
    method: 'POST',
    json: { recipient: MERT, body: 'Hatırlatma', scheduledAt: new Date(Date.now() + 1_000).toISOString() },
  });
  assert.equal(scheduled.status, 200, JSON.stringify(scheduled.body));
  await eventually(async () => repliesTo(MERT).length >= 2 || undefined, 30_000, 'the campaign and the schedule at Mert');
  assert.equal(await outcomeOf(await write(MERT, 'durum')), 'queued');

  // The owner writes to Naz from the phone: a pause starts, announced once.
  const before = Math.floor(Date.now() / 1000);
  const own = await sendFromOwnPhone(sim, sim.user(OWNER), sim.user(NAZ), { conversation: 'Naz Hanım, ben ilgileniyorum' });
  const [event] = await eventually(
    async () => (pausedEvents(jid(NAZ)).length ? pausedEvents(jid(NAZ)) : undefined),
    20_000,
    'chatbot_paused',
  );
  assert.equal(event!.json.data.because, 'phone');
  assert.equal(event!.json.data.messageId, own);
  const until = Date.parse(event!.json.data.pausedUntil as string);
  assert.ok(Math.abs(until / 1000 - (before + 30 * 60)) < 60, `paused until ${event!.json.data.pausedUntil}`);
  // The chat list and the pauses say the same.
  const chats = await call<Array<{ id: string; botPausedUntil: string | null }>>('/chats');
  assert.equal(chats.status, 200, JSON.stringify(chats.body));
  assert.equal(chats.body.find((c) => c.id === jid(NAZ))?.botPausedUntil, event!.json.data.pausedUntil);
  assert.equal(chats.body.find((c) => c.id === jid(MERT))?.botPausedUntil, null, 'automated sends pause nothing');
  const pauses = await call<{ pauses: Array<Record<string, string>>; pauseMinutes: number }>('/chatbot/pauses');
  assert.deepEqual(
    pauses.body.pauses.find((p) => p.chatId === jid(NAZ)),
    {
      chatId: jid(NAZ),
      pausedUntil: event!.json.data.pausedUntil,
      because: 'phone',
      since: pauses.body.pauses.find((p) => p.chatId === jid(NAZ))!.since,
      messageId: own,
    },
  );
  assert.equal(pauses.body.pauseMinutes, 30);
  assert.equal(await outcomeOf(await write(NAZ, 'durum')), 'takeover');
  // A second message of the owner extends the pause without a second event.
  await sendFromOwnPhone(sim, sim.user(OWNER), sim.user(NAZ), { conversation: 'Bir dakika lütfen' });
  await eventually(
    async () => (await gw.db('messages').where({ instance_id: 'shop', chat_id: jid(NAZ), source: 'phone' })).length === 2 || undefined,
    20_000,
    'second phone message',
  );
  // A marked send to Oya starts its own pause, because "person".
  await gw.request('/api/instance/shop/messages/chat', { method: 'POST', json: { to: OYA, body: 'Merhaba Oya', byPerson: true } });
  const [oya] = await eventually(async () => (pausedEvents(jid(OYA)).length ? pausedEvents(jid(OYA)) : undefined), 20_000, 'Oya paused');
  assert.equal(oya!.json.data.because, 'person');
  assert.equal(pausedEvents(jid(NAZ)).length, 1, 'one event per pause');

  // Resumed: the bot answers Naz again at once, and the pause is gone from both lists.
  const resumed = await call<{ success: boolean; resumed: boolean }>('/chatbot/resume', { method: 'POST', json: { chatId: NAZ } });
  assert.deepEqual(resumed.body, { success: true, resumed: true });
  assert.equal(
    (await call<Array<{ id: string; botPausedUntil: string | null }>>('/chats')).body.find((c) => c.id === jid(NAZ))?.botPausedUntil,
    null,
  );
  assert.equal(
    (await call<{ pauses: Array<{ chatId: string }> }>('/chatbot/pauses')).body.pauses.some((p) => p.chatId === jid(NAZ)),
    false,
  );
  assert.equal(await outcomeOf(await write(NAZ, 'durum')), 'queued');
  assert.equal(await nthReply(NAZ, 1), 'durum botu');
  // Resuming where nothing is paused says so; a bad chat id is a 400.
  assert.deepEqual((await call('/chatbot/resume', { method: 'POST', json: { chatId: NAZ } })).body, { success: true, resumed: false });
  assert.equal((await call('/chatbot/resume', { method: 'POST', json: { chatId: 'nobody' } })).status, 400);
  // A person writing again pauses it again, with a new event.
  await sendFromOwnPhone(sim, sim.user(OWNER), sim.user(NAZ), { conversation: 'Yine ben' });
  await eventually(async () => (pausedEvents(jid(NAZ)).length === 2 ? true : undefined), 20_000, 'paused again');

  // While the bot is off, nothing is paused.
  await call('/chatbot/toggle', { method: 'POST', json: { enabled: false } });
  assert.deepEqual((await call<{ pauses: unknown[] }>('/chatbot/pauses')).body.pauses, []);
  await call('/chatbot/toggle', { method: 'POST', json: { enabled: true } });
});

test('the bot never answers its own words sent back: an answer that holds its trigger cannot loop', async () => {
  await addRule({
    match_type: 'contains',
    trigger_text: 'kargo',
    response: 'Kargonuz yolda, kargo takip numaranız SMS ile gelecek',
    delay: 0,
  });
  // Oya's own pause (the marked send above) is lifted first.
  await call('/chatbot/resume', { method: 'POST', json: { chatId: OYA } });
  const asked = await write(OYA, 'kargo ne zaman');
  assert.equal(await outcomeOf(asked), 'queued');
  const answer = 'Kargonuz yolda, kargo takip numaranız SMS ile gelecek';
  await eventually(async () => repliesTo(OYA).find((m) => textOf(m) === answer), 20_000, 'the answer at Oya');
  // Oya's phone sends the answer back word for word (a bot, or an echo): no second answer.
  const echoed = await write(OYA, answer);
  assert.equal(await outcomeOf(echoed), 'echo');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(repliesTo(OYA).filter((m) => textOf(m) === answer).length, 1);
});

test('a hostile regex runs in linear time: 30,000 characters against (a+)+$ are matched and the bot stays responsive', async () => {
  const hostile = await addRule({ match_type: 'regex', trigger_text: '(a+)+$', response: 'düşman desen', delay: 0 });
  await addRule({ match_type: 'exact', trigger_text: 'sonraki', response: 'sonraki cevap', delay: 0 });
  const answered = repliesTo(IREM).length;
  const attack = await write(IREM, `${'a'.repeat(30_000)}!`);
  await write(IREM, 'sonraki');
  assert.equal(await nthReply(IREM, answered + 1), 'sonraki cevap');
  assert.equal((await storedReplies(attack)).length, 0, 'the attack does not match (it ends in "!")');
  await write(IREM, 'aaaa');
  assert.equal(await nthReply(IREM, answered + 2), 'düşman desen');
  await call(`/chatbot/rules/${hostile}`, { method: 'DELETE' });
});

test('a rule changed through another API process, or the bot switched off, takes effect on the very next message', async () => {
  const other = await gw.startApi();
  const viaOther = (path: string, json: unknown) =>
    fetch(`${other.baseUrl}/api/instance/shop${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(json),
    });
  const id = await addRule({ match_type: 'exact', trigger_text: 'kampanya', response: 'eski kampanya', delay: 0 });
  const before = repliesTo(CEM).length + 1;
  await write(CEM, 'kampanya');
  assert.equal(await nthReply(CEM, before), 'eski kampanya');

  assert.equal((await viaOther('/chatbot/rules', { id, response: 'yeni kampanya' })).status, 200);
  await write(CEM, 'kampanya');
  assert.equal(await nthReply(CEM, before + 1), 'yeni kampanya');

  assert.equal((await viaOther('/chatbot/toggle', { enabled: false })).status, 200);
  const off = await write(CEM, 'kampanya');
  await eventually(async () => gw.db('messages').where({ instance_id: 'shop', id: off }).first(), 20_000, 'stored');
  assert.equal((await viaOther('/chatbot/toggle', { enabled: true })).status, 200);
  await write(CEM, 'kampanya');
  assert.equal(await nthReply(CEM, before + 2), 'yeni kampanya');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(repliesTo(CEM).length, before + 2, 'nothing while the bot was off');
  assert.equal((await storedReplies(off)).length, 0);
});
