/** Channels (newsletters) the account follows or owns, as WhatsApp last described them. */
import type { Db } from './knex.js';
import type { ChannelInfo } from '../whatsapp/session.js';

export async function listChannels(db: Db, instanceId: string): Promise<ChannelInfo[]> {
  const rows = await db('channels').where({ instance_id: instanceId }).orderBy('name');
  return rows.map(fromRow);
}

export async function getChannel(db: Db, instanceId: string, id: string): Promise<ChannelInfo | undefined> {
  const row = await db('channels').where({ instance_id: instanceId, id }).first();
  return row ? fromRow(row) : undefined;
}

export async function saveChannel(db: Db, instanceId: string, channel: ChannelInfo): Promise<void> {
  const row = {
    name: channel.name,
    description: channel.description,
    invite: channel.invite,
    subscribers: channel.subscribers,
    role: channel.role,
    created_at: channel.createdAt,
    updated_at: db.fn.now(),
  };
  await db('channels')
    .insert({ instance_id: instanceId, id: channel.id, ...row })
    .onConflict(['instance_id', 'id'])
    .merge(row);
}

export async function forgetChannel(db: Db, instanceId: string, id: string): Promise<boolean> {
  return (await db('channels').where({ instance_id: instanceId, id }).delete()) > 0;
}

function fromRow(row: Record<string, any>): ChannelInfo {
  return {
    id: row.id,
    name: row.name,
    description: row.description ?? null,
    invite: row.invite ?? null,
    subscribers: Number(row.subscribers),
    role: row.role,
    createdAt: row.created_at === null ? null : Number(row.created_at),
  };
}
