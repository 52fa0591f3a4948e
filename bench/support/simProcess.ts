/**
 * The simulator in its own process for benchmarks, so that its CPU (Signal
 * decryption of every message) is not charged to whichever client shares a
 * process with it. The parent drives it over IPC and hears, for each message
 * a simulated phone receives, its id, the time it arrived, the phone and its
 * text (a text message's; undefined for others).
 *
 *   const sim = await startSimProcess();   // fork
 *   await sim.call('addUser', '905...', 'Name');
 *   sim.onReceived((id, at, to, text) => ...);   // at: ms since the epoch (fractional)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { NODE_FLAGS } from '../../lib/nodeFlags.js';

const now = () => performance.timeOrigin + performance.now();

type Command = 'addUser' | 'scan' | 'receiptPolicy' | 'stats' | 'sendText';

interface Request {
  seq: number;
  command: Command;
  args: unknown[];
}

// ---- child side ----------------------------------------------------------------

if (process.env.WA_BENCH_SIM_CHILD) {
  // libsignal prints whole Signal sessions (keys included) with console.info when it replaces one: not for a terminal.
  console.info = () => {};
  // And with console.warn, once per new correspondent, that it closes an open session for a new prekey bundle.
  const warn = console.warn;
  console.warn = (...args: unknown[]) => void (String(args[0]).startsWith('Closing open session') || warn(...args));
  const { Simulator } = await import('../../simulator/simulator.js');
  const { sendFromPhone } = await import('../../simulator/messages.js');
  const sim = await Simulator.start();
  const ca = await sim.media.writeCa(join(mkdtempSync(join(tmpdir(), 'bench-sim-')), 'ca.pem'));
  // Only a phone's own copy is skipped: each message is counted once, at its recipient, timed as it is
  // decrypted. The parent hears them once per turn of the event loop: a pipe write per message cost the
  // simulator about 80 µs each (a tenth of its CPU), the same for every way of sending, but on a small
  // machine taken from whichever is measured.
  let arrived: Array<[id: string, to: string, at: number, text: string | undefined]> = [];
  const report = () => {
    process.send!({ type: 'received', arrived });
    arrived = [];
  };
  sim.onMessage((m) => {
    if (m.ownCopy) return;
    if (arrived.length === 0) setImmediate(report);
    arrived.push([m.id, m.to, now(), m.message.conversation ?? m.message.extendedTextMessage?.text ?? undefined]);
  });
  const commands: Record<Command, (...args: never[]) => unknown> = {
    addUser: (phone: string, name?: string) => void sim.addUser(phone, name),
    scan: async (phone: string, qr: string) => (await sim.scanQr(phone, qr)).deviceId,
    receiptPolicy: (policy: 'none' | 'delivered' | 'read') => void (sim.receiptPolicy = policy),
    stats: () => ({ received: sim.received.length, duplicates: sim.duplicateDeliveries }),
    sendText: async (from: string, to: string, body: string) => {
      const at = now();
      return { id: await sendFromPhone(sim, sim.user(from), sim.user(to), { conversation: body }), at };
    },
  };
  process.on('message', async ({ seq, command, args }: Request) => {
    try {
      // The simulator keeps every message; a benchmark sends tens of thousands.
      if (sim.received.length > 1_000) sim.received.splice(0, sim.received.length);
      process.send!({ type: 'reply', seq, result: await (commands[command] as (...a: unknown[]) => unknown)(...args) });
    } catch (err) {
      process.send!({ type: 'reply', seq, error: (err as Error).message });
    }
  });
  process.on('disconnect', () => void sim.stop().finally(() => process.exit(0)));
  process.send!({ type: 'ready', url: sim.url, ca });
}

// ---- parent side ---------------------------------------------------------------

export interface SimProcess {
  url: string;
  /** PEM file of the media host's CA (WA_CA_FILE). */
  ca: string;
  pid: number;
  call(command: 'addUser', phone: string, name?: string): Promise<void>;
  call(command: 'scan', phone: string, qr: string): Promise<number>;
  call(command: 'receiptPolicy', policy: 'none' | 'delivered' | 'read'): Promise<void>;
  call(command: 'stats'): Promise<{ received: number; duplicates: number }>;
  /** A contact's phone sends a text to an account; `at`: when it began (ms since the epoch). */
  call(command: 'sendText', from: string, to: string, body: string): Promise<{ id: string; at: number }>;
  onReceived(listener: (id: string, at: number, to: string, text?: string) => void): () => void;
  stop(): Promise<void>;
}

export async function startSimProcess(): Promise<SimProcess> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [], {
    env: { ...process.env, WA_BENCH_SIM_CHILD: '1' },
    // SIM_PROFILE_DIR=/some/dir writes a CPU profile of the simulator when it exits.
    execArgv: [
      '--import',
      'tsx',
      ...NODE_FLAGS,
      ...(process.env.SIM_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.SIM_PROFILE_DIR}`] : []),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const listeners = new Set<(id: string, at: number, to: string, text?: string) => void>();
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let seq = 0;
  const ready = new Promise<{ url: string; ca: string }>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`simulator process exited (${code})`)));
    child.on('message', (m: { type: string; [k: string]: unknown }) => {
      if (m.type === 'ready') resolve(m as never);
      else if (m.type === 'received') {
        for (const [id, to, at, text] of m.arrived as Array<[string, string, number, string | undefined]>)
          for (const l of listeners) l(id, at, to, text ?? undefined);
      } else if (m.type === 'reply') {
        const waiter = pending.get(m.seq as number);
        pending.delete(m.seq as number);
        if (m.error) waiter?.reject(new Error(m.error as string));
        else waiter?.resolve(m.result);
      }
    });
  });
  const { url, ca } = await ready;
  return {
    url,
    ca,
    pid: child.pid!,
    call: ((command: Command, ...args: unknown[]) =>
      new Promise((resolve, reject) => {
        pending.set(++seq, { resolve, reject });
        child.send({ seq, command, args } satisfies Request);
      })) as SimProcess['call'],
    onReceived(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Resolves with the time (ms since the epoch, in the simulator) of the next message `phone` receives; undefined after 30 s. */
export function listenForReplies(sim: SimProcess) {
  const waiting = new Map<string, (at: number) => void>();
  sim.onReceived((_id, at, to) => {
    const waiter = waiting.get(to);
    if (!waiter) return;
    waiting.delete(to);
    waiter(at);
  });
  return (phone: string, timeoutMs = 30_000) =>
    new Promise<number | undefined>((resolve) => {
      const timer = setTimeout(() => {
        waiting.delete(phone);
        resolve(undefined);
      }, timeoutMs);
      waiting.set(phone, (at) => {
        clearTimeout(timer);
        resolve(at);
      });
    });
}
