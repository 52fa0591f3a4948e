import { ActivityNotFoundError, Client, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { HANDED_OVER } from '../domain/session.js';
import type { Config } from '../config/index.js';
import { withinDeadline } from './client.js';
import type { sessionWorkflow } from '../workflows/session.js';
import { INSTANCE_ID, SESSION_WORKFLOW_TASK_TIMEOUT, taskQueues, workflowIds } from '../workflows/names.js';

/**
 * Starting and steering session workflows from outside (the API, start-up).
 * Every call carries a deadline so a dead Temporal yields an error, not a hang.
 */
export class SessionControl {
  constructor(
    private readonly client: Client,
    private readonly config: Config,
  ) {}

  private deadline<T>(fn: () => Promise<T>, ms?: number): Promise<T> {
    return withinDeadline(this.client, fn, ms);
  }

  private handle(instanceId: string): WorkflowHandle<typeof sessionWorkflow> {
    return this.client.workflow.getHandle(workflowIds.session(instanceId));
  }

  private startOptions(instanceId: string) {
    const queues = taskQueues(this.config.TASK_QUEUE);
    return {
      taskQueue: queues.general,
      workflowId: workflowIds.session(instanceId),
      workflowTaskTimeout: SESSION_WORKFLOW_TASK_TIMEOUT,
      args: [
        { instanceId, sessionQueue: queues.sessions, heartbeatTimeoutSeconds: this.config.SESSION_HEARTBEAT_TIMEOUT_SECONDS },
      ] as Parameters<typeof sessionWorkflow>,
      typedSearchAttributes: [{ key: INSTANCE_ID, value: instanceId }],
    };
  }

  async isRunning(instanceId: string): Promise<boolean> {
    try {
      const { status } = await this.deadline(() => this.handle(instanceId).describe());
      return status.name === 'RUNNING';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  }

  /**
   * Starts the session unless it is already running. `disconnected` says the
   * instance is shown disconnected: a session workflow still running then is
   * on its way out (a logout or an expired QR records the status before the
   * workflow ends), so it is given a few seconds to end and a new one starts.
   */
  async connect(instanceId: string, { disconnected = false } = {}): Promise<void> {
    if (disconnected && (await this.isRunning(instanceId))) {
      await Promise.race([
        this.handle(instanceId)
          .result()
          .catch(() => {}),
        new Promise((resolve) => setTimeout(resolve, 10_000).unref()),
      ]);
    }
    await this.deadline(() =>
      this.client.workflow.start<typeof sessionWorkflow>('sessionWorkflow', {
        ...this.startOptions(instanceId),
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      }),
    );
  }

  /** Closes and reopens the socket (starts the session if it is not running). */
  async restart(instanceId: string): Promise<void> {
    await this.deadline(() =>
      this.client.workflow.signalWithStart<typeof sessionWorkflow, []>('sessionWorkflow', {
        ...this.startOptions(instanceId),
        signal: 'restart',
        signalArgs: [],
      }),
    );
  }

  /** Asks a running session to stop (and log out); false when none was running. */
  async stop(instanceId: string, { logout }: { logout: boolean }): Promise<boolean> {
    try {
      await this.deadline(() => this.handle(instanceId).signal('stop', { logout }));
      return true;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  }

  /** Waits up to `ms` for the session workflow to end, then terminates it. */
  async awaitEnd(instanceId: string, ms: number): Promise<void> {
    const handle = this.handle(instanceId);
    const ended = await Promise.race([
      handle.result().then(
        () => true,
        () => true,
      ),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), ms).unref()),
    ]);
    if (!ended) {
      await this.deadline(() => handle.terminate('instance deleted')).catch((err) => {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      });
    }
  }

  /** Cancels every other running workflow of the instance (campaigns, schedules, deliveries). */
  async cancelInstanceWorkflows(instanceId: string): Promise<number> {
    let cancelled = 0;
    const query = `${INSTANCE_ID.name} = '${instanceId}' AND ExecutionStatus = 'Running'`;
    await this.deadline(async () => {
      for await (const execution of this.client.workflow.list({ query })) {
        if (execution.workflowId === workflowIds.session(instanceId)) continue;
        await this.client.workflow
          .getHandle(execution.workflowId, execution.runId)
          .cancel()
          .catch(() => {});
        cancelled++;
      }
    }, 15_000);
    return cancelled;
  }
}

/**
 * Fails the activity of a session holder that stopped renewing its lease (by its task token), so the session
 * workflow takes the session up again on another worker at once. True when it was failed; false when the
 * activity had ended already.
 */
export async function failLostHolder(client: Client, taskToken: Uint8Array, reason: string): Promise<boolean> {
  try {
    await withinDeadline(client, () =>
      client.activity.fail(taskToken, ApplicationFailure.create({ type: HANDED_OVER, message: reason, category: 'BENIGN' })),
    );
    return true;
  } catch (err) {
    if (err instanceof ActivityNotFoundError) return false;
    throw err;
  }
}
