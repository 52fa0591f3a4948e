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
import { jid, scenario } from './support/scenario.js';

let sim: Simulator;
let gw: Gateway;
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
  ],
  instances: [{ id: 'shop', phone: OWNER }],
});
before(async () => {
  ({ sim, gw } = await s.start());
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

test('human takeover: after the phone or an API send writes in a chat the bot is silent there, and a waiting reply is dropped', async () => {
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

  // Same after a send through the API.
  const sent = await gw.request('/api/instance/shop/messages/chat', { method: 'POST', json: { to: KEREM, body: 'Temsilciniz Kerem Bey' } });
  assert.ok([200, 202].includes(sent.status), String(sent.status));
  const afterApi = await write(KEREM, 'yardım');
  assert.equal(await outcomeOf(afterApi), 'takeover');
  assert.equal(repliesTo(KEREM).filter((m) => textOf(m) === 'bot yardımı').length, 0);

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
