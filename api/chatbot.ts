/**
 * `.../chatbot`: keyword rules that answer incoming 1:1 messages, and the
 * instance's switch for them. Every change reaches the workers' caches at
 * once (db/chatbot.ts); replies are durable workflows (workflows/chatbot.ts).
 */
import { Router } from 'express';
import { z } from 'zod';
import type { Db } from '../db/knex.js';
import {
  botPauses,
  createRule,
  deleteRule,
  getRule,
  listRules,
  MAX_RULES,
  resumeBot,
  updateRule,
  type BotPause,
  type RuleFields,
} from '../db/chatbot.js';
import { getSettings, updateSettings } from '../db/settings.js';
import { MATCH_TYPES, MAX_PATTERN_LENGTH, regexProblem, type ChatbotRule } from '../domain/chatbotRules.js';
import { BadRequest, Conflict, NotFound } from '../lib/errors.js';
import { instanceOf } from './instances.js';
import { route } from './route.js';
import { jid } from './schemas.js';

const MAX_DELAY_SECONDS = 3_600;
const MAX_PRIORITY = 1_000_000;

/** A whole number, also as a numeric string (form posts). */
const wholeNumber = (what: string, min: number, max: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : v),
    z
      .number({ error: `must be a number${what}` })
      .int(`must be a whole number${what}`)
      .min(min, `must be at least ${min}`)
      .max(max, `must be at most ${max}`),
  );

/** true/false, also as 1/0 and "true"/"false" (the rules list shows `enabled` as 1 or 0). */
const flag = z.union(
  [
    z.boolean(),
    z.literal(1).transform(() => true),
    z.literal(0).transform(() => false),
    z.enum(['true', 'false']).transform((v) => v === 'true'),
  ],
  {
    error: 'must be true or false',
  },
);

const ruleBody = z.object({
  id: wholeNumber('', 1, 2_147_483_647).optional(),
  match_type: z.enum(MATCH_TYPES, { error: `must be one of ${MATCH_TYPES.join(', ')}` }).optional(),
  trigger_text: z
    .string({ error: 'must be text' })
    .refine((v) => v.trim() !== '', 'must not be empty')
    .refine((v) => v.length <= 1_000, 'must be at most 1000 characters')
    .optional(),
  response: z
    .string({ error: 'must be text' })
    .refine((v) => v.trim() !== '', 'must not be empty')
    .refine((v) => v.length <= 4_096, 'must be at most 4096 characters')
    .optional(),
  delay: wholeNumber(' of seconds', 0, MAX_DELAY_SECONDS).optional(),
  enabled: flag.optional(),
  priority: wholeNumber('', -MAX_PRIORITY, MAX_PRIORITY).optional(),
});

const DEFAULTS = { match_type: 'exact', delay: 1, enabled: true, priority: 0 } as const;

const idParams = z.object({ id: wholeNumber(' (a rule id)', 1, 2_147_483_647) });
const toggleBody = z.object({ enabled: flag.optional() });

/** A rule as the contract shows it: `enabled` as 1 or 0. */
const shown = (rule: ChatbotRule) => ({
  id: rule.id,
  match_type: rule.match_type,
  trigger_text: rule.trigger_text,
  response: rule.response,
  delay: rule.delay,
  enabled: rule.enabled ? 1 : 0,
  priority: rule.priority,
});

/** The rule's fields complete and valid: a regex must be one RE2 can run. */
function checked(fields: Partial<RuleFields>): RuleFields {
  if (fields.trigger_text === undefined) throw new BadRequest('trigger_text is required');
  if (fields.response === undefined) throw new BadRequest('response is required');
  const rule = { ...DEFAULTS, ...fields } as RuleFields;
  if (rule.match_type === 'regex') {
    if (rule.trigger_text.length > MAX_PATTERN_LENGTH)
      throw new BadRequest(`trigger_text: a regex may have at most ${MAX_PATTERN_LENGTH} characters`);
    const problem = regexProblem(rule.trigger_text);
    if (problem) throw new BadRequest(`trigger_text: ${problem}`);
  }
  return rule;
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

/** A chat where the bot is silent, as the API shows it. */
export const shownPause = (pause: BotPause) => ({
  chatId: pause.chatId,
  pausedUntil: iso(pause.until),
  because: pause.because,
  since: iso(pause.since),
  messageId: pause.messageId,
});

export function chatbotRouter({ db }: { db: Db }): Router {
  const router = Router({ mergeParams: true });

  router.get(
    '/rules',
    route({}, async (_input, _req, res) => {
      const { id } = instanceOf(res);
      const [rules, settings] = await Promise.all([listRules(db, id), getSettings(db, id)]);
      return { rules: rules.map(shown), enabled: settings.chatbotEnabled };
    }),
  );

  router.post(
    '/rules',
    route({ body: ruleBody }, async ({ body: { id: ruleId, ...fields } }, _req, res) => {
      const { id: instanceId } = instanceOf(res);
      const given = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Partial<RuleFields>;
      if (ruleId === undefined) {
        const rule = await createRule(db, instanceId, checked(given));
        if (!rule) throw new Conflict(`an instance may have at most ${MAX_RULES} chatbot rules`, 'TOO_MANY_RULES');
        return { success: true, id: rule.id, rule: shown(rule) };
      }
      // An update changes the fields given and keeps the others.
      const current = await getRule(db, instanceId, ruleId);
      if (!current) throw new NotFound(`chatbot rule ${ruleId} not found`, 'RULE_NOT_FOUND');
      const { id: _, ...kept } = current;
      const rule = await updateRule(db, instanceId, ruleId, checked({ ...kept, ...given }));
      if (!rule) throw new NotFound(`chatbot rule ${ruleId} not found`, 'RULE_NOT_FOUND');
      return { success: true, id: rule.id, rule: shown(rule) };
    }),
  );

  router.delete(
    '/rules/:id',
    route({ params: idParams }, async ({ params }, _req, res) => {
      if (!(await deleteRule(db, instanceOf(res).id, params.id)))
        throw new NotFound(`chatbot rule ${params.id} not found`, 'RULE_NOT_FOUND');
      return { success: true };
    }),
  );

  router.post(
    '/toggle',
    route({ body: toggleBody }, async ({ body }, _req, res) => {
      const { id } = instanceOf(res);
      // Without `enabled`, a toggle flips the switch.
      const enabled = body.enabled ?? !(await getSettings(db, id)).chatbotEnabled;
      const settings = await updateSettings(db, id, { chatbotEnabled: enabled });
      return { success: true, enabled: settings.chatbotEnabled };
    }),
  );

  router.get(
    '/pauses',
    route({}, async (_input, _req, res) => {
      const { id } = instanceOf(res);
      const settings = await getSettings(db, id);
      // A bot that is off is not paused anywhere: it answers nobody.
      const pauses = settings.chatbotEnabled ? await botPauses(db, id, settings.chatbotPauseMinutes) : [];
      return { pauses: pauses.map(shownPause), pauseMinutes: settings.chatbotPauseMinutes };
    }),
  );

  router.post(
    '/resume',
    route({ body: z.object({ chatId: jid() }) }, async ({ body }, _req, res) => {
      const { id } = instanceOf(res);
      const settings = await getSettings(db, id);
      const [pause] = await botPauses(db, id, settings.chatbotPauseMinutes, body.chatId);
      // Not paused: nothing to lift (the chat may not even exist); the answer says so.
      if (pause) await resumeBot(db, id, body.chatId);
      return { success: true, resumed: pause !== undefined };
    }),
  );
  return router;
}
