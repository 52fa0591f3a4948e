import { Router } from 'express';
import type { Client } from '@temporalio/client';
import { ping, type Db } from '../db/knex.js';
import { sinkStates, type SinkState } from '../db/eventSinks.js';

async function probe(check: () => Promise<unknown>, timeoutMs: number): Promise<{ ok: boolean; latencyMs: number; error?: string }> {
  const started = Date.now();
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref()),
    ]);
    return { ok: true, latencyMs: Date.now() - started };
  } catch (err) {
    return { ok: false, latencyMs: Date.now() - started, error: (err as Error).message.split('\n')[0] };
  }
}

/**
 * `GET /ready` (no auth): 200 when Postgres and Temporal answer, else 503
 * saying which does not. `GET /health` is liveness: 200 while the process
 * serves, with the same report (so a restart is not asked for because
 * Postgres is down). Both say how each broker sink stands (`sinks`): one that
 * cannot reach its broker is `ok: false` with its error, and does not make
 * the API unready, since the API serves without it.
 */
async function sinkReport(db: Db): Promise<Array<[string, Omit<SinkState, 'name'>]> | undefined> {
  try {
    return (await sinkStates(db)).map(({ name, ...state }) => [name, state]);
  } catch {
    return undefined;
  }
}

export function healthRouter({ db, temporal }: { db: Db; temporal: Client }, { liveness = false } = {}): Router {
  const router = Router();
  router.get('/', async (_req, res) => {
    const [database, temporalCheck] = await Promise.all([
      probe(() => ping(db), 3_000),
      probe(() => temporal.connection.withDeadline(Date.now() + 3_000, () => temporal.workflowService.getSystemInfo({})), 3_500),
    ]);
    const ok = database.ok && temporalCheck.ok;
    const sinks = database.ok ? await sinkReport(db) : undefined;
    res
      .status(ok || liveness ? 200 : 503)
      .json({
        status: ok ? 'ok' : 'unavailable',
        database,
        temporal: temporalCheck,
        ...(sinks?.length ? { sinks: Object.fromEntries(sinks) } : {}),
      });
  });
  return router;
}
