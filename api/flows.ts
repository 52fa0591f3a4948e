/**
 * Conversation flows: `GET/POST .../flows`, `GET/PUT/DELETE .../flows/{flowId}`.
 * A flow is checked field by field (zod) and then as a whole
 * (domain/flows.ts): a save that would leave a step unreachable, lead
 * nowhere or loop without waiting is refused, naming the step.
 */
import { Router } from 'express';
import { z } from 'zod';
import type { Db } from '../db/knex.js';
import { createFlow, deleteFlow, getFlow, listFlows, replaceFlow } from '../db/flows.js';
import { MATCH_TYPES, MAX_PATTERN_LENGTH, regexProblem } from '../domain/chatbotRules.js';
import { flowProblems, type FlowDefinition, type Step } from '../domain/flows.js';
import { BadRequest, NotFound } from '../lib/errors.js';
import { instanceOf } from './instances.js';
import { route } from './route.js';

/** A year: the longest a `wait` or an `ask` may wait. */
export const MAX_WAIT_SECONDS = 365 * 86_400;
const MAX_STEPS = 200;

const stepId = z
  .string()
  .min(1, 'a step id must not be empty')
  .max(64)
  .regex(/^[\p{L}\p{N}_-]+$/u, 'a step id is letters, digits, _ and - only');
const target = stepId;
const text = (field: string, max = 4_096) => z.string().min(1, `${field} must not be empty`).max(max);
const varName = z
  .string()
  .regex(/^[\p{L}_][\p{L}\p{N}_]*$/u, 'a variable name is letters, digits and _, not starting with a digit')
  .max(64);
const pattern = (field: string) =>
  z
    .string()
    .min(1, `${field} must not be empty`)
    .max(MAX_PATTERN_LENGTH)
    .superRefine((value, ctx) => {
      const problem = regexProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });
const matchCase = z
  .object({ match_type: z.enum(MATCH_TYPES), value: text('value', MAX_PATTERN_LENGTH), next: target })
  .strict()
  .superRefine((c, ctx) => {
    const problem = c.match_type === 'regex' ? regexProblem(c.value) : undefined;
    if (problem) ctx.addIssue({ code: 'custom', path: ['value'], message: problem });
  });
const seconds = (field: string) =>
  z
    .number({ error: `${field} must be a number of seconds` })
    .int(`${field} must be a whole number of seconds`)
    .min(1, `${field} must be at least 1`)
    .max(MAX_WAIT_SECONDS, `${field} must be at most ${MAX_WAIT_SECONDS} (a year)`);
const httpUrl = z
  .string()
  .regex(/^https?:\/\/[^\s]+$/, 'must be an http(s) URL')
  .max(2_048);
const MEDIA = ['image', 'video', 'document', 'audio'] as const;

const base = { id: stepId, next: target.optional() };
const send = z
  .object({
    ...base,
    type: z.literal('send'),
    text: text('text').optional(),
    ...Object.fromEntries(MEDIA.map((kind) => [kind, httpUrl.optional()])),
    caption: z.string().max(4_096).optional(),
    filename: z.string().min(1).max(255).optional(),
  })
  .strict()
  .transform((s, ctx): Step => {
    const media = MEDIA.filter((kind) => (s as Record<string, unknown>)[kind] !== undefined);
    if ((s.text ? 1 : 0) + media.length !== 1)
      ctx.addIssue({ code: 'custom', message: `step ${s.id}: a send has either text or one of ${MEDIA.join(', ')}` });
    const kind = media[0];
    return {
      id: s.id,
      type: 'send',
      ...(s.next ? { next: s.next } : {}),
      ...(s.text ? { text: s.text } : {}),
      ...(kind
        ? {
            media: {
              kind,
              url: (s as Record<string, string>)[kind]!,
              ...(s.caption ? { caption: s.caption } : {}),
              ...(s.filename ? { filename: s.filename } : {}),
            },
          }
        : {}),
    };
  });
