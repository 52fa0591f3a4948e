/**
 * How the gateway compares what people type: case, accents and the Turkish
 * dotted and dotless i aside. `FİYAT`, `FIYAT`, `fiyat` and `fıyat` are one
 * word, and so are `şeker` and `seker` (many type Turkish without its letters).
 */

/** The text folded: İ, I, ı and i are all `i`, accents are dropped, the rest is lower case. */
export function foldText(text: string): string {
  return text.replace(/[İIı]/g, 'i').normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/** A keyword as compared (opt-out words, exact triggers): folded, without surrounding space. */
export function keywordForm(text: string): string {
  return foldText(text).trim();
}

/** A phrase as compared (chatbot triggers): folded, runs of white space as one space. */
export function phraseForm(text: string): string {
  return keywordForm(text).replace(/\s+/g, ' ');
}
