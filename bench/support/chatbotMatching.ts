/**
 * bench:chatbot, parts 1 and 2 (see bench/chatbot.ts): the matcher's cost per
 * incoming text with 1, 100 and 1,000 rules, and hostile patterns on RE2
 * beside a native RegExp. In-process; no Postgres, Temporal or gateway.
 */
import { performance } from 'node:perf_hooks';
import { RuleMatcher, type ChatbotRule, type MatchType } from '../../domain/chatbotRules.js';
import { cpuNow, othersSince } from './cpu.js';
import { mean, median, percentile, progress, ratio } from './stats.js';

/** The share of each match type in the realistic rule set. */
export const RULE_MIX: Array<[MatchType, number]> = [
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

export interface BenchRule {
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
export function mixedRules(count: number): BenchRule[] {
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

export function matching(): string[] {
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

export function hostile(): string[] {
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

/** Never true: reading the sink keeps the timed calls' results alive, so they cannot be optimised away. */
export const sinkIsNegative = () => sink === -1;
