// A session worker raises the CPU priority of the thread that runs its sockets (worker/priority.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getPriority, setPriority } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway } from './support/gateway.js';
import { niceOf } from './support/processes.js';

/** Whether this machine lets a process raise its priority (CAP_SYS_NICE; root has it). */
function mayRaise(): boolean {
  const own = getPriority();
  try {
    setPriority(own - 1);
    setPriority(own);
    return true;
  } catch {
    return false;
  }
}

test('a session worker runs its sockets at SESSION_WORKER_NICE, or logs why it cannot', async () => {
  const gw = await startGateway({ name: 'priority', env: { SESSION_WORKER_NICE: '-4' } });
  try {
    const worker = gw.workers[0]!;
    for (let i = 0; i < 300 && !worker.output().includes('worker started'); i++) await sleep(100);
    assert.match(worker.output(), /worker started/);
    const pid = worker.child.pid!;
    if (mayRaise()) {
      assert.equal(niceOf(pid), -4);
      assert.match(worker.output(), /sockets run at a raised CPU priority/);
    } else {
      assert.equal(niceOf(pid), getPriority());
      assert.match(worker.output(), /CAP_SYS_NICE/);
    }
    // Only the sockets' thread: the API keeps the priority it was started with.
    assert.equal(niceOf(gw.api.child.pid!), getPriority());
  } finally {
    await gw.stop();
  }
});
