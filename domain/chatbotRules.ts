/**
 * Chatbot rules: which rule answers an incoming text. Rules are tried in
 * `priority` order (lower first, ties by id) and the first match wins.
 * Comparison ignores case, accents and the Turkish i (domain/textForm.ts).
 *
 * Regular expressions run on RE2 (re2-wasm): linear in the text whatever the
 * pattern, so `(a+)+$` against 64 KB takes about a millisecond instead of
 * hanging the worker. RE2 has no lookaround and no backreferences; a pattern
 * that uses them is refused when the rule is saved (`regexProblem`).
 */
import { RE2 } from 're2-wasm';
import type { MatchType } from './matchTypes.js';
import { foldText, phraseForm } from './textForm.js';

export { MATCH_TYPES, type MatchType } from './matchTypes.js';
export const MAX_PATTERN_LENGTH = 500;

export interface ChatbotRule {
  id: number;
  match_type: MatchType;
  trigger_text: string;
  response: string;
  delay: number;
  enabled: boolean;
  priority: number;
}

/** A pattern as RE2 gets it: the Turkish i and accents folded like the text (its escapes, such as `\W`, untouched). */
const patternForm = (pattern: string) => pattern.replace(/[İı]/g, 'i').normalize('NFD').replace(/\p{M}/gu, '');

const compile = (pattern: string) => new RE2(patternForm(pattern), 'iu');

/** A pattern to match as a rule's trigger is matched (a flow's keyword, case or choice), by `id`, tried in `priority` order. */
export const patternRule = (id: number, match_type: MatchType, text: string, priority = 0): ChatbotRule => ({
  id,
  match_type,
  trigger_text: text,
  response: '',
  delay: 0,
  enabled: true,
  priority,
});

/** RE2 objects live in WebAssembly memory until deleted. */
const free = (re: RE2) => (re as unknown as { wrapper: { delete(): void } }).wrapper.delete();

/** Why a pattern cannot be a rule's regex, or undefined if it can. */
export function regexProblem(pattern: string): string | undefined {
  if (pattern.length > MAX_PATTERN_LENGTH) return `a pattern may have at most ${MAX_PATTERN_LENGTH} characters`;
  try {
    free(compile(pattern));
    return undefined;
  } catch (err) {
    const reason = String((err as Error).message).replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '');
    return `not a regular expression the gateway can run safely (RE2 syntax, without lookaround or backreferences): ${reason}`;
  }
}

/** Regex rules are screened in groups this large: one pass over the text tells whether any of a group can match. */
const GROUP = 64;
/** Below this many regex rules, each is simply tried. */
const SCREEN_FROM = 8;

/**
 * Compiled RE2 patterns by source, shared by an instance's successive
 * matchers: after a change only new patterns are compiled (about a
 * millisecond each, 25 ms for a group's screen). RE2 objects live in
 * WebAssembly memory until freed: `retain` frees the ones no longer used.
 */
export class PatternCache {
  private readonly compiled = new Map<string, RE2>();

  get(source: string): RE2 {
    let re = this.compiled.get(source);
    if (!re) this.compiled.set(source, (re = new RE2(source, 'iu')));
    return re;
  }

  has(source: string): boolean {
    return this.compiled.has(source);
  }

  /** Frees every pattern not in `keep`. */
  retain(keep: ReadonlySet<string>): void {
    for (const [source, re] of this.compiled) {
      if (keep.has(source)) continue;
      free(re);
      this.compiled.delete(source);
    }
  }

  get size(): number {
    return this.compiled.size;
  }
}

/**
 * Aho–Corasick over the `contains` phrases: one pass over the text finds
 * the first of them (in rule order) that it contains, however many there
 * are (700 `includes` over a 64 KB text took 38 ms).
 */
class PhraseIndex {
  private readonly next: Array<Map<string, number>> = [new Map()];
  private readonly fail: number[] = [0];
  /** The lowest rule position of a phrase ending at this state (through its failure links too). */
  private readonly best: number[] = [Infinity];
  empty = true;

