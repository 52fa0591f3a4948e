/**
 * The dashboard's words in English and Turkish. Turkish is the reference
 * product's language; an instance is a "hat" (a line) in it. `tr` is typed by
 * `en`'s keys: a string missing in either is a type error, so no page shows an
 * untranslated word. A count's words are a pair of keys, `….one` and
 * `….other` (i18n.ts: plural).
 */
import { en, type Key } from './words/en.js';
import { tr } from './words/tr.js';

export type { Key };
export { en, tr };

export const dictionaries = { en, tr } as const;
export type Language = keyof typeof dictionaries;
