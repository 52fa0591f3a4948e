// Poll votes on real Baileys against the simulator: phones vote on the account's polls (encrypted with each
// poll's key, bound to phone numbers or LIDs), in one-to-one chats and groups, and on a member's poll in a
// group; the gateway opens each vote, keeps every voter's current choice, emits poll_vote, and answers
// GET .../messages/poll?msgId= with each option's count and voters.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Simulator } from '../simulator/simulator.js';
import { voteFromPhone } from '../simulator/polls.js';
import { eventually, type Gateway } from './support/gateway.js';
import { jid, scenario } from './support/scenario.js';

const OWNER = '905558000001';
const CEM = '905558000002';
const DENIZ = '905558000003';
const ALI = '905558000004';
let sim: Simulator;
let gw: Gateway;
let groupId = '';

const s = scenario({
  name: 'e2e_polls',
  users: [
    [OWNER, 'Dükkan'],
    [CEM, 'Cem'],
    [DENIZ, 'Deniz'],
    [ALI, 'Ali'],
  ],
  prepare: (sim) => {
    groupId = sim.createGroup({ subject: 'Tadım günü', owner: ALI, participants: [OWNER, DENIZ] }).id;
  },
  instances: [{ id: 'shop', phone: OWNER }],
});
before(async () => ({ sim, gw } = await s.start()));
after(() => s.stop());

const DAYS = ['Pazartesi', 'Salı', 'Çarşamba'];

const voteEvents = async (pollId: string) =>
  (
    await gw
      .db('webhook_events')
      .where({ instance_id: 'shop', event: 'poll_vote' })
      .whereRaw("data->>'pollId' = ?", [pollId])
      .orderBy('seq')
  ).map((e: { data: Record<string, any> }) => e.data);
const results = async (pollId: string) => (await s.call<any>(`/messages/poll?msgId=${pollId}`)).body;
const counts = (r: { options: Array<{ name: string; votes: number }> }) => Object.fromEntries(r.options.map((o) => [o.name, o.votes]));

/** Sends a poll through the API and waits until the phones have it. */
async function sendPoll(to: string, selectableCount: 0 | 1, phones: string[]): Promise<string> {
  const sent = await s.call<any>('/messages/poll', {
    method: 'POST',
    json: { to, name: 'Hangi gün uygun?', values: DAYS, selectableCount },
  });
  assert.equal(sent.status, 200, JSON.stringify(sent.body));
  const id = sent.body.id as string;
  for (const phone of phones)
    await eventually(
      async () => sim.received.some((m) => m.id === id && m.to === phone && !m.ownCopy),
      20_000,
      `the poll on ${phone}'s phone`,
    );
  return id;
}

test("a contact votes on the account's poll, changes the vote and withdraws it: poll_vote each time, results always current", async () => {
  const pollId = await sendPoll(CEM, 0, [CEM]);
  await voteFromPhone(sim, { from: sim.user(CEM), pollId, options: ['Salı', 'Çarşamba'] });
  const [first] = await eventually(
    async () => {
      const events = await voteEvents(pollId);
      return events.length ? events : undefined;
    },
    20_000,
    'the first vote',
  );
  assert.deepEqual(
    { ...first, votedAt: typeof first!.votedAt },
    {
      pollId,
      chatId: jid(CEM),
      voter: jid(CEM),
      voterLid: `${sim.user(CEM).lid}@lid`,
      fromMe: false,
      selected: ['Salı', 'Çarşamba'],
      votedAt: 'number',
    },
  );
  let poll = await results(pollId);
  assert.equal(poll.name, 'Hangi gün uygun?');
  assert.equal(poll.selectableCount, 0);
  assert.deepEqual(counts(poll), { Pazartesi: 0, Salı: 1, Çarşamba: 1 });
  assert.deepEqual(poll.options[1].voters, [jid(CEM)]);
  assert.equal(poll.voters, 1);

  await voteFromPhone(sim, { from: sim.user(CEM), pollId, options: ['Pazartesi'] });
  await eventually(async () => (await voteEvents(pollId)).length === 2, 20_000, 'the changed vote');
  poll = await results(pollId);
  assert.deepEqual(counts(poll), { Pazartesi: 1, Salı: 0, Çarşamba: 0 });

  // A vote cast before the current one, heard late, changes nothing; a withdrawn vote leaves no voter.
  await voteFromPhone(sim, { from: sim.user(CEM), pollId, options: ['Salı'], at: Date.now() - 60_000 });
  await voteFromPhone(sim, { from: sim.user(CEM), pollId, options: [] });
  await eventually(async () => (await voteEvents(pollId)).length === 3, 20_000, 'the withdrawn vote');
  assert.deepEqual(
    (await voteEvents(pollId)).map((e) => e.selected),
    [['Salı', 'Çarşamba'], ['Pazartesi'], []],
  );
  poll = await results(pollId);
  assert.deepEqual(counts(poll), { Pazartesi: 0, Salı: 0, Çarşamba: 0 });
  assert.equal(poll.voters, 0);
  assert.deepEqual(
    poll.votes.map((v: { voter: string; selected: string[] }) => [v.voter, v.selected]),
    [[jid(CEM), []]],
  );
});

