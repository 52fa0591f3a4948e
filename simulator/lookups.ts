/**
 * What the server knows about users, as Baileys asks for it: usync (is a
 * number on WhatsApp, its devices and LID), pre-key bundles (to start a
 * Signal session with a device) and profile pictures.
 */
import type { BinaryNode } from '@whiskeysockets/baileys';
import { lidJid, pnJid, type SimUser } from './directory.js';
import { child, children, encodeBigEndian, iqError, iqResult, unixNow } from './nodes.js';
import type { Simulator } from './simulator.js';

export function answerUsync(sim: Simulator, iq: BinaryNode): BinaryNode {
  const usync = child(iq, 'usync')!;
  const wanted = new Set(children(child(usync, 'query')).map((q) => q.tag));
  const users = children(child(usync, 'list')).map((requested) => {
    const contact = child(requested, 'contact');
    const phone =
      typeof contact?.content === 'string'
        ? contact.content
        : contact?.content
          ? Buffer.from(contact.content as Uint8Array).toString()
          : undefined;
    const jid = requested.attrs.jid ?? `${(phone ?? '').replace(/^\+/, '')}@s.whatsapp.net`;
    const user = sim.directory.find(jid.split(/[@:]/)[0]!);
    const content: BinaryNode[] = [];
    if (wanted.has('contact')) content.push({ tag: 'contact', attrs: { type: user ? 'in' : 'out' } });
    if (wanted.has('devices')) {
      const devices = user ? [0, ...[...user.companions.values()].filter((c) => !c.removed).map((c) => c.deviceId)] : [];
      content.push({
        tag: 'devices',
        attrs: {},
        content: [
          {
            tag: 'device-list',
            attrs: {},
            content: devices.map((id) => ({ tag: 'device', attrs: { id: String(id), ...(id ? { 'key-index': String(id) } : {}) } })),
          },
        ],
      });
    }
    if (wanted.has('lid') && user) content.push({ tag: 'lid', attrs: { val: lidJid(user.lid) } });
    if (wanted.has('status'))
      content.push({ tag: 'status', attrs: { t: unixNow() }, content: Buffer.from('Hey there! I am using WhatsApp.') });
    if (wanted.has('disappearing_mode')) content.push({ tag: 'disappearing_mode', attrs: { duration: '0', t: unixNow() } });
    return { tag: 'user', attrs: { jid: user ? pnJid(user.phone) : jid }, content };
  });
  return iqResult(iq, [{ tag: 'usync', attrs: { ...usync.attrs, last: 'true' }, content: [{ tag: 'list', attrs: {}, content: users }] }]);
}

/** Pre-key bundles of the devices a sender is about to encrypt for. */
export function answerKeyBundles(sim: Simulator, iq: BinaryNode): BinaryNode {
  const users = children(child(iq, 'key')).map((requested) => {
    const jid = requested.attrs.jid!;
    const [userPart, devicePart] = jid.split('@')[0]!.split(':');
    const device = Number(devicePart ?? 0);
    const user = sim.directory.find(userPart!);
    const bundle = user ? preKeyBundle(sim, user, device) : undefined;
    if (!bundle) return { tag: 'user', attrs: { jid }, content: [{ tag: 'error', attrs: { code: '404', text: 'item-not-found' } }] };
    return {
      tag: 'user',
      attrs: { jid },
      content: [
        { tag: 'registration', attrs: {}, content: encodeBigEndian(bundle.registrationId) },
        { tag: 'type', attrs: {}, content: Buffer.from([5]) },
        { tag: 'identity', attrs: {}, content: strip(bundle.identityKey) },
        {
          tag: 'skey',
          attrs: {},
          content: [
            { tag: 'id', attrs: {}, content: encodeBigEndian(bundle.signedPreKey.keyId, 3) },
            { tag: 'value', attrs: {}, content: strip(bundle.signedPreKey.publicKey) },
            { tag: 'signature', attrs: {}, content: bundle.signedPreKey.signature },
          ],
        },
        ...(bundle.preKey
          ? [
              {
                tag: 'key',
                attrs: {},
                content: [
                  { tag: 'id', attrs: {}, content: encodeBigEndian(bundle.preKey.keyId, 3) },
                  { tag: 'value', attrs: {}, content: strip(bundle.preKey.publicKey) },
                ],
              },
            ]
          : []),
      ],
    };
  });
  return iqResult(iq, [{ tag: 'list', attrs: {}, content: users }]);
}

/** The pre-key bundle of a user's device: the phone's own, or what a companion uploaded (each one-time key handed out once). */
export function preKeyBundle(sim: Simulator, user: SimUser, device: number) {
  if (device === 0) return sim.phone(user).bundle();
  const companion = user.companions.get(device);
  if (!companion || companion.removed) return undefined;
  const first = companion.preKeys.entries().next();
  let preKey: { keyId: number; publicKey: Buffer } | undefined;
  if (!first.done) {
    companion.preKeys.delete(first.value[0]);
    preKey = { keyId: first.value[0], publicKey: first.value[1] };
  }
  return {
    registrationId: companion.registrationId,
    identityKey: companion.identityKey,
    signedPreKey: {
      keyId: companion.signedPreKey.keyId,
      publicKey: companion.signedPreKey.public,
      signature: companion.signedPreKey.signature,
    },
    preKey,
  };
}

const strip = (publicKey: Buffer) => (publicKey.length === 33 ? publicKey.subarray(1) : publicKey);

export function answerProfilePicture(sim: Simulator, iq: BinaryNode): BinaryNode {
  const target = iq.attrs.target ?? iq.attrs.to ?? '';
  const user = sim.directory.find(target.split(/[@:]/)[0]!);
  if (!user?.pictureUrl) return iqError(iq, 404, 'item-not-found');
  return iqResult(iq, [{ tag: 'picture', attrs: { url: user.pictureUrl, id: '1', type: child(iq, 'picture')?.attrs.type ?? 'preview' } }]);
}
