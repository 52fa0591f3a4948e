// Group administration through the REST API, on real Baileys against the simulator: create, members
// (a result per participant), subject, description, invite links, joining, leaving, and the
// group_participants webhook events for changes made here and made from a phone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../simulator/simulator.js';
import { mountControlApi } from '../simulator/control.js';
import { eventually } from './support/gateway.js';
import type { Receiver } from './support/receiver.js';
import { jid, scenario } from './support/scenario.js';

const OWNER = '905561000001';
const ALI = '905561000002';
const BURAK = '905561000003';
const DENIZ = '905561000004';
const EVE = '905561000005';
const FATMA = '905561000006';
const NOBODY = '905561009999';

let sim: Simulator;
let receiver: Receiver;
let groupId = '';

const s = scenario({
  name: 'e2e_group_admin',
  users: [
    [OWNER, 'Dükkan'],
    [ALI, 'Ali'],
    [BURAK, 'Burak'],
    [DENIZ, 'Deniz'],
    [EVE, 'Eve'],
    [FATMA, 'Fatma'],
  ],
  prepare: (sim) => {
    mountControlApi(sim);
    // Her privacy settings let nobody add her to groups.
    sim.user(FATMA).groupAddPrivacy = 'none';
  },
  receiver: true,
  instances: [{ id: 'shop', phone: OWNER, webhook: 'connect' }],
});
before(async () => ({ sim, receiver } = await s.start()));
after(() => s.stop());

const call = async (method: string, path: string, json?: unknown) => s.call<any>(path, { method, ...(json === undefined ? {} : { json }) });
const get = (path: string) => call('GET', path);
const post = (path: string, json: unknown) => call('POST', path, json);
const put = (path: string, json: unknown) => call('PUT', path, json);

