/** Docs of labels (WhatsApp Business): the account's labels and the chats that carry them. */
import type { RouteDocs } from '../openapi.js';
import { I } from './instances.js';
import { TO, notConnected } from './examples.js';

const LABEL = { id: '1', name: 'Yeni müşteri', color: 3 };
const notFound = { description: 'No such label', example: { error: 'no label 9 on this account', code: 'LABEL_NOT_FOUND' } };
const synced =
  'Sent to WhatsApp first (an app-state patch, so the phone and the other linked devices show it), then stored, with a `label_update` event. Labels are a WhatsApp Business feature.';

export const labelDocs: RouteDocs = {
  [`GET ${I}/labels`]: {
    summary: "The account's labels",
    description:
      "As the phone has them (kept in step through WhatsApp's app-state sync), each with how many chats carry it. `color` is WhatsApp's palette index, 0 to 19.",
    tag: 'Labels',
    responses: { 200: { description: 'OK', example: [{ ...LABEL, chats: 12 }] } },
  },
  [`POST ${I}/labels`]: {
    summary: 'Create a label',
    description: `\`name\` up to 100 characters, \`color\` 0 to 19 (0 by default). The new label's id is one more than the greatest the account has. ${synced}`,
    tag: 'Labels',
    example: { name: LABEL.name, color: LABEL.color },
    responses: { 200: { description: 'Created', example: LABEL }, 409: notConnected },
  },
  [`PUT ${I}/labels/:labelId`]: {
    summary: 'Rename or recolour a label',
    description: `\`name\`, \`color\` or both. ${synced}`,
    tag: 'Labels',
    parameters: { labelId: '1' },
    example: { name: 'Sadık müşteri' },
    responses: { 200: { description: 'OK', example: { ...LABEL, name: 'Sadık müşteri' } }, 404: notFound, 409: notConnected },
  },
  [`POST ${I}/chats/labels`]: {
    summary: 'Put a label on a chat, or take it off',
    description: `\`action\`: \`add\` or \`remove\`. \`GET .../chats?label=\` lists the chats carrying a label, and every chat of \`GET .../chats\` has its \`labels\`. ${synced}`,
    tag: 'Labels',
    example: { chatId: TO, labelId: '1', action: 'add' },
    responses: {
      200: { description: 'OK', example: { success: true, chatId: `${TO}@s.whatsapp.net`, labelId: '1', action: 'add' } },
      404: notFound,
      409: notConnected,
    },
  },
  [`DELETE ${I}/labels/:labelId`]: {
    summary: 'Delete a label',
    description: `Taken off every chat too. ${synced}`,
    tag: 'Labels',
    parameters: { labelId: '1' },
    responses: { 200: { description: 'OK', example: { success: true } }, 404: notFound, 409: notConnected },
  },
};
