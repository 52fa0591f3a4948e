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
  [`PUT ${I}/flows/:flowId`]: {
    summary: 'Replace a flow',
    description: `The whole flow, as for a create; its \`version\` goes up by one. ${STEPS}`,
    tag: 'Flows',
    parameters: { flowId: 1 },
    example: { ...ORDER_FLOW, enabled: false },
    responses: { 200: { description: 'OK', example: { ...STORED, enabled: false, version: 2 } }, 400: invalid, 404: notFound },
  },
  [`DELETE ${I}/flows/:flowId`]: {
    summary: 'Delete a flow',
    tag: 'Flows',
    parameters: { flowId: 1 },
    responses: { 200: { description: 'OK', example: { success: true } }, 404: notFound },
  },
};
