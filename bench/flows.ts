/**
 * Conversation flows, measured (figures, no pass/fail):
 *
 *   npm run bench:flows [-- [latency|waiting|burst] [SEQUENTIAL [WAITING [BURST]]]]   (200, 10000, 500: every part)
 *   npm run bench:flows -- 20 200 20                                                  (every part, small: a try)
 *   npm run bench:flows -- waiting 0 10000                                            (part 2 only)
 *
 * Real Baileys against the simulator (in its own process), the real worker
 * (worker/main.ts, one) and API, one paired instance. The parts run in the
 * order 1, 3, 2 (so that part 2's runs, which stay waiting, are under no
 * other part) and are printed 1, 2, 3.
 *
 * 1. latency: a keyword flow that is an ask loop (every answer is answered by
 *    the run's next question) beside a chatbot rule (contains, delay 0;
 *    chatbotRepliesPerMinute 60) for other customers, who have no run. Each
 *    customer is warmed up (the keyword and one answer; one message to the
 *    bot). Then SEQUENTIAL exchanges of each kind one after another, in
 *    alternating blocks of 25 (so that the machine's other load falls on
 *    both alike), rotating among the customers: from just before the
 *    customer's phone sends to the moment it has decrypted the answer, p50,
 *    p99, mean and max, the ratios flow / chatbot, the CPU per answer by
 *    process, and where the time goes (p50 of each leg, from the answer's
 *    row in Postgres: stored, put on the socket).
 * 2. waiting: WAITING runs started through `POST .../flows/{id}/start`, 20
 *    requests at once, for as many numbers (not in the simulator: nothing is
 *    sent to them), of an API flow whose one step is a day's `wait` with
 *    cancelOnReply: the rate of the starts (requests answered), then the time
 *    until every run is `waiting` (the runs list's `total`). Then idle: twice
 *    30 s before the runs were started and twice 30 s with all of them
 *    waiting (5 s pass before each), the CPU of each process role in ms per
 *    second and % of one core, and the resident memory (VmRSS) of the
 *    worker, the Temporal server and the API (the worker's also just after
 *    pairing). What the last thing done left behind (vacuum, caches) shows in
 *    the first of each pair and fades by the second; the ratios are against
 *    the second before. Waiting costs nothing while nothing polls; the
 *    ratios say what it costs. The worker keeps at most its workflow cache's
 *    worth of runs in memory (the SDK's default: 600 per GB of heap above
 *    200 MB); the Temporal dev server keeps its database in memory.
 * 3. burst: BURST customers, each with a run of an echo flow (ask "Hazır",
 *    then send "Aldım {x}", and ask again) started through the API; every
 *    customer has the question before it starts. Then every customer answers
 *    at once, 3 messages back-to-back ("1", "2", "3"): how many echoes came
 *    (out of BURST × 3; the answers the runs did not take are counted from
 *    their histories), the chats whose echoes came out of order, the span
 *    from the first send to the last echo, echoes per second, each message →
 *    its echo p50 and p99, and the CPU per echo. The instance's outbox sends
 *    one message at a time, each echo followed by the next question: that is
 *    in the figures.
 *
 * Every timed part also prints the share of the machine's CPU that processes
 * outside this run used meanwhile ("others"): on a shared machine they skew
 * the figures, their p99 most. Figures only; whoever reads them judges them.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway, type Gateway } from '../test/support/gateway.js';
import { startBenchStack } from './support/stack.js';
import { pairThroughApi } from './support/pairing.js';
import { jsonClient } from './support/httpClient.js';
import { listenForReplies, type SimProcess } from './support/simProcess.js';
import { cpuNow, cpuPer, cpuPerUsed, cpuSince, othersSince, readCpu, rssOfRole } from './support/cpu.js';
import { mean, percentile, progress, ratio } from './support/stats.js';

const PARTS = ['latency', 'waiting', 'burst'] as const;
type Part = (typeof PARTS)[number];
const args = process.argv.slice(2);
const ONLY = PARTS.includes(args[0] as Part) ? (args.shift() as Part) : undefined;
const SEQUENTIAL = Number(args[0] ?? 200);
const WAITING = Number(args[1] ?? 10_000);
const BURST = Number(args[2] ?? 500);
if (![SEQUENTIAL, WAITING, BURST].every((n) => Number.isInteger(n) && n >= 0) || BURST > 99_999)
  throw new Error('usage: npm run bench:flows [-- [latency|waiting|burst] [SEQUENTIAL [WAITING [BURST]]]]');
const runs = (part: Part) => (ONLY ?? part) === part && { latency: SEQUENTIAL, waiting: WAITING, burst: BURST }[part] > 0;

/** Answers each customer sends back-to-back in part 3. */
const ANSWERS = 3;
/** API requests in flight at once when starting runs. */
const AT_ONCE = 20;
const IDLE_SECONDS = 30;
const BLOCK = 25;

