/** The language the dashboard speaks: the browser's, until the user picks one (kept in local storage). */
import { signal } from '@preact/signals';
import { dictionaries, type Key, type Language } from './words.js';

export type { Key, Language };

const stored = localStorage.getItem('language');
export const language = signal<Language>(
  stored === 'en' || stored === 'tr' ? stored : navigator.languages.some((l) => l.toLowerCase().startsWith('tr')) ? 'tr' : 'en',
);

export function setLanguage(next: Language) {
  localStorage.setItem('language', next);
  language.value = next;
  document.documentElement.lang = next;
}

/** The text of `key` in the current language, with `{name}` placeholders filled in. */
export function t(key: Key, values: Record<string, string | number> = {}): string {
  return dictionaries[language.value][key].replace(/\{(\w+)\}/g, (_, name: string) => String(values[name] ?? `{${name}}`));
}

/** The keys that come as a pair, `….one` and `….other`, for a count. */
type Counted = { [K in Key]: K extends `${infer Base}.other` ? Base : never }[Key];

/** The words for `count` of something, in the language's plural form ("1 attempt", "2 attempts"; "1 deneme", "2 deneme"). */
export function plural(key: Counted, count: number): string {
  const form = new Intl.PluralRules(language.value).select(count) === 'one' ? 'one' : 'other';
  return t(`${key}.${form}` as Key, { count });
}

/** A moment in the browser's time zone, in the language's way of writing dates. */
export const localTime = (at: string | number | Date) => new Date(at).toLocaleString(language.value === 'tr' ? 'tr-TR' : 'en-GB');
