/** Chats (`.../chats`): kept from WhatsApp's history sync and live events; actions go to WhatsApp. */
import { Router } from 'express';
import { z } from 'zod';
import { botPauses } from '../db/chatbot.js';
import type { Db } from '../db/knex.js';
import { getSettings } from '../db/settings.js';
import { labelsOfChats } from '../db/labels.js';
import {
  chatIds,
  deleteChat,
  lastMessageOfChat,
  latestIncoming,
  listChats,
  markChatRead,
  messagesOfChat,
  setChatArchived,
} from '../db/chats.js';
import { callSession, type SessionCallDeps } from '../temporal/sessionCalls.js';
import { isGroupJid } from '../domain/recipients.js';
import { shownPause } from './chatbot.js';
import { instanceOf } from './instances.js';
import { route } from './route.js';
import { BadRequest, NotFound } from '../lib/errors.js';
import { jid } from './schemas.js';

export function chatsRouter({ db, temporal, taskQueue }: { db: Db } & SessionCallDeps): Router {
  const router = Router({ mergeParams: true });
  router.get(
    '/',
    route({ query: z.object({ label: z.string().min(1, 'label must not be empty').max(64).optional() }) }, async ({ query }, _req, res) => {
      const instanceId = instanceOf(res).id;
      const [rows, settings] = await Promise.all([listChats(db, instanceId, query.label), getSettings(db, instanceId)]);
      const labels = await labelsOfChats(
        db,
        instanceId,
        rows.map((r) => r.id),
      );
      // Where a person wrote lately, the bot is silent until its pause is over (only while it is on).
      const pauses = settings.chatbotEnabled ? await botPauses(db, instanceId, settings.chatbotPauseMinutes) : [];
      const pausedUntil = new Map(pauses.map((p) => [p.chatId, shownPause(p).pausedUntil]));
      return rows.map((r) => ({
        id: r.id,
        name: r.name ?? r.contact_name ?? r.notify ?? null,
        unreadCount: r.unread_count,
        lastMessage: r.last_message === null ? null : Number(r.last_message),
        archived: r.archived,
        botPausedUntil: pausedUntil.get(r.id) ?? null,
        labels: labels.get(r.id) ?? [],
      }));
    }),
  );
  router.get(
    '/ids',
    route({}, async (_input, _req, res) => chatIds(db, instanceOf(res).id)),
  );
  router.post(
    '/read',
    route(
      { body: z.object({ chatId: jid(), messageIds: z.array(z.string().min(1).max(128)).min(1).max(1_000).optional() }) },
      async ({ body }, _req, res) => {
        const instanceId = instanceOf(res).id;
        // The contact's messages: given ones, or the chat's latest 50.
        const unread = body.messageIds
          ? await incomingOfChat(instanceId, body.chatId, body.messageIds)
          : await latestIncoming(db, instanceId, body.chatId, 50);
        // A member's message in a group carries its sender (from_jid): the receipt names them.
        if (unread.length)
          await callSession(
            temporal,
            taskQueue,
            instanceId,
            'markRead',
            body.chatId,
            unread.map((m) => ({ id: m.id, ...(isGroupJid(body.chatId) ? { participant: m.from_jid! } : {}) })),
          );
        if (!body.messageIds) await markChatRead(db, instanceId, body.chatId);
        return { success: true };
      },
    ),
  );
  for (const action of ['archive', 'unarchive', 'delete'] as const) {
    router.post(
      `/${action}`,
      route({ body: z.object({ chatId: jid() }) }, async ({ body }, _req, res) => {
        const instanceId = instanceOf(res).id;
        const last = await lastMessageOfChat(db, instanceId, body.chatId);
        await callSession(
          temporal,
          taskQueue,
          instanceId,
          'modifyChat',
          body.chatId,
          action,
          last ? { id: last.id, fromMe: last.from_me, timestamp: Number(last.timestamp) } : undefined,
        );
        if (action === 'delete') await deleteChat(db, instanceId, body.chatId);
        else await setChatArchived(db, instanceId, body.chatId, action === 'archive');
        return { success: true };
      }),
    );
  }

  /** These messages of the chat, which must be the contact's (read receipts are for messages received). */
  async function incomingOfChat(
    instanceId: string,
    chatId: string,
    ids: string[],
  ): Promise<Array<{ id: string; from_jid: string | null }>> {
    const rows = await messagesOfChat(db, instanceId, chatId, ids);
    const byId = new Map(rows.map((r) => [r.id, r]));
    const missing = ids.filter((id) => !byId.has(id));
    if (missing.length) throw new NotFound(`messageIds: no message ${missing[0]} in chat ${chatId}`, 'MESSAGE_NOT_FOUND');
    const own = rows.find((r) => r.from_me);
    if (own) throw new BadRequest(`messageIds: message ${own.id} is your own; only received messages are marked read`);
    return [...new Set(ids)].map((id) => byId.get(id)!);
  }

  return router;
}
