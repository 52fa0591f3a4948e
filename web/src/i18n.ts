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
