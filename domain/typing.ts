/**
 * Typing before a send: the outbox shows "composing" (or "recording" before a
 * voice note) to the recipient for this long, then "paused", then sends.
 */

/** The longest typing a send may ask for (it holds back the instance's later messages meanwhile). */
export const MAX_TYPING_MS = 20_000;

/** A campaign's `typing: true`: 50 ms a character, at least 1 s and at most 8 s. */
export const TYPING_MS_PER_CHAR = 50;
export const AUTO_TYPING_MIN_MS = 1_000;
export const AUTO_TYPING_MAX_MS = 8_000;

/** How long a person would type `text` (a caption, or nothing for a file without one: the minimum). */
export function typingMsFor(text: string | null | undefined): number {
  const chars = [...(text ?? '')].length;
  return Math.min(AUTO_TYPING_MAX_MS, Math.max(AUTO_TYPING_MIN_MS, chars * TYPING_MS_PER_CHAR));
}
