/**
 * The chatbot, measured (figures, no pass/fail):
 *
 *   npm run bench:chatbot [-- SEQUENTIAL [BURST]]     (200, 50: every part)
 *   npm run bench:chatbot -- match                    (parts 1 and 2 only: no Postgres, Temporal or gateway)
 *
 * 1. matching: the cost of `RuleMatcher.match` (lib/chatbotRules.ts) for one
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
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time.js';
import { RuleMatcher, type ChatbotRule, type MatchType } from '../lib/chatbotRules.js';
import { eventually, startGateway, type Gateway } from '../test/support/gateway.js';
import { startBenchStack } from './support/stack.js';
import { pairThroughApi } from './support/pairing.js';
import { jsonClient } from './support/httpClient.js';
import type { SimProcess } from './support/simProcess.js';
import { cpuSince, readCpu, type CpuReading } from './support/cpu.js';
import { workflowIds } from '../lib/temporal.js';

const MATCH_ONLY = process.argv[2] === 'match';
const SEQUENTIAL = MATCH_ONLY ? 0 : Number(process.argv[2] ?? 200);
const BURST = MATCH_ONLY ? 0 : Number(process.argv[3] ?? 50);
if (!MATCH_ONLY && (!Number.isInteger(SEQUENTIAL) || SEQUENTIAL < 1 || !Number.isInteger(BURST) || BURST < 0))
  throw new Error('usage: npm run bench:chatbot [-- SEQUENTIAL [BURST]] | npm run bench:chatbot -- match');

/** The share of each match type in the realistic rule set. */
const RULE_MIX: Array<[MatchType, number]> = [
  ['contains', 0.7],
  ['exact', 0.15],
  ['startswith', 0.1],
  ['regex', 0.05],
];
const RULE_COUNTS = [1, 100, 1_000];
const GOAL_US = 1_000;
/** Matching: warm-up, then calls timed one by one until MAX_CALLS or the budget (at least MIN_CALLS). */
const WARMUP_CALLS = 5_000;
const MIN_CALLS = 1_000;
const MAX_CALLS = 20_000;
const BUDGET_MS = 1_500;
const BUILDS = 5;
/** The native RegExp series stops once one match takes longer than this. */
const NATIVE_STOP_MS = 250;
const TEXT_64K = 65_536;

const OWNER = '905554600001';
/** A customer gets SEQUENTIAL / customers messages during the run, plus the warm-up and the burst: well under 60 a minute. */
const CUSTOMERS = Array.from(
  { length: Math.max(50, BURST, Math.ceil(SEQUENTIAL / 40)) },
  (_, i) => `9055546${String(10_000 + i).padStart(5, '0')}`,
);
const PLAIN_CUSTOMERS = Array.from({ length: 5 }, (_, i) => `9055547${String(10_000 + i).padStart(5, '0')}`);
const PLAIN_SENDS = Math.min(SEQUENTIAL, 100);

const now = () => performance.timeOrigin + performance.now();
const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;
};
const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;
const median = (values: number[]) => percentile(values, 50);
const figures = (values: number[]) =>
  `p50 ${percentile(values, 50).toFixed(1)} ms   p99 ${percentile(values, 99).toFixed(1)} ms   mean ${mean(values).toFixed(1)} ms   max ${Math.max(...values).toFixed(1)} ms`;
const ratio = (value: number) => (value >= 1 ? value.toFixed(2) : value.toPrecision(2));

/** Busy CPU ms of the whole machine (/proc/stat: all but idle and iowait) and of this run (this process and its descendants). */
function cpuNow() {
  const times = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const machine = ((times.reduce((a, b) => a + b, 0) - times[3]! - times[4]!) * 1000) / 100;
  let run = 0;
  for (const { ms } of readCpu().values()) run += ms;
  return { machine, run, at: performance.now() };
}
/**
 * The share of the machine's CPU that processes outside this run used since
 * `before` (other people's work on the same cores skews the figures, their
 * p99 most).
 */
function othersSince(before: ReturnType<typeof cpuNow>): string {
  const after = cpuNow();
  const share = (after.machine - before.machine - (after.run - before.run)) / ((after.at - before.at) * cpus().length);
  return `${(Math.max(0, share) * 100).toFixed(0)} %`;
}

