// Conversation flows through the gateway, on real Baileys against the simulator: a keyword starts a
// run that asks (a wrong answer asked again), calls the shop's system, branches, sends, waits and
// follows up; the contact's messages reach the run before any chatbot rule; the API starts, lists,
// shows and cancels runs (409 while one runs, `replace`); timeouts, a wait the contact ends, an HTTP
// failure, media, a handoff that pauses the bot, a person taking over, opting out, and a flow edited while
// a run waits.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, Connection } from '@temporalio/client';
import { Simulator } from '../simulator/simulator.js';
import { sendFromOwnPhone, sendFromPhone } from '../simulator/messages.js';
import { eventually, type Gateway } from './support/gateway.js';
import { startReceiver, type Receiver } from './support/receiver.js';
import { solidPng } from './support/media.js';
import { jid, scenario } from './support/scenario.js';

let sim: Simulator;
let gw: Gateway;
let receiver: Receiver;
let shop: Receiver;
const OWNER = '905553500001';
const AYSE = '905553500002';
const BORA = '905553500003';
const CEREN = '905553500004';
const DEMIR = '905553500005';
const ELIF = '905553500006';
const FATIH = '905553500007';
const GAMZE = '905553500008';
const HALUK = '905553500009';
const IPEK = '905553500010';
const KAAN = '905553500011';

const s = scenario({
  name: 'e2e_flows',
  users: [
    [AYSE, 'Ayşe'],
    [BORA, 'Bora'],
    [CEREN, 'Ceren'],
    [DEMIR, 'Demir'],
    [ELIF, 'Elif'],
    [FATIH, 'Fatih'],
    [GAMZE, 'Gamze'],
    [HALUK, 'Haluk'],
    [IPEK, 'İpek'],
    [KAAN, 'Kaan'],
  ],
  instances: [{ id: 'shop', phone: OWNER }],
  receiver: true,
  mediaCa: true,
  // The shop's system and its media are on this machine.
  env: { FLOW_HTTP_PRIVATE_URLS: 'allow', MEDIA_ALLOW_PRIVATE_URLS: 'true' },
});
before(async () => {
  shop = await startReceiver();
  shop.decide = (r) => {
    if (r.headers['user-agent']?.startsWith('wa-gateway-flows') !== true) return undefined;
    const order = (r.json as unknown as { order?: string }).order;
    if (order === '99999') return 500;
    const status = order === '12345' ? 'shipped' : 'preparing';
    return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status, tracking: `TR${order}` }) };
  };
  ({ sim, gw, receiver } = await s.start());
});
after(async () => {
  await s.stop();
  await shop?.stop();
});

const { call } = s;
const textOf = (m: { message: { conversation?: string | null; extendedTextMessage?: { text?: string | null } | null } }) =>
  m.message.conversation ?? m.message.extendedTextMessage?.text ?? '';
/** The texts the gateway sent to `phone`, in order. */
const texts = (phone: string) => sentTo(phone);
const sentTo = (phone: string) => sim.received.filter((m) => m.to === phone && !m.ownCopy && m.from === OWNER).map(textOf);
const write = (phone: string, text: string, options?: { addressing: 'lid' }) =>
  sendFromPhone(sim, sim.user(phone), sim.user(OWNER), { conversation: text }, options);
