/**
 * The setup most end-to-end suites share: the WhatsApp Web simulator with its users, an optional
 * webhook receiver, the gateway's real processes (API and `worker/main.ts` workers on real Baileys)
 * pointed at the simulator, and instances paired by QR:
 *
 *   const s = scenario({ name: 'e2e_bulk', users: [[ALI, 'Ali']], receiver: true, instances: [{ id: 'shop', phone: OWNER }] });
 *   before(async () => ({ sim, gw, receiver } = await s.start()));
 *   after(() => s.stop());
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Simulator } from '../../simulator/simulator.js';
import { WA_VERSION } from '../../simulator/version.js';
import { startGateway, type Gateway } from './gateway.js';
import { pairInstance, PLACEHOLDER_WEBHOOK } from './pairing.js';
import { startReceiver, type Receiver } from './receiver.js';

export const jid = (phone: string) => `${phone}@s.whatsapp.net`;

/** The gateway's environment for talking to the simulator. */
export const simulatorEnv = (sim: Simulator): NodeJS.ProcessEnv => ({ WA_WS_URL: sim.url, WA_VERSION });

/** Writes the simulator's media host CA to a temporary file (for WA_CA_FILE) and returns its path. */
const writeMediaCa = (sim: Simulator) => sim.media.writeCa(join(mkdtempSync(join(tmpdir(), 'sim-ca-')), 'ca.pem'));

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
  /** Starts the simulator, the receiver, the gateway and the instances, in that order. */
  start(): Promise<Scenario>;
  /** Set once started. */
  readonly sim: Simulator;
  readonly gw: Gateway;
  readonly receiver: Receiver;
  /** A request to the first instance's API (`path` after /api/instance/{id}), its status and JSON body. */
  call<T = Record<string, any>>(path: string, init?: Parameters<Gateway['request']>[1]): Promise<{ status: number; body: T }>;
  /** Stops what was started (also after a start that failed half-way, and when nothing was). */
  stop(): Promise<void>;
}

interface Started {
  sim?: Simulator;
  gw?: Gateway;
  receiver?: Receiver;
}

/**
 * The scenario, not started: the file starts it in its `before` hook and stops it in its `after` hook.
 * (Node 20 runs a file's top-level `before` hooks without waiting for one another: so one hook each,
 * with whatever else the file sets up in it, in order.)
 */
export function scenario(options: ScenarioOptions): Scenario {
  const started: Started = {};
  const must = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`scenario ${options.name}: no ${what} (not started yet, or not asked for)`);
    return value;
  };
  const s: Scenario = {
    get sim() {
      return must(started.sim, 'simulator');
    },
    get gw() {
      return must(started.gw, 'gateway');
    },
    get receiver() {
      return must(started.receiver, 'receiver');
    },
    async start() {
      await start(options, started);
      return s;
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
  return s;
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
