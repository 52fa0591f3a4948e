import type { Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import { BadRequest } from '../lib/errors.js';
import { attachMeta } from './openapi.js';

type Schema = z.ZodType;
type Infer<S> = S extends Schema ? z.infer<S> : undefined;

export interface RouteSchemas<P, Q, B> {
  params?: P;
  query?: Q;
  body?: B;
}

/**
 * Every endpoint goes through here: params, query and body are parsed with
 * their zod schemas (400 naming the first bad field), then the handler runs
 * with typed input. A returned value is sent as JSON. The same schemas make
 * the route's parameters and body in the OpenAPI document (api/openapi.ts).
 */
export function route<
  P extends Schema | undefined = undefined,
  Q extends Schema | undefined = undefined,
  B extends Schema | undefined = undefined,
>(
  schemas: RouteSchemas<P, Q, B>,
  handle: (input: { params: Infer<P>; query: Infer<Q>; body: Infer<B> }, req: Request, res: Response) => Promise<unknown>,
): RequestHandler {
  const handler: RequestHandler = async (req, res) => {
    const input = {
      params: parse(schemas.params, req.params, 'path'),
      query: parse(schemas.query, req.query, 'query'),
      body: parse(schemas.body, req.body ?? {}, 'body'),
    } as { params: Infer<P>; query: Infer<Q>; body: Infer<B> };
    const result = await handle(input, req, res);
    if (result !== undefined && !res.headersSent) res.json(result);
  };
  return attachMeta(handler, schemas as { params?: Schema; query?: Schema; body?: Schema });
}

function parse(schema: Schema | undefined, value: unknown, where: string): unknown {
  if (!schema) return undefined;
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new BadRequest(describeIssue(parsed.error.issues[0]!, where));
}

function describeIssue(issue: z.core.$ZodIssue, where: string): string {
  const name = issue.path.map(String).join('.');
  if (!name) return `invalid ${where}: ${issue.message}`;
  if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) return `${name} is required`;
  return `${name}: ${sizeInWords(issue) ?? issue.message}`;
}

/** A size limit in the API's words (`at most 65536 characters`) where zod would say `Too big: expected string to have <=65536 characters`. */
function sizeInWords(issue: z.core.$ZodIssue): string | undefined {
  if ((issue.code !== 'too_big' && issue.code !== 'too_small') || !/^Too (big|small):/.test(issue.message)) return undefined;
  const big = issue.code === 'too_big';
  const limit = Number(big ? issue.maximum : issue.minimum);
  const inclusive = issue.inclusive !== false;
  const bound = big ? (inclusive ? 'at most' : 'less than') : inclusive ? 'at least' : 'more than';
  switch (issue.origin) {
    case 'string':
      return !big && limit === 1 && inclusive ? 'must not be empty' : `must be ${bound} ${limit} characters long`;
    case 'array':
    case 'set':
      return `must hold ${bound} ${limit} ${limit === 1 ? 'item' : 'items'}`;
    case 'number':
    case 'int':
    case 'bigint':
      return `must be ${bound} ${limit}`;
    default:
      return undefined;
  }
}

export { instanceIdSchema } from './schemas.js';
