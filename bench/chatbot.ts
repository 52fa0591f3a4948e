/**
 * The chatbot, measured (figures, no pass/fail):
 *
 *   npm run bench:chatbot [-- SEQUENTIAL [BURST]]     (200, 50: every part)
 *   npm run bench:chatbot -- match                    (parts 1 and 2 only: no Postgres, Temporal or gateway)
 *
 * Parts 1 and 2 live in bench/support/chatbotMatching.ts.
 *
 * 1. matching: the cost of `RuleMatcher.match` (domain/chatbotRules.ts) for one
 *    incoming text, folding included, with 1, 100 and 1,000 rules, for a
 *    realistic mix of rule types (RULE_MIX below) and for regex rules only,
 *    each with a text that matches no rule (every rule is tried; regex rules
 *    screened by their group's combined pattern) and one that matches the
 *    last rule in priority order. Each case is warmed up, then timed call by
 *    call: mean and p99 in µs, beside the goal of under 1 ms per message at
 *    1,000 rules (as a ratio), and the time to build the matcher (median of
 *    5 builds, every pattern compiled afresh; a session worker builds it in
 *    10 ms slices at the first message after a rule or settings change, and
 *    compiles only the patterns it did not have). Run in this process before
 *    anything else is started.
 * 2. hostile: patterns that make a backtracking engine take exponential (or
 *    high polynomial) time, against 64 KB of text on RE2 through the matcher,
 *    beside a native JS RegExp on inputs of a few dozen characters, grown one
 *    character at a time until one match takes over 250 ms (never on 64 KB).
 *    Then a 64 KB text against the 1,000-rule sets of part 1.
 * 3. replies: real Baileys against the simulator (in its own process) and the
 *    real worker (worker/main.ts). 100 rules of the mix, delay 0, through the
 *    API; chatbotRepliesPerMinute 60. Each simulated customer writes once to
 *    warm up (Signal sessions both ways, the rule cache). Then SEQUENTIAL
 *    messages one after another (each waits for its reply), rotating among
 *    enough customers to stay well under the per-chat cap, and a burst of
 *    BURST messages at once from BURST customers: from just before the
 *    customer's phone sends to the moment it has decrypted the reply, p50,
 *    p99, mean and max, and for the sequential ones where the time goes (the
 *    incoming message's and the reply's created_at and sent_at in Postgres,
 *    and the event times in each reply workflow's history). Beside them,
 *    plain `POST .../messages/chat` sends to other customers, from the
 *    request to the phone: the outgoing leg on its own.
 *
 * Every timed part also prints the share of the machine's CPU that processes
 * outside this run used meanwhile ("others"): on a shared machine they skew
 * the figures, their p99 most. Figures only; whoever reads them judges them.
 */
import { performance } from 'node:perf_hooks';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time.js';
import { RuleMatcher, type ChatbotRule } from '../domain/chatbotRules.js';
import { eventually, startGateway, type Gateway } from '../test/support/gateway.js';
import { startBenchStack } from './support/stack.js';
import { pairThroughApi } from './support/pairing.js';
import { jsonClient } from './support/httpClient.js';
import { listenForReplies, type SimProcess } from './support/simProcess.js';
import { cpuNow, cpuPer, othersSince, readCpu } from './support/cpu.js';
import { hostile, matching, mixedRules, sinkIsNegative } from './support/chatbotMatching.js';
import { mean, percentile, progress, ratio } from './support/stats.js';
import { workflowIds } from '../workflows/names.js';

const MATCH_ONLY = process.argv[2] === 'match';
const SEQUENTIAL = MATCH_ONLY ? 0 : Number(process.argv[2] ?? 200);
const BURST = MATCH_ONLY ? 0 : Number(process.argv[3] ?? 50);
if (!MATCH_ONLY && (!Number.isInteger(SEQUENTIAL) || SEQUENTIAL < 1 || !Number.isInteger(BURST) || BURST < 0))
  throw new Error('usage: npm run bench:chatbot [-- SEQUENTIAL [BURST]] | npm run bench:chatbot -- match');

