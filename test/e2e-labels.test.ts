// Labels (WhatsApp Business) on real Baileys against the simulator: labels made, renamed, deleted and put on
// chats through the API reach the phone as app-state patches, and those made on the phone reach the gateway;
// each change is a label_update event, and GET .../chats?label= lists a label's chats.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../simulator/simulator.js';
import { sendFromPhone } from '../simulator/messages.js';
import { editLabelOnPhone, labelChatOnPhone, labelsOf } from '../simulator/labels.js';
import { eventually, type Gateway } from './support/gateway.js';
import { jid, scenario } from './support/scenario.js';

const OWNER = '905550100001';
const CEM = '905550100002';
const DENIZ = '905550100003';
let sim: Simulator;
let gw: Gateway;

const s = scenario({
  name: 'e2e_labels',
  users: [
    [OWNER, 'Dükkan'],
    [CEM, 'Cem'],
    [DENIZ, 'Deniz'],
  ],
  instances: [{ id: 'shop', phone: OWNER }],
});
before(async () => {
  ({ sim, gw } = await s.start());
  // Both write first: their chats exist.
  for (const phone of [CEM, DENIZ]) {
    const id = await sendFromPhone(sim, sim.user(phone), sim.user(OWNER), { conversation: 'Merhaba' });
    await eventually(async () => (await gw.db('messages').where({ instance_id: 'shop', id }).first()) !== undefined, 20_000, 'stored');
  }
});
after(() => s.stop());

const call = (method: string, path: string, json?: unknown) => s.call<any>(path, { method, ...(json === undefined ? {} : { json }) });
const labelEvents = async () =>
  (await gw.db('webhook_events').where({ instance_id: 'shop', event: 'label_update' }).orderBy('seq')).map(
    (e: { data: Record<string, unknown> }) => e.data,
  );
const phoneLabels = () => labelsOf(sim, sim.user(OWNER));
const chatsWith = async (label: string) => ((await call('GET', `/chats?label=${label}`)).body as Array<{ id: string }>).map((c) => c.id);

test('a label made, put on a chat and renamed through the API reaches the phone, with an event each time', async () => {
  const created = await call('POST', '/labels', { name: 'Yeni müşteri', color: 3 });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  const { id } = created.body;
  assert.deepEqual(created.body, { id, name: 'Yeni müşteri', color: 3 });
  await eventually(
    async () => phoneLabels().labels.some((l) => l.id === id && l.name === 'Yeni müşteri' && l.color === 3),
    20_000,
    'the phone has it',
  );

  const labeled = await call('POST', '/chats/labels', { chatId: CEM, labelId: id, action: 'add' });
  assert.equal(labeled.status, 200, JSON.stringify(labeled.body));
  await eventually(async () => phoneLabels().chats[id]?.includes(jid(CEM)), 20_000, "the phone has it on Cem's chat");
  assert.deepEqual(await chatsWith(id), [jid(CEM)]);
  const chats = (await call('GET', '/chats')).body as Array<{ id: string; labels: string[] }>;
  assert.deepEqual(chats.find((c) => c.id === jid(CEM))!.labels, [id]);
  assert.deepEqual(chats.find((c) => c.id === jid(DENIZ))!.labels, []);

  const renamed = await call('PUT', `/labels/${id}`, { name: 'Sadık müşteri' });
  assert.deepEqual(renamed.body, { id, name: 'Sadık müşteri', color: 3 });
  await eventually(async () => phoneLabels().labels.some((l) => l.id === id && l.name === 'Sadık müşteri'), 20_000, 'renamed on the phone');
  assert.deepEqual((await call('GET', '/labels')).body, [{ id, name: 'Sadık müşteri', color: 3, chats: 1 }]);

  assert.deepEqual(await labelEvents(), [
    { labelId: id, name: 'Yeni müşteri', color: 3, action: 'created', by: 'api' },
    { labelId: id, chatId: jid(CEM), action: 'added', by: 'api' },
    { labelId: id, name: 'Sadık müşteri', color: 3, action: 'updated', by: 'api' },
  ]);
});

