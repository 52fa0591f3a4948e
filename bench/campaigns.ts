/**
 * Campaigns and scheduled messages, measured (figures, no pass/fail):
 *
 *   npm run bench:campaigns [-- PARTS]          (scheduled,campaign,dispatch)
 *   SPLIT_ROLES=1 npm run bench:campaigns -- campaign   (sockets and campaigns in two workers)
 *
 * 1. scheduled: lateness (when the message went out on the socket, minus its
 *    time) of 200 messages due in the same second, then of 1,000 spread over
 *    two minutes; real Baileys against the simulator.
 * 2. campaign: a 10,000-recipient campaign with delay 0 beside the same
 *    number of plain `POST .../messages/chat` requests (100 clients): messages
 *    sent per second each way and their ratio, the campaign's Temporal
 *    history, and the p99 latency of other API requests meanwhile.
 * 3. dispatch: `POST .../bulk` with 100,000 recipients, delay 0, against the
 *    session interface (a driver that accepts every send at once): time to
 *    answer, and until every recipient is sent.
 */
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import { startGateway, type Gateway } from '../test/support/gateway.js';
import { scanQr } from '../test/support/fakePhone.js';
import { eventually } from '../test/support/gateway.js';
import { startBenchStack } from './support/stack.js';
import { pairThroughApi } from './support/pairing.js';
import { jsonClient } from './support/httpClient.js';

const PARTS = (process.argv[2] ?? 'scheduled,campaign,dispatch').split(',');
const OWNER = '905554500001';
const RECIPIENTS = Array.from({ length: 50 }, (_, i) => `9055545${String(1_000 + i).padStart(5, '0')}`);
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;
};
const figures = (values: number[]) =>
  `p50 ${percentile(values, 50).toFixed(0)} ms   p99 ${percentile(values, 99).toFixed(0)} ms   max ${Math.max(...values).toFixed(0)} ms`;

async function lateness(gw: Gateway, instanceId: string, times: number[]): Promise<{ sent: number[]; handed: number[] }> {
  const http = jsonClient(gw.baseUrl, gw.token);
  const ids: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      while (next < times.length) {
        const i = next++;
        const { status, json } = await http.post(`/api/instance/${instanceId}/scheduled`, {
          recipient: RECIPIENTS[i % RECIPIENTS.length],
          body: `scheduled ${i}`,
          scheduledAt: new Date(times[i]!).toISOString(),
        });
        if (status !== 200) throw new Error(`schedule: ${status} ${JSON.stringify(json)}`);
        ids[i] = (json as { id: number }).id;
      }
    }),
  );
  http.close();
  const last = Math.max(...times);
  await sleep(Math.max(0, last - Date.now()));
  const rows = await eventually(
    async () => {
      const found = await gw
        .db('scheduled_messages as s')
        .join('messages as m', (j) => j.on('m.instance_id', 's.instance_id').andOn('m.id', 's.message_id'))
        .whereIn('s.id', ids)
        .whereNotNull('s.sent_at')
        .select('s.scheduled_at', 's.sent_at', 'm.created_at as handed_at');
      return found.length === ids.length ? found : undefined;
    },
    120_000,
    'every scheduled message sent',
  );
  const late = (r: { scheduled_at: Date }, at: Date) => new Date(at).getTime() - new Date(r.scheduled_at).getTime();
  return { sent: rows.map((r) => late(r, r.sent_at)), handed: rows.map((r) => late(r, r.handed_at)) };
}

async function scheduled(gw: Gateway): Promise<string[]> {
  const sameSecond = async () => {
    const second = Math.ceil((Date.now() + 20_000) / 1000) * 1000;
    return lateness(
      gw,
      'live',
      Array.from({ length: 200 }, (_, i) => second + (i % 1000)),
    );
  };
  // The first time, the 50 recipients are new to the account: WhatsApp needs a Signal session with each first.
  progress('scheduled: 200 due in the same second, to recipients never written to');
  const cold = await sameSecond();
  progress('scheduled: 200 due in the same second, again');
  const burst = await sameSecond();
  progress('scheduled: 1,000 spread over two minutes');
  const from = Date.now() + 20_000;
  const spread = await lateness(
    gw,
    'live',
    Array.from({ length: 1_000 }, (_, i) => from + Math.round((i * 120_000) / 1_000)),
  );
  return [
    'scheduled messages: lateness from their time to the outbox (stored) and to the socket (sent)',
    `  200 due in one second, first  stored ${figures(cold.handed)}`,
    `    contact with 50 recipients   sent   ${figures(cold.sent)}`,
    `  200 due in the same second    stored ${figures(burst.handed)}`,
    `                                sent   ${figures(burst.sent)}`,
    `  1,000 over two minutes        stored ${figures(spread.handed)}`,
    `                                sent   ${figures(spread.sent)}`,
  ];
}

