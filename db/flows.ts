/**
 * Conversation flows of an instance (domain/flows.ts): each save a new
 * version of the flow. A change NOTIFYs FLOWS_CHANNEL with the instance id,
 * so the session workers' keyword triggers (activities/flowRouter.ts) follow
 * at once.
 */
import type { Knex } from 'knex';
import type { Db } from './knex.js';
import { cancelRuns } from './flowRuns.js';
import type { FlowDefinition } from '../domain/flows.js';

export const FLOWS_CHANNEL = 'wa_flows';

const announce = (trx: Knex.Transaction, instanceId: string) => trx.raw('select pg_notify(?, ?)', [FLOWS_CHANNEL, instanceId]);

export interface StoredFlow extends FlowDefinition {
  id: number;
  version: number;
  createdAt: string;
  updatedAt: string;
}

const fromRow = (row: Record<string, any>): StoredFlow => ({
  id: Number(row.id),
  name: row.name,
  enabled: row.enabled,
  trigger: row.trigger,
  steps: row.steps,
  version: Number(row.version),
  createdAt: new Date(row.created_at).toISOString(),
  updatedAt: new Date(row.updated_at).toISOString(),
});

export async function listFlows(db: Db, instanceId: string): Promise<StoredFlow[]> {
  return (await db('flows').where({ instance_id: instanceId }).orderBy('id')).map(fromRow);
}

export async function getFlow(db: Db, instanceId: string, id: number): Promise<StoredFlow | undefined> {
  const row = await db('flows').where({ instance_id: instanceId, id }).first();
  return row ? fromRow(row) : undefined;
}

export async function createFlow(db: Db, instanceId: string, flow: FlowDefinition): Promise<StoredFlow> {
  return db.transaction(async (trx) => {
    const [row] = await trx('flows')
      .insert({ instance_id: instanceId, ...columns(flow) })
      .returning('*');
    await announce(trx, instanceId);
    return fromRow(row);
  });
}

/** Replaces a flow: its version goes up (runs under way keep the version they started with). Undefined when there is none. */
export async function replaceFlow(db: Db, instanceId: string, id: number, flow: FlowDefinition): Promise<StoredFlow | undefined> {
  return db.transaction(async (trx) => {
    const [row] = await trx('flows')
      .where({ instance_id: instanceId, id })
      .update({ ...columns(flow), version: trx.raw('version + 1'), updated_at: trx.fn.now() })
      .returning('*');
    if (row) await announce(trx, instanceId);
    return row ? fromRow(row) : undefined;
  });
}

/** Deletes a flow and cancels its live runs: their ids (for their workflows to be told), or undefined when there was no flow. */
export async function deleteFlow(db: Db, instanceId: string, id: number): Promise<string[] | undefined> {
  return db.transaction(async (trx) => {
    const deleted = await trx('flows').where({ instance_id: instanceId, id }).delete();
    if (!deleted) return undefined;
    await announce(trx, instanceId);
    return cancelRuns(trx, instanceId, { flowId: id }, 'the flow was deleted');
  });
}

const columns = (flow: FlowDefinition) => ({
  name: flow.name,
  enabled: flow.enabled,
  trigger: JSON.stringify(flow.trigger),
  steps: JSON.stringify(flow.steps),
});
