// The conversation flows' routes (GET/POST .../flows, GET/PUT/DELETE .../flows/{flowId}) over HTTP against the
// gateway's API: a flow saved and read back as written, replaced as a new version, deleted; field errors and whole-flow
// errors named at their step.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type Gateway } from './support/gateway.js';
import { ORDER_FLOW } from '../api/docs/flows.js';

let gw: Gateway;
before(async () => {
  gw = await startGateway({ name: 'flows_api', workers: 0, env: { RATE_LIMIT_PER_MINUTE: '0' } });
});
after(() => gw?.stop());

const call = async (method: string, path: string, json?: unknown) => {
  const res = await gw.request(`/api/instance/default${path}`, { method, ...(json === undefined ? {} : { json }) });
  return { status: res.status, body: (await res.json()) as any };
};

test("the docs' worked example is saved, read back as written, replaced as a new version, listed and deleted", async () => {
  const created = await call('POST', '/flows', ORDER_FLOW);
  assert.equal(created.status, 200, JSON.stringify(created.body));
  const { id } = created.body;
  assert.equal(created.body.version, 1);
  assert.equal(created.body.steps.length, 9);
  assert.deepEqual((await call('GET', `/flows/${id}`)).body.trigger, ORDER_FLOW.trigger);

  const media = {
    ...ORDER_FLOW,
    steps: [...ORDER_FLOW.steps.slice(0, 8), { id: 'human', type: 'send', image: 'https://shop.example/map.png', caption: 'Mağaza' }],
  };
  const replaced = await call('PUT', `/flows/${id}`, media);
  assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
  assert.equal(replaced.body.version, 2);
  // Read back as written, so that a client can PUT what it read.
  assert.deepEqual(replaced.body.steps[8], { id: 'human', type: 'send', image: 'https://shop.example/map.png', caption: 'Mağaza' });
  const read = (await call('GET', `/flows/${id}`)).body;
  assert.deepEqual(read.steps, media.steps);
  const { name, enabled, trigger, steps } = read;
  const again = await call('PUT', `/flows/${id}`, { name, enabled, trigger, steps });
  assert.equal(again.status, 200, JSON.stringify(again.body));
  assert.equal(again.body.version, 3);
  assert.deepEqual(
    (await call('GET', '/flows')).body.map((f: { id: number; version: number }) => [f.id, f.version]),
    [[id, 3]],
  );
  assert.deepEqual((await call('DELETE', `/flows/${id}`)).body, { success: true, cancelledRuns: 0 });
  const gone = await call('GET', `/flows/${id}`);
  assert.equal(gone.status, 404);
  assert.equal(gone.body.code, 'FLOW_NOT_FOUND');
});

test('a flow that is wrong as a whole is refused, naming the step; so is a field that is wrong', async () => {
  const withSteps = (steps: unknown[]) => ({ name: 'x', trigger: { type: 'api' }, steps });
  const whole: Array<[unknown[], RegExp]> = [
    [[{ id: 'a', type: 'send', text: 'x', next: 'nowhere' }], /step "a" leads to "nowhere"/],
    [
      [
        { id: 'a', type: 'send', text: 'x', next: 'end' },
        { id: 'b', type: 'send', text: 'y' },
      ],
      /step "b" no path/,
    ],
    [
      [
        { id: 'a', type: 'send', text: 'x' },
        { id: 'b', type: 'branch', on: '{x}', cases: [{ match_type: 'exact', value: '1', next: 'a' }] },
      ],
      /step "a" loops back \(a → b → a\)/,
    ],
  ];
  for (const [steps, message] of whole) {
    const refused = await call('POST', '/flows', withSteps(steps));
    assert.equal(refused.status, 400, JSON.stringify(steps));
    assert.equal(refused.body.code, 'INVALID_FLOW');
    assert.match(refused.body.error, message);
  }
  const fields: Array<[unknown, RegExp]> = [
    [withSteps([{ id: 'a', type: 'teleport' }]), /type must be one of send, ask/],
    [withSteps([{ id: 'a', type: 'wait', seconds: 400 * 86_400 }]), /at most 31536000 \(a year\)/],
    [withSteps([{ id: 'a', type: 'ask', text: 'q', validate: { regex: '(?=x)' } }]), /RE2/],
    [withSteps([{ id: 'a', type: 'send' }]), /either text or one of image/],
    [withSteps([{ id: 'a', type: 'http', url: 'ftp://x' }]), /http\(s\) URL/],
    [{ name: 'x', trigger: { type: 'schedule' }, steps: [{ id: 'a', type: 'end' }] }, /trigger.type must be keyword or api/],
    [withSteps([]), /steps must not be empty/],
  ];
  for (const [body, message] of fields) {
    const refused = await call('POST', '/flows', body);
    assert.equal(refused.status, 400, JSON.stringify(body));
    assert.match(refused.body.error, message);
  }
  assert.equal((await call('PUT', '/flows/999', ORDER_FLOW)).status, 404);
  assert.equal((await call('GET', '/flows/abc')).status, 400);
});