/** CPU used per item since `before`, by process, and the share of the machine's cores this run kept busy over `elapsedMs`. */
function cpuPer(before: CpuReading, count: number, elapsedMs: number, what: string): string {
  const used = [...cpuSince(before)].filter(([, ms]) => ms / count >= 0.05).sort((a, b) => b[1] - a[1]);
  const total = used.reduce((sum, [, ms]) => sum + ms, 0);
  const parts = used.map(([role, ms]) => `${role} ${(ms / count).toFixed(1)}`).join(', ');
  const busy = (total / (elapsedMs * cpus().length)) * 100;
  return `CPU per ${what} ${(total / count).toFixed(1)} ms (${parts}); this run kept ${busy.toFixed(0)} % of ${cpus().length} cores busy`;
}

// ---- rule sets ------------------------------------------------------------------

const WORDS = ['fiyat', 'kargo', 'iade', 'sipariş', 'adres', 'ödeme', 'indirim', 'stok', 'garanti', 'fatura'];
/** What a customer writes that matches none of the rules (it has several of their words, none with a code). */
const BASE_TEXT = 'Merhaba, siparişim ne zaman kargoya verilecek? Adresimi değiştirmek istiyorum, ödemeyi de yaptım. Teşekkürler!';

/** Regex rules as people write them, each with its own code (fixed width: no code is part of another). */
const REGEX_TEMPLATES: Array<{ pattern: (code: string) => string; sample: (code: string) => string }> = [
  { pattern: (c) => `sipari[sş]${c}\\s*(no|numara)?\\s*:?\\s*\\d{4,}`, sample: (c) => `siparis${c} no 12345` },
  { pattern: (c) => `(fiyat|ucret)${c}\\w*\\s+(ne|kac)`, sample: (c) => `fiyat${c} ne kadar` },
  { pattern: (c) => `kargo${c}.*(nerede|ne zaman)`, sample: (c) => `kargo${c} nerede` },
  { pattern: (c) => `\\bkod${c}\\s*\\d{3}\\b`, sample: (c) => `kod${c} 123` },
  { pattern: (c) => `^(merhaba|selam)\\b.*urun${c}`, sample: (c) => `urun${c}` },
];

interface BenchRule {
  rule: ChatbotRule;
  /** A text that matches this rule and no other. */
  sample: string;
}

/** Rule `i` of a given type, with a text that matches it. */
function ruleOf(i: number, type: MatchType): BenchRule {
  const code = String(i).padStart(4, '0');
  const word = WORDS[i % WORDS.length]!;
  const rule = (trigger_text: string): ChatbotRule => ({
    id: i + 1,
    match_type: type,
    trigger_text,
    response: `Merhaba {name}, ${word} hakkında bilgi ${code}`,
    delay: 0,
    enabled: true,
    priority: i,
  });
  switch (type) {
    case 'contains':
      return { rule: rule(`${word} ${code}`), sample: `${BASE_TEXT} ${word} ${code}` };
    case 'exact':
      return { rule: rule(`${word} bilgi ${code}`), sample: `${word.toUpperCase()} bilgi ${code}` };
    case 'startswith':
      return { rule: rule(`${word} no ${code}`), sample: `${word} no ${code} ${BASE_TEXT}` };
    case 'regex': {
      const template = REGEX_TEMPLATES[i % REGEX_TEMPLATES.length]!;
      return { rule: rule(template.pattern(code)), sample: `${BASE_TEXT} ${template.sample(code)}` };
    }
  }
}

