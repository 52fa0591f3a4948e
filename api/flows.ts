/**
 * Conversation flows: `GET/POST .../flows`, `GET/PUT/DELETE .../flows/{flowId}`,
 * and their runs: `POST .../flows/{flowId}/start`, `GET .../flows/{flowId}/runs`,
 * `GET .../flows/runs/{runId}`, `POST .../flows/runs/{runId}/cancel`.
 * A flow is checked field by field (zod) and then as a whole
 * (domain/flows.ts): a save that would leave a step unreachable, lead
 * nowhere or loop without waiting is refused, naming the step.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { Router } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Db } from '../db/knex.js';
import { createFlow, deleteFlow, getFlow, listFlows, replaceFlow, type StoredFlow } from '../db/flows.js';
import { cancelRuns, failRun, getRun, listRuns, startRun } from '../db/flowRuns.js';
import { nameOf } from '../db/contacts.js';
import { isOptedOut } from '../db/optouts.js';
import { MATCH_TYPES, MAX_PATTERN_LENGTH, regexProblem } from '../domain/chatbotRules.js';
import { FLOW_RUN_STATUSES, flowProblems, type FlowDefinition, type Step } from '../domain/flows.js';
import { phoneOf } from '../domain/recipients.js';
import { BadRequest, Conflict, NotFound } from '../lib/errors.js';
import { startFlowRun, tellFlowRunsCancelled } from '../temporal/starts.js';
import { instanceOf } from './instances.js';
import { route } from './route.js';
import { userJid } from './schemas.js';

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

/**
 * A step as the API takes it: its id and type first (Postgres keeps a step's fields in an order of its own),
 * and a send's media as `image` (or `video`, ...) with `caption` and `filename` beside.
 */
const shownStep = (step: Step): Record<string, unknown> => {
  const { id, type, ...fields } = step;
  if (step.type !== 'send' || !step.media) return { id, type, ...fields };
  const { media, ...rest } = fields as Omit<Extract<Step, { type: 'send' }>, 'id' | 'type'>;
  const { kind, url, ...extra } = media!;
  return { id, type, ...rest, [kind]: url, ...extra };
};

/** A stored flow as the API answers it: what a PUT takes back unchanged. */
const shown = (flow: StoredFlow) => ({ ...flow, steps: flow.steps.map(shownStep) });

/** The flow as a whole, or a 400 naming the first step that is wrong. */
function checked(flow: FlowDefinition): FlowDefinition {
  const [problem] = flowProblems(flow);
  if (problem) throw new BadRequest(`steps: ${problem.step ? `step "${problem.step}" ` : ''}${problem.message}`, 'INVALID_FLOW');
  return flow;
}

const flowParams = z.object({ flowId: z.coerce.number({ error: 'flowId must be a number' }).int().positive('flowId must be a flow id') });
const runParams = z.object({ runId: z.string().min(1).max(64) });

/** The most a run's starting variables may take, as JSON. */
const MAX_VARS_BYTES = 16 * 1024;

export const startSchema = z
  .object({
    to: userJid(),
    vars: z
      .record(
        z.string().regex(/^[\p{L}_][\p{L}\p{N}_]*$/u, 'a variable name is letters, digits and _, not starting with a digit'),
        z.unknown(),
      )
      .refine((vars) => JSON.stringify(vars).length <= MAX_VARS_BYTES, `vars may take at most ${MAX_VARS_BYTES} bytes as JSON`)
      .optional(),
    replace: z.boolean().optional(),
  })
  .strict();

export const runsQuery = z.object({
  status: z.enum(FLOW_RUN_STATUSES, { error: `must be one of ${FLOW_RUN_STATUSES.join(', ')}` }).optional(),
  limit: z.coerce.number({ error: 'must be a number' }).int().min(1).max(500).default(50),
  page: z.coerce.number({ error: 'must be a number' }).int().min(1).max(1_000_000).default(1),
});

export interface FlowsDeps {
  db: Db;
  temporal: Client;
  taskQueue: string;
  logger: Logger;
}

