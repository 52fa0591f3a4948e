/**
 * Spreads the sessions over the session workers. Each session worker says it
 * is up (a row in `session_workers`, every quarter of the heartbeat timeout),
 * so that the session workflow places a session on one under its share
 * (activities/general.ts: placeSession). And every few seconds a worker
 * holding more than its share hands the surplus over, a part at a time
 * (domain/sessionSpread.ts): a worker that joins takes its share within a
 * minute, without a QR (the sessions resume from their stored credentials).
 * A worker that dies stops saying it is up; its sessions' heartbeats time
 * out and each is placed on one of the others.
 */
import type { Logger } from 'pino';
import type { Db } from '../db/knex.js';
import { forgetSessionWorker, markSessionWorker, sessionWorkerLoads } from '../db/leases.js';
import { openInstances } from '../db/instances.js';
import { surplusOf } from '../domain/sessionSpread.js';
import type { SessionHost } from '../activities/sessionHost.js';

export interface SessionSpreadDeps {
  db: Db;
  host: SessionHost;
  logger: Logger;
  heartbeatTimeoutSeconds: number;
  /** How often the worker compares what it holds with its share. */
  balanceEveryMs?: number;
}

export function startSessionSpread({ db, host, logger, heartbeatTimeoutSeconds, balanceEveryMs = 5_000 }: SessionSpreadDeps) {
  const log = logger.child({ module: 'spread' });
  let stopped = false;
  const mark = () =>
    markSessionWorker(db, host.workerId, host.taskQueue).catch((err) => log.warn({ err }, 'saying this session worker is up failed'));
  const balance = async () => {
    if (host.isEvacuating) return;
    const loads = await sessionWorkerLoads(db, heartbeatTimeoutSeconds / 2, heartbeatTimeoutSeconds);
    const surplus = surplusOf(
      loads,
      loads.find((w) => w.workerId === host.workerId),
    );
    if (surplus === 0) return;
    // Connected sessions move (a session showing a QR stays where its QR is being scanned).
    const movable = await openInstances(db, host.instanceIds(), surplus);
    const moved = movable.filter((id) => host.move(id));
    if (moved.length)
      log.info(
        { moved: moved.length, held: host.size, workers: loads.map((w) => `${w.workerId}:${w.held}`) },
        'handing sessions over to spread them',
      );
  };
  void mark();
  const marker = setInterval(mark, Math.max(500, (heartbeatTimeoutSeconds * 1_000) / 4));
  marker.unref();
  let running: Promise<void> | undefined;
  const balancer = setInterval(() => {
    running ??= balance()
      .catch((err) => log.warn({ err }, 'spreading sessions failed'))
      .finally(() => (running = undefined));
  }, balanceEveryMs);
  balancer.unref();
  return {
    /** The worker is leaving: no session is placed on it any more. */
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      clearInterval(marker);
      clearInterval(balancer);
      await running;
      await forgetSessionWorker(db, host.workerId).catch((err) => log.warn({ err }, 'saying this session worker left failed'));
    },
  };
}

export type SessionSpread = ReturnType<typeof startSessionSpread>;