/** Waits until `phone` has received `n` messages from the gateway; the last one. */
const nth = async (phone: string, n: number) => {
  await eventually(
    async () => sentTo(phone).length >= n || undefined,
    20_000,
    `message ${n} to ${phone} (got ${sentTo(phone).join(' | ')})`,
  );
  return sentTo(phone)[n - 1]!;
};
const createFlow = async (flow: Record<string, unknown>) => {
  const res = await call<{ id: number; version: number }>('/flows', { method: 'POST', json: { enabled: true, ...flow } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.id;
};
type Run = { runId: string; status: string; step: string | null; vars: Record<string, any>; history: Array<Record<string, string>> };
const runOf = async (runId: string) => (await call<Run>(`/flows/runs/${runId}`)).body;
/** The run once it has this status. */
const runWhen = (runId: string, status: string, ms = 20_000) =>
  eventually(
    async () => {
      const run = await runOf(runId);
      return run.status === status ? run : undefined;
    },
    ms,
    `run ${runId} ${status}`,
  );
/** The run of a chat, as the API lists it for the flow. */
const runIn = async (flowId: number, phone: string) =>
  eventually(
    async () => (await call<{ runs: Run[] }>(`/flows/${flowId}/runs`)).body.runs.find((r) => (r as any).chatId === jid(phone)),
    20_000,
    `a run for ${phone}`,
  );
const eventsOf = (event: string, runId: string) => receiver.byEvent(event).filter((r) => r.json.data.runId === runId);

const shopUrl = () => shop.url.replace('/hook', '/orders');

test('a keyword starts a run: it asks again after a wrong answer, calls the shop, branches, follows up unless the contact wrote, and ends with its variables', async () => {
  // A chatbot rule that would also match: the flow's keyword and the run come first.
  assert.equal(
    (await call('/chatbot/rules', { method: 'POST', json: { match_type: 'contains', trigger_text: 'sipariş', response: 'bot cevabı' } }))
      .status,
    200,
  );
  const flowId = await createFlow({
    name: 'Sipariş takibi',
    trigger: { type: 'keyword', match_type: 'contains', text: 'sipariş' },
    steps: [
      {
        id: 'ask',
        type: 'ask',
        text: 'Merhaba {name}, sipariş numaranız?',
        save: 'order',
        timeout: 300,
        onTimeout: 'late',
        validate: { regex: '^[0-9]{5}$', retryText: '5 haneli numarayı yazın', maxRetries: 2, onInvalid: 'human' },
      },
      {
        id: 'check',
        type: 'http',
        method: 'POST',
        url: shopUrl(),
        body: { order: '{order}', phone: '{phone}' },
        save: 'lookup',
        onError: 'human',
      },
      {
        id: 'route',
        type: 'branch',
        on: '{lookup.status}',
        cases: [{ match_type: 'exact', value: 'shipped', next: 'shipped' }],
        default: 'other',
      },
      { id: 'shipped', type: 'send', text: '{order} kargoda, takip: {lookup.tracking}', next: 'followup' },
      { id: 'followup', type: 'wait', seconds: 3, cancelOnReply: true, onReply: 'thanks', next: 'survey' },
      { id: 'survey', type: 'send', text: 'Siparişiniz ulaştı mı?', next: 'end' },
      { id: 'thanks', type: 'send', text: 'Yazdığınız için teşekkürler', next: 'end' },
      { id: 'other', type: 'send', text: 'Durum: {lookup.status}', next: 'end' },
      { id: 'late', type: 'send', text: 'Yanıt alamadık', next: 'end' },
      { id: 'human', type: 'handoff', text: 'Sizi bir temsilciye aktarıyorum.' },
    ],
  });

  await write(AYSE, 'Siparişim nerede?');
  assert.equal(await nth(AYSE, 1), 'Merhaba Ayşe, sipariş numaranız?');
  const run = await runIn(flowId, AYSE);
  assert.equal(run.status, 'waiting');
  await write(AYSE, 'bilmiyorum');
  assert.equal(await nth(AYSE, 2), '5 haneli numarayı yazın');
  await write(AYSE, '12345');
  assert.equal(await nth(AYSE, 3), '12345 kargoda, takip: TR12345');
  // The wait runs out: the follow-up goes out about 3 s later.
  assert.equal(await nth(AYSE, 4), 'Siparişiniz ulaştı mı?');
  const done = await runWhen(run.runId, 'completed');
  assert.equal(done.vars.order, '12345');
  assert.deepEqual(done.vars.lookup, { status: 'shipped', tracking: 'TR12345' });
  assert.deepEqual(
    done.history.map((h) => [h.step, h.sent ?? h.received ?? h.note]),
    [
      ['trigger', 'Siparişim nerede?'],
      ['ask', 'Merhaba Ayşe, sipariş numaranız?'],
      ['ask', 'bilmiyorum'],
      ['ask', '5 haneli numarayı yazın'],
      ['ask', '12345'],
      ['check', 'HTTP 200'],
      ['route', '"shipped" → shipped'],
      ['shipped', '12345 kargoda, takip: TR12345'],
      ['survey', 'Siparişiniz ulaştı mı?'],
    ],
  );
  // The shop was called with the filled body.
  const called = shop.received.filter((r) => r.headers['user-agent']?.startsWith('wa-gateway-flows'));
  assert.deepEqual(called.at(-1)!.json, { order: '12345', phone: AYSE });
  // The chatbot's rule never answered: every message went to the flow.
  assert.ok(!sentTo(AYSE).includes('bot cevabı'));
  await eventually(async () => eventsOf('flow_completed', run.runId)[0], 20_000, 'flow_completed');
  assert.equal(eventsOf('flow_started', run.runId)[0]!.json.data.trigger, 'keyword');
  assert.deepEqual((eventsOf('flow_completed', run.runId)[0]!.json.data.vars as any).order, '12345');
  // The messages the run sent are stored as the flow's.
  const stored = await gw.db('messages').where({ instance_id: 'shop', chat_id: jid(AYSE), from_me: true, source: 'flow' });
  assert.equal(stored.length, 4);
  // Now ended, the keyword starts a new run; a wait the contact ends goes to onReply.
  await write(AYSE, 'bir sipariş daha');
  assert.equal(await nth(AYSE, 5), 'Merhaba Ayşe, sipariş numaranız?');
  await write(AYSE, '12345');
  assert.equal(await nth(AYSE, 6), '12345 kargoda, takip: TR12345');
  await write(AYSE, 'tamam teşekkürler');
  assert.equal(await nth(AYSE, 7), 'Yazdığınız için teşekkürler');
  await new Promise((r) => setTimeout(r, 4_000));
  assert.equal(sentTo(AYSE).length, 7, 'no survey after the contact wrote');
});

test('the API starts a run with variables, refuses a second one for the chat unless replacing, lists, shows and cancels runs', async () => {
  const flowId = await createFlow({
    name: 'Kargo bildirimi',
    trigger: { type: 'api' },
    steps: [
      { id: 'tell', type: 'send', text: '{name}, {order} numaralı siparişiniz yola çıktı.' },
      {
        id: 'rate',
        type: 'ask',
        text: 'Bizi 1-5 arası puanlar mısınız?',
        save: 'score',
        choices: [{ match_type: 'regex', value: '^[1-5]$', next: 'thanks' }],
      },
      { id: 'thanks', type: 'send', text: 'Puanınız: {score}. Teşekkürler!' },
    ],
  });
  const start = (json: Record<string, unknown>) =>
    call<{ runId: string; replaced?: string; code?: string }>(`/flows/${flowId}/start`, { method: 'POST', json });
  // `name` given: the contact is not in the address book (it would be the number).
  const first = await start({ to: BORA, vars: { name: 'Bora', order: 'A-77' } });
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.equal(await nth(BORA, 1), 'Bora, A-77 numaralı siparişiniz yola çıktı.');
  assert.equal(await nth(BORA, 2), 'Bizi 1-5 arası puanlar mısınız?');
  const busy = await start({ to: BORA });
  assert.equal(busy.status, 409);
  assert.equal(busy.body.code, 'FLOW_RUN_ACTIVE');
  const second = await start({ to: BORA, vars: { name: 'Bora', order: 'B-88' }, replace: true });
  assert.equal(second.status, 200);
  assert.equal(second.body.replaced, first.body.runId);
  assert.equal((await runOf(first.body.runId)).status, 'cancelled');
  assert.equal(await nth(BORA, 3), 'Bora, B-88 numaralı siparişiniz yola çıktı.');
  assert.equal(await nth(BORA, 4), 'Bizi 1-5 arası puanlar mısınız?');
  // The answer comes addressed by the contact's LID (as WhatsApp addresses more and more chats): it is the same chat's.
  await write(BORA, '5', { addressing: 'lid' });
  assert.equal(await nth(BORA, 5), 'Puanınız: 5. Teşekkürler!');
  await runWhen(second.body.runId, 'completed');
  // The cancelled run sent nothing more.
  assert.equal(sentTo(BORA).length, 5);

  const listed = await call<{ runs: Run[]; total: number }>(`/flows/${flowId}/runs?status=cancelled`);
  assert.deepEqual(
    listed.body.runs.map((r) => r.runId),
    [first.body.runId],
  );
  assert.equal((await call<{ total: number }>(`/flows/${flowId}/runs`)).body.total, 2);
  // In Temporal, each run is a workflow found by its flow and its chat.
  const connection = await Connection.connect({ address: gw.env.TEMPORAL_ADDRESS! });
  try {
    const client = new Client({ connection, namespace: gw.env.TEMPORAL_NAMESPACE! });
    const found = await eventually(
      async () => {
        const ids: string[] = [];
        for await (const w of client.workflow.list({ query: `FlowId = ${flowId} AND ChatId = '${jid(BORA)}' AND InstanceId = 'shop'` }))
          ids.push(w.workflowId);
        return ids.length === 2 ? ids.sort() : undefined;
      },
      20_000,
      "the runs' workflows by their search attributes",
    );
    assert.deepEqual(found, [`flow-shop-${first.body.runId}`, `flow-shop-${second.body.runId}`].sort());
  } finally {
    await connection.close();
  }

  const third = await start({ to: CEREN, vars: { order: 'C-1' } });
  assert.equal(await nth(CEREN, 2), 'Bizi 1-5 arası puanlar mısınız?');
  const cancelled = await call<Run>(`/flows/runs/${third.body.runId}/cancel`, { method: 'POST' });
  assert.equal(cancelled.status, 200);
  assert.equal(cancelled.body.status, 'cancelled');
  assert.equal((await call<{ code: string }>(`/flows/runs/${third.body.runId}/cancel`, { method: 'POST' })).body.code, 'FLOW_RUN_ENDED');
  // Her answer now is no run's: nothing more is sent.
  await write(CEREN, '4');
  await new Promise((r) => setTimeout(r, 2_000));
  assert.equal(sentTo(CEREN).length, 2);
  assert.equal((await call<{ code: string }>('/flows/runs/nope/cancel', { method: 'POST' })).status, 404);
  assert.equal((await start({ to: '123' })).status, 400);
  // A disabled flow starts nothing.
  const flow = (await call<Record<string, unknown>>(`/flows/${flowId}`)).body;
  const { id: _id, version: _v, createdAt: _c, updatedAt: _u, ...definition } = flow;
  assert.equal((await call(`/flows/${flowId}`, { method: 'PUT', json: { ...definition, enabled: false } })).status, 200);
  assert.equal((await start({ to: DEMIR })).body.code, 'FLOW_DISABLED');
});

test('an unanswered question times out, a failing shop call goes to onError, media is sent, and a handoff pauses the bot and the keyword in that chat', async () => {
  const flowId = await createFlow({
    name: 'Destek',
    trigger: { type: 'keyword', match_type: 'exact', text: 'destek' },
    steps: [
      {
        id: 'menu',
        type: 'ask',
        text: '1: katalog, 2: sipariş, 3: temsilci',
        timeout: 2,
        onTimeout: 'bye',
        choices: [
          { match_type: 'exact', value: '1', next: 'catalog' },
          { match_type: 'exact', value: '2', next: 'order' },
          { match_type: 'exact', value: '3', next: 'human' },
        ],
      },
      { id: 'catalog', type: 'send', image: `${shop.url.replace('/hook', '/catalog.png')}`, caption: 'Katalog, {name}', next: 'end' },
      { id: 'order', type: 'http', method: 'POST', url: shopUrl(), body: { order: '99999' }, onError: 'sorry' },
      { id: 'sorry', type: 'send', text: 'Sistemimiz yanıt vermiyor', next: 'human' },
      { id: 'human', type: 'handoff', text: 'Temsilciye aktarıyorum' },
      { id: 'bye', type: 'send', text: 'Görüşmek üzere', next: 'end' },
    ],
  });
  const png = solidPng(8, 120);
  const previous = shop.decide!;
  shop.decide = (r) =>
    r.headers['user-agent']?.startsWith('wa-gateway/')
      ? { status: 200, headers: { 'content-type': 'image/png' }, body: png as unknown as string }
      : previous(r);

  // No answer within 2 s: onTimeout.
  await write(DEMIR, 'destek');
  assert.equal(await nth(DEMIR, 1), '1: katalog, 2: sipariş, 3: temsilci');
  assert.equal(await nth(DEMIR, 2), 'Görüşmek üzere');
  const timedOut = await runIn(flowId, DEMIR);
  await eventually(
    async () => (await runOf(timedOut.runId)).history.some((h) => h.note === 'no answer within 2 s') || undefined,
    10_000,
    'timeout noted',
  );

  // Media with a filled caption.
  await write(ELIF, 'destek');
  await nth(ELIF, 1);
  await write(ELIF, '1');
  const image = await eventually(
    async () => sim.received.find((m) => m.to === ELIF && !m.ownCopy && m.message.imageMessage),
    20_000,
    'the image',
  );
  assert.equal(image.message.imageMessage!.caption, 'Katalog, Elif');

  // The shop fails: onError, then a handoff, which pauses the chatbot and the keyword in the chat.
  assert.equal(
    (
      await call('/chatbot/rules', {
        method: 'POST',
        json: { match_type: 'exact', trigger_text: 'merhaba', response: 'Merhaba, bot burada' },
      })
    ).status,
    200,
  );
  await write(FATIH, 'destek');
  await nth(FATIH, 1);
  await write(FATIH, '2');
  assert.equal(await nth(FATIH, 2), 'Sistemimiz yanıt vermiyor');
  assert.equal(await nth(FATIH, 3), 'Temsilciye aktarıyorum');
  const handedOff = await runIn(flowId, FATIH);
  await runWhen(handedOff.runId, 'handoff', 10_000);
  assert.ok((await runOf(handedOff.runId)).history.some((h) => h.step === 'order' && /^HTTP 500/.test(h.note ?? '')));
  await eventually(async () => eventsOf('flow_handoff', handedOff.runId)[0], 20_000, 'flow_handoff');
  const pauses = await call<{ pauses: Array<{ chatId: string; because: string }> }>('/chatbot/pauses');
  assert.deepEqual(
    pauses.body.pauses.filter((p) => p.chatId === jid(FATIH)).map((p) => p.because),
    ['handoff'],
  );
  await write(FATIH, 'merhaba');
  await write(FATIH, 'destek');
  await new Promise((r) => setTimeout(r, 3_000));
  assert.equal(sentTo(FATIH).length, 3, 'neither the bot nor the flow answers while a person has the chat');
  // Resumed, the bot answers again.
  assert.equal((await call('/chatbot/resume', { method: 'POST', json: { chatId: jid(FATIH) } })).status, 200);
  await write(FATIH, 'merhaba');
  assert.equal(await nth(FATIH, 4), 'Merhaba, bot burada');
});

test('a flow edited while a run waits: the run finishes on the version it started with; deleting the flow cancels its runs', async () => {
  const steps = (reply: string) => [
    { id: 'q', type: 'ask', text: 'Adınız?', save: 'who' },
    { id: 'a', type: 'send', text: `${reply} {who}` },
  ];
  const flowId = await createFlow({
    name: 'Sürüm',
    trigger: { type: 'keyword', match_type: 'exact', text: 'sürüm' },
    steps: steps('Eski'),
  });
  await write(GAMZE, 'sürüm');
  assert.equal(await nth(GAMZE, 1), 'Adınız?');
  const edited = await call<{ version: number }>(`/flows/${flowId}`, {
    method: 'PUT',
    json: { name: 'Sürüm', trigger: { type: 'keyword', match_type: 'exact', text: 'sürüm' }, steps: steps('Yeni') },
  });
  assert.equal(edited.body.version, 2);
  await write(GAMZE, 'Gamze');
  assert.equal(await nth(GAMZE, 2), 'Eski Gamze');
  // Once that run has ended (until it does, a message in the chat is still the run's), a new run takes the new version.
  await runWhen((await runIn(flowId, GAMZE)).runId, 'completed');
  await write(GAMZE, 'sürüm');
  assert.equal(await nth(GAMZE, 3), 'Adınız?');
  const live = await eventually(
    async () => (await call<{ runs: Array<Run & { flowVersion: number }> }>(`/flows/${flowId}/runs?status=waiting`)).body.runs[0],
    10_000,
    'the waiting run',
  );
  assert.equal(live.flowVersion, 2);
  const deleted = await call<{ cancelledRuns: number }>(`/flows/${flowId}`, { method: 'DELETE' });
  assert.equal(deleted.body.cancelledRuns, 1);
  assert.equal((await runOf(live.runId)).status, 'cancelled');
  await write(GAMZE, 'Gamze');
  await new Promise((r) => setTimeout(r, 2_000));
  assert.equal(sentTo(GAMZE).length, 3);
});

test('a person writing from the phone takes a waiting run over; a failing call without onError fails the run; an end step ends it; opting out ends a run', async () => {
  const flowId = await createFlow({
    name: 'Uçlar',
    trigger: { type: 'keyword', match_type: 'startswith', text: 'uç' },
    steps: [
      {
        id: 'q',
        type: 'ask',
        text: 'Hangisi? (bitir / hata)',
        choices: [
          { match_type: 'exact', value: 'bitir', next: 'stop' },
          { match_type: 'exact', value: 'hata', next: 'call' },
        ],
      },
      { id: 'call', type: 'http', method: 'GET', url: `${shop.url.replace('/hook', '/down')}?order={phone}` },
      { id: 'never', type: 'send', text: 'buraya gelinmez', next: 'end' },
      { id: 'stop', type: 'end' },
    ],
  });
  const down = shop.decide!;
  shop.decide = (r) => (r.headers['user-agent']?.startsWith('wa-gateway-flows') && r.json.event === '' ? 503 : down(r));

  // The owner answers by hand from the phone: the run hands the chat over.
  await write(HALUK, 'uç 1');
  await nth(HALUK, 1);
  const takenOver = await runIn(flowId, HALUK);
  await sendFromOwnPhone(sim, sim.user(OWNER), sim.user(HALUK), { conversation: 'Ben ilgileniyorum' });
  await runWhen(takenOver.runId, 'handoff');
  assert.equal((await call<{ reason: string }>(`/flows/runs/${takenOver.runId}`)).body.reason, 'a person wrote in the chat');
  await eventually(async () => eventsOf('flow_handoff', takenOver.runId)[0], 20_000, 'flow_handoff');

  // The shop is down and the step has no onError: the run fails.
  await write(IPEK, 'uç 2');
  await nth(IPEK, 1);
  const failing = await runIn(flowId, IPEK);
  await write(IPEK, 'hata');
  await runWhen(failing.runId, 'failed');
  const failed = await eventually(async () => eventsOf('flow_failed', failing.runId)[0], 20_000, 'flow_failed');
  assert.equal(failed.json.data.step, 'call');
  assert.match(String(failed.json.data.reason), /^call: HTTP 503/);
  assert.deepEqual(texts(IPEK), ['Hangisi? (bitir / hata)']);

  // Once ended, the keyword starts again; an end step completes the run.
  await write(IPEK, 'uç 3');
  await nth(IPEK, 2);
  const ending = await eventually(
    async () =>
      (await call<{ runs: Run[] }>(`/flows/${flowId}/runs?status=waiting`)).body.runs.find((r) => (r as any).chatId === jid(IPEK)),
    10_000,
    'the new run',
  );
  await write(IPEK, 'Bitir');
  await runWhen(ending.runId, 'completed');
  assert.equal((await runOf(ending.runId)).step, 'stop');

  // The contact opts out in the middle of a run: it ends, and the API does not start another for them.
  await write(KAAN, 'uç 4');
  await nth(KAAN, 1);
  const optingOut = await runIn(flowId, KAAN);
  await write(KAAN, 'Dur');
  await runWhen(optingOut.runId, 'cancelled');
  assert.equal((await call<{ reason: string }>(`/flows/runs/${optingOut.runId}`)).body.reason, 'the contact opted out');
  await eventually(async () => (await call<{ total: number }>('/optouts')).body.total > 0 || undefined, 10_000, 'opted out');
  const refused = await call<{ code: string }>(`/flows/${flowId}/start`, { method: 'POST', json: { to: KAAN } });
  assert.equal(refused.status, 409);
  assert.equal(refused.body.code, 'OPTED_OUT');
  assert.deepEqual(texts(KAAN), ['Hangisi? (bitir / hata)']);
});
