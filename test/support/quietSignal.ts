// Preloaded into every test process (scripts/test.mjs): libsignal prints whole Signal sessions
// (keys included) with console.info when it opens or replaces one. The gateway's workers send
// console output to their log (lib/logger.ts captureConsole); in tests it would only bury what failed.
const info = console.info.bind(console);
const sessionDumps = /^(Closing session:|Opening session:|Removing old closed session:)/;
console.info = (...args: unknown[]) => {
  if (typeof args[0] === 'string' && sessionDumps.test(args[0])) return;
  info(...args);
};
