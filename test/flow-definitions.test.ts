// Table tests of a flow's checks as a whole (domain/flows.ts): what a save refuses, naming the step, and the
// templates its texts are written in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fillBody, fillTemplate, flowProblems, type Step } from '../domain/flows.js';
import { ORDER_FLOW as DOCS_EXAMPLE } from '../api/docs/flows.js';

/** The docs' worked example: an order-tracking conversation. */
const ORDER_FLOW = DOCS_EXAMPLE.steps as Step[];

test('a flow is checked as a whole: ids, targets, reachability and loops that never wait, each named at its step', () => {
  const cases: Array<[string, Step[], Array<{ step?: string; message: RegExp }>]> = [
    ['the worked example is valid', ORDER_FLOW, []],
    ['no steps', [], [{ message: /at least one step/ }]],
    [
      'a duplicate id, and the reserved "end"',
      [
        { id: 'a', type: 'send', text: 'x' },
        { id: 'a', type: 'send', text: 'y' },
        { id: 'end', type: 'end' },
      ],
      [
        { step: 'a', message: /two steps/ },
        { step: 'end', message: /reserved/ },
      ],
    ],
    [
      'a target that is no step',
      [{ id: 'a', type: 'ask', text: 'q', onTimeout: 'nowhere' }],
      [{ step: 'a', message: /"nowhere", which is no step/ }],
    ],
    [
      'a step no path reaches',
      [
        { id: 'a', type: 'send', text: 'x', next: 'end' },
        { id: 'orphan', type: 'send', text: 'y' },
      ],
      [{ step: 'orphan', message: /no path/ }],
    ],
    [
      'a loop of sends and branches that never waits',
      [
        { id: 'a', type: 'send', text: 'x' },
        { id: 'b', type: 'branch', on: '{n}', cases: [{ match_type: 'exact', value: '1', next: 'a' }], default: 'end' },
      ],
      [{ step: 'a', message: /a → b → a/ }],
    ],
    [
      'a step that leads to itself',
      [{ id: 'a', type: 'http', method: 'GET', url: 'https://x.example', next: 'a' }],
      [{ step: 'a', message: /a → a/ }],
    ],
    [
      'a loop through an ask is a conversation, not a spin',
      [
        { id: 'q', type: 'ask', text: 'Devam?', save: 'answer' },
        { id: 'b', type: 'branch', on: '{answer}', cases: [{ match_type: 'exact', value: 'evet', next: 'q' }] },
      ],
      [],
    ],
    [
      'a branch without default falls through to the next step',
      [
        { id: 'b', type: 'branch', on: '{x}', cases: [{ match_type: 'exact', value: '1', next: 'end' }] },
        { id: 'after', type: 'handoff' },
      ],
      [],
    ],
  ];
  for (const [name, steps, expected] of cases) {
    const problems = flowProblems({ steps });
    assert.equal(problems.length, expected.length, `${name}: ${JSON.stringify(problems)}`);
    expected.forEach((want, i) => {
      assert.equal(problems[i]!.step, want.step, name);
      assert.match(problems[i]!.message, want.message, name);
    });
  }
});

test('templates fill names, saved variables and dotted paths into saved JSON; unknown ones stay as written', () => {
  const vars = { name: 'Ayşe', order: '10423', lookup: { status: 'shipped', tracking: 'TR-77', items: [1, 2] }, empty: null };
  assert.equal(fillTemplate('Merhaba {name}, {order} kargoda: {lookup.tracking}', vars), 'Merhaba Ayşe, 10423 kargoda: TR-77');
  assert.equal(fillTemplate('{lookup.items} {empty}|{missing} {lookup.nope}', vars), '[1,2] |{missing} {lookup.nope}');
  assert.deepEqual(fillBody({ order: '{order}', nested: ['{name}', 5, true], n: null }, vars), {
    order: '10423',
    nested: ['Ayşe', 5, true],
    n: null,
  });
});