/** A deterministic shuffle (the same rule order on every run). */
function shuffled<T>(items: T[]): T[] {
  let seed = 12345;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * `count` rules in the mix's proportions (largest remainders), in shuffled
 * priority order; where there is a regex rule, one is last: matching the last
 * rule then passes its group's screen, and every regex of that group is tried.
 */
function mixedRules(count: number): BenchRule[] {
  const shares = RULE_MIX.map(([type, share]) => ({ type, n: Math.floor(share * count), rest: share * count - Math.floor(share * count) }));
  for (const s of [...shares].sort((a, b) => b.rest - a.rest).slice(0, count - shares.reduce((sum, s) => sum + s.n, 0))) s.n++;
  const types = shuffled(shares.flatMap((s) => Array<MatchType>(s.n).fill(s.type)));
  const lastRegex = types.lastIndexOf('regex');
  if (lastRegex >= 0) [types[lastRegex], types[types.length - 1]] = [types[types.length - 1]!, 'regex'];
  return types.map((type, i) => ruleOf(i, type));
}

const regexRules = (count: number): BenchRule[] => Array.from({ length: count }, (_, i) => ruleOf(i, 'regex'));

const mixLine = (count: number) => {
  const rules = mixedRules(count);
  return RULE_MIX.map(([type]) => `${rules.filter((r) => r.rule.match_type === type).length} ${type}`).join(', ');
};

// ---- 1. matching ----------------------------------------------------------------

let sink = 0;

/** Per-call times (µs) of `matcher.match(text)`, after checking it answers `expected`. */
function timeMatching(matcher: RuleMatcher, text: string, expected: number | undefined): { mean: number; p99: number; calls: number } {
  const got = matcher.match(text)?.id;
  if (got !== expected) throw new Error(`the matcher answered rule ${got} where rule ${expected} was expected: ${text.slice(0, 80)}`);
  let started = performance.now();
  for (let i = 0; i < WARMUP_CALLS && performance.now() - started < BUDGET_MS / 3; i++) sink += matcher.match(text)?.id ?? 0;
  const times: number[] = [];
  started = performance.now();
  while (times.length < MAX_CALLS && (times.length < MIN_CALLS || performance.now() - started < BUDGET_MS)) {
    const t = performance.now();
    sink += matcher.match(text)?.id ?? 0;
    times.push((performance.now() - t) * 1000);
  }
  return { mean: mean(times), p99: percentile(times, 99), calls: times.length };
}

/** The median time (ms) to build a matcher of these rules, after one build to warm up. */
function timeBuild(rules: ChatbotRule[]): number {
  new RuleMatcher(rules).close();
  const times: number[] = [];
  for (let i = 0; i < BUILDS; i++) {
    const t = performance.now();
    const matcher = new RuleMatcher(rules);
    times.push(performance.now() - t);
    matcher.close();
  }
  return median(times);
}

function matching(): string[] {
  const lines = [
    'matching one incoming text (RuleMatcher.match, folding included), per call after warm-up;',
    `goal: under 1 ms (${GOAL_US} µs) per message at 1,000 rules; ratios are against that goal`,
    `  mix: ${RULE_MIX.map(([type, share]) => `${share * 100} % ${type}`).join(', ')}, in shuffled priority order`,
    `       (1 rule: ${mixLine(1)}; 100: ${mixLine(100)}; 1,000: ${mixLine(1_000)});`,
    '       the last rule is a regex wherever the mix has one',
    `  texts: "matches none" is ${BASE_TEXT.length} characters (every rule tried); "matches last" matches only the last rule`,
    '  regex rules: 8 or more are screened 64 at a time by one combined pattern',
    '  build: new RuleMatcher(rules), every pattern compiled afresh; a session worker builds in 10 ms slices after a change and compiles only new patterns',
    "  others: share of the machine's CPU used meanwhile by processes outside this run (they inflate p99 most)",
    '',
    `  ${'rules'.padStart(5)}  ${'rule set'.padEnd(10)} ${'build'.padStart(10)}  ${'text'.padEnd(14)} ${'mean µs'.padStart(9)} ${'p99 µs'.padStart(9)} ${'mean/goal'.padStart(10)} ${'p99/goal'.padStart(9)} ${'calls'.padStart(7)} ${'others'.padStart(7)}`,
  ];
  const atGoal: Array<{ what: string; mean: number; p99: number }> = [];
  for (const count of RULE_COUNTS) {
    for (const [name, rules] of [
      ['mix', mixedRules(count)],
      ['all regex', regexRules(count)],
    ] as const) {
      progress(`matching: ${count} rules, ${name}`);
      const plain = rules.map((r) => r.rule);
      const build = timeBuild(plain);
      const matcher = new RuleMatcher(plain);
      const last = rules[rules.length - 1]!;
      for (const [text, sample, expected] of [
        ['matches none', BASE_TEXT, undefined],
        ['matches last', last.sample, last.rule.id],
      ] as const) {
        const cpu = cpuNow();
        const t = timeMatching(matcher, sample, expected);
        if (count === 1_000) atGoal.push({ what: `${name}, ${text}`, ...t });
        lines.push(
          `  ${String(count).padStart(5)}  ${name.padEnd(10)} ${`${build.toFixed(2)} ms`.padStart(10)}  ${text.padEnd(14)} ${t.mean.toFixed(2).padStart(9)} ${t.p99.toFixed(2).padStart(9)} ${ratio(t.mean / GOAL_US).padStart(10)} ${ratio(t.p99 / GOAL_US).padStart(9)} ${String(t.calls).padStart(7)} ${othersSince(cpu).padStart(7)}`,
        );
      }
      matcher.close();
    }
  }
  const slowest = (key: 'mean' | 'p99') => atGoal.reduce((a, b) => (b[key] > a[key] ? b : a));
  lines.push(
    `  at 1,000 rules, the slowest case: mean ${slowest('mean').mean.toFixed(0)} µs (${slowest('mean').what}) = ${ratio(slowest('mean').mean / GOAL_US)} of the goal;` +
      ` p99 ${slowest('p99').p99.toFixed(0)} µs (${slowest('p99').what}) = ${ratio(slowest('p99').p99 / GOAL_US)}`,
  );
  return lines;
}

// ---- 2. hostile patterns --------------------------------------------------------

/** Times (ms) of `run`, after one call to warm up: up to 10 calls or 2 s. */
function timeRuns(run: () => unknown): { mean: number; max: number; runs: number } {
  run();
  const times: number[] = [];
  const started = performance.now();
  while (times.length < 10 && (times.length < 3 || performance.now() - started < 2_000)) {
    const t = performance.now();
    sink += run() ? 1 : 0;
    times.push(performance.now() - t);
  }
  return { mean: mean(times), max: Math.max(...times), runs: times.length };
}

/** A native RegExp on inputs grown one character at a time, until one match takes longer than NATIVE_STOP_MS. */
function nativeSeries(pattern: string, input: (n: number) => string, from: number, max: number): Array<[n: number, ms: number]> {
  const re = new RegExp(pattern);
  re.test(input(Math.max(1, from - 8)));
  const series: Array<[number, number]> = [];
  for (let n = from; n <= max; n++) {
    const t = performance.now();
    const matched = re.test(input(n));
    series.push([n, performance.now() - t]);
    if (matched) throw new Error(`${pattern} matched ${n} characters`);
    if (series[series.length - 1]![1] > NATIVE_STOP_MS) break;
  }
  return series;
}

function hostile(): string[] {
  const aaa = `${'a'.repeat(TEXT_64K - 1)}!`;
  const cases: Array<{ pattern: string; text: string; described: string; native: (n: number) => string; from: number }> = [
    { pattern: '(a+)+$', text: aaa, described: "'a'×65,535 + '!'", native: (n) => `${'a'.repeat(n)}!`, from: 16 },
    { pattern: '(x+x+)+y', text: 'x'.repeat(TEXT_64K), described: "'x'×65,536", native: (n) => 'x'.repeat(n), from: 14 },
    { pattern: '(.*a){20}$', text: aaa, described: "'a'×65,535 + '!'", native: (n) => `${'a'.repeat(n)}!`, from: 20 },
    { pattern: '(a|aa)+$', text: aaa, described: "'a'×65,535 + '!'", native: (n) => `${'a'.repeat(n)}!`, from: 24 },
  ];
  const lines = [
    '',
    'hostile patterns: one regex rule against a 64 KB text (RE2, through RuleMatcher.match, folding included),',
    `beside a native JS RegExp on inputs grown a character at a time until one match took over ${NATIVE_STOP_MS} ms`,
  ];
  for (const c of cases) {
    progress(`hostile: ${c.pattern}`);
    const rule: ChatbotRule = { id: 1, match_type: 'regex', trigger_text: c.pattern, response: 'x', delay: 0, enabled: true, priority: 0 };
    const matcher = new RuleMatcher([rule]);
    if (matcher.skipped.length) {
      lines.push(`  ${c.pattern.padEnd(12)} refused by RE2`);
      matcher.close();
      continue;
    }
    if (matcher.match(c.text)) throw new Error(`${c.pattern} matched ${c.described}`);
    const cpu = cpuNow();
    const re2 = timeRuns(() => matcher.match(c.text));
    matcher.close();
    const series = nativeSeries(c.pattern, c.native, c.from, c.from + 30);
    const [lastN, lastMs] = series[series.length - 1]!;
    // Growth per added character, over the points that took at least a millisecond.
    const timed = series.filter(([, ms]) => ms >= 1);
    const growth =
      timed.length >= 2 ? (timed[timed.length - 1]![1] / timed[0]![1]) ** (1 / (timed[timed.length - 1]![0] - timed[0]![0])) : NaN;
    lines.push(
      `  ${c.pattern.padEnd(12)} RE2 on ${c.described.padEnd(17)} ${re2.mean.toFixed(2).padStart(7)} ms per match (max ${re2.max.toFixed(2)} ms, ${re2.runs} runs)`,
      `  ${''.padEnd(12)} native RegExp: ${series
        .filter(([n]) => n >= lastN - 5)
        .map(([n, ms]) => `${n} chars ${ms.toFixed(ms < 10 ? 1 : 0)} ms`)
        .join(', ')}`,
      `  ${''.padEnd(12)}   ×${growth.toFixed(2)} per added character; native on ${lastN} characters takes ${ratio(lastMs / re2.mean)} × RE2's time on 64 KB (others ${othersSince(cpu)})`,
    );
  }

  // A 64 KB message against whole rule sets: what one such message costs the session worker.
  lines.push('', 'a 64 KB text against the 1,000-rule sets of part 1 (no rule matches; the goal is for ordinary texts, shown for scale):');
  const prose = BASE_TEXT.repeat(Math.ceil(TEXT_64K / BASE_TEXT.length)).slice(0, TEXT_64K);
  for (const [name, rules] of [
    ['mix', mixedRules(1_000)],
    ['all regex', regexRules(1_000)],
  ] as const) {
    const matcher = new RuleMatcher(rules.map((r) => r.rule));
    for (const [described, text] of [
      ['customer prose', prose],
      ["'a'×65,535 + '!'", aaa],
    ] as const) {
      progress(`hostile: 64 KB of ${described} against 1,000 rules, ${name}`);
      if (matcher.match(text)) throw new Error(`64 KB of ${described} matched a rule`);
      const cpu = cpuNow();
      const t = timeRuns(() => matcher.match(text));
      lines.push(
        `  ${name.padEnd(10)} ${described.padEnd(17)} ${t.mean.toFixed(2).padStart(7)} ms per message (max ${t.max.toFixed(2)} ms, ${t.runs} runs)   ${ratio(t.mean / (GOAL_US / 1000))} × the 1 ms goal (others ${othersSince(cpu)})`,
      );
    }
    matcher.close();
  }
  return lines;
}

// ---- 3. replies through the gateway ---------------------------------------------

/** Resolves with the time (ms since the epoch, in the simulator) of the next message `phone` receives; undefined after 30 s. */
function listenForReplies(sim: SimProcess) {
  const waiting = new Map<string, (at: number) => void>();
  sim.onReceived((_id, at, to) => {
    const waiter = waiting.get(to);
    if (!waiter) return;
    waiting.delete(to);
    waiter(at);
  });
  return (phone: string, timeoutMs = 30_000) =>
    new Promise<number | undefined>((resolve) => {
      const timer = setTimeout(() => {
        waiting.delete(phone);
        resolve(undefined);
      }, timeoutMs);
      waiting.set(phone, (at) => {
        clearTimeout(timer);
        resolve(at);
      });
    });
}

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
process.stdout.write(`\n${report.join('\n')}\n`);
if (sink === -1) process.stdout.write('\n');
