import {
  getBinaryNodeChild,
  getBinaryNodeChildren,
  jidNormalizedUser,
  type BaileysEventMap,
  type BinaryNode,
  type GroupMetadata,
} from '@whiskeysockets/baileys';
import { WhatsAppRefusal, type GroupInfo, type GroupParticipantsChange, type GroupUpdate, type ParticipantResult } from '../session.js';
import { lidAmong, toGroupInfo } from './directory.js';

/** Group administration results in the gateway's shapes. Pure; table-tested. */

const pnOf = (jid: string | null | undefined, alt?: string | null) => {
  const chosen = jid?.endsWith('@lid') && alt ? alt : jid;
  return chosen ? jidNormalizedUser(chosen) : '';
};

/**
 * Runs a group request; an iq WhatsApp refused (Baileys' error carries its
 * code in `data`) becomes a WhatsAppRefusal with that code.
 */
export async function refusalsTyped<T>(request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (err) {
    const code = (err as { data?: unknown }).data;
    if (typeof code === 'number' && code >= 400 && code < 600) throw new WhatsAppRefusal(code, (err as Error).message);
    throw err;
  }
}

/** Whether `frame` is the server's answer to a group create (an iq result holding the new `<group>`). */
export const isCreateAnswer = (frame: BinaryNode) =>
  frame.tag === 'iq' && frame.attrs.type === 'result' && !!getBinaryNodeChild(frame, 'group');

/**
 * The group Baileys' groupCreate made, and what happened to each participant
 * asked for. WhatsApp's answer names the refused participants beside the
 * members, with an `error` code; Baileys' metadata keeps them as members and
 * drops the code, so both are read from the answer itself (`answer`, the iq
 * result) when it is at hand.
 */
export function createdGroup(
  metadata: GroupMetadata,
  asked: string[],
  answer: BinaryNode | undefined,
): { group: GroupInfo; participants: ParticipantResult[] } {
  const refused = new Map<string, number>();
  for (const node of getBinaryNodeChildren(answer && getBinaryNodeChild(answer, 'group'), 'participant')) {
    if (node.attrs.jid && node.attrs.error) refused.set(jidNormalizedUser(node.attrs.jid), Number(node.attrs.error));
  }
  const members = metadata.participants.filter((p) => !refused.has(jidNormalizedUser(p.id)));
  const memberIds = new Set(members.flatMap((p) => [p.id, p.phoneNumber, p.lid].filter(Boolean).map((j) => jidNormalizedUser(j!))));
  return {
    group: toGroupInfo({ ...metadata, participants: members, size: members.length }),
    participants: asked.map((jid) => ({
      id: jid,
      // Neither refused nor listed: WhatsApp left it out without saying why.
      status: refused.get(jidNormalizedUser(jid)) ?? (memberIds.has(jidNormalizedUser(jid)) ? 200 : 500),
    })),
  };
}

/** The id of the group in a create answer (`120363…` without its server part, as WhatsApp sends it). */
export function createdGroupId(answer: BinaryNode): string | undefined {
  const id = getBinaryNodeChild(answer, 'group')?.attrs.id;
  return id && (id.includes('@') ? id : `${id}@g.us`);
}

/** groupParticipantsUpdate's answer: one result per participant, status as a number. */
export function toParticipantResults(results: Array<{ status: string; jid?: string }>, asked: string[]): ParticipantResult[] {
  return results.map((r, i) => ({ id: r.jid ? pnOf(r.jid) : (asked[i] ?? ''), status: Number(r.status) || 500 }));
}

/** Baileys' `group-participants.update` as the gateway's change; undefined for number changes (`modify`). */
export function toParticipantsChange(update: BaileysEventMap['group-participants.update']): GroupParticipantsChange | undefined {
  if (update.action === 'modify') return undefined;
  const members = update.participants.map((p) =>
    typeof p === 'string' ? { id: p } : (p as { id: string; phoneNumber?: string; lid?: string }),
  );
  const lids = members.map((p) => lidAmong(p.id, p.lid) ?? null);
  const authorLid = update.author ? lidAmong(update.author) : undefined;
  return {
    groupId: update.id,
    action: update.action,
    participants: members.map((p) => pnOf(p.id, p.phoneNumber)),
    ...(lids.some(Boolean) ? { participantLids: lids } : {}),
    author: update.author ? pnOf(update.author, update.authorPn) : null,
    ...(authorLid ? { authorLid } : {}),
  };
}

/**
 * A `groups.update` Baileys emits for a change WhatsApp notified (subject, description, who may send or edit),
 * as a GroupUpdate; undefined for the others (a refresh of the whole metadata, an invite link or join-mode change).
 */
export function toGroupUpdate(update: BaileysEventMap['groups.update'][number]): GroupUpdate | undefined {
  if (!update.id || update.participants) return undefined;
  const { authorPn } = update as { authorPn?: string };
  const changes: Omit<GroupUpdate, 'groupId' | 'author'> = {
    ...(update.subject !== undefined ? { subject: update.subject } : {}),
    ...('desc' in update ? { description: update.desc || null } : {}),
    ...(update.announce !== undefined ? { announce: update.announce } : {}),
    ...(update.restrict !== undefined ? { restrict: update.restrict } : {}),
  };
  if (Object.keys(changes).length === 0) return undefined;
  const authorLid = lidAmong(update.author);
  return {
    groupId: update.id,
    ...changes,
    author: update.author ? pnOf(update.author, authorPn) : null,
    ...(authorLid ? { authorLid } : {}),
  };
}
