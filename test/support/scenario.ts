/**
 * The setup most end-to-end suites share: the WhatsApp Web simulator with its users, an optional
 * webhook receiver, the gateway's real processes (API and `worker/main.ts` workers on real Baileys)
 * pointed at the simulator, and instances paired by QR. `scenario()` starts it in a `before` hook
 * and stops it in an `after` hook of the file.
 *
 *   const s = scenario({ name: 'e2e_bulk', users: [[ALI, 'Ali']], receiver: true, instances: [{ id: 'shop', phone: OWNER }] });
 *   let sim: Simulator, gw: Gateway;
 *   before(() => ({ sim, gw } = s));
 */
import { after, before } from 'node:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Simulator } from '../../simulator/simulator.js';
import { WA_VERSION } from '../../simulator/version.js';
import { startGateway, type Gateway } from './gateway.js';
import { pairInstance, PLACEHOLDER_WEBHOOK } from './pairing.js';
import { startReceiver, type Receiver } from './receiver.js';

export { WA_VERSION };

export const jid = (phone: string) => `${phone}@s.whatsapp.net`;

/** The gateway's environment for talking to the simulator. */
export const simulatorEnv = (sim: Simulator): NodeJS.ProcessEnv => ({ WA_WS_URL: sim.url, WA_VERSION });

/** Writes the simulator's media host CA to a temporary file (for WA_CA_FILE) and returns its path. */
export const writeMediaCa = (sim: Simulator) => sim.media.writeCa(join(mkdtempSync(join(tmpdir(), 'sim-ca-')), 'ca.pem'));

export interface ScenarioInstance {
  id: string;
  /** The phone that scans the instance's QR, and its push name (when the simulator does not know it yet). */
  phone: string;
  name?: string;
  /**
   * When the receiver becomes the instance's webhook: 'paired' (the default) once it is open, so that
   * it gets none of the pairing's events; 'connect' before it connects, so that it gets them.
   */
  webhook?: 'paired' | 'connect';
  /** More settings, POSTed with the webhook before the instance connects (e.g. a webhookSecret). */
  settings?: Record<string, unknown>;
}

export interface ScenarioOptions {
  /** The database and task queue name (see startGateway). */
  name: string;
  /** Phones the simulator knows, with their names, added before the gateway starts. */
  users?: Iterable<readonly [phone: string, name: string]>;
  /** Anything else to set up on the simulator before the gateway starts (control API, contacts, groups...). */
  prepare?: (sim: Simulator) => unknown;
  /** Start a webhook receiver; each instance's webhook points at it (see ScenarioInstance.webhook). */
  receiver?: boolean;
  /** Worker processes (`worker/main.ts`): 1 unless told. */
  workers?: number;
  /** Trust the simulator's media host (WA_CA_FILE), for media uploads and downloads. */
  mediaCa?: boolean;
  /** The suite's own gateway environment, on top of the simulator's (a function when it needs the simulator). */
  env?: NodeJS.ProcessEnv | ((sim: Simulator) => NodeJS.ProcessEnv | Promise<NodeJS.ProcessEnv>);
  /** Instances created and paired, in order. The first is the one `call()` talks to. */
  instances?: ScenarioInstance[];
}

export interface Scenario {
  /** Set once the file's `before` hook has run. */
  readonly sim: Simulator;
  readonly gw: Gateway;
  readonly receiver: Receiver;
  /** A request to the first instance's API (`path` after /api/instance/{id}), its status and JSON body. */
  call<T = Record<string, any>>(path: string, init?: Parameters<Gateway['request']>[1]): Promise<{ status: number; body: T }>;
  /** Stops what was started (also after a start that failed half-way). */
  stop(): Promise<void>;
}

interface Started {
  sim?: Simulator;
  gw?: Gateway;
  receiver?: Receiver;
}

/** Starts the scenario now; on failure it stops what it had started and throws. */
export async function startScenario(options: ScenarioOptions): Promise<Scenario> {
  const started: Started = {};
  const s = handle(options, started);
  try {
    await start(options, started);
  } catch (err) {
    await s.stop();
    throw err;
  }
  return s;
}

/** Registers the file's `before` (start) and `after` (stop) hooks; the returned scenario is usable inside tests. */
export function scenario(options: ScenarioOptions): Scenario {
  const started: Started = {};
  const s = handle(options, started);
  before(() => start(options, started));
  after(() => s.stop());
  return s;
}

function handle(options: ScenarioOptions, started: Started): Scenario {
  const must = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`scenario ${options.name}: no ${what} (not started yet, or not asked for)`);
    return value;
  };
  return {
    get sim() {
      return must(started.sim, 'simulator');
    },
    get gw() {
      return must(started.gw, 'gateway');
    },
    get receiver() {
      return must(started.receiver, 'receiver');
    },
    async call(path, init) {
      const instance = must(options.instances?.[0], 'instance');
      const res = await must(started.gw, 'gateway').request(`/api/instance/${instance.id}${path}`, init);
      return { status: res.status, body: await res.json() };
    },
    async stop() {
      await started.gw?.stop();
      await started.sim?.stop();
      await started.receiver?.stop();
    },
  };
}

async function start(options: ScenarioOptions, started: Started) {
  const sim = (started.sim = await Simulator.start());
  for (const [phone, name] of options.users ?? []) sim.addUser(phone, name);
  await options.prepare?.(sim);
  const receiver = options.receiver ? (started.receiver = await startReceiver()) : undefined;
  const own = typeof options.env === 'function' ? await options.env(sim) : options.env;
  const gw = (started.gw = await startGateway({
    name: options.name,
    workers: options.workers ?? 1,
    workerEntry: 'worker/main.ts',
    env: { ...simulatorEnv(sim), ...(options.mediaCa ? { WA_CA_FILE: await writeMediaCa(sim) } : {}), ...own },
  }));
  for (const instance of options.instances ?? []) {
    const fromStart = receiver && instance.webhook === 'connect';
    const settings = { ...(fromStart ? { webhookUrl: receiver.url, webhookEnabled: true } : PLACEHOLDER_WEBHOOK), ...instance.settings };
    await pairInstance(gw, sim, instance.id, instance.phone, instance.name, settings);
    if (receiver && !fromStart) {
      await gw.request(`/api/instance/${instance.id}/settings`, { method: 'POST', json: { webhookUrl: receiver.url } });
    }
  }
}
