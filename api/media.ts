/** Media: `.../media/upload`, `/list`, `/delete`, and the public `GET /media/{instanceId}/{filename}`. */
import { Router, type RequestHandler } from 'express';
import multer from 'multer';
import { z } from 'zod';
import { BadRequest, NotFound, PayloadTooLarge } from '../lib/errors.js';
import { FILENAME_PATTERN, type MediaStore } from '../media/store.js';
import { instanceIdSchema, route } from './route.js';
import { instanceOf } from './instances.js';

const filenameSchema = z.string({ error: 'filename is required' }).regex(FILENAME_PATTERN, 'filename is not a stored file name');

export function mediaRouter({ media, maxBytes }: { media: MediaStore; maxBytes: number }): Router {
  const router = Router({ mergeParams: true });
  const upload = multer({ storage: multer.memoryStorage(), limits: { fileSize: maxBytes, files: 1, fields: 10 } }).single('file');

  const receive: RequestHandler = (req, res, next) =>
    upload(req, res, (err: unknown) => {
      if (!err) return next();
      const code = (err as { code?: string }).code;
      if (code === 'LIMIT_FILE_SIZE') return next(new PayloadTooLarge(`file is larger than ${maxBytes} bytes`));
      if (code === 'LIMIT_UNEXPECTED_FILE') return next(new BadRequest('the file must be sent in the multipart field "file"'));
      next(new BadRequest(`invalid multipart upload: ${(err as Error).message}`));
    });

  router.post(
    '/upload',
    receive,
    route({}, async (_input, req, res) => {
      if (!req.file) throw new BadRequest('file is required (multipart/form-data, field "file")');
      const { id } = instanceOf(res);
      const stored = await media.save(id, req.file.buffer, { originalName: req.file.originalname, mimetype: req.file.mimetype });
      return {
        success: true,
        file: {
          filename: stored.filename,
          originalname: stored.originalname,
          mimetype: stored.mimetype,
          size: stored.size,
          url: media.url(id, stored.filename),
        },
      };
    }),
  );

  router.get(
    '/list',
    route({}, async (_input, _req, res) => {
      const { id } = instanceOf(res);
      return (await media.list(id)).map((f) => ({
        filename: f.filename,
        size: f.size,
        url: media.url(id, f.filename),
        created: f.created,
      }));
    }),
  );

  const remove = route(
    { query: z.object({ filename: z.string().optional() }), body: z.object({ filename: z.string().optional() }) },
    async ({ query, body }, _req, res) => {
      const filename = filenameSchema.safeParse(query.filename ?? body.filename);
      if (!filename.success) throw new BadRequest(`filename: ${filename.error.issues[0]!.message}`);
      if (!(await media.remove(instanceOf(res).id, filename.data))) throw new NotFound(`no file ${filename.data}`, 'MEDIA_NOT_FOUND');
      return { success: true, deleted: filename.data };
    },
  );
  router.delete('/delete', remove);
  router.post('/delete', remove);
  return router;
}

/** Serves stored files publicly by their unguessable names (WhatsApp-style media links). */
export function publicMediaRouter({ media }: { media: MediaStore }): Router {
  const router = Router();
  router.get(
    '/:instanceId/:filename',
    route({ params: z.object({ instanceId: z.string(), filename: z.string() }) }, async ({ params }, _req, res) => {
      // A link to no stored file is a 404, whatever its shape; only a stored file's name is looked up.
      const stored = instanceIdSchema.safeParse(params.instanceId).success && FILENAME_PATTERN.test(params.filename);
      const file = stored ? await media.read(params.instanceId, params.filename) : undefined;
      if (!file) throw new NotFound('no such file', 'MEDIA_NOT_FOUND');
      res.setHeader('Content-Type', file.mimetype);
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.setHeader('Cache-Control', 'private, max-age=86400');
      res.setHeader('Content-Security-Policy', "default-src 'none'; sandbox");
      res.send(file.bytes);
      return undefined;
    }),
  );
  return router;
}