/** A phone acting through the simulator's control API, as a demo or script in another process would. */
const phone = async (method: string, path: string, json?: unknown) => {
  const res = await fetch(`http://127.0.0.1:${sim.port}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(json === undefined ? {} : { body: JSON.stringify(json) }),
  });
  return { status: res.status, body: (await res.json()) as any };
};

/** A user's LID, as WhatsApp gives it beside the phone number. */
const lid = (phone: string) => `${sim.user(phone).lid}@lid`;

/** The group_update events of this group so far (what changed, and who changed it). */
const updateEvents = (group: string) =>
  receiver
    .byEvent('group_update')
    .map((r) => r.json.data as Record<string, unknown>)
    .filter((d) => d.groupId === group);

/** The group_participants event for this group and action whose participants are `who`. */
const participantsEvent = (group: string, action: string, who: string[]) =>
  eventually(
    async () =>
      receiver
        .byEvent('group_participants')
        .map((r) => r.json.data as { groupId: string; action: string; participants: string[]; author: string | null })
        .find(
          (d) =>
            d.groupId === group &&
            d.action === action &&
            JSON.stringify([...d.participants].sort()) === JSON.stringify(who.map(jid).sort()),
        ),
    20_000,
    `group_participants ${action} ${who}`,
  );

const roles = (participants: Array<{ id: string; admin: string | null }>) => Object.fromEntries(participants.map((p) => [p.id, p.admin]));

test('creating a group with two users and a number not on WhatsApp: a result per participant, the phones get the group', async () => {
  const { status, body } = await post('/groups', { subject: 'Proje', participants: [ALI, `+${BURAK}`, NOBODY] });
  assert.equal(status, 200, JSON.stringify(body));
  groupId = body.group.id;
  assert.match(groupId, /^120363\d+@g\.us$/);
  assert.deepEqual(body.participants, [
    { id: jid(ALI), status: 200 },
    { id: jid(BURAK), status: 200 },
    { id: jid(NOBODY), status: 404, error: 'not on WhatsApp' },
  ]);
  assert.equal(body.group.name, 'Proje');
  assert.equal(body.group.owner, jid(OWNER));
  assert.deepEqual(roles(body.group.participants), { [jid(OWNER)]: 'superadmin', [jid(ALI)]: null, [jid(BURAK)]: null });

  // WhatsApp's side: the group, and the phones of its members told of it.
  const group = (await phone('GET', `/control/groups?id=${groupId}`)).body;
  assert.deepEqual(
    group.participants.map((p: { phone: string }) => p.phone),
    [OWNER, ALI, BURAK],
  );
  const notices = (await phone('GET', `/control/group-notices?group=${groupId}`)).body as Array<{ to: string; change: string; by: string }>;
  assert.deepEqual(
    notices.filter((n) => n.change === 'create').map((n) => [n.to, n.by]),
    [
      [OWNER, OWNER],
      [ALI, OWNER],
      [BURAK, OWNER],
    ],
  );
  // And the gateway's directory.
  const listed = (await get('/groups')).body.find((g: { id: string }) => g.id === groupId);
  assert.equal(listed.name, 'Proje');
  assert.equal(listed.participants, 3);
});

test('promote, demote, remove and add: results per participant, GET .../group current, a webhook event for each change', async () => {
  const promoted = await post('/groups/participants', { groupId, action: 'promote', participants: [ALI] });
  assert.deepEqual(promoted.body, { groupId, action: 'promote', participants: [{ id: jid(ALI), status: 200 }] });
  assert.equal(roles((await get(`/groups/group?groupId=${groupId}`)).body.participants)[jid(ALI)], 'admin');
  assert.deepEqual(await participantsEvent(groupId, 'promote', [ALI]), {
    groupId,
    action: 'promote',
    participants: [jid(ALI)],
    participantLids: [lid(ALI)],
    author: jid(OWNER),
  });

  const demoted = await post('/groups/participants', { groupId, action: 'demote', participants: [ALI] });
  assert.equal(demoted.body.participants[0].status, 200);
  assert.equal(roles((await get(`/groups/group?groupId=${groupId}`)).body.participants)[jid(ALI)], null);
  assert.equal((await participantsEvent(groupId, 'demote', [ALI])).author, jid(OWNER));

  const removed = await post('/groups/participants', { groupId, action: 'remove', participants: [BURAK, DENIZ] });
  assert.deepEqual(removed.body.participants, [
    { id: jid(BURAK), status: 200 },
    { id: jid(DENIZ), status: 404, error: 'not a member of the group' },
  ]);
  assert.equal(jid(BURAK) in roles((await get(`/groups/group?groupId=${groupId}`)).body.participants), false);
  assert.equal((await participantsEvent(groupId, 'remove', [BURAK])).author, jid(OWNER));
  assert.equal(sim.group(groupId).participants.includes(sim.user(BURAK)), false);

  const added = await post('/groups/participants', { groupId, action: 'add', participants: [BURAK, ALI, NOBODY, FATMA] });
  assert.deepEqual(added.body.participants, [
    { id: jid(BURAK), status: 200 },
    { id: jid(ALI), status: 409, error: 'already a member' },
    { id: jid(NOBODY), status: 404, error: 'not on WhatsApp' },
    { id: jid(FATMA), status: 403, error: 'their privacy settings do not let the account add them (send them the invite link)' },
  ]);
  assert.equal((await participantsEvent(groupId, 'add', [BURAK])).author, jid(OWNER));
  // The stored directory follows (GET .../groups reads it).
  await eventually(
    async () => (await get('/groups')).body.find((g: { id: string }) => g.id === groupId)?.participants === 3,
    10_000,
    'directory',
  );
});

test('subject and description changes are seen by the phones and in GET .../groups/group', async () => {
  assert.deepEqual((await put('/groups/subject', { groupId, subject: 'Proje 2026' })).body, { success: true });
  assert.deepEqual((await put('/groups/description', { groupId, description: 'Haftalık plan' })).body, { success: true });
  const group = (await phone('GET', `/control/groups?id=${groupId}`)).body;
  assert.equal(group.subject, 'Proje 2026');
  assert.equal(group.description, 'Haftalık plan');
  const notices = (await phone('GET', `/control/group-notices?group=${groupId}&to=${ALI}`)).body as Array<Record<string, unknown>>;
  assert.ok(notices.some((n) => n.change === 'subject' && n.subject === 'Proje 2026' && n.by === OWNER));
  assert.ok(notices.some((n) => n.change === 'description' && n.description === 'Haftalık plan'));
  const detail = (await get(`/groups/group?groupId=${groupId}`)).body;
  assert.equal(detail.name, 'Proje 2026');
  assert.equal(detail.description, 'Haftalık plan');
  assert.equal((await get('/groups')).body.find((g: { id: string }) => g.id === groupId).name, 'Proje 2026');

  // An empty description removes it (POST works like PUT).
  assert.equal((await post('/groups/description', { groupId, description: '' })).status, 200);
  assert.equal(sim.group(groupId).description, undefined);
  assert.equal((await get(`/groups/group?groupId=${groupId}`)).body.description, '');
  // Each change is a group_update event naming what changed and who changed it.
  await eventually(async () => updateEvents(groupId).length >= 3, 20_000, 'three group_update events');
  assert.deepEqual(updateEvents(groupId), [
    { groupId, subject: 'Proje 2026', author: jid(OWNER) },
    { groupId, description: 'Haftalık plan', author: jid(OWNER) },
    { groupId, description: null, author: jid(OWNER) },
  ]);
});

test('group settings: only admins send or edit; the phones and GET .../groups/group see it, a group_update event for each; a member is refused while locked', async () => {
  const set = await put('/groups/settings', { groupId, announce: true, restrict: true });
  assert.deepEqual(set.body, { success: true, announce: true, restrict: true });
  const seen = (await phone('GET', `/control/groups?id=${groupId}`)).body;
  assert.deepEqual([seen.announce, seen.restrict], [true, true]);
  const detail = (await get(`/groups/group?groupId=${groupId}`)).body;
  assert.deepEqual([detail.announce, detail.restrict], [true, true]);
  await eventually(
    async () => updateEvents(groupId).some((d) => d.announce === true) && updateEvents(groupId).some((d) => d.restrict === true),
    20_000,
    'the group_update events',
  );
  assert.deepEqual(
    updateEvents(groupId).filter((d) => 'announce' in d || 'restrict' in d),
    [
      { groupId, announce: true, author: jid(OWNER) },
      { groupId, restrict: true, author: jid(OWNER) },
    ],
  );
  // Locked: a plain member's phone may not change the subject; unlocked, it may, and the gateway hears of it.
  assert.equal((await phone('PUT', '/control/groups/subject', { group: groupId, by: ALI, subject: 'Ali yazdı' })).status, 403);
  assert.deepEqual((await post('/groups/settings', { groupId, restrict: false })).body, { success: true, announce: true, restrict: false });
  assert.equal((await phone('PUT', '/control/groups/subject', { group: groupId, by: ALI, subject: 'Ali yazdı' })).status, 200);
  await eventually(async () => updateEvents(groupId).find((d) => d.subject === 'Ali yazdı' && d.author === jid(ALI)), 20_000, 'by Ali');
  assert.equal((await put('/groups/settings', { groupId, announce: false })).body.announce, false);
  // Bad input names the field; nothing is sent.
  assert.equal((await put('/groups/settings', { groupId })).status, 400);
  assert.match((await put('/groups/settings', { groupId, announce: 'yes' })).body.error, /announce/);
  assert.equal((await put('/groups/settings', { groupId: 'nope', announce: true })).status, 400);
});

test('invite links: get and revoke; the old code no longer lets anyone in, the new one does (a webhook event names the joiner)', async () => {
  const invite = (await get(`/groups/invite?groupId=${groupId}`)).body;
  assert.match(invite.code, /^[A-Za-z0-9]{22}$/);
  assert.equal(invite.link, `https://chat.whatsapp.com/${invite.code}`);
  assert.equal((await get(`/groups/invite?groupId=${groupId}`)).body.code, invite.code);
  const fresh = (await post('/groups/invite/revoke', { groupId })).body;
  revokedCode = invite.code;
  assert.notEqual(fresh.code, invite.code);
  assert.equal(fresh.link, `https://chat.whatsapp.com/${fresh.code}`);

  assert.equal((await phone('POST', '/control/groups/join', { phone: DENIZ, code: invite.code })).status, 406);
  assert.equal((await phone('POST', '/control/groups/join', { phone: DENIZ, code: fresh.link })).status, 200);
  // A change made by someone else: the joiner is its author.
  assert.deepEqual(await participantsEvent(groupId, 'add', [DENIZ]), {
    groupId,
    action: 'add',
    participants: [jid(DENIZ)],
    participantLids: [lid(DENIZ)],
    author: jid(DENIZ),
  });
});