  add(phrase: string, position: number): void {
    let state = 0;
    for (const char of phrase) {
      let to = this.next[state]!.get(char);
      if (to === undefined) {
        to = this.next.length;
        this.next.push(new Map());
        this.fail.push(0);
        this.best.push(Infinity);
        this.next[state]!.set(char, to);
      }
      state = to;
    }
    this.best[state] = Math.min(this.best[state]!, position);
    this.empty = false;
  }

  /** Links each state to the longest proper suffix that is also a state (breadth first). */
  finish(): void {
    const queue = [...this.next[0]!.values()];
    for (let i = 0; i < queue.length; i++) {
      const state = queue[i]!;
      for (const [char, to] of this.next[state]!) {
        let f = this.fail[state]!;
        while (f !== 0 && !this.next[f]!.has(char)) f = this.fail[f]!;
        const target = this.next[f]!.get(char);
        this.fail[to] = target !== undefined && target !== to ? target : 0;
        this.best[to] = Math.min(this.best[to]!, this.best[this.fail[to]!]!);
        queue.push(to);
      }
    }
  }

  /** The lowest rule position among the phrases `text` contains; Infinity for none. */
  first(text: string): number {
    let lowest = Infinity;
    let state = 0;
    for (const char of text) {
      let to = this.next[state]!.get(char);
      while (to === undefined && state !== 0) {
        state = this.fail[state]!;
        to = this.next[state]!.get(char);
      }
      state = to ?? 0;
      if (this.best[state]! < lowest) lowest = this.best[state]!;
    }
    return lowest;
  }
}

type Compiled =
  | { rule: ChatbotRule; kind: 'exact' | 'contains' | 'startswith'; phrase: string }
  | { rule: ChatbotRule; kind: 'regex'; re: RE2; group: number };

interface Parts {
  compiled: Compiled[];
  screens: Array<RE2 | undefined>;
  phrases: PhraseIndex;
  skipped: number[];
  patterns: Set<string>;
}

/**
 * Compiles the rules, pausing (`yield`) after each RE2 compilation so that
 * an async build can let the event loop run in between.
 */
function* prepare(rules: ChatbotRule[], cache: PatternCache): Generator<void, Parts> {
  const parts: Parts = { compiled: [], screens: [], phrases: new PhraseIndex(), skipped: [], patterns: new Set() };
  const ordered = rules.filter((r) => r.enabled).sort((a, b) => a.priority - b.priority || a.id - b.id);
  const sources: string[] = [];
  for (const rule of ordered) {
    if (rule.match_type !== 'regex') {
      const phrase = phraseForm(rule.trigger_text);
      if (rule.match_type === 'contains') parts.phrases.add(phrase, parts.compiled.length);
      parts.compiled.push({ rule, kind: rule.match_type, phrase });
      continue;
    }
    const source = patternForm(rule.trigger_text);
    const fresh = !cache.has(source);
    try {
      parts.compiled.push({ rule, kind: 'regex', re: cache.get(source), group: Math.floor(sources.length / GROUP) });
      sources.push(source);
      parts.patterns.add(source);
    } catch {
      parts.skipped.push(rule.id);
    }
    if (fresh) yield;
  }
  parts.phrases.finish();
  if (sources.length >= SCREEN_FROM) {
    for (let start = 0; start < sources.length; start += GROUP) {
      const screen = sources
        .slice(start, start + GROUP)
        .map((p) => `(?:${p})`)
        .join('|');
      const fresh = !cache.has(screen);
      try {
        parts.screens.push(cache.get(screen));
        parts.patterns.add(screen);
      } catch {
        // Too large together for RE2's memory budget: its rules are tried one by one.
        parts.screens.push(undefined);
      }
      if (fresh) yield;
    }
  }
  return parts;
}