const OWNER = '905551000001';
/** `n` numbers of 12 digits starting with `prefix`. */
const numbers = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(12 - prefix.length, '0')}`);
/** A customer gets SEQUENTIAL / customers messages in a minute or so: well under the chatbot's 60 a minute. */
const PER_KIND = Math.max(20, Math.ceil(SEQUENTIAL / 40));
const FLOW_CUSTOMERS = numbers('9055548', PER_KIND);
const BOT_CUSTOMERS = numbers('9055549', PER_KIND);
const BURST_CUSTOMERS = numbers('9055550', BURST);

const figures = (values: number[]) =>
  `p50 ${percentile(values, 50).toFixed(1)} ms   p99 ${percentile(values, 99).toFixed(1)} ms   mean ${mean(values).toFixed(1)} ms   max ${Math.max(...values).toFixed(1)} ms`;

type Post = (path: string, body: unknown) => Promise<any>;

/** Runs `each` over `items`, `limit` at a time. */
async function inParallel<T>(items: T[], limit: number, each: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await each(items[i]!, i);
      }
    }),
  );
}

/** Creates a flow through the API (checked as a whole there); its id. */
async function createFlow(post: Post, flow: unknown): Promise<number> {
  return ((await post('/flows', flow)) as { id: number }).id;
}

/** Starts a run of `flowId` for each number, AT_ONCE requests at a time; the runs' ids and how long the requests took. */
async function startRuns(post: Post, flowId: number, to: string[]): Promise<{ runIds: string[]; ms: number }> {
  const runIds: string[] = [];
  const started = performance.now();
  await inParallel(to, AT_ONCE, async (phone, i) => {
    runIds[i] = ((await post(`/flows/${flowId}/start`, { to: phone })) as { runId: string }).runId;
    if ((i + 1) % 1_000 === 0) progress(`  ${i + 1} runs started`);
  });
  return { runIds, ms: performance.now() - started };
}

// ---- 1. reply latency: a flow's next question beside a chatbot rule's reply -----------

interface Exchange {
  /** The incoming message's id and text. */
  id: string;
  text: string;
  sentAt: number;
  repliedAt: number;
}

/**
 * Where each answer's time went, from its row in Postgres (ms precision): the
 * phone sends → the answer stored (incoming leg; the run's signal and
 * workflow task, or the bot's match and reply workflow) → on the socket (the
 * outbox) → at the phone.
 */
function legs(exchanges: Exchange[], rowOf: (e: Exchange) => { created_at: Date; sent_at: Date | null } | undefined) {
  const found = { stored: [] as number[], onSocket: [] as number[], atPhone: [] as number[] };
  for (const e of exchanges) {
    const row = rowOf(e);
    if (!row?.sent_at) continue;
    const [storedAt, sentAt] = [new Date(row.created_at).getTime(), new Date(row.sent_at).getTime()];
    found.stored.push(storedAt - e.sentAt);
    found.onSocket.push(sentAt - storedAt);
    found.atPhone.push(e.repliedAt - sentAt);
  }
  return found;
}

async function latency(gw: Gateway, sim: SimProcess, post: Post): Promise<string[]> {
  const nextMessageTo = listenForReplies(sim);
  await post('/settings', { chatbotRepliesPerMinute: 60 });
  await post('/chatbot/rules', {
    match_type: 'contains',
    trigger_text: 'merhaba',
    response: 'Merhaba, nasıl yardımcı olabilirim?',
    delay: 0,
  });
  await createFlow(post, {
    name: 'Soru döngüsü',
    enabled: true,
    trigger: { type: 'keyword', match_type: 'exact', text: 'anket' },
    steps: [
      { id: 'q', type: 'ask', text: 'Sıradaki?', save: 'x' },
      { id: 'a', type: 'ask', text: 'Aldım: {x}. Sıradaki?', save: 'x', next: 'a' },
    ],
  });

  /** From just before the phone sends to the answer at the phone; undefined when none came in 30 s. */
  const exchange = async (customer: string, text: string): Promise<Exchange | undefined> => {
    const reply = nextMessageTo(customer);
    const { id, at } = await sim.call('sendText', customer, OWNER, text);
    const repliedAt = await reply;
    return repliedAt === undefined ? undefined : { id, text, sentAt: at, repliedAt };
  };

  progress(
    `latency: warm-up, ${FLOW_CUSTOMERS.length} runs started by their keyword and answered once, one message from each of ${BOT_CUSTOMERS.length} customers to the bot`,
  );
  const unanswered: string[] = [];
  const warmUp = async (customer: string, text: string) =>
    void ((await exchange(customer, text)) ?? unanswered.push(`${customer} "${text}"`));
  await inParallel(FLOW_CUSTOMERS, 5, async (customer) => {
    await warmUp(customer, 'anket');
    await warmUp(customer, 'ilk cevap');
  });
  await inParallel(BOT_CUSTOMERS, 5, (customer) => warmUp(customer, 'merhaba (ısınma)'));
  if (unanswered.length) throw new Error(`warm-up messages that got no answer within 30 s: ${unanswered.join(', ')}`);

  progress(
    `latency: ${SEQUENTIAL} answers from the flow and ${SEQUENTIAL} from the bot, one after another, in blocks of ${BLOCK} taking turns`,
  );
  const kinds = {
    flow: {
      customers: FLOW_CUSTOMERS,
      text: (i: number) => `cevap ${i}`,
      done: [] as Exchange[],
      lost: 0,
      cpu: new Map<string, number>(),
      ms: 0,
    },
    bot: {
      customers: BOT_CUSTOMERS,
      text: (i: number) => `merhaba ${i}`,
      done: [] as Exchange[],
      lost: 0,
      cpu: new Map<string, number>(),
      ms: 0,
    },
  };
  const machine = cpuNow();
  for (let from = 0; from < SEQUENTIAL; from += BLOCK) {
    for (const kind of Object.values(kinds)) {
      const before = readCpu();
      const started = performance.now();
      for (let i = from; i < Math.min(from + BLOCK, SEQUENTIAL); i++) {
        const done = await exchange(kind.customers[i % kind.customers.length]!, kind.text(i));
        if (done === undefined) kind.lost++;
        else kind.done.push(done);
      }
      kind.ms += performance.now() - started;
      for (const [role, ms] of cpuSince(before)) kind.cpu.set(role, (kind.cpu.get(role) ?? 0) + ms);
    }
  }
  const others = othersSince(machine);

  const { flow, bot } = kinds;
  const [flowTimes, botTimes] = [flow.done, bot.done].map((done) => done.map((e) => e.repliedAt - e.sentAt)) as [number[], number[]];
  // The answers' rows: the run's question names the answer it follows; the bot's reply names the message.
  type Row = { body: string; reply_to: string; created_at: Date; sent_at: Date | null };
  const rows = (source: string): Promise<Row[]> =>
    gw.db('messages').where({ instance_id: 'bot', source, from_me: true }).select('body', 'reply_to', 'created_at', 'sent_at');
  const flowRows = new Map((await rows('flow')).map((r) => [r.body, r]));
  const botRows = new Map((await rows('chatbot')).map((r) => [r.reply_to, r]));
  const flowLegs = legs(flow.done, (e) => flowRows.get(`Aldım: ${e.text}. Sıradaki?`));
  const botLegs = legs(bot.done, (e) => botRows.get(e.id));

  const p50 = (values: number[]) => percentile(values, 50);
  const p99 = (values: number[]) => percentile(values, 99);
  const leg = (name: string, of: (l: typeof flowLegs) => number[]) =>
    `      ${name.padEnd(36)}${p50(of(flowLegs)).toFixed(1).padStart(8)} ms${p50(of(botLegs)).toFixed(1).padStart(10)} ms`;
  return [
    '',
    `1. the contact's message → the answer at the contact's phone, ${SEQUENTIAL} of each one after another (others ${others}):`,
    `  flow (ask loop: the run's next question; ${flow.done.length} answered, ${flow.lost} not within 30 s; ${FLOW_CUSTOMERS.length} customers in turn)`,
    `      ${figures(flowTimes)}`,
    `      ${cpuPerUsed(flow.cpu, SEQUENTIAL, flow.ms, 'answer')}`,
    `  chatbot rule (contains, delay 0; ${bot.done.length} answered, ${bot.lost} not within 30 s; ${BOT_CUSTOMERS.length} other customers in turn)`,
    `      ${figures(botTimes)}`,
    `      ${cpuPerUsed(bot.cpu, SEQUENTIAL, bot.ms, 'answer')}`,
    `  flow / chatbot: p50 ${ratio(p50(flowTimes) / p50(botTimes))}, p99 ${ratio(p99(flowTimes) / p99(botTimes))}, mean ${ratio(mean(flowTimes) / mean(botTimes))}`,
    "  where the time goes (p50 each; the answer's row in Postgres, ms precision):",
    `      ${''.padEnd(36)}${'flow'.padStart(11)}${'chatbot'.padStart(13)}`,
    leg('phone sends → answer stored', (l) => l.stored),
    leg('answer stored → on the socket', (l) => l.onSocket),
    leg('on the socket → at the phone', (l) => l.atPhone),
  ];
}

