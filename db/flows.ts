/** Conversation flows of an instance (domain/flows.ts): each save a new version of the flow. */
import type { Db } from './knex.js';
import type { FlowDefinition } from '../domain/flows.js';

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
  const [row] = await db('flows')
    .insert({ instance_id: instanceId, ...columns(flow) })
    .returning('*');
  return fromRow(row);
}

/** Replaces a flow: its version goes up (runs under way keep the version they started with). Undefined when there is none. */
export async function replaceFlow(db: Db, instanceId: string, id: number, flow: FlowDefinition): Promise<StoredFlow | undefined> {
  const [row] = await db('flows')
    .where({ instance_id: instanceId, id })
    .update({ ...columns(flow), version: db.raw('version + 1'), updated_at: db.fn.now() })
    .returning('*');
  return row ? fromRow(row) : undefined;
}

export async function deleteFlow(db: Db, instanceId: string, id: number): Promise<boolean> {
  return (await db('flows').where({ instance_id: instanceId, id }).delete()) > 0;
}

const columns = (flow: FlowDefinition) => ({
  name: flow.name,
  enabled: flow.enabled,
  trigger: JSON.stringify(flow.trigger),
  steps: JSON.stringify(flow.steps),
});
