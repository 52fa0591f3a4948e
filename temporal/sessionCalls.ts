import { randomBytes } from 'node:crypto';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import type { SessionCall, SessionCallArgs, SessionCallResult } from '../activities/host.js';
import type { sessionCallWorkflow } from '../workflows/sessionCall.js';
import { Conflict, HttpError, Unavailable } from '../lib/errors.js';
import { INSTANCE_ID } from '../workflows/names.js';
import { withinDeadline } from './client.js';

/** WhatsApp refused the call as a whole, with this code (401 not a member, 403 not an admin, 404 not found...). */
export class WhatsAppRefused extends HttpError {
  constructor(
    readonly whatsappStatus: number,
    message: string,
  ) {
    super(502, 'WHATSAPP_ERROR', `WhatsApp did not accept the request: ${message}`);
  }
}

/** What a router needs to make live session calls. */
export interface SessionCallDeps {
  temporal: Client;
  /** Task queue of the general workers (where the call's workflow runs). */
  taskQueue: string;
}

/** Runs a session method on the worker holding the instance's socket and returns its result. */
export async function callSession<C extends SessionCall>(
  client: Client,
  taskQueue: string,
  instanceId: string,
  call: C,
  ...args: SessionCallArgs<C>
): Promise<SessionCallResult<C>> {
  try {
    return (await withinDeadline(
      client,
      () =>
        client.workflow.execute<typeof sessionCallWorkflow>('sessionCallWorkflow', {
          taskQueue,
          workflowId: `call-${instanceId}-${call}-${randomBytes(6).toString('hex')}`,
          args: [{ instanceId, call, args }],
          workflowExecutionTimeout: '45 s',
          typedSearchAttributes: [{ key: INSTANCE_ID, value: instanceId }],
        }),
      // A session call waits for the socket's answer: longer than a start.
      40_000,
    )) as SessionCallResult<C>;
  } catch (err) {
    if (err instanceof WorkflowFailedError) {
      type Failure = { type?: string; message?: string; details?: unknown[] };
      const cause = err.cause as (Failure & { cause?: Failure }) | undefined;
      const failure = cause?.cause ?? cause;
      if (cause?.type === 'NotConnected' || failure?.type === 'NotConnected')
        throw new Conflict(`instance ${instanceId} is not connected to WhatsApp`, 'NOT_CONNECTED');
      if (failure?.type === 'AlreadyPaired') throw new Conflict(`instance ${instanceId} is paired already`, 'ALREADY_PAIRED');
      if (failure?.type === 'NotRegistering')
        throw new Unavailable(`instance ${instanceId} is not waiting for a pairing yet; try again in a few seconds`, 'NOT_CONNECTING');
      if (failure?.type === 'WhatsAppRefusal' && typeof failure.details?.[0] === 'number')
        throw new WhatsAppRefused(failure.details[0], failure.message ?? 'refused');
      throw new HttpError(502, 'WHATSAPP_ERROR', `WhatsApp did not accept the request: ${failure?.message ?? err.message}`);
    }
    throw err;
  }
}
