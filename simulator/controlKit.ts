/** What the control API's route files share: a route's shape, its input's checks, and lookups that answer 404. */
import { z } from 'zod';
import { BadRequest, NotFound } from '../lib/errors.js';
import type { Simulator } from './simulator.js';
import type { SimGroup } from './groups.js';

export interface Reply {
  status?: number;
  body: unknown;
}
export type Handler = (body: unknown, query: URLSearchParams) => Reply | Promise<Reply>;

export const phone = z.string().regex(/^\d{6,15}$/, 'must be a phone number in digits, with country code');

/** The input, or a 400 naming the first field that is wrong. */
export function parse<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw new BadRequest(`${issue.path.join('.') || 'body'}: ${issue.message}`);
}

export function groupOr404(sim: Simulator, gid: string): SimGroup {
  const group = sim.groupRegistry.get(gid);
  if (!group) throw new NotFound(`no simulated group ${gid}`);
  return group;
}
