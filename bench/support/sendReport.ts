/**
 * bench:send's report: per number of clients, each run's rate and latency
 * beside the bare socket's, CPU per message by process and main thread, and
 * when send calls were answered; then the sustained rates, each way's best
 * over all the numbers of clients measured.
 */
import { mean, percentile } from './stats.js';

export interface Run {
  name: string;
  /** CPU ms per message, by process role. */
  cpu: Map<string, number>;
  /** The same for each process's main thread, where its JavaScript runs. */
  mainThread: Map<string, number>;
  /** Messages per second, first submission to last arrival. */
  rate: number;
  latencies: number[];
  /** From submission to the moment the send call returned (for the gateway: its HTTP response). */
  answered: number[];
  /** When each message (by id) was submitted. */
  submittedAt: Map<string, number>;
  overhead?: number[];
}

export const isBare = (run: Run) => run.name.startsWith('bare');
export const isGateway = (run: Run) => run.name.startsWith('gateway over HTTP');

export { percentile };

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return (sorted[Math.floor((sorted.length - 1) / 2)]! + sorted[Math.ceil((sorted.length - 1) / 2)]!) / 2;
};


/** Each gateway run against the mean of the bare runs just before and after it. */
function pairedRatios(runs: Run[]): number[] {
  return runs.flatMap((run, i) => (isGateway(run) && runs[i - 1] && runs[i + 1] ? [run.rate / ((runs[i - 1]!.rate + runs[i + 1]!.rate) / 2)] : []));
}

/** The runs made with one number of clients (bare and gateway taking turns, then the session object). */
export function reportLevel(messages: number, concurrency: number, runs: Run[]): void {
  // The baseline: the bare socket's runs together.
  const bare = runs.filter(isBare);
  const base = { rate: mean(bare.map((r) => r.rate)), latencies: bare.flatMap((r) => r.latencies) };
  const row = (cells: string[]) => console.log(cells.map((c, i) => (i === 0 ? c.padEnd(34) : c.padStart(12))).join(''));
  console.log(`\n===== ${concurrency} concurrent clients, ${messages} texts per run =====`);
  console.log(`latency = submit → decrypted at the recipient's phone (ms)`);
  console.log(`ratios and + columns: against the bare socket's runs together (${base.rate.toFixed(0)} msgs/s)\n`);
  row(['', 'msgs/s', 'p50', 'p99', 'max', 'rate ratio', '+p50', '+p99']);
  for (const run of runs) {
    const [p50, p99] = [percentile(run.latencies, 50), percentile(run.latencies, 99)];
    row([
      run.name,
      run.rate.toFixed(0),
      p50.toFixed(1),
      p99.toFixed(1),
      Math.max(...run.latencies).toFixed(1),
      `${((run.rate / base.rate) * 100).toFixed(0)} %`,
      (p50 - percentile(base.latencies, 50)).toFixed(1),
      (p99 - percentile(base.latencies, 99)).toFixed(1),
    ]);
  }
  const paired = pairedRatios(runs);
  if (paired.length > 1) {
    const shown = paired.map((r) => `${(r * 100).toFixed(0)} %`).join(', ');
    console.log(`\ngateway against the bare runs just before and after it: ${shown}; median ${(median(paired) * 100).toFixed(0)} %`);
  }
  console.log('\nCPU per message (ms), by process:');
  for (const run of runs) {
    const parts = [...run.cpu].filter(([, ms]) => ms >= 0.05).sort((a, b) => b[1] - a[1]);
    const total = parts.reduce((sum, [, ms]) => sum + ms, 0);
    console.log(
      `  ${run.name.padEnd(34)} ${total.toFixed(2).padStart(6)}  (${parts.map(([role, ms]) => `${role} ${ms.toFixed(2)}`).join(', ')})`,
    );
  }
  // A Node process runs its JavaScript on one thread: given a core per process, the busiest main thread
  // sets the rate. (Postgres is left out: it runs a process per connection.)
  console.log('\nMain-thread CPU per message (ms), and the rate that thread allows on its own (1000 / ms):');
  const ceiling = (run: Run) => {
    const [role, ms] = [...run.mainThread].filter(([r]) => r !== 'postgres').sort((a, b) => b[1] - a[1])[0]!;
    return { role, ms, rate: 1000 / ms };
  };
  const bareCeiling = mean(bare.map((r) => ceiling(r).rate));
  for (const run of runs) {
    const parts = [...run.mainThread].filter(([role, ms]) => ms >= 0.05 && role !== 'postgres').sort((a, b) => b[1] - a[1]);
    const { role, rate } = ceiling(run);
    console.log(
      `  ${run.name.padEnd(34)} ${parts.map(([r, ms]) => `${r} ${ms.toFixed(2)}`).join(', ')}  → ${role}: ${rate.toFixed(0)} msgs/s (${((rate / bareCeiling) * 100).toFixed(0)} %)`,
    );
  }
  for (const run of runs.filter((r) => r.overhead)) {
    console.log(
      `\n${run.name}: from request to socket (request in → the session worker put the message on the socket): p50 ${percentile(run.overhead!, 50).toFixed(1)} ms, p99 ${percentile(run.overhead!, 99).toFixed(1)} ms`,
    );
  }
  // A client sends its next message once the last one arrived and its request was answered.
  console.log('\nSend call answered (the gateway: HTTP response; a client waits for it before its next send), ms:');
  for (const run of runs) {
    console.log(
      `  ${run.name.padEnd(34)} p50 ${percentile(run.answered, 50).toFixed(1).padStart(7)}   p99 ${percentile(run.answered, 99).toFixed(1).padStart(7)}`,
    );
  }
}