async function campaign(gw: Gateway): Promise<string[]> {
  const N = 10_000;
  const http = jsonClient(gw.baseUrl, gw.token);
  progress(`campaign: ${N} plain sends by 100 clients`);
  let next = 0;
  const plainStart = now();
  await Promise.all(
    Array.from({ length: 100 }, async () => {
      while (next < N) {
        const i = next++;
        const { status } = await http.post('/api/instance/live/messages/chat', {
          to: RECIPIENTS[i % RECIPIENTS.length],
          body: `plain ${i}`,
        });
        if (status !== 200 && status !== 202) throw new Error(`send answered ${status}`);
      }
    }),
  );
  const plainSent = await eventually(
    async () => {
      const [row] = await gw
        .db('messages')
        .where({ instance_id: 'live', status: 'pending' })
        .count<Array<{ count: string }>>({ count: '*' });
      return Number(row!.count) === 0 ? now() : undefined;
    },
    300_000,
    'plain sends out',
  );
  const plainRate = N / ((plainSent - plainStart) / 1000);

  progress(`campaign: ${N} recipients, delay 0`);
  const latencies: number[] = [];
  let probing = true;
  const prober = (async () => {
    while (probing) {
      const t = now();
      await fetch(`${gw.baseUrl}/api/instance/live/status`, { headers: { authorization: `Bearer ${gw.token}` } }).then((r) =>
        r.arrayBuffer(),
      );
      latencies.push(now() - t);
      await sleep(100);
    }
  })();
  const campaignStart = now();
  const { status, json } = await http.post('/api/instance/live/bulk', {
    recipients: Array.from({ length: N }, (_, i) => ({ id: RECIPIENTS[i % RECIPIENTS.length] })),
    body: 'campaign message',
    delay: 0,
  });
  if (status !== 200) throw new Error(`bulk answered ${status} ${JSON.stringify(json)}`);
  const { jobId } = json as { jobId: number };
  await eventually(
    async () => (await gw.db('bulk_jobs').where({ id: jobId }).first()).status === 'completed',
    600_000,
    'campaign completed',
  );
  const [{ last }] = await gw
    .db('bulk_recipients as r')
    .join('messages as m', 'm.id', 'r.message_id')
    .where('r.job_id', jobId)
    .max({ last: 'm.sent_at' });
  const campaignRate = N / ((new Date(last).getTime() - campaignStart) / 1000);
  probing = false;
  await prober;
  http.close();

  const connection = await Connection.connect({ address: gw.env.TEMPORAL_ADDRESS! });
  const described = await new Client({ connection, namespace: gw.env.TEMPORAL_NAMESPACE! }).workflow
    .getHandle(`bulk-live-${jobId}`)
    .describe();
  await connection.close();
  return [
    `campaign of ${N} recipients, delay 0, beside ${N} plain sends (100 clients):`,
    `  plain POST .../messages/chat       ${plainRate.toFixed(0).padStart(5)} sent/s`,
    `  campaign                           ${campaignRate.toFixed(0).padStart(5)} sent/s   ratio ${(campaignRate / plainRate).toFixed(2)}`,
    `  campaign workflow history          ${described.historyLength} events, ${((described.historySize ?? 0) / 1024).toFixed(1)} KB (${described.status.name})`,
    `  GET .../status meanwhile           ${figures(latencies)} (${latencies.length} requests)`,
  ];
}

async function dispatch(): Promise<string[]> {
  const gw = await startGateway({ name: 'bench_dispatch', workers: 1, env: { FAKE_ACCEPT_SENDS: '1', LOG_LEVEL: 'warn' } });
  try {
    await gw.request('/api/instance', { method: 'POST', json: { id: 'bulk' } });
    await scanQr(gw.db, 'bulk');
    await gw.request('/api/instance/bulk/connect', { method: 'POST' });
    await eventually(
      async () =>
        ((await (await gw.request('/api/instance/bulk/status')).json()) as { accountStatus: { status: string } }).accountStatus.status ===
        'open',
      30_000,
      'open',
    );
    const N = 100_000;
    const recipients = Array.from({ length: N }, (_, i) => ({ id: `9055${String(i).padStart(8, '0')}`, name: `R${i}` }));
    progress(`dispatch: POST .../bulk with ${N} recipients against the session interface`);
    const started = now();
    const res = await gw.request('/api/instance/bulk/bulk', { method: 'POST', json: { recipients, body: 'Merhaba {name}', delay: 0 } });
    const answered = now() - started;
    const { jobId } = (await res.json()) as { jobId: number };
    await eventually(async () => (await gw.db('bulk_jobs').where({ id: jobId }).first()).status === 'completed', 1_800_000, 'dispatched');
    const done = now() - started;
    return [
      `POST .../bulk with ${N} recipients, delay 0, against the session interface:`,
      `  answered in                        ${(answered / 1000).toFixed(2)} s`,
      `  every recipient sent after         ${(done / 1000).toFixed(1)} s (${(N / (done / 1000)).toFixed(0)}/s)`,
    ];
  } finally {
    await gw.stop();
  }
}

const stack = await startBenchStack();
try {
  const report: string[] = [];
  if (PARTS.includes('scheduled') || PARTS.includes('campaign')) {
    // SPLIT_ROLES=1: one worker holds the sockets and another runs the workflows and campaigns (WORKER_ROLES).
    const split = process.env.SPLIT_ROLES === '1';
    const gw = await startGateway({ name: 'bench_campaigns', workers: split ? 0 : 1, workerEntry: 'worker/main.ts', env: stack.gatewayEnv });
    if (split) {
      gw.startWorker('sessions', { WORKER_ROLES: 'sessions' });
      gw.startWorker('general', { WORKER_ROLES: 'general' });
    }
    stack.atStop(() => gw.stop());
    for (const phone of RECIPIENTS) await stack.sim.call('addUser', phone, 'Recipient');
    await pairThroughApi(gw, stack.sim, 'live', OWNER, 'Campaigns');
    if (PARTS.includes('scheduled')) report.push(...(await scheduled(gw)));
    if (PARTS.includes('campaign')) report.push(...(await campaign(gw)));
  }
  if (PARTS.includes('dispatch')) report.push(...(await dispatch()));
  process.stdout.write(`\n${report.join('\n')}\n`);
} finally {
  await stack.stop();
}
