/**
 * Media files of each instance. Storage sits behind this interface (local disk
 * under DATA_DIR now; an S3-compatible store can implement the same). Names
 * are generated and unguessable; every path is checked to stay inside the
 * instance's own folder.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileTypeFromBuffer } from 'file-type';
import type { Db } from '../db/knex.js';

export interface StoredMedia {
  filename: string;
  originalname: string | null;
  mimetype: string;
  size: number;
  created: Date;
}

export const FILENAME_PATTERN = /^[0-9]{10,16}-[0-9a-f]{32}(\.[a-z0-9]{1,8})?$/;

export interface MediaStore {
  save(instanceId: string, bytes: Buffer, meta: { originalName?: string; mimetype?: string }): Promise<StoredMedia>;
  read(instanceId: string, filename: string): Promise<{ bytes: Buffer; mimetype: string } | undefined>;
  list(instanceId: string): Promise<StoredMedia[]>;
  remove(instanceId: string, filename: string): Promise<boolean>;
  /** Public URL of a stored file. */
  url(instanceId: string, filename: string): string;
}

/** The mimetype from the bytes themselves; the claimed one only for text-like files sniffing cannot tell. */
export async function detectMimetype(bytes: Buffer, claimed?: string): Promise<string> {
  const sniffed = await fileTypeFromBuffer(bytes);
  if (sniffed) return sniffed.mime;
  if (claimed && /^(text\/|application\/(json|xml|csv))/.test(claimed)) return claimed;
  return 'application/octet-stream';
}

export function createLocalMediaStore({ db, dataDir, publicUrl }: { db: Db; dataDir: string; publicUrl: string }): MediaStore {
  const root = resolve(dataDir, 'media');
  const folder = (instanceId: string) => {
    const dir = resolve(root, instanceId);
    if (!dir.startsWith(root + sep)) throw new Error('invalid instance id for media');
    return dir;
  };
  const pathOf = (instanceId: string, filename: string) => {
    if (!FILENAME_PATTERN.test(filename)) return undefined;
    const path = resolve(folder(instanceId), filename);
    return path.startsWith(folder(instanceId) + sep) ? path : undefined;
  };

  return {
    async save(instanceId, bytes, meta) {
      const mimetype = await detectMimetype(bytes, meta.mimetype);
      const sniffedExt = (await fileTypeFromBuffer(bytes))?.ext;
      const ext = sniffedExt ?? (extname(meta.originalName ?? '').slice(1).toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 8) || 'bin');
      const filename = `${Date.now()}-${randomBytes(16).toString('hex')}.${ext}`;
      await mkdir(folder(instanceId), { recursive: true });
      await writeFile(join(folder(instanceId), filename), bytes, { flag: 'wx' });
      const [row] = await db('media')
        .insert({ instance_id: instanceId, filename, original_name: meta.originalName ?? null, mimetype, size: bytes.length })
        .returning(['filename', 'original_name', 'mimetype', 'size', 'created_at']);
      return { filename, originalname: row.original_name, mimetype, size: bytes.length, created: row.created_at };
    },
    async read(instanceId, filename) {
      const path = pathOf(instanceId, filename);
      const row = path && (await db('media').where({ instance_id: instanceId, filename }).first());
      if (!path || !row) return undefined;
      return { bytes: await readFile(path), mimetype: row.mimetype };
    },
    async list(instanceId) {
      const rows = await db('media').where({ instance_id: instanceId }).orderBy('created_at', 'desc');
      return rows.map((r) => ({ filename: r.filename, originalname: r.original_name, mimetype: r.mimetype, size: Number(r.size), created: r.created_at }));
    },
    async remove(instanceId, filename) {
      const path = pathOf(instanceId, filename);
      if (!path) return false;
      const deleted = await db('media').where({ instance_id: instanceId, filename }).delete();
      await rm(path, { force: true });
      return deleted > 0;
    },
    url(instanceId, filename) {
      return `${publicUrl}/media/${encodeURIComponent(instanceId)}/${encodeURIComponent(filename)}`;
    },
  };
}

/** Removes every stored file of an instance (its rows go with the instance). */
export async function removeInstanceMedia(dataDir: string, instanceId: string): Promise<void> {
  const root = resolve(dataDir, 'media');
  const dir = resolve(root, instanceId);
  if (dir.startsWith(root + sep)) await rm(dir, { recursive: true, force: true });
}
