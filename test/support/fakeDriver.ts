/**
 * A WhatsAppDriver double for testing the layers above the session interface
 * (workflows, activities, workers, API) until real Baileys runs against the
 * simulator. It keeps its state only in the AuthStore (Postgres), like the
 * real driver: a worker with no stored credentials shows QR codes; a "phone"
 * pairs by writing credentials (see fakePhone.ts), and a worker that finds
 * credentials logs in without a QR.
 */
import type { Account, SessionClose, WhatsAppDriver } from '../../whatsapp/session.js';

const noGroups = async (): Promise<never> => {
  throw new Error('the fake driver has no groups');
};
export interface FakeCreds {
  fake: true;
  me: Account;
  /** Set by the phone to remove this linked device. */
  revoked?: boolean;
}

export function parseFakeCreds(text: string | null): FakeCreds | null {
  if (!text) return null;
  const creds = JSON.parse(text) as FakeCreds;
  return creds.fake ? creds : null;
}

export function createFakeDriver(
  options: { qrRefs?: number; qrIntervalMs?: number; pollMs?: number; acceptSends?: boolean; logSends?: boolean } = {},
): WhatsAppDriver {
  const qrRefs = options.qrRefs ?? 6;
  const qrIntervalMs = options.qrIntervalMs ?? 1_000;
  const pollMs = options.pollMs ?? 100;

  return {
    async connect({ instanceId, auth, handlers, logger }) {
      let resolveClosed!: (close: SessionClose) => void;
      const closed = new Promise<SessionClose>((resolve) => (resolveClosed = resolve));
      let ended = false;
      let timer: NodeJS.Timeout | undefined;
      const end = (close: SessionClose) => {
        if (ended) return;
        ended = true;
        clearInterval(timer);
        resolveClosed(close);
      };
      const readCreds = async () => parseFakeCreds(await auth.readCreds().catch(() => null));

      const creds = await readCreds();
      if (creds && !creds.revoked) {
        setTimeout(() => !ended && handlers.open(creds.me), 20);
        // The phone may remove this device at any time.
        timer = setInterval(async () => (await readCreds())?.revoked && end({ reason: 'loggedOut' }), pollMs);
      } else {
        let shown = 1;
        let lastShownAt = Date.now();
        handlers.qr(`fake-qr:${instanceId}:${shown}`);
        timer = setInterval(async () => {
          const paired = await readCreds();
          // Like WhatsApp after a scan: the socket must restart and log in with the new credentials.
          if (paired && !paired.revoked) return end({ reason: 'restartRequired' });
          if (Date.now() - lastShownAt < qrIntervalMs) return;
          if (shown >= qrRefs) return end({ reason: 'qrTimeout', message: 'QR refs attempts ended' });
          lastShownAt = Date.now();
          handlers.qr(`fake-qr:${instanceId}:${++shown}`);
        }, pollMs);
      }

      return {
        closed,
        async close() {
          end({ reason: 'closed' });
        },
        async logout() {
          end({ reason: 'loggedOut' });
        },
        async waitOpen() {
          if (!creds || creds.revoked) throw new Error('not connected');
        },
        async persisted() {},
        // Messaging is tested on real Baileys against the simulator, not with this double; benchmarks of the
        // layers above the session interface may have sends accepted at once (acceptSends).
        async send(message) {
          if (!options.acceptSends) throw new Error('the fake driver does not send messages');
          // Tests count sends (a message sent twice) from the worker's log.
          if (options.logSends) logger.info({ id: message.id }, 'fake send');
        },
        async exists(jid) {
          return { exists: true, jid };
        },
        async existing(jids) {
          return new Map(jids.map((jid) => [jid, true]));
        },
        async downloadMedia() {
          throw new Error('the fake driver has no media');
        },
        // Polls are tested on real Baileys against the simulator (test/e2e-polls.test.ts).
        readPollVote: () => undefined,
        // Labels are tested on real Baileys against the simulator (test/e2e-labels.test.ts).
        async editLabel() {},
        async labelChat() {},
        // Channels are tested on real Baileys against the simulator (test/e2e-channels.test.ts).
        async channelInfo(by) {
          return {
            id: 'id' in by ? by.id : '120363000000000001@newsletter',
            name: 'Kanal',
            description: null,
            invite: 'invite' in by ? by.invite : null,
            subscribers: 0,
            role: 'guest' as const,
            createdAt: null,
          };
        },
        async followChannel() {},
        async unfollowChannel() {},
        async createChannel(name) {
          return {
            id: '120363000000000002@newsletter',
            name,
            description: null,
            invite: 'AbCdEf',
            subscribers: 0,
            role: 'owner' as const,
            createdAt: null,
          };
        },
        async channelPosts() {
          return [];
        },
        // Chats, contacts and groups are tested on real Baileys against the simulator.
        async markRead() {},
        // Presence is tested on real Baileys against the simulator (test/e2e-presence.test.ts).
        async sendPresence() {},
        // With acceptSends (the fuzz test, benchmarks), chat and contact actions are accepted too.
        async modifyChat() {
          if (!options.acceptSends) throw new Error('the fake driver has no chats');
        },
        async setBlocked() {
          if (!options.acceptSends) throw new Error('the fake driver has no contacts');
        },
        async profilePicture() {
          return null;
        },
        async groupMetadata() {
          throw new Error('the fake driver has no groups');
        },
        async participatingGroups() {
          return [];
        },
        async requestPairingCode() {
          throw new Error('the fake driver pairs by itself');
        },
        async rejectCall() {},
        // Group administration too is tested on real Baileys against the simulator.
        createGroup: noGroups,
        updateGroupParticipants: noGroups,
        setGroupSubject: noGroups,
        setGroupDescription: noGroups,
        setGroupSettings: noGroups,
        groupInviteCode: noGroups,
        revokeGroupInvite: noGroups,
        joinGroup: noGroups,
        leaveGroup: noGroups,
      };
    },
  };
}