/**
 * The rate each way sustains: its best mean rate over the numbers of clients
 * measured. A bare socket answers a send once the message is written, so few
 * clients keep it busy; a gateway request is answered once its message has
 * gone out through the instance's outbox, so the gateway needs more requests
 * in flight to be kept busy. Comparing each at a single number of clients
 * would measure that latency (reported above, and at low load by `-- N 5`)
 * rather than the rate each can sustain.
 */
export function reportSustained(levels: Array<{ concurrency: number; runs: Run[] }>): void {
  const rows = levels.map(({ concurrency, runs }) => {
    const paired = pairedRatios(runs);
    return {
      concurrency,
      bare: mean(runs.filter(isBare).map((r) => r.rate)),
      gateway: mean(runs.filter(isGateway).map((r) => r.rate)),
      paired: paired.length ? median(paired) : NaN,
    };
  });
  console.log('\n===== sustained rates (mean of each way\'s runs, msgs/s) =====\n');
  console.log(`${'clients'.padStart(8)}${'bare socket'.padStart(14)}${'gateway'.padStart(10)}${'ratio'.padStart(8)}${'paired median'.padStart(16)}`);
  for (const r of rows) {
    console.log(
      `${String(r.concurrency).padStart(8)}${r.bare.toFixed(0).padStart(14)}${r.gateway.toFixed(0).padStart(10)}${`${((r.gateway / r.bare) * 100).toFixed(0)} %`.padStart(8)}${(Number.isNaN(r.paired) ? '-' : `${(r.paired * 100).toFixed(0)} %`).padStart(16)}`,
    );
  }
  if (rows.length < 2) return;
  const best = (key: 'bare' | 'gateway') => rows.reduce((a, b) => (b[key] > a[key] ? b : a));
  const [bare, gateway] = [best('bare'), best('gateway')];
  console.log(
    `\nbest of each: bare socket ${bare.bare.toFixed(0)} msgs/s (${bare.concurrency} clients), gateway ${gateway.gateway.toFixed(0)} msgs/s (${gateway.concurrency} clients): ${((gateway.gateway / bare.bare) * 100).toFixed(0)} %`,
  );
}
