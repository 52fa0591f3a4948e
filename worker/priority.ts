import { getPriority, setPriority } from 'node:os';
import type { Logger } from 'pino';

/**
 * Gives the calling thread (a session worker's main thread, where Baileys
 * and every socket of the worker run) precedence for the CPU, at nice value
 * `nice`; threads it starts later inherit it. On a host shared with the API,
 * Postgres and Temporal, a busy session worker is otherwise runnable all the
 * time yet kept off the CPU a quarter to a third of it (measured on 2 cores
 * with bench:send), and everything its sockets do waits: sends, receipts,
 * keep-alives. Raising a priority needs CAP_SYS_NICE (root has it) or a
 * RLIMIT_NICE that allows it (a user may go down to nice 20 - the limit:
 * docker-compose.yml sets 30); without either the worker runs at the
 * priority it was started with. Returns the nice value the thread runs at.
 */
export function raiseThreadPriority(nice: number, logger: Logger): number {
  const before = getPriority();
  if (nice >= before) return before;
  try {
    setPriority(nice);
    logger.info({ nice }, 'session worker: sockets run at a raised CPU priority');
  } catch (err) {
    logger.info(
      { nice: before, wanted: nice, reason: (err as { info?: { code?: string } }).info?.code ?? (err as Error).message },
      'session worker: CPU priority left as it was (raising it needs CAP_SYS_NICE or RLIMIT_NICE; SESSION_WORKER_NICE=0 stops trying)',
    );
  }
  return getPriority();
}
