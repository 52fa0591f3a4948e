/**
 * Media files of each instance: their rows in the `media` table, their bytes
 * on local disk under DATA_DIR or in an S3-compatible bucket (media/s3.ts,
 * for API and workers on several machines). Names are generated and
 * unguessable; a name is only ever used inside its own instance's folder.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileTypeFromBuffer } from 'file-type';
import type { Config } from '../config/index.js';
import type { Db } from '../db/knex.js';
import { deleteMedia, findMedia, insertMedia, listMedia } from '../db/media.js';

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
  /** Every file of an instance (its rows go with the instance). */
  removeAll(instanceId: string): Promise<void>;
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

/** Where the bytes are: one folder (or key prefix) per instance, files by their generated names. */
export interface Blobs {
  put(instanceId: string, filename: string, bytes: Buffer, mimetype: string): Promise<void>;
  /** undefined when there is no such file. */
  get(instanceId: string, filename: string): Promise<Buffer | undefined>;
  delete(instanceId: string, filename: string): Promise<void>;
  deleteAll(instanceId: string): Promise<void>;
}

/** The media store on `blobs`: names, mimetypes and rows are the same whatever holds the bytes. */
export function mediaStoreOn(blobs: Blobs, { db, publicUrl }: { db: Db; publicUrl: string }): MediaStore {
  return {
    async save(instanceId, bytes, meta) {
      const sniffed = await fileTypeFromBuffer(bytes);
      const mimetype = await detectMimetype(bytes, meta.mimetype);
      const ext =
        sniffed?.ext ??
        (extname(meta.originalName ?? '')
          .slice(1)
          .toLowerCase()
          .replace(/[^a-z0-9]/g, '')
          .slice(0, 8) ||
          'bin');
      const filename = `${Date.now()}-${randomBytes(16).toString('hex')}.${ext}`;
      await blobs.put(instanceId, filename, bytes, mimetype);
      const row = await insertMedia(db, instanceId, { filename, originalName: meta.originalName ?? null, mimetype, size: bytes.length });
      return { filename, originalname: row.original_name, mimetype, size: bytes.length, created: row.created_at };
    },
    async read(instanceId, filename) {
      if (!FILENAME_PATTERN.test(filename)) return undefined;
      const row = await findMedia(db, instanceId, filename);
      const bytes = row && (await blobs.get(instanceId, filename));
      return bytes ? { bytes, mimetype: row.mimetype } : undefined;
    },
    async list(instanceId) {
      const rows = await listMedia(db, instanceId);
      return rows.map((r) => ({
        filename: r.filename,
        originalname: r.original_name,
        mimetype: r.mimetype,
        size: Number(r.size),
        created: r.created_at,
      }));
    },
    async remove(instanceId, filename) {
      if (!FILENAME_PATTERN.test(filename)) return false;
      const deleted = await deleteMedia(db, instanceId, filename);
      await blobs.delete(instanceId, filename);
      return deleted;
    },
    removeAll: (instanceId) => blobs.deleteAll(instanceId),
    url(instanceId, filename) {
      return `${publicUrl}/media/${encodeURIComponent(instanceId)}/${encodeURIComponent(filename)}`;
    },
  };
}

/** Files under `dataDir/media/<instance>/`; every path is checked to stay inside the instance's own folder. */
export function localBlobs(dataDir: string): Blobs {
  const root = resolve(dataDir, 'media');
  const folder = (instanceId: string) => {
    const dir = resolve(root, instanceId);
    if (!dir.startsWith(root + sep)) throw new Error('invalid instance id for media');
    return dir;
  };
  const pathOf = (instanceId: string, filename: string) => {
    const path = resolve(folder(instanceId), filename);
    if (!FILENAME_PATTERN.test(filename) || !path.startsWith(folder(instanceId) + sep)) throw new Error('invalid media file name');
    return path;
  };
  return {
    async put(instanceId, filename, bytes) {
      await mkdir(folder(instanceId), { recursive: true });
      await writeFile(pathOf(instanceId, filename), bytes, { flag: 'wx' });
    },
    async get(instanceId, filename) {
      try {
        return await readFile(pathOf(instanceId, filename));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
    },
    delete: (instanceId, filename) => rm(pathOf(instanceId, filename), { force: true }),
    deleteAll: (instanceId) => rm(folder(instanceId), { recursive: true, force: true }),
  };
}

export const createLocalMediaStore = ({ db, dataDir, publicUrl }: { db: Db; dataDir: string; publicUrl: string }): MediaStore =>
  mediaStoreOn(localBlobs(dataDir), { db, publicUrl });

/** The store MEDIA_STORE names. The S3 client is loaded only for `s3`. */
export async function createMediaStore(config: Config, db: Db): Promise<MediaStore> {
  if (config.MEDIA_STORE === 'local') return createLocalMediaStore({ db, dataDir: config.DATA_DIR, publicUrl: config.PUBLIC_URL });
  const { createS3Client, createS3MediaStore } = await import('./s3.js');
  return createS3MediaStore({
    db,
    client: createS3Client(config),
    bucket: config.S3_BUCKET!,
    prefix: config.S3_PREFIX,
    publicUrl: config.PUBLIC_URL,
  });
}
