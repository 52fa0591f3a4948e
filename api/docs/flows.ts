/** Docs of conversation flows: multi-step automations per chat. */
import type { RouteDocs } from '../openapi.js';
import { I } from './instances.js';

/** The worked example of docs/flows.md: an order-tracking conversation (the tests check it is valid). */
export const ORDER_FLOW = {
  name: 'Sipariş takibi',
  enabled: true,
  trigger: { type: 'keyword', match_type: 'contains', text: 'sipariş' },
  steps: [
    {
      id: 'ask',
      type: 'ask',
      text: 'Merhaba {name}, sipariş numaranız?',
      save: 'order',
      timeout: 300,
      onTimeout: 'late',
      validate: { regex: '^[0-9]{5}$', retryText: '5 haneli numarayı yazın', maxRetries: 2, onInvalid: 'human' },
    },
    {
      id: 'check',
      type: 'http',
      method: 'POST',
      url: 'https://shop.example/api/orders/lookup',
      body: { order: '{order}', phone: '{phone}' },
      save: 'lookup',
      onError: 'human',
    },
    {
      id: 'route',
      type: 'branch',
      on: '{lookup.status}',
      cases: [{ match_type: 'exact', value: 'shipped', next: 'shipped' }],
      default: 'other',
    },
    { id: 'shipped', type: 'send', text: '{order} kargoda, takip: {lookup.tracking}', next: 'followup' },
    { id: 'followup', type: 'wait', seconds: 172800, cancelOnReply: true, next: 'survey' },
    { id: 'survey', type: 'send', text: 'Siparişiniz ulaştı mı?', next: 'end' },
    { id: 'other', type: 'send', text: 'Durum: {lookup.status}', next: 'end' },
    { id: 'late', type: 'send', text: 'Yanıt alamadık, tekrar yazabilirsiniz.', next: 'end' },
    { id: 'human', type: 'handoff', text: 'Sizi bir temsilciye aktarıyorum.' },
  ],
};
const STORED = { id: 1, ...ORDER_FLOW, version: 1, createdAt: '2026-12-06T10:00:00.000Z', updatedAt: '2026-12-06T10:00:00.000Z' };
const RUN_STATUSES = '`running`, `waiting` (for an answer or for time), `completed`, `handoff` (handed to a person), `cancelled`, `failed`';
const RUN = {
  runId: '6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b',
  flowId: 1,
  flowVersion: 1,
  chatId: '905551234567@s.whatsapp.net',
  status: 'waiting',
  step: 'followup',
  vars: { name: 'Ayşe', phone: '905551234567', order: '12345', lookup: { status: 'shipped', tracking: 'TR123' } },
  startedAt: '2026-12-06T10:00:00.000Z',
  endedAt: null,
  reason: null,
  history: [
    { step: 'trigger', at: '2026-12-06T10:00:00.000Z', received: 'Siparişim nerede?' },
    { step: 'ask', at: '2026-12-06T10:00:01.000Z', sent: 'Merhaba Ayşe, sipariş numaranız?' },
    { step: 'ask', at: '2026-12-06T10:00:20.000Z', received: '12345' },
    { step: 'check', at: '2026-12-06T10:00:21.000Z', note: 'HTTP 200' },
    { step: 'route', at: '2026-12-06T10:00:21.000Z', note: '"shipped" → shipped' },
    { step: 'shipped', at: '2026-12-06T10:00:21.000Z', sent: '12345 kargoda, takip: TR123' },
  ],
};
const { history: _history, ...LISTED } = RUN;
const runNotFound = {
  description: 'No such run',
  example: { error: `no flow run ${RUN.runId} in this instance`, code: 'FLOW_RUN_NOT_FOUND' },
};
const notFound = { description: 'No such flow', example: { error: 'no flow 9 in this instance', code: 'FLOW_NOT_FOUND' } };
const invalid = {
  description: 'A field is wrong, or the flow as a whole (`INVALID_FLOW`, naming the step)',
  example: { error: 'steps: step "shipped" leads to "folowup", which is no step of the flow', code: 'INVALID_FLOW' },
};
const STEPS =
  'Steps: `send` (`text`, or `image`/`video`/`document`/`audio` with `caption`), `ask` (`text`, `save`, `timeout` seconds, `onTimeout`, `choices`, `validate`), `branch` (`on` a template, `cases` matched as the chatbot matches, `default`), `wait` (`seconds` up to a year, `cancelOnReply`, `onReply`), `http` (`method`, `url`, templated JSON `body`, `save`, `onError`), `handoff` (`text`), `end`. Without `next` a step goes on to the one after it; `end` ends the run. Templates: `{name}`, `{phone}`, `{time}`, saved variables and dotted paths (`{lookup.status}`). A flow is checked as a whole when saved: a step that leads nowhere, is never reached, or a loop with no `ask` or `wait` in it is a 400 naming the step. See docs/flows.md.';

