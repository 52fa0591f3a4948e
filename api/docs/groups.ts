/** Docs of groups: listing, creating and administering them, invites. */
import type { ResponseDoc, RouteDoc, RouteDocs } from '../openapi.js';
import { I } from './instances.js';
import { CHAT, GROUP, TO, notConnected, success, whatsappError } from './examples.js';

const OWN = '905559876543@s.whatsapp.net';
const INVITE = { code: 'HbG7d0xQ2kLr5tYwZpV9Ae', link: 'https://chat.whatsapp.com/HbG7d0xQ2kLr5tYwZpV9Ae' };
const notAdmin: ResponseDoc = {
  description: 'The account is not an admin (or not a member) of the group',
  example: { error: `the account is not an admin of group ${GROUP}`, code: 'NOT_A_GROUP_ADMIN' },
};
const notMember: ResponseDoc = {
  description: 'The account is not a member of the group (or, where only admins may, not an admin)',
  example: { error: `the account is not a member of group ${GROUP}`, code: 'NOT_A_GROUP_MEMBER' },
};
const noGroup: ResponseDoc = {
  description: 'No such group, or the instance is unknown',
  example: { error: `no group ${GROUP}`, code: 'GROUP_NOT_FOUND' },
};

export const groupDocs: RouteDocs = {
  [`GET ${I}/groups`]: {
    summary: "The account's groups",
    description: 'Kept current from WhatsApp: groups joined, changed or left while connected.',
    responses: {
      200: { description: 'OK', example: [{ id: GROUP, name: 'Ekip', participants: 12, creation: 1700000000, desc: 'Mağaza ekibi' }] },
    },
  },
  [`GET ${I}/groups/ids`]: { summary: 'Group ids', responses: { 200: { description: 'OK', example: [GROUP] } } },
  [`GET ${I}/groups/group`]: {
    summary: 'One group with its participants',
    description:
      "Asked of WhatsApp (cached 30 s). Participants by phone-number JID where known, with `lid` beside when WhatsApp gave the member's LID. `announce`: only admins may send; `restrict`: only admins may edit the group.",
    parameters: { groupId: GROUP },
    responses: {
      200: {
        description: 'OK',
        example: {
          id: GROUP,
          name: 'Ekip',
          description: 'Mağaza ekibi',
          participants: [
            { id: '905559876543@s.whatsapp.net', lid: '104729356182957@lid', admin: 'superadmin' },
            { id: CHAT, lid: '208413650927316@lid', admin: null },
          ],
          owner: '905559876543@s.whatsapp.net',
          announce: false,
          restrict: false,
        },
      },
      403: notMember,
      404: noGroup,
      409: notConnected,
      502: whatsappError,
    },
  },

  [`POST ${I}/groups`]: {
    summary: 'Create a group',
    description:
      'The account creates the group and is its owner (superadmin). `participants` lists what WhatsApp made of each number asked for: ' +
      '`status` 200 added, else `error` says why (404 not on WhatsApp, 403 their privacy settings refuse it: send them the invite link, ' +
      '409 already in it). Members get the group at once.',
    example: { subject: 'Ekip', participants: [TO, '905557654321'] },
    responses: {
      200: {
        description: 'Created; a result per participant',
        example: {
          success: true,
          group: {
            id: GROUP,
            name: 'Ekip',
            description: '',
            participants: [
              { id: OWN, admin: 'superadmin' },
              { id: CHAT, admin: null },
            ],
            owner: OWN,
          },
          participants: [
            { id: CHAT, status: 200 },
            { id: '905557654321@s.whatsapp.net', status: 404, error: 'not on WhatsApp' },
          ],
        },
      },
      409: notConnected,
      502: whatsappError,
    },
  },
  [`POST ${I}/groups/participants`]: {
    summary: 'Add, remove, promote or demote members',
    description:
      'Admins only. A result per participant (`status` 200 done; otherwise `error`: 404 not on WhatsApp or not a member, ' +
      '409 already a member, 403 refused by their privacy settings). A `group_participants` webhook event follows for the change, ' +
      'as it does for changes others make.',
    example: { groupId: GROUP, action: 'add', participants: [TO] },
    responses: {
      200: {
        description: 'A result per participant',
        example: {
          groupId: GROUP,
          action: 'add',
          participants: [
            { id: CHAT, status: 200 },
            { id: '905557654321@s.whatsapp.net', status: 409, error: 'already a member' },
          ],
        },
      },
      403: notAdmin,
      404: noGroup,
      409: notConnected,
      502: whatsappError,
    },
  },
  ...Object.fromEntries(
    (['PUT', 'POST'] as const).flatMap((method) => [
      [
        `${method} ${I}/groups/subject`,
        {
          summary: "Change a group's subject",
          description: 'Seen by every member at once; a `group_update` webhook event follows, as it does for changes others make.',
          example: { groupId: GROUP, subject: 'Mağaza ekibi' },
          responses: { 200: success, 403: notMember, 404: noGroup, 409: notConnected, 502: whatsappError },
        } satisfies RouteDoc,
      ],
      [
        `${method} ${I}/groups/settings`,
        {
          summary: 'Who may send, and who may edit the group',
          description:
            'Admins only. `announce`: only admins may send messages; `restrict`: only admins may change the subject, the description and the picture. ' +
            'Either or both; the answer has both as they now are. A `group_update` webhook event follows.',
          example: { groupId: GROUP, announce: true, restrict: true },
          responses: {
            200: { description: 'OK', example: { success: true, announce: true, restrict: true } },
            403: notMember,
            404: noGroup,
            409: notConnected,
            502: whatsappError,
          },
        } satisfies RouteDoc,
      ],
      [
        `${method} ${I}/groups/description`,
        {
          summary: "Change a group's description",
          description: 'An empty `description` removes it. A `group_update` webhook event follows.',
          example: { groupId: GROUP, description: 'Vardiya ve duyurular' },
          responses: { 200: success, 403: notMember, 404: noGroup, 409: notConnected, 502: whatsappError },
        } satisfies RouteDoc,
      ],
    ]),
  ),
  [`GET ${I}/groups/invite`]: {
    summary: "The group's invite link",
    description: 'Admins only. Anyone with the link can join until it is revoked.',
    parameters: { groupId: GROUP },
    responses: {
      200: { description: 'OK', example: INVITE },
      403: notAdmin,
      404: noGroup,
      409: notConnected,
      502: whatsappError,
    },
  },
  [`POST ${I}/groups/invite/revoke`]: {
    summary: 'Replace the invite link',
    description: 'Admins only. The old link stops working; the new one is returned.',
    example: { groupId: GROUP },
    responses: {
      200: { description: 'The new link', example: INVITE },
      403: notAdmin,
      404: noGroup,
      409: notConnected,
      502: whatsappError,
    },
  },
  [`POST ${I}/groups/join`]: {
    summary: 'Join a group by its invite link',
    description: '`code` is the invite code or the whole `https://chat.whatsapp.com/…` link (`link` is accepted too).',
    example: { code: INVITE.link },
    responses: {
      200: { description: 'Joined', example: { success: true, groupId: GROUP } },
      404: {
        description: 'The code was revoked, has expired or never existed',
        example: { error: `invite code ${INVITE.code} is not valid (revoked, expired or unknown)`, code: 'INVITE_NOT_VALID' },
      },
      409: notConnected,
      502: whatsappError,
    },
  },
  [`POST ${I}/groups/leave`]: {
    summary: 'Leave a group',
    description: 'The group leaves the list; its chat and messages stay.',
    example: { groupId: GROUP },
    responses: { 200: success, 403: notMember, 404: noGroup, 409: notConnected, 502: whatsappError },
  },
};