export function flowsRouter({ db, temporal, taskQueue, logger }: FlowsDeps): Router {
  const router = Router({ mergeParams: true });
  const known = async (instanceId: string, id: number) => {
    const flow = await getFlow(db, instanceId, id);
    if (!flow) throw new NotFound(`no flow ${id} in this instance`, 'FLOW_NOT_FOUND');
    return flow;
  };
  const tellCancelled = (instanceId: string, runIds: string[]) =>
    tellFlowRunsCancelled(temporal, instanceId, runIds, (err, runId) =>
      logger.warn({ err, instanceId, runId }, 'telling a flow run it was cancelled failed'),
    );

  router.get(
    '/',
    route({}, async (_input, _req, res) => (await listFlows(db, instanceOf(res).id)).map(shown)),
  );
  router.post(
    '/',
    route({ body: flowSchema }, async ({ body }, _req, res) => shown(await createFlow(db, instanceOf(res).id, checked(body)))),
  );

  router.get(
    '/runs/:runId',
    route({ params: runParams }, async ({ params }, _req, res) => {
      const run = await getRun(db, instanceOf(res).id, params.runId);
      if (!run) throw new NotFound(`no flow run ${params.runId} in this instance`, 'FLOW_RUN_NOT_FOUND');
      return run;
    }),
  );
  router.post(
    '/runs/:runId/cancel',
    route({ params: runParams }, async ({ params }, _req, res) => {
      const instanceId = instanceOf(res).id;
      const cancelled = await cancelRuns(db, instanceId, { runId: params.runId }, 'cancelled through the API');
      const run = await getRun(db, instanceId, params.runId);
      if (!run) throw new NotFound(`no flow run ${params.runId} in this instance`, 'FLOW_RUN_NOT_FOUND');
      if (cancelled.length === 0) throw new Conflict(`flow run ${params.runId} has ended already (${run.status})`, 'FLOW_RUN_ENDED');
      await tellCancelled(instanceId, cancelled);
      return run;
    }),
  );

  router.get(
    '/:flowId',
    route({ params: flowParams }, async ({ params }, _req, res) => shown(await known(instanceOf(res).id, params.flowId))),
  );
  router.put(
    '/:flowId',
    route({ params: flowParams, body: flowSchema }, async ({ params, body }, _req, res) => {
      const flow = await replaceFlow(db, instanceOf(res).id, params.flowId, checked(body));
      if (!flow) throw new NotFound(`no flow ${params.flowId} in this instance`, 'FLOW_NOT_FOUND');
      return shown(flow);
    }),
  );
  router.delete(
    '/:flowId',
    route({ params: flowParams }, async ({ params }, _req, res) => {
      const instanceId = instanceOf(res).id;
      const cancelled = await deleteFlow(db, instanceId, params.flowId);
      if (!cancelled) throw new NotFound(`no flow ${params.flowId} in this instance`, 'FLOW_NOT_FOUND');
      await tellCancelled(instanceId, cancelled);
      return { success: true, cancelledRuns: cancelled.length };
    }),
  );

  router.post(
    '/:flowId/start',
    route({ params: flowParams, body: startSchema }, async ({ params, body }, _req, res) => {
      const instanceId = instanceOf(res).id;
      const flow = await known(instanceId, params.flowId);
      if (!flow.enabled) throw new Conflict(`flow ${flow.id} is disabled`, 'FLOW_DISABLED');
      const chatId = body.to;
      if (await isOptedOut(db, instanceId, chatId))
        throw new Conflict(`${phoneOf(chatId)} opted out: a flow is not started for them from the API`, 'OPTED_OUT');
      const phone = phoneOf(chatId);
      const vars = { name: await nameOf(db, instanceId, chatId), phone, ...body.vars };
      const runId = randomUUID();
      const outcome = await startRun(db, { runId, instanceId, flow, chatId, vars, trigger: { type: 'api' }, replace: body.replace });
      if ('live' in outcome)
        throw new Conflict(
          `the chat has a running flow run (${outcome.live}); cancel it, or start with "replace": true`,
          'FLOW_RUN_ACTIVE',
        );
      if (!('started' in outcome)) throw new Error('a new run id was taken');
      if (outcome.replaced) await tellCancelled(instanceId, [outcome.replaced]);
      try {
        await startFlowRun(temporal, taskQueue, { instanceId, runId, flowId: flow.id, chatId, steps: flow.steps, vars });
      } catch (err) {
        // Without its workflow it would never run: not started.
        await failRun(db, instanceId, runId, 'its workflow could not be started');
        throw err;
      }
      return { runId, status: 'running' as const, ...(outcome.replaced ? { replaced: outcome.replaced } : {}) };
    }),
  );
  router.get(
    '/:flowId/runs',
    route({ params: flowParams, query: runsQuery }, async ({ params, query }, _req, res) => {
      const instanceId = instanceOf(res).id;
      await known(instanceId, params.flowId);
      const { runs, total } = await listRuns(db, instanceId, params.flowId, query);
      return { runs, total, page: query.page, limit: query.limit };
    }),
  );
  return router;
}
