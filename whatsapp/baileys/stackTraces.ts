/**
 * Baileys captures a stack trace (`new Error().stack`) for every stanza it
 * sends and every query it makes, to attach to a "Timed Out" error should the
 * send time out; the string is almost never read. Formatting one costs about
 * 50 µs when source-mapped stack traces are on (tsx turns them on), some 10 %
 * of a session worker's CPU when it sends hundreds of messages a second.
 *
 * `cheapBaileysTimerStacks` formats just those captures (made in Baileys'
 * `Utils/generics.js`) without source maps and with only their top frames;
 * every other stack is formatted as before.
 */
const TIMER_HELPERS = /[\\/]@whiskeysockets[\\/]baileys[\\/]lib[\\/]Utils[\\/]generics\.js$/;
const FRAMES = 4;

let installed = false;

export function cheapBaileysTimerStacks(): void {
  const original = Error.prepareStackTrace;
  // Node installs its own formatter here; without one there is nothing to delegate to.
  if (installed || typeof original !== 'function') return;
  installed = true;
  Error.prepareStackTrace = (error, sites) => {
    const file = sites[0]?.getFileName();
    if (file && TIMER_HELPERS.test(file)) return `Error\n    at ${sites.slice(0, FRAMES).join('\n    at ')}`;
    return original(error, sites);
  };
}
