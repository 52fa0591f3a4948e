/** The `media` table: a row per stored file of an instance (media/store.ts keeps the bytes). */
import type { Db } from './knex.js';

export interface MediaRow {
  instance_id: string;
  filename: string;
  original_name: string | null;
  mimetype: string;
  size: string;
  created_at: Date;
}

export async function insertMedia(
  db: Db,
  instanceId: string,
  file: { filename: string; originalName: string | null; mimetype: string; size: number },
): Promise<Pick<MediaRow, 'filename' | 'original_name' | 'mimetype' | 'size' | 'created_at'>> {
  const { filename, originalName, mimetype, size } = file;
  const [row] = await db('media')
    .insert({ instance_id: instanceId, filename, original_name: originalName, mimetype, size })
    .returning(['filename', 'original_name', 'mimetype', 'size', 'created_at']);
  return row;
}

export async function findMedia(db: Db, instanceId: string, filename: string): Promise<MediaRow | undefined> {
  return db('media').where({ instance_id: instanceId, filename }).first();
}

/** The instance's files, newest first. */
export async function listMedia(db: Db, instanceId: string): Promise<MediaRow[]> {
  return db('media').where({ instance_id: instanceId }).orderBy('created_at', 'desc');
}

/** Deletes the file's row; false when there was none. */
export async function deleteMedia(db: Db, instanceId: string, filename: string): Promise<boolean> {
  const deleted = await db('media').where({ instance_id: instanceId, filename }).delete();
  return deleted > 0;
}