// ---- 2. runs waiting ------------------------------------------------------------

const ROLES = ['worker', 'temporal server', 'postgres', 'api', 'simulator', 'benchmark client'];
const RSS_ROLES = ['worker', 'temporal server', 'api'];

/** The CPU of each role over IDLE_SECONDS of nothing asked (ms per second), and the memory of some at its end. */
async function idle(): Promise<{ cpu: Map<string, number>; rss: Map<string, number>; others: string }> {
  await sleep(5_000);
  const machine = cpuNow();
  const before = readCpu();
  const started = performance.now();
  await sleep(IDLE_SECONDS * 1_000);
  const used = cpuSince(before);
  const seconds = (performance.now() - started) / 1_000;
  return {
    cpu: new Map([...used].map(([role, ms]) => [role, ms / seconds])),
    rss: new Map(RSS_ROLES.map((role) => [role, rssOfRole(role)])),
    others: othersSince(machine),
  };
}

async function waiting(gw: Gateway, post: Post, pairedRss: number): Promise<string[]> {
  const flowId = await createFlow(post, {
    name: 'Bir gün bekle',
    enabled: true,
    trigger: { type: 'api' },
    steps: [{ id: 'bekle', type: 'wait', seconds: 86_400, cancelOnReply: true }],
  });
  const waitingNow = async () => {
    const response = await gw.request(`/api/instance/bot/flows/${flowId}/runs?status=waiting&limit=1`);
    return ((await response.json()) as { total: number }).total;
  };

  progress(`waiting: twice ${IDLE_SECONDS} s of idle before any run of this flow`);
  // Twice before and twice after: what the last thing done left behind (vacuum, caches, timers) shows in the
  // first of each and fades by the second; the ratios are against the second before.
  const before = [await idle(), await idle()] as const;

  progress(`waiting: ${WAITING} runs started through the API, ${AT_ONCE} requests at once`);
  const machine = cpuNow();
  const cpu = readCpu();
  const started = performance.now();
  const { ms: startMs } = await startRuns(post, flowId, numbers('90556', WAITING));
  let waitingCount = await waitingNow();
  while (waitingCount < WAITING) {
    if (performance.now() - started > startMs + 600_000)
      throw new Error(`only ${waitingCount} of ${WAITING} runs waiting 10 minutes after the last start`);
    await sleep(1_000);
    waitingCount = await waitingNow();
  }
  const allWaitingMs = performance.now() - started;
  const startCpu = cpuPer(cpu, WAITING, allWaitingMs, 'run');
  const startOthers = othersSince(machine);

  progress(`waiting: twice ${IDLE_SECONDS} s of idle with ${WAITING} runs waiting`);
  const after = [await idle(), await idle()] as const;
  const stillWaiting = await waitingNow();

  const cell = (msPerSecond: number | undefined) =>
    msPerSecond === undefined
      ? '-'.padStart(18)
      : `${msPerSecond.toFixed(1).padStart(6)} ms/s ${`${(msPerSecond / 10).toFixed(1)} %`.padStart(6)}`.padStart(18);
  const ratioOf = (a: number | undefined, b: number | undefined) =>
    (a !== undefined && b !== undefined && b > 0 ? ratio(a / b) : '-').padStart(7);
  const total = (m: Map<string, number>) => [...m.values()].reduce((sum, v) => sum + v, 0);
  const row = (name: string, of: (m: Map<string, number>) => number | undefined) =>
    `  ${name.padEnd(16)}${[...before, ...after].map((i) => cell(of(i.cpu))).join(' ')}` +
    `${ratioOf(of(after[0].cpu), of(before[1].cpu))}${ratioOf(of(after[1].cpu), of(before[1].cpu))}`;
  const mb = (value: number) => `${value.toFixed(0)} MB`.padStart(18);
  const perRun = (mb: number) => `${mb >= 0 ? '+' : ''}${((mb * 1024) / WAITING).toFixed(1)} KB a run`;
  return [
    '',
    `2. ${WAITING} runs waiting (one step: wait 86,400 s, cancelOnReply; started for ${WAITING} numbers through the API, ${AT_ONCE} requests at once):`,
    `  starts answered: ${WAITING} in ${(startMs / 1_000).toFixed(1)} s, ${((WAITING / startMs) * 1_000).toFixed(0)} runs/s`,
    `  all ${WAITING} waiting (the runs list's total): ${(allWaitingMs / 1_000).toFixed(1)} s after the first request, ${((WAITING / allWaitingMs) * 1_000).toFixed(0)} runs/s (others ${startOthers})`,
    `      ${startCpu}`,
    `  ${IDLE_SECONDS} s idle, CPU by process role (ms per second, % of one core), before the runs, then twice with them waiting:`,
    `  ${''.padEnd(16)}${['before the runs', '35 s later', `${WAITING} waiting`, '35 s later'].map((h) => h.padStart(18)).join(' ')}${'ratio'.padStart(7)}${'ratio'.padStart(7)}`,
    ...ROLES.map((role) => row(role, (m) => m.get(role))),
    row('all of them', total),
    `  (ratios: each waiting column / the second before; others: ${[...before, ...after].map((i) => i.others).join(', ')}; ${stillWaiting} runs still waiting after the idles)`,
    `  resident memory (VmRSS) at the end of each idle (the worker's: ${pairedRss.toFixed(0)} MB just after pairing, before any part):`,
    ...RSS_ROLES.map((role) => {
      const [was, is] = [before[1].rss.get(role)!, after[1].rss.get(role)!];
      return `  ${role.padEnd(16)}${[...before, ...after].map((i) => mb(i.rss.get(role)!)).join(' ')}${''.padStart(7)}${ratioOf(is, was)}   (${perRun(is - was)})`;
    }),
  ];
}

