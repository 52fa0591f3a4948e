// A session that looks open but hears nothing, on real Baileys against the simulator: the simulator keeps
// the socket open but stops answering and delivering on it (POST /control/deafen). The gateway notices
// (sends without the server's ack, then no answer to a ping), shows the instance connecting with the
// reason, reconnects from the stored credentials (no QR), and every message goes through once: the ones
// sent into the deaf socket again with the same ids, the contact's message written meanwhile delivered.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Simulator } from '../simulator/simulator.js';
import { sendFromPhone } from '../simulator/messages.js';
import { freePort } from '../stack/ports.js';
import { eventually, type Gateway } from './support/gateway.js';
import type { Receiver } from './support/receiver.js';
import { scenario } from './support/scenario.js';

const OWNER = '905553950001';
const AYSE = '905553950002';
let sim: Simulator;
let gw: Gateway;
let receiver: Receiver;
let metricsPort: number;

const s = scenario({
  name: 'e2e_deaf',
  users: [[AYSE, 'Ayşe']],
  instances: [{ id: 'shop', phone: OWNER }],
  receiver: true,
  env: async () => ({ WORKER_METRICS_PORT: String((metricsPort = await freePort())) }),
});
before(async () => {
  ({ sim, gw, receiver } = await s.start());
});
after(() => s.stop());

const textOf = (m: Simulator['received'][number]) => m.message.conversation ?? m.message.extendedTextMessage?.text ?? '';
const atAyse = (body: string) => sim.received.filter((m) => m.to === AYSE && !m.ownCopy && textOf(m) === body);
const send = (body: string) => s.call<{ id: string; sent: boolean }>('/messages/chat', { method: 'POST', json: { to: AYSE, body } });

test('a deaf connection is noticed, shown connecting with why, and healed within 2 minutes without a QR; no message lost or sent twice', async (t) => {
  // A first message: Ayşe's devices and Signal session are known, so later sends go straight onto the socket.
  assert.equal((await send('before')).status, 200);
  await eventually(async () => atAyse('before').length === 1 || undefined, 20_000, 'the first message');
  const device = (await gw.db('instances').where({ id: 'shop' }).first()).account.id;
  const eventsFrom = (await gw.db('webhook_events').where({ instance_id: 'shop' }).max({ seq: 'seq' }).first())?.seq ?? 0;

  assert.equal(sim.deafen(OWNER), 1, 'one connection deafened');
  const deafAt = Date.now();
  const bodies = ['into the deaf socket 1', 'into the deaf socket 2', 'into the deaf socket 3'];
  const ids: string[] = [];
  for (const body of bodies) {
    const res = await send(body);
    assert.ok([200, 202].includes(res.status), `${res.status} ${JSON.stringify(res.body)}`);
    ids.push(res.body.id);
  }
  // Ayşe writes meanwhile: WhatsApp keeps it for the device's next connection.
  const written = await sendFromPhone(sim, sim.user(AYSE), sim.user(OWNER), { conversation: 'Orada mısınız?' });

  // Noticed: connecting, with the reason.
  const noticed = await eventually(
    async () => {
      const row = await gw.db('instances').where({ id: 'shop' }).first();
      return row.status === 'connecting' && row.last_error ? row : undefined;
    },
    90_000,
    'the instance shown connecting',
  );
  const noticedAfter = Date.now() - deafAt;
  assert.match(
    noticed.last_error,
    /WhatsApp stopped answering: \d message\(s\) without the server's ack for \d+ s, and no answer to a ping in 10 s/,
  );
  // Healed: open again, from the same credentials (no QR).
  await eventually(
    async () => (await gw.db('instances').where({ id: 'shop' }).first()).status === 'open' || undefined,
    60_000,
    'open again',
  );
  await eventually(async () => bodies.every((b) => atAyse(b).length > 0) || undefined, 60_000, 'the messages at Ayşe');
  const healedAfter = Date.now() - deafAt;
  await eventually(
    async () => (await gw.db('messages').where({ instance_id: 'shop', id: written }).first()) || undefined,
    30_000,
    'Ayşe’s message stored',
  );
  await new Promise((r) => setTimeout(r, 2_000));
  t.diagnostic(`deaf socket noticed after ${noticedAfter} ms, healed with every message through after ${healedAfter} ms`);
  assert.ok(healedAfter < 120_000, `${healedAfter} ms`);

  // Once each, at the phone and in the gateway.
  for (const body of bodies) assert.equal(atAyse(body).length, 1, body);
  assert.equal(sim.duplicateDeliveries, 0, 'WhatsApp got no message twice');
  assert.equal((await gw.db('messages').where({ instance_id: 'shop', id: written })).length, 1);
  assert.deepEqual(
    (await gw.db('messages').where({ instance_id: 'shop' }).whereIn('id', ids).pluck('status')).filter(
      (st) => st === 'pending' || st === 'failed',
    ),
    [],
  );
  assert.equal((await gw.db('instances').where({ id: 'shop' }).first()).qr, null);
  assert.equal((await gw.db('instances').where({ id: 'shop' }).first()).account.id, device, 'the same device');
  // The webhook heard it: connecting, then connected; the worker counted it.
  const statuses = (
    await gw.db('webhook_events').where({ instance_id: 'shop', event: 'connection_status' }).where('seq', '>', eventsFrom).orderBy('seq')
  ).map((e) => e.data.status);
  assert.deepEqual(statuses.slice(0, 2), ['connecting', 'connected'], JSON.stringify(statuses));
  await eventually(
    async () => receiver.byEvent('connection_status').some((r) => r.json.data.status === 'connecting') || undefined,
    20_000,
    'delivered',
  );
  const metrics = await (
    await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { headers: { authorization: `Bearer ${gw.token}` } })
  ).text();
  assert.match(metrics, /^wa_sessions_unresponsive_total 1$/m);
});