test("in a group, members vote on the account's poll, bound to phone numbers or to LIDs", async () => {
  const pollId = await sendPoll(groupId, 1, [DENIZ, ALI]);
  await voteFromPhone(sim, { from: sim.user(DENIZ), pollId, options: ['Salı'], group: groupId, addressing: 'lid' });
  await voteFromPhone(sim, { from: sim.user(ALI), pollId, options: ['Salı'], group: groupId });
  await eventually(async () => (await voteEvents(pollId)).length === 2, 20_000, 'both votes');
  const poll = await results(pollId);
  assert.equal(poll.chatId, groupId);
  assert.deepEqual(counts(poll), { Pazartesi: 0, Salı: 2, Çarşamba: 0 });
  assert.deepEqual(new Set(poll.options[1].voters), new Set([jid(DENIZ), jid(ALI)]));
  const deniz = (await voteEvents(pollId)).find((e) => e.voter === jid(DENIZ))!;
  assert.equal(deniz.chatId, groupId);
  assert.equal(deniz.voterLid, `${sim.user(DENIZ).lid}@lid`);
});

test("votes on a member's poll in the group are read with the key the poll came with", async () => {
  const secret = randomBytes(32);
  const pollId = await sim.sendGroupMessage(
    DENIZ,
    groupId,
    {
      pollCreationMessageV3: {
        name: 'Hangi tat?',
        options: [{ optionName: 'Fıstık' }, { optionName: 'Vişne' }],
        selectableOptionsCount: 1,
      },
      messageContextInfo: { messageSecret: secret },
    },
    { stanzaType: 'poll' },
  );
  await eventually(
    async () => (await gw.db('messages').where({ instance_id: 'shop', id: pollId }).first())?.type === 'poll',
    20_000,
    "Deniz's poll stored",
  );
  const poll = { author: sim.user(DENIZ), options: ['Fıstık', 'Vişne'], secret };
  await voteFromPhone(sim, { from: sim.user(ALI), pollId, options: ['Vişne'], group: groupId, poll });
  await eventually(async () => (await voteEvents(pollId)).length === 1, 20_000, "Ali's vote");
  assert.deepEqual(counts(await results(pollId)), { Fıstık: 0, Vişne: 1 });
});

test('GET .../messages/poll refuses what is not a poll, and a vote that does not open with the key is dropped', async () => {
  const missing = await s.call<any>('/messages/poll');
  assert.equal(missing.status, 400);
  assert.match(missing.body.error, /msgId is required/);
  const unknown = await s.call<any>('/messages/poll?msgId=3EB0NOTHERE');
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.code, 'MESSAGE_NOT_FOUND');
  const text = (await s.call<any>('/messages/chat', { method: 'POST', json: { to: CEM, body: 'Merhaba' } })).body.id;
  const notPoll = await s.call<any>(`/messages/poll?msgId=${text}`);
  assert.equal(notPoll.status, 400);
  assert.match(notPoll.body.error, /not a poll/);

  // A vote encrypted with another key (a forgery, or another poll's) opens with none of the pairs tried.
  const pollId = await sendPoll(CEM, 1, [CEM]);
  await voteFromPhone(sim, {
    from: sim.user(CEM),
    pollId,
    options: ['Salı'],
    poll: { author: sim.user(OWNER), options: DAYS, secret: randomBytes(32) },
  });
  await voteFromPhone(sim, { from: sim.user(CEM), pollId, options: ['Pazartesi'] });
  await eventually(async () => (await voteEvents(pollId)).length === 1, 20_000, 'the genuine vote');
  assert.deepEqual(counts(await results(pollId)), { Pazartesi: 1, Salı: 0, Çarşamba: 0 });
});
