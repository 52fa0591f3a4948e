/**
 * Answers to the iq queries Baileys makes. Every iq gets an answer: an
 * unanswered one would stall the client for a minute.
 */
import type { BinaryNode } from '@whiskeysockets/baileys';
import { bytes, child, children, decodeBigEndian, iqError, iqResult } from './nodes.js';
import type { SimConnection } from './connection.js';
import type { Simulator } from './simulator.js';
import { answerKeyBundles, answerProfilePicture, answerUsync } from './lookups.js';
import { answerRestrictionQuery } from './restrictions.js';
import { answerChannelIq, answerChannelQuery } from './channels.js';

export type IqHandler = (sim: Simulator, conn: SimConnection, iq: BinaryNode) => Promise<BinaryNode | undefined> | BinaryNode | undefined;

/** Handlers by `xmlns`, tried in order; the first that returns a node answers. */
export const iqHandlers: Record<string, IqHandler[]> = {
  encrypt: [
    (_sim, conn, iq) => {
      if (iq.attrs.type !== 'get' || !child(iq, 'count')) return;
      return iqResult(iq, [{ tag: 'count', attrs: { value: String(conn.companion?.preKeys.size ?? 0) } }]);
    },
    (_sim, conn, iq) => {
      // Pre-key upload: the device's one-time keys, handed out later to senders.
      if (iq.attrs.type !== 'set' || !child(iq, 'list')) return;
      const companion = conn.companion;
      if (companion) {
        for (const key of children(child(iq, 'list'))) {
          companion.preKeys.set(decodeBigEndian(bytes(child(key, 'id'))), bytes(child(key, 'value'))!);
        }
        const skey = child(iq, 'skey');
        if (skey) {
          companion.signedPreKey = {
            keyId: decodeBigEndian(bytes(child(skey, 'id'))),
            public: bytes(child(skey, 'value'))!,
            signature: bytes(child(skey, 'signature'))!,
          };
        }
      }
      return iqResult(iq);
    },
    (_sim, _conn, iq) => (iq.attrs.type === 'get' && child(iq, 'digest') ? iqResult(iq, [{ tag: 'digest', attrs: {} }]) : undefined),
    (sim, _conn, iq) => (iq.attrs.type === 'get' && child(iq, 'key') ? answerKeyBundles(sim, iq) : undefined),
  ],
  passive: [(_sim, _conn, iq) => iqResult(iq)],
  'w:p': [(_sim, _conn, iq) => iqResult(iq)],
  'w:stats': [(_sim, _conn, iq) => iqResult(iq)],
  abt: [(_sim, _conn, iq) => iqResult(iq, [{ tag: 'props', attrs: { protocol: '1', hash: 'sim', refresh: '86400' } }])],
  w: [(_sim, _conn, iq) => iqResult(iq, [{ tag: 'props', attrs: { protocol: '2', hash: 'sim' } }])],
  blocklist: [(sim, conn, iq) => sim.blocklist(conn, iq)],
  privacy: [
    (_sim, _conn, iq) =>
      iq.attrs.type === 'get'
        ? iqResult(iq, [
            {
              tag: 'privacy',
              attrs: {},
              content: ['readreceipts', 'last', 'online', 'profile', 'status', 'groupadd'].map((name) => ({
                tag: 'category',
                attrs: { name, value: 'all' },
              })),
            },
          ])
        : iqResult(iq),
  ],
  md: [
    (sim, conn, iq) => {
      // The gateway logs out: WhatsApp forgets the linked device.
      if (!child(iq, 'remove-companion-device')) return;
      if (conn.companion) sim.unlink(conn.companion);
      return iqResult(iq);
    },
    // Pairing by phone-number code: see pairingCode.ts.
    (sim, conn, iq) => sim.pairingCodes.answer(conn, iq),
  ],
  usync: [(sim, _conn, iq) => answerUsync(sim, iq)],
  'w:profile:picture': [(sim, _conn, iq) => answerProfilePicture(sim, iq)],
  'w:g2': [(sim, conn, iq) => sim.groups(conn, iq)],
  // GraphQL queries: the account's restrictions (see restrictions.ts).
  'w:mex': [
    (sim, conn, iq) => answerRestrictionQuery(conn.companion?.user, sim.restrictions, iq),
    // Channels: create, look up, follow, unfollow (see channels.ts).
    (sim, conn, iq) => answerChannelQuery(sim, conn.companion?.user, iq),
  ],
  // A channel's posts (see channels.ts).
  newsletter: [(sim, _conn, iq) => answerChannelIq(sim, iq)],
  'w:m': [(sim, _conn, iq) => (child(iq, 'media_conn') ? sim.mediaConn(iq) : undefined)],
  status: [(_sim, _conn, iq) => iqResult(iq)],
  'urn:xmpp:whatsapp:dirty': [(_sim, _conn, iq) => iqResult(iq)],
  // App state (archive, mute, pins...): see appState.ts.
  'w:sync:app:state': [(sim, conn, iq) => sim.appState.answer(conn.companion?.user, iq)],
};

export async function answerIq(sim: Simulator, conn: SimConnection, iq: BinaryNode): Promise<BinaryNode> {
  for (const handler of iqHandlers[iq.attrs.xmlns ?? ''] ?? []) {
    const answer = await handler(sim, conn, iq);
    if (answer) return answer;
  }
  sim.log('unhandled', conn, iq);
  return iqResult(iq);
}