const OWNER = '905554600001';
/** A customer gets SEQUENTIAL / customers messages during the run, plus the warm-up and the burst: well under 60 a minute. */
const CUSTOMERS = Array.from(
  { length: Math.max(50, BURST, Math.ceil(SEQUENTIAL / 40)) },
  (_, i) => `9055546${String(10_000 + i).padStart(5, '0')}`,
);
const PLAIN_CUSTOMERS = Array.from({ length: 5 }, (_, i) => `9055547${String(10_000 + i).padStart(5, '0')}`);
const PLAIN_SENDS = Math.min(SEQUENTIAL, 100);

const now = () => performance.timeOrigin + performance.now();
const figures = (values: number[]) =>
  `p50 ${percentile(values, 50).toFixed(1)} ms   p99 ${percentile(values, 99).toFixed(1)} ms   mean ${mean(values).toFixed(1)} ms   max ${Math.max(...values).toFixed(1)} ms`;

// ---- 3. replies through the gateway ---------------------------------------------

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

/**
 * Inside each reply's workflow (chatbot-{instance}-{message}), from its
 * history's event times (the Temporal server's clock): the wait for its first
 * workflow task, and that task, which runs the reply's local activity
 * (sendChatbotReply) before it completes.
 */
async function workflowLegs(gw: Gateway, messageIds: string[]) {
  const connection = await Connection.connect({ address: gw.env.TEMPORAL_ADDRESS! });
  const client = new Client({ connection, namespace: gw.env.TEMPORAL_NAMESPACE! });
  const legs = { firstTask: [] as number[], task: [] as number[], end: [] as number[] };
  try {
    for (const id of messageIds) {
      const events: HistoryEvent[] = (await client.workflow.getHandle(workflowIds.chatbotReply('bot', id)).fetchHistory()).events ?? [];
      const at = (key: keyof HistoryEvent) => tsToMs(events.find((e) => e[key])?.eventTime);
      const started = at('workflowExecutionStartedEventAttributes');
      legs.firstTask.push(at('workflowTaskStartedEventAttributes') - started);
      legs.task.push(at('workflowTaskCompletedEventAttributes') - at('workflowTaskStartedEventAttributes'));
      legs.end.push(at('workflowExecutionCompletedEventAttributes') - at('workflowTaskCompletedEventAttributes'));
    }
  } finally {
    await connection.close();
  }
  return legs;
}

interface Exchange {
  id: string;
  sentAt: number;
  repliedAt: number | undefined;
}