export const flowDocs: RouteDocs = {
  [`GET ${I}/flows`]: {
    summary: "The instance's conversation flows",
    tag: 'Flows',
    responses: { 200: { description: 'OK', example: [STORED] } },
  },
  [`POST ${I}/flows`]: {
    summary: 'Create a conversation flow',
    description: STEPS,
    tag: 'Flows',
    example: ORDER_FLOW,
    responses: { 200: { description: 'Created (version 1)', example: STORED }, 400: invalid },
  },
  [`GET ${I}/flows/:flowId`]: {
    summary: 'One flow',
    tag: 'Flows',
    parameters: { flowId: 1 },
    responses: { 200: { description: 'OK', example: STORED }, 404: notFound },
  },
  [`POST ${I}/flows/:flowId/start`]: {
    summary: 'Start a run of a flow for a contact',
    description:
      'Starts the flow for the chat of `to` (a user, not a group), e.g. on an order update. `vars` are its starting variables, beside `{name}` (the contact\'s name, else the number) and `{phone}`. A chat has one running run at a time: 409 `FLOW_RUN_ACTIVE` names it, unless `"replace": true` cancels it first. A disabled flow is 409 `FLOW_DISABLED`; an opted-out number 409 `OPTED_OUT`. The run is a Temporal workflow `flow-{instance}-{runId}`; `flow_started` is sent.',
    tag: 'Flows',
    parameters: { flowId: 1 },
    example: { to: '905551234567', vars: { order: '12345' } },
    responses: {
      200: { description: 'Started', example: { runId: RUN.runId, status: 'running' } },
      404: notFound,
      409: {
        description: 'The chat has a running run, or the flow is disabled',
        example: {
          error: `the chat has a running flow run (${RUN.runId}); cancel it, or start with "replace": true`,
          code: 'FLOW_RUN_ACTIVE',
        },
      },
    },
  },
  [`GET ${I}/flows/:flowId/runs`]: {
    summary: "A flow's runs, newest first",
    description: `Without their history (\`GET .../flows/runs/{runId}\` has it). \`status\`: ${RUN_STATUSES}.`,
    tag: 'Flows',
    parameters: { flowId: 1, status: 'waiting', limit: 50, page: 1 },
    responses: {
      200: { description: 'OK', example: { runs: [LISTED], total: 1, page: 1, limit: 50 } },
      404: notFound,
    },
  },
  [`GET ${I}/flows/runs/:runId`]: {
    summary: 'One run, with its history',
    description: `\`status\`: ${RUN_STATUSES}. \`step\`: where it is (or ended). \`history\`: what it sent and received at each step, and what happened (\`note\`: an invalid answer, a timeout, an HTTP answer), its last 200 entries.`,
    tag: 'Flows',
    parameters: { runId: RUN.runId },
    responses: { 200: { description: 'OK', example: RUN }, 404: runNotFound },
  },
  [`POST ${I}/flows/runs/:runId/cancel`]: {
    summary: 'Cancel a run',
    description:
      'The run stops where it is: a wait or a question is not answered any more. 409 `FLOW_RUN_ENDED` when it has ended already.',
    tag: 'Flows',
    parameters: { runId: RUN.runId },
    responses: {
      200: {
        description: 'Cancelled',
        example: { ...RUN, status: 'cancelled', endedAt: '2026-12-06T10:05:00.000Z', reason: 'cancelled through the API' },
      },
      404: runNotFound,
      409: {
        description: 'It has ended already',
        example: { error: `flow run ${RUN.runId} has ended already (completed)`, code: 'FLOW_RUN_ENDED' },
      },
    },
  },
  [`PUT ${I}/flows/:flowId`]: {
    summary: 'Replace a flow',
    description: `The whole flow, as for a create; its \`version\` goes up by one. Runs under way finish on the version they started with. ${STEPS}`,
    tag: 'Flows',
    parameters: { flowId: 1 },
    example: { ...ORDER_FLOW, enabled: false },
    responses: { 200: { description: 'OK', example: { ...STORED, enabled: false, version: 2 } }, 400: invalid, 404: notFound },
  },
  [`DELETE ${I}/flows/:flowId`]: {
    summary: 'Delete a flow',
    description: 'Its running runs are cancelled (`cancelledRuns`).',
    tag: 'Flows',
    parameters: { flowId: 1 },
    responses: { 200: { description: 'OK', example: { success: true, cancelledRuns: 1 } }, 404: notFound },
  },
};
