// WhatsApp's restriction signals as Baileys reports them, mapped to the gateway's AccountRestriction.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReachoutTimelockEnforcementType, type NewChatMessageCapInfo, type ReachoutTimelockState } from '@whiskeysockets/baileys';
import { fromMessageCapping, fromReachoutTimelock } from '../whatsapp/baileys/restrictions.js';
import { typingMsFor } from '../domain/typing.js';

test('message capping: only CAPPED restricts; quotas and the cycle end are kept', () => {
  const cases: Array<[NewChatMessageCapInfo, object]> = [
    [
      { capping_status: 'CAPPED' as never, total_quota: 250, used_quota: 250, cycle_end_timestamp: '1765152000' },
      { kind: 'messageCapping', active: true, status: 'CAPPED', totalQuota: 250, usedQuota: 250, until: 1765152000_000 },
    ],
    [
      { capping_status: 'FIRST_WARNING' as never, total_quota: 250, used_quota: 200 },
      { kind: 'messageCapping', active: false, status: 'FIRST_WARNING', totalQuota: 250, usedQuota: 200 },
    ],
    [{}, { kind: 'messageCapping', active: false, status: 'NONE' }],
    [
      { capping_status: 'NONE' as never, cycle_end_timestamp: '0' },
      { kind: 'messageCapping', active: false, status: 'NONE' },
    ],
  ];
  for (const [info, expected] of cases) assert.deepEqual(fromMessageCapping(info), expected, JSON.stringify(info));
});

test('reach-out timelock: active with its end and reason; lifted without an end', () => {
  const ends = new Date('2026-12-03T10:00:00Z');
  const cases: Array<[ReachoutTimelockState, object]> = [
    [
      { isActive: true, timeEnforcementEnds: ends, enforcementType: ReachoutTimelockEnforcementType.BIZ_QUALITY },
      { kind: 'reachoutTimelock', active: true, until: ends.getTime(), enforcementType: 'BIZ_QUALITY' },
    ],
    [{ isActive: true }, { kind: 'reachoutTimelock', active: true, enforcementType: 'DEFAULT' }],
    [
      { isActive: false, timeEnforcementEnds: ends, enforcementType: ReachoutTimelockEnforcementType.DEFAULT },
      { kind: 'reachoutTimelock', active: false, enforcementType: 'DEFAULT' },
    ],
    [
      { isActive: true, timeEnforcementEnds: new Date(NaN) },
      { kind: 'reachoutTimelock', active: true, enforcementType: 'DEFAULT' },
    ],
  ];
  for (const [state, expected] of cases) assert.deepEqual(fromReachoutTimelock(state), expected, JSON.stringify(state));
});

test("a campaign's typing follows the text: 50 ms a character, between 1 s and 8 s", () => {
  assert.equal(typingMsFor(''), 1_000);
  assert.equal(typingMsFor(null), 1_000);
  assert.equal(typingMsFor('x'.repeat(10)), 1_000);
  assert.equal(typingMsFor('x'.repeat(30)), 1_500);
  assert.equal(typingMsFor('ğ'.repeat(30)), 1_500, 'characters, not bytes');
  assert.equal(typingMsFor('x'.repeat(1_000)), 8_000);
});