let aliGroup = '';
let revokedCode = '';
test("the gateway joins a phone's group by its invite link; a revoked or unknown code fails clearly", async () => {
  const created = await phone('POST', '/control/groups', { subject: 'Ali’nin grubu', owner: ALI, participants: [BURAK] });
  aliGroup = created.body.id;
  const { code, link } = (await phone('GET', `/control/groups/invite?group=${aliGroup}&by=${ALI}`)).body;
  assert.equal((await post('/groups/join', { link })).body.groupId, aliGroup);
  assert.ok(sim.group(aliGroup).participants.includes(sim.user(OWNER)));
  assert.ok((await get('/groups/ids')).body.includes(aliGroup));
  assert.equal((await participantsEvent(aliGroup, 'add', [OWNER])).author, jid(OWNER));
  // Joining again is no change.
  assert.equal((await post('/groups/join', { code })).status, 200);

  const revoked = await post('/groups/join', { code: revokedCode });
  assert.equal(revoked.status, 404);
  assert.deepEqual(revoked.body, {
    error: `invite code ${revokedCode} is not valid (revoked, expired or unknown)`,
    code: 'INVITE_NOT_VALID',
  });
  const unknown = await post('/groups/join', { code: 'AAAAAAAAAAAAAAAAAAAAAA' });
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.code, 'INVITE_NOT_VALID');
});