const ask = z
  .object({
    ...base,
    type: z.literal('ask'),
    text: text('text'),
    save: varName.optional(),
    timeout: seconds('timeout').optional(),
    onTimeout: target.optional(),
    choices: z.array(matchCase).max(50).optional(),
    validate: z
      .object({
        regex: pattern('regex'),
        retryText: text('retryText').optional(),
        maxRetries: z.number().int().min(0).max(10).optional(),
        onInvalid: target.optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
const branch = z
  .object({
    ...base,
    type: z.literal('branch'),
    on: text('on', 1_024),
    cases: z.array(matchCase).min(1).max(50),
    default: target.optional(),
  })
  .strict();
const wait = z
  .object({
    ...base,
    type: z.literal('wait'),
    seconds: seconds('seconds'),
    cancelOnReply: z.boolean().optional(),
    onReply: target.optional(),
  })
  .strict();
const http = z
  .object({
    ...base,
    type: z.literal('http'),
    method: z.enum(['GET', 'POST']).default('POST'),
    url: httpUrl,
    body: z.unknown().optional(),
    save: varName.optional(),
    onError: target.optional(),
  })
  .strict();
const handoff = z.object({ id: stepId, type: z.literal('handoff'), text: text('text').optional() }).strict();
const end = z.object({ id: stepId, type: z.literal('end') }).strict();

const step = z.discriminatedUnion('type', [send, ask, branch, wait, http, handoff, end], {
  error: 'type must be one of send, ask, branch, wait, http, handoff, end',
});

export const flowSchema = z
  .object({
    name: text('name', 100),
    enabled: z.boolean().default(true),
    trigger: z.discriminatedUnion(
      'type',
      [
        z.object({ type: z.literal('keyword'), match_type: z.enum(MATCH_TYPES), text: text('text', MAX_PATTERN_LENGTH) }).strict(),
        z.object({ type: z.literal('api') }).strict(),
      ],
      { error: 'trigger.type must be keyword or api' },
    ),
    steps: z.array(step).min(1, 'steps must not be empty').max(MAX_STEPS, `a flow has at most ${MAX_STEPS} steps`),
  })
  .superRefine((flow, ctx) => {
    if (flow.trigger.type === 'keyword' && flow.trigger.match_type === 'regex') {
      const problem = regexProblem(flow.trigger.text);
      if (problem) ctx.addIssue({ code: 'custom', path: ['trigger', 'text'], message: problem });
    }
  })
  .transform((flow): FlowDefinition => flow as FlowDefinition);

/** The flow as a whole, or a 400 naming the first step that is wrong. */
function checked(flow: FlowDefinition): FlowDefinition {
  const [problem] = flowProblems(flow);
  if (problem) throw new BadRequest(`steps: ${problem.step ? `step "${problem.step}" ` : ''}${problem.message}`, 'INVALID_FLOW');
  return flow;
}

const flowParams = z.object({ flowId: z.coerce.number({ error: 'flowId must be a number' }).int().positive('flowId must be a flow id') });

export function flowsRouter({ db }: { db: Db }): Router {
  const router = Router({ mergeParams: true });
  const known = async (instanceId: string, id: number) => {
    const flow = await getFlow(db, instanceId, id);
    if (!flow) throw new NotFound(`no flow ${id} in this instance`, 'FLOW_NOT_FOUND');
    return flow;
  };

  router.get(
    '/',
    route({}, async (_input, _req, res) => listFlows(db, instanceOf(res).id)),
  );
  router.post(
    '/',
    route({ body: flowSchema }, async ({ body }, _req, res) => createFlow(db, instanceOf(res).id, checked(body))),
  );
  router.get(
    '/:flowId',
    route({ params: flowParams }, async ({ params }, _req, res) => known(instanceOf(res).id, params.flowId)),
  );
  router.put(
    '/:flowId',
    route({ params: flowParams, body: flowSchema }, async ({ params, body }, _req, res) => {
      const flow = await replaceFlow(db, instanceOf(res).id, params.flowId, checked(body));
      if (!flow) throw new NotFound(`no flow ${params.flowId} in this instance`, 'FLOW_NOT_FOUND');
      return flow;
    }),
  );
  router.delete(
    '/:flowId',
    route({ params: flowParams }, async ({ params }, _req, res) => {
      if (!(await deleteFlow(db, instanceOf(res).id, params.flowId)))
        throw new NotFound(`no flow ${params.flowId} in this instance`, 'FLOW_NOT_FOUND');
      return { success: true };
    }),
  );
  return router;
}

