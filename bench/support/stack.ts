/**
 * What a simulator benchmark runs on: Postgres and Temporal (test/support/infra)
 * and the simulator in its own process. `stop()` (also on Ctrl-C) first runs
 * what the benchmark registered with `atStop`, newest first, then stops these.
 */
import { startInfra, type Infra } from '../../test/support/infra.js';
import { WA_VERSION } from '../../test/support/bareBaileys.js';
import { startSimProcess, type SimProcess } from './simProcess.js';

export interface BenchStack {
  infra: Infra;
  sim: SimProcess;
  /** A gateway's environment for using the simulator (quiet logs). */
  gatewayEnv: NodeJS.ProcessEnv;
  atStop(stop: () => Promise<unknown> | undefined): void;
  stop(): Promise<void>;
}

export async function startBenchStack(options: { postgresSettings?: Record<string, string> } = {}): Promise<BenchStack> {
  const infra = await startInfra(undefined, options);
  const sim = await startSimProcess();
  const stops: Array<() => Promise<unknown> | undefined> = [];
  const stop = async () => {
    for (const stopOne of stops.reverse()) await Promise.resolve(stopOne()).catch(() => {});
    await sim.stop();
    await infra.stop();
  };
  process.once('SIGINT', () => void stop().finally(() => process.exit(130)));
  return {
    infra,
    sim,
    gatewayEnv: { WA_WS_URL: sim.url, WA_VERSION: WA_VERSION.join('.'), WA_CA_FILE: sim.ca, LOG_LEVEL: 'warn' },
    atStop: (stopOne) => void stops.push(stopOne),
    stop,
  };
}