// ---- 3. many answers at once ----------------------------------------------------

const ECHO = /^Aldım (\d+)$/;

async function burst(gw: Gateway, sim: SimProcess, post: Post): Promise<string[]> {
  progress(`burst: ${BURST} customers, each with a run of the echo flow`);
  for (const phone of BURST_CUSTOMERS) await sim.call('addUser', phone, `Müşteri ${phone.slice(-4)}`);
  const flowId = await createFlow(post, {
    name: 'Yankı',
    enabled: true,
    trigger: { type: 'api' },
    steps: [
      { id: 'q', type: 'ask', text: 'Hazır', save: 'x' },
      { id: 'e', type: 'send', text: 'Aldım {x}', next: 'q' },
    ],
  });
  // What each customer's phone received: the questions, and the echoes with the number they echo.
  const chats = new Map(
    BURST_CUSTOMERS.map((phone) => [phone, { questions: [] as number[], echoes: [] as Array<{ n: number; at: number }> }]),
  );
  let lastArrival = 0;
  sim.onReceived((_id, at, to, text) => {
    const chat = chats.get(to);
    if (!chat) return;
    lastArrival = performance.now();
    const echo = ECHO.exec(text ?? '');
    if (echo) chat.echoes.push({ n: Number(echo[1]), at });
    else if (text === 'Hazır') chat.questions.push(at);
  });
  const everyone = [...chats.values()];

  const { runIds, ms: startMs } = await startRuns(post, flowId, BURST_CUSTOMERS);
  const questionsFrom = performance.now() - startMs;
  for (;;) {
    const asked = everyone.filter((c) => c.questions.length > 0).length;
    if (asked === BURST) break;
    if (performance.now() - lastArrival > 60_000 && performance.now() - questionsFrom > 60_000)
      throw new Error(`${BURST - asked} customers have not had the first question, nothing arrived for 60 s`);
    await sleep(200);
  }
  const questionsMs = performance.now() - questionsFrom;

  progress(`burst: ${BURST} customers answer at once, ${ANSWERS} messages each back-to-back`);
  const sentAt = new Map<string, number[]>();
  const machine = cpuNow();
  const cpu = readCpu();
  const started = performance.now();
  await Promise.all(
    BURST_CUSTOMERS.map(async (phone) => {
      const times: number[] = [];
      sentAt.set(phone, times);
      for (let n = 1; n <= ANSWERS; n++) times.push((await sim.call('sendText', phone, OWNER, String(n))).at);
    }),
  );
  const sendsMs = performance.now() - started;
  // Until every echo came, or nothing came for 15 s with nothing left in the outbox.
  const expected = BURST * ANSWERS;
  const echoed = () => everyone.reduce((sum, c) => sum + c.echoes.length, 0);
  const pending = async () => Number((await gw.db('messages').where({ instance_id: 'bot', status: 'pending' }).count({ n: '*' }))[0]!.n);
  let reported = 0;
  for (;;) {
    const count = echoed();
    if (count >= expected) break;
    if (performance.now() - lastArrival > 15_000 && (await pending()) === 0) break;
    if (performance.now() - started > 1_800_000) break;
    if (count - reported >= 250) progress(`  ${(reported = count)} echoes so far`);
    await sleep(200);
  }
  const elapsed = performance.now() - started;
  const othersBurst = othersSince(machine);
  const count = echoed();
  const used = cpuPer(cpu, Math.max(1, count), elapsed, 'echo');

  const firstSend = Math.min(...[...sentAt.values()].flat());
  const allEchoes = everyone.flatMap((c) => c.echoes);
  const lastEcho = Math.max(...allEchoes.map((e) => e.at));
  const span = lastEcho - firstSend;
  const questionsAfter = everyone.reduce((sum, c) => sum + c.questions.length - 1, 0);
  const outOfOrder = everyone.filter((c) => c.echoes.some((e, i) => i > 0 && e.n <= c.echoes[i - 1]!.n)).length;
  const byCount = new Map<number, number>();
  for (const c of everyone) byCount.set(c.echoes.length, (byCount.get(c.echoes.length) ?? 0) + 1);
  const latencies = BURST_CUSTOMERS.flatMap((phone) =>
    chats.get(phone)!.echoes.flatMap(({ n, at }) => {
      const sent = sentAt.get(phone)![n - 1];
      return sent === undefined ? [] : [at - sent];
    }),
  );

  // What the runs did with the answers: taken as an answer, or set aside (came while the run was not waiting for one).
  const histories: Array<{ history: Array<{ received?: string; note?: string }> }> = await gw
    .db('flow_runs')
    .whereIn('run_id', runIds)
    .select('history');
  const answers = histories.flatMap((r) => r.history.filter((e) => e.received !== undefined));
  const setAside = answers.filter((e) => e.note?.startsWith('not an answer')).length;

  return [
    '',
    `3. ${BURST} customers answer at once, ${ANSWERS} messages each back-to-back (echo flow: ask "Hazır" → send "Aldım {x}" → ask again):`,
    `  before: ${BURST} runs started through the API in ${(startMs / 1_000).toFixed(1)} s; every first question at its phone ${(questionsMs / 1_000).toFixed(1)} s after the first start`,
    `  the ${expected} answers sent by the phones within ${(sendsMs / 1_000).toFixed(1)} s`,
    `  echoes arrived: ${count} of ${expected} (${expected - count} lost); questions asked again: ${questionsAfter}`,
    `      chats by echoes received: ${[...byCount]
      .sort((a, b) => b[0] - a[0])
      .map(([echoes, chatCount]) => `${echoes}: ${chatCount}`)
      .join(', ')}`,
    `      the runs took ${answers.length - setAside} answers, set ${setAside} aside (history: "not an answer: …"), ${expected - answers.length} not in their histories`,
    `  chats with echoes out of order: ${outOfOrder} of ${BURST}`,
    `  first send → last echo: ${(span / 1_000).toFixed(1)} s; ${((count / span) * 1_000).toFixed(1)} echoes/s, ${(((count + questionsAfter) / span) * 1_000).toFixed(1)} messages/s at the phones (echoes and questions)`,
    `  each message → its echo: ${figures(latencies)}`,
    `      ${used} (others ${othersBurst})`,
  ];
}