test('a non-admin action, an unknown group and bad JIDs fail clearly', async () => {
  const add = await post('/groups/participants', { groupId: aliGroup, action: 'add', participants: [EVE] });
  assert.equal(add.status, 403);
  assert.deepEqual(add.body, { error: `the account is not an admin of group ${aliGroup}`, code: 'NOT_A_GROUP_ADMIN' });
  assert.equal((await get(`/groups/invite?groupId=${aliGroup}`)).status, 403);
  assert.equal(sim.group(aliGroup).participants.includes(sim.user(EVE)), false);

  const unknown = await put('/groups/subject', { groupId: '120363000000000042@g.us', subject: 'Yok' });
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.code, 'GROUP_NOT_FOUND');
  assert.equal((await get('/groups/group?groupId=120363000000000042@g.us')).status, 404);

  for (const [path, body] of [
    ['/groups/participants', { groupId: aliGroup, action: 'add', participants: ['not-a-number'] }],
    ['/groups/participants', { groupId: aliGroup, action: 'add', participants: [aliGroup] }],
    ['/groups/participants', { groupId: jid(ALI), action: 'add', participants: [EVE] }],
    ['/groups/participants', { groupId: aliGroup, action: 'ban', participants: [EVE] }],
    ['/groups/participants', { groupId: aliGroup, action: 'add', participants: [] }],
    ['/groups', { subject: '', participants: [ALI] }],
    ['/groups/join', {}],
    ['/groups/join', { link: 'https://example.com/abc' }],
  ] as const) {
    const res = await post(path, body);
    assert.equal(res.status, 400, `${path} ${JSON.stringify(body)} → ${res.status}`);
    assert.equal(typeof res.body.error, 'string');
  }
});

test("a change made from a phone reaches the webhook with the phone as author, and the gateway's directory", async () => {
  const res = await phone('POST', '/control/groups/participants', { group: aliGroup, by: ALI, action: 'add', participants: [EVE, BURAK] });
  assert.deepEqual(res.body.participants, [
    { phone: EVE, status: 200 },
    { phone: BURAK, status: 409 },
  ]);
  assert.deepEqual(await participantsEvent(aliGroup, 'add', [EVE]), {
    groupId: aliGroup,
    action: 'add',
    participants: [jid(EVE)],
    participantLids: [lid(EVE)],
    author: jid(ALI),
  });
  await eventually(
    async () => (await get('/groups')).body.find((g: { id: string }) => g.id === aliGroup)?.participants === 4,
    10_000,
    'directory',
  );
  // The phone promotes the account: now it may add members.
  await phone('POST', '/control/groups/participants', { group: aliGroup, by: ALI, action: 'promote', participants: [OWNER] });
  assert.equal((await participantsEvent(aliGroup, 'promote', [OWNER])).author, jid(ALI));
  const subject = await phone('PUT', '/control/groups/subject', { group: aliGroup, by: ALI, subject: 'Yeni başlık' });
  assert.equal(subject.status, 200);
  await eventually(
    async () => (await get(`/groups/group?groupId=${aliGroup}`)).body.name === 'Yeni başlık',
    10_000,
    'subject from the phone',
  );
  assert.deepEqual(
    await eventually(async () => updateEvents(aliGroup).find((d) => d.subject === 'Yeni başlık'), 20_000, 'the group_update event'),
    { groupId: aliGroup, subject: 'Yeni başlık', author: jid(ALI) },
  );
  assert.equal(
    (await post('/groups/participants', { groupId: aliGroup, action: 'add', participants: [DENIZ] })).body.participants[0].status,
    200,
  );
});

test('leaving: the group leaves the list, the members are told, a webhook event says the account left', async () => {
  assert.deepEqual((await post('/groups/leave', { groupId: aliGroup })).body, { success: true });
  assert.equal(sim.group(aliGroup).participants.includes(sim.user(OWNER)), false);
  assert.equal((await get('/groups/ids')).body.includes(aliGroup), false);
  const notices = (await phone('GET', `/control/group-notices?group=${aliGroup}&to=${ALI}`)).body as Array<Record<string, unknown>>;
  assert.ok(notices.some((n) => n.change === 'remove' && n.by === OWNER && JSON.stringify(n.participants) === JSON.stringify([OWNER])));
  assert.deepEqual(await participantsEvent(aliGroup, 'remove', [OWNER]), {
    groupId: aliGroup,
    action: 'remove',
    participants: [jid(OWNER)],
    participantLids: [lid(OWNER)],
    author: jid(OWNER),
  });
  // No longer a member: WhatsApp refuses its details and its changes.
  assert.equal((await get(`/groups/group?groupId=${aliGroup}`)).status, 403);
  assert.equal((await post('/groups/leave', { groupId: aliGroup })).status, 403);
});