async function replies(gw: Gateway, sim: SimProcess): Promise<string[]> {
  const http = jsonClient(gw.baseUrl, gw.token);
  const nextMessageTo = listenForReplies(sim);
  const post = async (path: string, body: unknown) => {
    const { status, json } = await http.post(`/api/instance/bot${path}`, body);
    if (status !== 200) throw new Error(`${path}: ${status} ${JSON.stringify(json)}`);
    return json;
  };

  await post('/settings', { chatbotRepliesPerMinute: 60 });
  const rules = mixedRules(100);
  progress(`replies: ${rules.length} rules through the API`);
  for (const { rule } of rules) {
    const { match_type, trigger_text, response, delay, priority } = rule;
    await post('/chatbot/rules', { match_type, trigger_text, response, delay, priority });
  }
  // The text every customer sends: it matches the last rule only (checked against the rules as stored).
  const stored = (
    (await (await gw.request('/api/instance/bot/chatbot/rules')).json()) as {
      rules: Array<Omit<ChatbotRule, 'enabled'> & { enabled: number }>;
    }
  ).rules;
  const check = new RuleMatcher(stored.map((r) => ({ ...r, enabled: Boolean(r.enabled) })));
  const lastRule = rules[rules.length - 1]!;
  const textOf = (i: number) => `${lastRule.sample} (${i})`;
  const matched = check.match(textOf(0));
  check.close();
  if (matched?.trigger_text !== lastRule.rule.trigger_text) throw new Error(`the text matches ${matched?.trigger_text}, not the last rule`);

  const exchange = async (customer: string, i: number): Promise<Exchange> => {
    const reply = nextMessageTo(customer);
    const { id, at } = await sim.call('sendText', customer, OWNER, textOf(i));
    return { id, sentAt: at, repliedAt: await reply };
  };
  const latencies = (exchanges: Exchange[]) => exchanges.flatMap((e) => (e.repliedAt === undefined ? [] : [e.repliedAt - e.sentAt]));

  progress(`replies: warm-up, one message from each of ${CUSTOMERS.length} customers`);
  let next = 0;
  const warm = await Promise.all(
    Array.from({ length: 5 }, async () => {
      const done: Exchange[] = [];
      while (next < CUSTOMERS.length) {
        const i = next++;
        done.push(await exchange(CUSTOMERS[i]!, i));
      }
      return done;
    }),
  );
  const unanswered = warm.flat().filter((e) => e.repliedAt === undefined).length;
  if (unanswered) throw new Error(`${unanswered} warm-up messages got no reply`);

  progress(`replies: ${SEQUENTIAL} messages one after another`);
  const sequential: Exchange[] = [];
  let cpu = cpuNow();
  let byProcess = readCpu();
  let started = performance.now();
  for (let i = 0; i < SEQUENTIAL; i++) sequential.push(await exchange(CUSTOMERS[i % CUSTOMERS.length]!, 1_000 + i));
  const others = { sequential: othersSince(cpu), burst: '', plain: '' };
  const used = { sequential: cpuPer(byProcess, SEQUENTIAL, performance.now() - started, 'reply'), burst: '', plain: '' };
  const seq = latencies(sequential);

  // Where the time of a sequential reply goes: the reply's row is stored, then put on the socket.
  const rows: Array<{ reply_to: string; created_at: Date; sent_at: Date }> = await eventually(
    async () => {
      const found = await gw
        .db('messages')
        .where({ instance_id: 'bot', source: 'chatbot' })
        .whereIn(
          'reply_to',
          sequential.map((e) => e.id),
        )
        .whereNotNull('sent_at')
        .select('reply_to', 'created_at', 'sent_at');
      return found.length >= seq.length ? found : undefined;
    },
    30_000,
    'the replies sent_at',
  );
  const incoming: Array<{ id: string; created_at: Date }> = await gw
    .db('messages')
    .where({ instance_id: 'bot' })
    .whereIn(
      'id',
      sequential.map((e) => e.id),
    )
    .select('id', 'created_at');
  const replyOf = new Map(rows.map((r) => [r.reply_to, r]));
  const storedAt = new Map(incoming.map((r) => [r.id, new Date(r.created_at).getTime()]));
  const legs = { incoming: [] as number[], reply: [] as number[], onSocket: [] as number[], atPhone: [] as number[] };
  for (const e of sequential) {
    const row = replyOf.get(e.id);
    const incomingAt = storedAt.get(e.id);
    if (!row || incomingAt === undefined || e.repliedAt === undefined) continue;
    const [replyAt, sentAt] = [new Date(row.created_at).getTime(), new Date(row.sent_at).getTime()];
    legs.incoming.push(incomingAt - e.sentAt);
    legs.reply.push(replyAt - incomingAt);
    legs.onSocket.push(sentAt - replyAt);
    legs.atPhone.push(e.repliedAt - sentAt);
  }

  const inside = await workflowLegs(
    gw,
    sequential.map((e) => e.id),
  );

  let burst: Exchange[] = [];
  let burstSpan = NaN;
  if (BURST > 0) {
    progress(`replies: a burst of ${BURST} messages from ${BURST} customers at once`);
    cpu = cpuNow();
    byProcess = readCpu();
    started = performance.now();
    burst = await Promise.all(CUSTOMERS.slice(0, BURST).map((customer, i) => exchange(customer, 100_000 + i)));
    others.burst = othersSince(cpu);
    used.burst = cpuPer(byProcess, BURST, performance.now() - started, 'reply');
    // Both times are the simulator's.
    burstSpan =
      Math.max(...burst.flatMap((e) => (e.repliedAt === undefined ? [] : [e.repliedAt]))) - Math.min(...burst.map((e) => e.sentAt));
  }

  progress(`replies: ${PLAIN_SENDS} plain API sends, for the outgoing leg alone`);
  for (const customer of PLAIN_CUSTOMERS) {
    const reply = nextMessageTo(customer);
    await post('/messages/chat', { to: customer, body: 'warm-up' });
    if ((await reply) === undefined) throw new Error(`the warm-up send to ${customer} did not arrive`);
  }
  const plain: number[] = [];
  cpu = cpuNow();
  byProcess = readCpu();
  started = performance.now();
  for (let i = 0; i < PLAIN_SENDS; i++) {
    const customer = PLAIN_CUSTOMERS[i % PLAIN_CUSTOMERS.length]!;
    const arrived = nextMessageTo(customer);
    const t = now();
    const { status } = await http.post('/api/instance/bot/messages/chat', { to: customer, body: `plain ${i}` });
    if (status !== 200 && status !== 202) throw new Error(`send answered ${status}`);
    const at = await arrived;
    if (at !== undefined) plain.push(at - t);
  }
  others.plain = othersSince(cpu);
  used.plain = cpuPer(byProcess, PLAIN_SENDS, performance.now() - started, 'send');
  http.close();

  const p50 = (values: number[]) => percentile(values, 50);
  const lines = [
    '',
    `incoming message → the bot's reply at the customer's phone (100 rules of the mix, delay 0; the text matches the last rule, a regex):`,
    `  ${SEQUENTIAL} one after another (${seq.length} answered, ${CUSTOMERS.length} customers in turn; others ${others.sequential})`,
    `      ${figures(seq)}`,
    `      ${used.sequential}`,
    '    of which (p50 each; Postgres timestamps, ms precision):',
    `      phone sends → message stored        ${p50(legs.incoming).toFixed(1).padStart(7)} ms   (incoming leg, match, the reply's workflow started)`,
    `      message stored → reply stored       ${p50(legs.reply).toFixed(1).padStart(7)} ms   (the workflow's task and its local activity)`,
    `      reply stored → on the socket        ${p50(legs.onSocket).toFixed(1).padStart(7)} ms   (outbox)`,
    `      on the socket → at the phone        ${p50(legs.atPhone).toFixed(1).padStart(7)} ms`,
    "    inside the reply's workflow (p50 each; its history's event times, ms precision):",
    `      started → first workflow task taken ${p50(inside.firstTask).toFixed(1).padStart(7)} ms`,
    `      that task, with the local activity  ${p50(inside.task).toFixed(1).padStart(7)} ms   (sendChatbotReply hands the reply on within it)`,
    `      task done → workflow completed      ${p50(inside.end).toFixed(1).padStart(7)} ms   (after the reply was handed on: not in the latency)`,
  ];
  if (BURST > 0) {
    const times = latencies(burst);
    lines.push(
      `  ${BURST} at once from ${BURST} customers (${times.length} answered; others ${others.burst})`,
      `      ${figures(times)}`,
      `      last reply ${burstSpan.toFixed(0)} ms after the first send (${((times.length / burstSpan) * 1000).toFixed(0)} replies/s)`,
      `      ${used.burst}`,
    );
  }
  lines.push(
    `  plain POST .../messages/chat → at the phone, ${PLAIN_SENDS} one after another (${plain.length} arrived; others ${others.plain})`,
    `      ${figures(plain)}`,
    `      ${used.plain}`,
    `  reply / plain send: p50 ${ratio(p50(seq) / p50(plain))}, p99 ${ratio(percentile(seq, 99) / percentile(plain, 99))}`,
  );
  return lines;
}

// ---- run ------------------------------------------------------------------------

const report = [...matching(), ...hostile()];
if (!MATCH_ONLY) {
  const stack = await startBenchStack();
  try {
    const gw = await startGateway({ name: 'bench_chatbot', workers: 1, workerEntry: 'worker/main.ts', env: stack.gatewayEnv });
    stack.atStop(() => gw.stop());
    for (const phone of [...CUSTOMERS, ...PLAIN_CUSTOMERS]) await stack.sim.call('addUser', phone, `Customer ${phone.slice(-3)}`);
    await pairThroughApi(gw, stack.sim, 'bot', OWNER, 'Chatbot');
    report.push(...(await replies(gw, stack.sim)));
  } finally {
    await stack.stop();
  }
}
process.stdout.write(`\n${report.join('\n')}\n${sinkIsNegative() ? '\n' : ''}`);