test("labels made and used on the phone reach the gateway; a new label's id follows the phone's", async () => {
  const before = (await labelEvents()).length;
  await editLabelOnPhone(sim, sim.user(OWNER), { id: '7', name: 'VIP', color: 5 });
  await labelChatOnPhone(sim, sim.user(OWNER), jid(DENIZ), '7', true);
  await eventually(async () => (await chatsWith('7')).includes(jid(DENIZ)), 20_000, "VIP on Deniz's chat");
  assert.ok((await call('GET', '/labels')).body.some((l: { id: string; name: string }) => l.id === '7' && l.name === 'VIP'));

  await labelChatOnPhone(sim, sim.user(OWNER), jid(DENIZ), '7', false);
  await eventually(async () => (await chatsWith('7')).length === 0, 20_000, 'VIP taken off');
  await editLabelOnPhone(sim, sim.user(OWNER), { id: '7', name: 'VIP', color: 5, deleted: true });
  await eventually(async () => !(await call('GET', '/labels')).body.some((l: { id: string }) => l.id === '7'), 20_000, 'VIP deleted');
  assert.deepEqual((await labelEvents()).slice(before), [
    { labelId: '7', name: 'VIP', color: 5, action: 'created', by: 'phone' },
    { labelId: '7', chatId: jid(DENIZ), action: 'added', by: 'phone' },
    { labelId: '7', chatId: jid(DENIZ), action: 'removed', by: 'phone' },
    { labelId: '7', name: 'VIP', action: 'deleted', by: 'phone' },
  ]);

  // The phone's 7 was the greatest id the account had: the next label the API makes is 8.
  await editLabelOnPhone(sim, sim.user(OWNER), { id: '7', name: 'Arşiv', color: 1 });
  await eventually(async () => (await call('GET', '/labels')).body.some((l: { id: string }) => l.id === '7'), 20_000, 'label 7 again');
  const next = await call('POST', '/labels', { name: 'Kargo bekliyor' });
  assert.equal(next.body.id, '8');
  assert.equal(next.body.color, 0);
});

test('a label taken off a chat and deleted through the API leaves the phone; bad input says why', async () => {
  const id = (await call('POST', '/labels', { name: 'Geçici', color: 9 })).body.id as string;
  await call('POST', '/chats/labels', { chatId: DENIZ, labelId: id, action: 'add' });
  assert.equal((await call('POST', '/chats/labels', { chatId: DENIZ, labelId: id, action: 'remove' })).status, 200);
  await eventually(async () => phoneLabels().chats[id]?.length === 0, 20_000, 'taken off on the phone');
  assert.deepEqual((await call('DELETE', `/labels/${id}`)).body, { success: true });
  await eventually(async () => !phoneLabels().labels.some((l) => l.id === id), 20_000, 'deleted on the phone');

  const unknown = await call('DELETE', `/labels/${id}`);
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.code, 'LABEL_NOT_FOUND');
  const noLabel = await call('POST', '/chats/labels', { chatId: CEM, labelId: '999', action: 'add' });
  assert.equal(noLabel.status, 404);
  assert.equal(noLabel.body.code, 'LABEL_NOT_FOUND');
  for (const [method, path, body, field] of [
    ['POST', '/labels', { name: '' }, /name/],
    ['POST', '/labels', { name: 'x', color: 25 }, /color/],
    ['PUT', '/labels/8', {}, /name or color/],
    ['POST', '/chats/labels', { chatId: CEM, labelId: '8', action: 'toggle' }, /action/],
  ] as const) {
    const refused = await call(method, path, body);
    assert.equal(refused.status, 400, `${method} ${path} ${JSON.stringify(body)}`);
    assert.match(refused.body.error, field);
  }
});