/** How long an async build works before it lets the event loop run. */
const SLICE_MS = 10;

/**
 * The enabled rules of an instance, ready to match. Built with `new` it owns
 * its compiled patterns (`close()` frees them); built with `build()` they
 * belong to the cache given.
 */
export class RuleMatcher {
  private readonly compiled: Compiled[];
  private readonly screens: Array<RE2 | undefined>;
  private readonly phrases: PhraseIndex;
  private readonly own: PatternCache | undefined;
  /** Rules whose stored pattern RE2 refuses (saved before validation): skipped. */
  readonly skipped: number[];
  /** The sources of the compiled patterns it uses (to keep in a shared cache). */
  readonly patterns: ReadonlySet<string>;

  constructor(rules: ChatbotRule[], from?: { parts: Parts }) {
    let parts = from?.parts;
    if (!parts) {
      this.own = new PatternCache();
      const steps = prepare(rules, this.own);
      let step = steps.next();
      while (!step.done) step = steps.next();
      parts = step.value;
    }
    this.compiled = parts.compiled;
    this.screens = parts.screens;
    this.phrases = parts.phrases;
    this.skipped = parts.skipped;
    this.patterns = parts.patterns;
  }

  /**
   * Builds a matcher with patterns from (and into) `cache`, in slices of
   * about 10 ms: a session worker's sockets keep running while a thousand
   * new patterns compile.
   */
  static async build(rules: ChatbotRule[], cache: PatternCache): Promise<RuleMatcher> {
    const steps = prepare(rules, cache);
    let sliceStart = performance.now();
    for (;;) {
      const step = steps.next();
      if (step.done) return new RuleMatcher(rules, { parts: step.value });
      if (performance.now() - sliceStart >= SLICE_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        sliceStart = performance.now();
      }
    }
  }

  get size(): number {
    return this.compiled.length;
  }

  /** The first rule, in priority order, that `text` matches. */
  match(text: string): ChatbotRule | undefined {
    if (this.compiled.length === 0 || !text) return undefined;
    const folded = foldText(text);
    const phrase = folded.trim().replace(/\s+/g, ' ');
    // The position of the first contains rule that matches: the rules before it decide, if one of them matches.
    const firstContains = this.phrases.empty ? Infinity : this.phrases.first(phrase);
    const screened = new Map<number, boolean>();
    const end = Math.min(this.compiled.length, firstContains + 1);
    for (let i = 0; i < end; i++) {
      const entry = this.compiled[i]!;
      switch (entry.kind) {
        case 'exact':
          if (phrase === entry.phrase) return entry.rule;
          break;
        case 'contains':
          if (i === firstContains) return entry.rule;
          break;
        case 'startswith':
          if (phrase.startsWith(entry.phrase)) return entry.rule;
          break;
        case 'regex': {
          const screen = this.screens[entry.group];
          if (screen) {
            let possible = screened.get(entry.group);
            if (possible === undefined) screened.set(entry.group, (possible = screen.test(folded)));
            if (!possible) break;
          }
          if (entry.re.test(folded)) return entry.rule;
          break;
        }
      }
    }
    return undefined;
  }

  /** Frees the patterns of a matcher built with `new`. */
  close(): void {
    this.own?.retain(new Set());
  }
}

/** A template's `{time}`: HH:mm in the instance's time zone (the chatbot's responses, flows' texts). */
export const clockTime = (now: Date, timeZone: string): string =>
  new Intl.DateTimeFormat('tr-TR', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(now);

/** The response with its placeholders filled: `{name}`, `{phone}`, `{time}` (HH:mm in the instance's time zone). */
export function fillResponse(response: string, values: { name: string; phone: string; now: Date; timeZone: string }): string {
  const time = clockTime(values.now, values.timeZone);
  return response.replaceAll('{name}', values.name).replaceAll('{phone}', values.phone).replaceAll('{time}', time);
}