// ---- run ------------------------------------------------------------------------

const stack = await startBenchStack();
const report = new Map<Part, string[]>();
try {
  const gw = await startGateway({ name: 'bench_flows', workers: 1, workerEntry: 'worker/main.ts', env: stack.gatewayEnv });
  stack.atStop(() => gw.stop());
  for (const phone of [...FLOW_CUSTOMERS, ...BOT_CUSTOMERS]) await stack.sim.call('addUser', phone, `Müşteri ${phone.slice(-3)}`);
  await pairThroughApi(gw, stack.sim, 'bot', OWNER, 'Akışlar');
  const pairedRss = rssOfRole('worker');
  const http = jsonClient(gw.baseUrl, gw.token);
  stack.atStop(async () => http.close());
  const post: Post = async (path, body) => {
    const { status, json } = await http.post(`/api/instance/bot${path}`, body);
    if (status !== 200) throw new Error(`${path}: ${status} ${JSON.stringify(json)}`);
    return json;
  };
  if (runs('latency')) report.set('latency', await latency(gw, stack.sim, post));
  if (runs('burst')) report.set('burst', await burst(gw, stack.sim, post));
  if (runs('waiting')) report.set('waiting', await waiting(gw, post, pairedRss));
} finally {
  await stack.stop();
}
process.stdout.write(`${PARTS.flatMap((part) => report.get(part) ?? []).join('\n')}\n`);
