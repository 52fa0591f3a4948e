/**
 * Chatbot rules: which rule answers an incoming text. Rules are tried in
 * `priority` order (lower first, ties by id) and the first match wins.
 * Comparison ignores case, accents and the Turkish i (lib/textForm.ts).
 *
 * Regular expressions run on RE2 (re2-wasm): linear in the text whatever the
 * pattern, so `(a+)+$` against 64 KB takes about a millisecond instead of
 * hanging the worker. RE2 has no lookaround and no backreferences; a pattern
 * that uses them is refused when the rule is saved (`regexProblem`).
 */
import { RE2 } from 're2-wasm';
import { foldText, phraseForm } from './textForm.js';

export const MATCH_TYPES = ['exact', 'contains', 'startswith', 'regex'] as const;
export type MatchType = (typeof MATCH_TYPES)[number];
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

type Compiled =
  | { rule: ChatbotRule; kind: 'exact' | 'contains' | 'startswith'; phrase: string }
  | { rule: ChatbotRule; kind: 'regex'; re: RE2; group: number };

/**
 * The enabled rules of an instance, ready to match. Call `close()` when it is
 * replaced: compiled patterns hold WebAssembly memory.
 */
export class RuleMatcher {
  private readonly compiled: Compiled[] = [];
  private readonly screens: Array<RE2 | undefined> = [];
  /** Rules whose stored pattern RE2 refuses (saved before validation): skipped. */
  readonly skipped: number[] = [];

  constructor(rules: ChatbotRule[]) {
    const ordered = rules.filter((r) => r.enabled).sort((a, b) => a.priority - b.priority || a.id - b.id);
    const patterns: string[] = [];
    for (const rule of ordered) {
      if (rule.match_type !== 'regex') {
        this.compiled.push({ rule, kind: rule.match_type, phrase: phraseForm(rule.trigger_text) });
        continue;
      }
      try {
        this.compiled.push({ rule, kind: 'regex', re: compile(rule.trigger_text), group: Math.floor(patterns.length / GROUP) });
        patterns.push(patternForm(rule.trigger_text));
      } catch {
        this.skipped.push(rule.id);
      }
    }
    if (patterns.length >= SCREEN_FROM) {
      for (let start = 0; start < patterns.length; start += GROUP) {
        const alternatives = patterns.slice(start, start + GROUP).map((p) => `(?:${p})`);
        try {
          this.screens.push(new RE2(alternatives.join('|'), 'iu'));
        } catch {
          // Too large together for RE2's memory budget: its rules are tried one by one.
          this.screens.push(undefined);
        }
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
    const screened = new Map<number, boolean>();
    for (const entry of this.compiled) {
      switch (entry.kind) {
        case 'exact':
          if (phrase === entry.phrase) return entry.rule;
          break;
        case 'contains':
          if (phrase.includes(entry.phrase)) return entry.rule;
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

  close(): void {
    for (const entry of this.compiled) if (entry.kind === 'regex') free(entry.re);
    for (const screen of this.screens) if (screen) free(screen);
    this.compiled.length = 0;
    this.screens.length = 0;
  }
}

/** The response with its placeholders filled: `{name}`, `{phone}`, `{time}` (HH:mm in the instance's time zone). */
export function fillResponse(response: string, values: { name: string; phone: string; now: Date; timeZone: string }): string {
  const time = new Intl.DateTimeFormat('tr-TR', { timeZone: values.timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(
    values.now,
  );
  return response.replaceAll('{name}', values.name).replaceAll('{phone}', values.phone).replaceAll('{time}', time);
}

/** Whether a time zone name is one the runtime knows (`Europe/Istanbul`, `UTC`). */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
