/**
 * Media bytes in an S3-compatible bucket (AWS S3, MinIO, Cloudflare R2, ...):
 * object `<S3_PREFIX><instance>/<filename>`, private; the gateway serves them
 * at its own /media URLs. A bucket that does not answer, or refuses, is a 503
 * "media storage unavailable" within seconds, never a hang.
 */
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import type { Config } from '../config/index.js';
import { HttpError } from '../lib/errors.js';
import type { Db } from '../db/knex.js';
import { mediaStoreOn, type Blobs, type MediaStore } from './store.js';

type S3Config = Pick<Config, 'S3_ENDPOINT' | 'S3_REGION' | 'S3_ACCESS_KEY_ID' | 'S3_SECRET_ACCESS_KEY' | 'S3_FORCE_PATH_STYLE'>;

/**
 * A connection that does not open in 3 s, or a socket silent for 5 s, fails (and is tried once more).
 * Silence, not the request's whole duration: a 64 MB upload may take longer. (The SDK's
 * `requestTimeout` only logs a warning and keeps waiting unless told to throw; a socket
 * timeout of 6 s or more starts counting 3 s late.)
 */
const CONNECT_TIMEOUT_MS = 3_000;
const SILENCE_TIMEOUT_MS = 5_000;

// The SDK warns on every start that its releases from 2027 need Node 22; the installed one runs on Node 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export class MediaStorageUnavailable extends HttpError {
  constructor(cause: unknown) {
    super(503, 'MEDIA_STORAGE_UNAVAILABLE', `media storage unavailable: ${describe(cause)}`);
  }
}

function describe(err: unknown): string {
  if (err instanceof S3ServiceException) return `${err.name} (HTTP ${err.$metadata.httpStatusCode ?? '?'})`;
  const e = err as { code?: string; name?: string; message?: string };
  return e.code ?? e.name ?? e.message ?? String(err);
}

const isMissing = (err: unknown) =>
  err instanceof S3ServiceException && (err.name === 'NoSuchKey' || (err.$metadata.httpStatusCode === 404 && err.name !== 'NoSuchBucket'));

/** A client for the configured bucket, with timeouts that turn a bucket that does not answer into an error. */
export function createS3Client(config: S3Config): S3Client {
  return new S3Client({
    region: config.S3_REGION,
    ...(config.S3_ENDPOINT ? { endpoint: config.S3_ENDPOINT } : {}),
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
    ...(config.S3_ACCESS_KEY_ID && config.S3_SECRET_ACCESS_KEY
      ? { credentials: { accessKeyId: config.S3_ACCESS_KEY_ID, secretAccessKey: config.S3_SECRET_ACCESS_KEY } }
      : {}),
    maxAttempts: 2,
    requestHandler: { connectionTimeout: CONNECT_TIMEOUT_MS, socketTimeout: SILENCE_TIMEOUT_MS },
  });
}

/** The media store with its bytes in `bucket`, objects `<prefix><instance>/<filename>`. */
export const createS3MediaStore = ({
  db,
  client,
  bucket,
  prefix = '',
  publicUrl,
}: {
  db: Db;
  client: S3Client;
  bucket: string;
  prefix?: string;
  publicUrl: string;
}): MediaStore => mediaStoreOn(s3Blobs(client, bucket, prefix), { db, publicUrl });

function s3Blobs(client: S3Client, bucket: string, prefix: string): Blobs {
  const folder = (instanceId: string) => `${prefix}${instanceId}/`;
  const key = (instanceId: string, filename: string) => `${folder(instanceId)}${filename}`;
  const call = async <T>(request: () => Promise<T>): Promise<T> => {
    try {
      return await request();
    } catch (err) {
      throw new MediaStorageUnavailable(err);
    }
  };

  return {
    async put(instanceId, filename, bytes, mimetype) {
      await call(() =>
        client.send(new PutObjectCommand({ Bucket: bucket, Key: key(instanceId, filename), Body: bytes, ContentType: mimetype })),
      );
    },
    async get(instanceId, filename) {
      try {
        const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key(instanceId, filename) }));
        return Buffer.from(await object.Body!.transformToByteArray());
      } catch (err) {
        if (isMissing(err)) return undefined;
        throw new MediaStorageUnavailable(err);
      }
    },
    async delete(instanceId, filename) {
      await call(() => client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key(instanceId, filename) })));
    },
    async deleteAll(instanceId) {
      // A page of keys at a time (at most 1,000, as DeleteObjects takes).
      let token: string | undefined;
      do {
        const page = await call(() =>
          client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: folder(instanceId), ContinuationToken: token })),
        );
        const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
        if (keys.length)
          await call(() => client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } })));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    },
  };
}
