/**
 * A local WhatsApp Web server that the real, unmodified Baileys connects to:
 * handshake, QR pairing, login, the queries Baileys makes, Signal-encrypted
 * messages both ways and receipts. Tests and demos drive the simulated phones
 * through its methods (or the HTTP control API in control.ts).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { proto, type BinaryNode } from '@whiskeysockets/baileys';
import { makeServerIdentity, signedDeviceIdentity } from './keys.js';
import { Directory, lidJid, pnJid, type Companion, type SimUser } from './directory.js';
import { SimConnection } from './connection.js';
import { answerIq } from './iq.js';
import { child, children, iqError, iqResult, unixNow, S_WHATSAPP_NET } from './nodes.js';
import { SignalDevice } from './signal.js';
import { handleOutgoingMessage, sendReceipt, type ReceivedMessage, type ReceiptPolicy } from './messages.js';
import { decodeQr } from './qr.js';
import { PairingCodes } from './pairingCode.js';
import { CallRegistry, type SimCall } from './calls.js';
import { AppStateServer } from './appState.js';
import { sendInitialHistory } from './history.js';
import { GroupRegistry, answerGroupIq, groupAddNotification, type CreateGroupOptions, type SimGroup } from './groups.js';
import { handleOutgoingGroupMessage, sendGroupMessage, STATUS_JID } from './groupMessages.js';
import { GroupAdmin, answerGroupAdminIq } from './groupAdmin.js';
import { MediaHost } from './media.js';
import { sendMedia, type OutgoingMedia } from './mediaMessages.js';
import { applyPhoneChange } from './changes.js';
import { ChannelRegistry, handleOutgoingChannelMessage } from './channels.js';
import { recordDeviceReceipt, recordPresence, type SeenPresence, type SeenReceipt } from './presence.js';
import { restrictionNotification, type SimRestriction } from './restrictions.js';
import { readStateFile, writeStateFile, STATE_VERSION, type SavedSimulator, type StateLoad } from './state.js';

export interface SimulatorOptions {
  port?: number;
  host?: string;
  /** Receipts a phone sends by itself for each message it gets. Default: delivered. */
  receiptPolicy?: ReceiptPolicy;
  /** Called with a one-line description of every stanza (for debugging). */
  trace?: (line: string) => void;
  /**
   * A file the simulated world is kept in across restarts (state.ts): read at start if it is there, written a
   * moment after each change and at stop (and by `writeState`).
   */
  stateFile?: string;
}

/** A login the simulator refused (the device's credentials are void), as a phone number and device. */
export interface RefusedLogin {
  phone: string;
  device: number;
  reason: 'unknown account' | 'unknown device' | 'removed' | 'different key';
}

export interface Faults {
  /** Refuse new websocket connections. */
  refuse: boolean;
  /** Delay every stanza the server sends. */
  delayMs: number;
  /** Answer logins with `<failure reason=N>` (0: off). */
  failLogins: number;
  /** Acknowledge sends with this error code (e.g. 463, 479) instead of accepting them. */
  ackError: number;
}

export class Simulator {
  readonly identity = makeServerIdentity();
  readonly directory = new Directory();
  /** Groups; members are simulated users (unknown numbers are added). */
  readonly groupRegistry = new GroupRegistry((phone) => this.directory.addUser({ phone }));
  /** Group changes (create, members, subject, invites, leave) and the notifications members' phones got. */
  readonly groupAdmin = new GroupAdmin(this);
  readonly faults: Faults = { refuse: false, delayMs: 0, failLogins: 0, ackError: 0 };
  /** Every message a simulated phone received, in order. */
  readonly received: ReceivedMessage[] = [];
  /** App state (archive, delete chat...): the keys shared with devices and what they changed. */
  readonly appState = new AppStateServer();
  /** Channels (newsletters): their owners, followers and posts (channels.ts). */
  readonly channelRegistry = new ChannelRegistry();
  /** Typing, recording and online statuses that phones saw from linked devices' accounts, in order. */
  readonly presences: SeenPresence[] = [];
  /** Receipts (delivered, read...) that phones got from linked devices about the messages they sent, in order. */
  readonly deviceReceipts: SeenReceipt[] = [];
  /** The restrictions WhatsApp put on accounts, by `phone|kind`. */
  readonly restrictions = new Map<string, SimRestriction>();
  /** Devices waiting for a pairing code to be typed on a phone (pairingCode.ts). */
  readonly pairingCodes = new PairingCodes();
  /** Calls between simulated phones and accounts (calls.ts). */
  readonly callRegistry = new CallRegistry(this);
  /** Deliveries a phone dropped because it already had that message id. */
  duplicateDeliveries = 0;
  /** Logins refused because the device's credentials are void (unknown, removed, another key), in order. */
  readonly refusedLogins: RefusedLogin[] = [];
  /** How the state file was found at start (with `stateFile`). */
  stateLoad: Exclude<StateLoad, { found: 'loaded' }> | { found: 'loaded' } | undefined;
  private stateTimer: NodeJS.Timeout | undefined;
  private readonly seen = new Set<string>();
  receiptPolicy: ReceiptPolicy;
  private readonly phones = new Map<string, SignalDevice>();
  private readonly connections = new Set<SimConnection>();
  private readonly attached = new Map<string, SimConnection>();
  private readonly waitingScans = new Map<string, SimConnection>();
  private readonly offline = new Map<string, BinaryNode[]>();
  private readonly blocked = new Map<string, Set<string>>();
  private readonly listeners = new Set<(message: ReceivedMessage) => void>();
  private server!: Server;
  private wss!: WebSocketServer;
  /** The HTTPS media host (uploads and downloads); clients must trust `media.caPem`. */
  media!: MediaHost;
  url = '';
  port = 0;
  /** The source port of every TCP connection made to the websocket server (tests tell a proxy's from a direct one). */
  readonly clientPorts: number[] = [];

  private constructor(private readonly options: SimulatorOptions) {
    this.receiptPolicy = options.receiptPolicy ?? 'delivered';
  }

  static async start(options: SimulatorOptions = {}): Promise<Simulator> {
    const sim = new Simulator(options);
    if (options.stateFile) {
      const load = readStateFile(options.stateFile);
      if (load.found === 'loaded') sim.restoreState(load.state);
      sim.stateLoad = load.found === 'loaded' ? { found: 'loaded' } : load;
    }
    sim.server = createServer();
    sim.wss = new WebSocketServer({ noServer: true });
    sim.server.on('connection', (socket) => sim.clientPorts.push(socket.remotePort ?? 0));
    sim.server.on('upgrade', (request, socket, head) => {
      if (sim.faults.refuse || !request.url?.startsWith('/ws/chat')) {
        socket.end('HTTP/1.1 503 Service Unavailable\r\n\r\n');
        return;
      }
      sim.wss.handleUpgrade(request, socket, head, (ws) => sim.connections.add(new SimConnection(sim, ws)));
    });
    await new Promise<void>((resolve) => sim.server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
    sim.port = (sim.server.address() as AddressInfo).port;
    sim.url = `ws://${options.host ?? '127.0.0.1'}:${sim.port}/ws/chat`;
    sim.media = await MediaHost.start(options.host ?? '127.0.0.1');
    return sim;
  }

  /** The HTTP server, for mounting the control API. */
  get httpServer(): Server {
    return this.server;
  }

  async stop(): Promise<void> {
    for (const conn of this.connections) conn.drop();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
    await this.media.stop();
    this.writeState();
  }

  // ---- what a restart keeps (state.ts) -----------------------------------

  /** The world changed: with a state file, it is written a moment later (changes close together, once). */
  changed(): void {
    if (!this.options.stateFile || this.stateTimer) return;
    this.stateTimer = setTimeout(() => {
      try {
        this.writeState();
      } catch (err) {
        // The world goes on in memory; the next change (or the stop) tries again.
        process.stderr.write(`[simulator] its state could not be written to ${this.options.stateFile}: ${(err as Error).message}\n`);
      }
    }, 200);
    this.stateTimer.unref();
  }

  /** Writes the state file now (with a state file). */
  writeState(): void {
    clearTimeout(this.stateTimer);
    this.stateTimer = undefined;
    if (this.options.stateFile) writeStateFile(this.options.stateFile, this.saveState());
  }

  saveState(): SavedSimulator {
    return {
      version: STATE_VERSION,
      users: this.directory.save(),
      phones: [...this.phones].map(([phone, device]) => [phone, device.save()]),
      appState: this.appState.save(),
      blocked: [...this.blocked].map(([owner, contacts]) => [owner, [...contacts]]),
      offline: [...this.offline],
      groups: this.groupRegistry.save(),
      revokedInvites: [...this.groupAdmin.revokedCodes],
      channels: this.channelRegistry.save(),
    };
  }

  private restoreState(saved: SavedSimulator): void {
    this.directory.restore(saved.users);
    for (const [phone, device] of saved.phones) this.phones.set(phone, new SignalDevice(device));
    this.appState.restore(saved.appState);
    for (const [owner, contacts] of saved.blocked) this.blocked.set(owner, new Set(contacts));
    for (const [device, nodes] of saved.offline) this.offline.set(device, nodes);
    // Files written before groups and channels were kept have neither.
    this.groupRegistry.restore(saved.groups ?? []);
    for (const code of saved.revokedInvites ?? []) this.groupAdmin.revokedCodes.add(code);
    this.channelRegistry.restore(saved.channels ?? [], (phone) => this.user(phone));
  }

  /** A login refused because the device's credentials are void. */
  refuseLogin(login: RefusedLogin): void {
    this.refusedLogins.push(login);
  }

  log(direction: string, conn: SimConnection, node: BinaryNode): void {
    if (!this.options.trace) return;
    const who = conn.companion ? `${conn.companion.user.phone}:${conn.companion.deviceId}` : `#${conn.id}`;
    const first = children(node)[0]?.tag;
    this.options.trace(`${direction} ${who} <${node.tag} ${JSON.stringify(node.attrs)}>${first ? ` <${first}>` : ''}`);
  }

  // ---- users and phones -------------------------------------------------

  addUser(phone: string, name?: string): SimUser {
    this.changed();
    return this.directory.addUser({ phone, name });
  }

  /**
   * `owner`'s phone saves `contact` in its address book as `name`. A device linked later learns it in the history
   * sync; devices already linked get it as the phone does: an app-state patch (`contactAction`) and a `server_sync`
   * notification, after which they fetch the patch.
   */
  async saveContact(owner: string, contact: string, name: string): Promise<void> {
    const user = this.user(owner);
    const saved = this.user(contact);
    user.addressBook.set(saved.phone, name);
    const collection = 'critical_unblock_low';
    const version = await this.appState.phoneChange(user, collection, ['contact', `${saved.phone}@s.whatsapp.net`], {
      timestamp: Date.now(),
      contactAction: { fullName: name, firstName: name.split(' ')[0], lidJid: lidJid(saved.lid) },
    });
    this.changed();
    for (const device of user.companions.values()) {
      if (!device.removed && device.historySent) await this.deliver(device, AppStateServer.serverSyncNotification(collection, version));
    }
  }

  user(phoneOrLid: string): SimUser {
    const user = this.directory.find(phoneOrLid);
    if (!user) throw new Error(`no simulated user ${phoneOrLid}`);
    return user;
  }

  /** The phone's Signal device (its sessions change with every message: see `changed`, called by those who use it). */
  phone(user: SimUser): SignalDevice {
    let device = this.phones.get(user.phone);
    if (!device) this.phones.set(user.phone, (device = new SignalDevice()));
    this.changed();
    return device;
  }

  /** A simulated contact sends an image, document, voice note... to `to`'s devices. */
  sendMedia(from: string, to: string, media: OutgoingMedia): Promise<{ id: string; message: proto.IMessage }> {
    return sendMedia(this, from, to, media);
  }

  onMessage(listener: (message: ReceivedMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * A phone shows each message once: like WhatsApp clients, it drops a message
   * id it already has from that sender (a resend after a crash), counting it.
   */
  record(message: ReceivedMessage): void {
    const key = `${message.to}|${message.from}|${message.id}|${message.ownCopy}|${message.group ?? ''}`;
    if (this.seen.has(key)) {
      this.duplicateDeliveries++;
      return;
    }
    this.seen.add(key);
    // An edit or a delete changes the message the phone has, as well as arriving itself.
    applyPhoneChange(this.received, message);
    this.received.push(message);
    for (const listener of this.listeners) listener(message);
  }

  /**
   * WhatsApp sets or lifts a restriction on `phone`'s account: its linked
   * devices get the `mex` notification (now, or when they next log in), and
   * later queries about it are answered with it.
   */
  async setRestriction(phone: string, restriction: SimRestriction): Promise<void> {
    const user = this.user(phone);
    this.restrictions.set(`${user.phone}|${restriction.kind}`, restriction);
    for (const device of user.companions.values()) if (!device.removed) await this.deliver(device, restrictionNotification(restriction));
  }

  // ---- calls ------------------------------------------------------------

  /** The phone of `fromPhone` calls `toPhone`'s account: its linked devices ring. */
  call(fromPhone: string, toPhone: string, options: { video?: boolean } = {}): Promise<SimCall> {
    return this.callRegistry.offer(this.user(fromPhone), this.user(toPhone), options.video ?? false);
  }

  /** A call by id (what `call` returned). */
  callById(id: string): SimCall {
    const call = this.callRegistry.calls.get(id);
    if (!call) throw new Error(`no simulated call ${id}`);
    return call;
  }

  // ---- groups -----------------------------------------------------------

  /** A new group (`120363…@g.us`); the owner is a member and superadmin. */
  createGroup(options: CreateGroupOptions): SimGroup {
    this.changed();
    return this.groupRegistry.create(options);
  }

  /**
   * `byPhone` (the owner by default) adds `phone` to a group: like WhatsApp,
   * every member's linked devices get the `w:gp2` notification, the new
   * member's too (so its account learns it joined).
   */
  async addToGroup(gid: string, phone: string, byPhone?: string): Promise<void> {
    const group = this.group(gid);
    const user = this.directory.find(phone) ?? this.addUser(phone);
    if (!group.participants.includes(user)) group.participants.push(user);
    this.changed();
    const notification = groupAddNotification(group, byPhone ? this.user(byPhone) : group.owner, user);
    for (const member of group.participants) {
      for (const device of member.companions.values()) if (!device.removed) await this.deliver(device, notification);
    }
  }

  group(gid: string): SimGroup {
    const group = this.groupRegistry.get(gid);
    if (!group) throw new Error(`no simulated group ${gid}`);
    return group;
  }

  /** A member's phone sends a text to the group (to every member's linked devices). Returns the message id. */
  sendGroupText(fromPhone: string, gid: string, text: string): Promise<string> {
    return sendGroupMessage(this, this.user(fromPhone), this.group(gid), { conversation: text });
  }

  /** Like sendGroupText, any message. */
  sendGroupMessage(
    fromPhone: string,
    gid: string,
    message: proto.IMessage,
    options?: { id?: string; stanzaType?: string; attrs?: Record<string, string> },
  ): Promise<string> {
    return sendGroupMessage(this, this.user(fromPhone), this.group(gid), message, options);
  }

  // ---- connections ------------------------------------------------------

  forget(conn: SimConnection): void {
    this.connections.delete(conn);
    // What the client never acknowledged goes to the device again (now on a newer connection, or at its next login).
    if (conn.companion) {
      const again = [...conn.unacked.values()].map(({ attrs: { offline: _, ...attrs }, ...node }) => ({ ...node, attrs }));
      conn.unacked.clear();
      for (const node of again) void this.deliver(conn.companion, node);
    }
    for (const ref of conn.registration?.refs ?? []) this.waitingScans.delete(ref);
    this.pairingCodes.forget(conn);
    if (conn.companion && this.attached.get(key(conn.companion)) === conn) this.attached.delete(key(conn.companion));
  }

  awaitScan(conn: SimConnection): void {
    for (const ref of conn.registration!.refs) this.waitingScans.set(ref, conn);
  }

  /** A logged-in device; an older connection of the same device is replaced. */
  attach(conn: SimConnection): void {
    const previous = this.attached.get(key(conn.companion!));
    if (previous && previous !== conn) void previous.streamError({}, [{ tag: 'conflict', attrs: { type: 'replaced' } }]);
    this.attached.set(key(conn.companion!), conn);
  }

  connectionOf(companion: Companion): SimConnection | undefined {
    const conn = this.attached.get(key(companion));
    return conn?.isOpen && !conn.deaf ? conn : undefined;
  }

  /** Sends a stanza to a linked device now, or when it next logs in. */
  async deliver(companion: Companion, node: BinaryNode): Promise<void> {
    const conn = this.connectionOf(companion);
    if (conn) return this.sendTracked(conn, node);
    const queue = this.offline.get(key(companion)) ?? [];
    queue.push({ ...node, attrs: { ...node.attrs, offline: '1' } });
    this.offline.set(key(companion), queue);
    this.changed();
  }

  async deliverOffline(conn: SimConnection): Promise<void> {
    const queue = this.offline.get(key(conn.companion!)) ?? [];
    this.offline.delete(key(conn.companion!));
    this.changed();
    for (const node of queue) await this.sendTracked(conn, node);
    await conn.send({ tag: 'ib', attrs: {}, content: [{ tag: 'offline', attrs: { count: String(queue.length) } }] });
    if (!conn.companion!.historySent) await sendInitialHistory(this, conn.companion!);
  }

  /** Sends a stanza; a receipt is kept until the client acknowledges it. */
  private async sendTracked(conn: SimConnection, node: BinaryNode): Promise<void> {
    if (node.tag === 'receipt' && node.attrs.id) conn.unacked.set(node.attrs.id, node);
    await conn.send(node);
  }

  /** The phone of `fromPhone` reports messages `ids` (sent by `toPhone`) delivered, read or played, to every device of `toPhone`. */
  async sendReceipt(fromPhone: string, toPhone: string, ids: string[], type: 'delivered' | 'read' | 'played' = 'delivered'): Promise<void> {
    this.user(fromPhone);
    for (const device of this.user(toPhone).companions.values()) {
      if (!device.removed) await sendReceipt(this, device, pnJid(fromPhone), ids, type);
    }
  }

  /** Receipts sent to the devices of `phone` that they have not acknowledged yet. */
  unackedReceipts(phone: string): BinaryNode[] {
    return [...this.connections].filter((conn) => conn.companion?.user.phone === phone).flatMap((conn) => [...conn.unacked.values()]);
  }

  async dispatch(conn: SimConnection, node: BinaryNode): Promise<void> {
    // What a device sends changes the world: its pre-keys, app state, block list, a phone's Signal session...
    this.changed();
    switch (node.tag) {
      case 'ack':
        if (node.attrs.class === 'receipt' && node.attrs.id) conn.unacked.delete(node.attrs.id);
        return;
      case 'iq':
        await conn.send(await answerIq(this, conn, node));
        return;
      case 'message':
        if (node.attrs.to?.endsWith('@newsletter')) await handleOutgoingChannelMessage(this, conn, node);
        else if (node.attrs.to?.endsWith('@g.us') || node.attrs.to === STATUS_JID) await handleOutgoingGroupMessage(this, conn, node);
        else await handleOutgoingMessage(this, conn, node);
        return;
      case 'call':
        await this.callRegistry.fromDevice(conn, node);
        return;
      case 'receipt':
      case 'notification':
        // What the client acknowledges or reports; nothing to answer beyond an ack.
        if (node.tag === 'receipt') {
          recordDeviceReceipt(this, conn, node);
          await conn.send({ tag: 'ack', attrs: { class: 'receipt', id: node.attrs.id!, from: node.attrs.to ?? S_WHATSAPP_NET } });
        }
        return;
      case 'presence':
      case 'chatstate':
        recordPresence(this, conn, node);
        return;
      default:
        // presence, chatstate, ack, ib...: accepted silently.
        return;
    }
  }

  // ---- pairing and linked devices ----------------------------------------

  /**
   * The phone of `phone` scans a QR shown by a client: the raw QR text, or a
   * PNG data URI (what the gateway's /qr endpoint returns).
   */
  async scanQr(phone: string, qr: string): Promise<Companion> {
    const text = qr.startsWith('data:image/') ? await decodeQr(qr) : qr;
    // Newer clients wrap the payload in a link: https://wa.me/settings/linked_devices#REF,...
    const [ref, noiseB64, identityB64, advB64, platform] = text.slice(text.indexOf('#') + 1).split(',');
    const conn = ref ? this.waitingScans.get(ref) : undefined;
    if (!conn?.isOpen || !conn.registration) throw new Error('this QR code is not (or no longer) valid');
    const registration = conn.registration;
    if (registration.noiseKey.toString('base64') !== noiseB64 || registration.identityKey.toString('base64') !== identityB64) {
      throw new Error('QR code does not match the connection that showed it');
    }
    const user = this.directory.find(phone) ?? this.addUser(phone);
    return this.linkDevice(conn, user, Buffer.from(advB64!, 'base64'), platform ?? 'web');
  }

  /**
   * The user types the pairing code a device shows (asked for `phone`'s number) on the phone of `phone`: the
   * phone checks it with the device and links it as a QR scan does. A wrong code rejects (PairingCodeError
   * `wrongCode`) and leaves the device unpaired, still waiting for the right code.
   */
  async enterPairingCode(phone: string, code: string): Promise<Companion> {
    const user = this.directory.find(phone) ?? this.addUser(phone);
    const { conn, advSecret } = await this.pairingCodes.enter(user, code);
    if (!conn.isOpen || !conn.registration) throw new Error('the device went away before it was linked');
    return this.linkDevice(conn, user, advSecret, conn.registration.platform);
  }

  /** Links the device registering on `conn` to `user`'s account (pair-success), then asks it to log in. */
  private async linkDevice(conn: SimConnection, user: SimUser, advSecret: Buffer, platform: string): Promise<Companion> {
    const registration = conn.registration!;
    const companion = this.directory.linkCompanion(user, {
      noiseKey: registration.noiseKey,
      identityKey: registration.identityKey,
      registrationId: registration.registrationId,
      signedPreKey: registration.signedPreKey,
      advSecret,
      platform,
    });
    for (const r of registration.refs) this.waitingScans.delete(r);
    this.pairingCodes.forget(conn);
    this.changed();

    const container = signedDeviceIdentity(user.accountKey, companion.deviceId, registration.identityKey, advSecret);
    const answer = await conn.query({
      tag: 'iq',
      attrs: { from: S_WHATSAPP_NET, type: 'set', t: unixNow() },
      content: [
        {
          tag: 'pair-success',
          attrs: {},
          content: [
            { tag: 'device-identity', attrs: {}, content: container },
            { tag: 'platform', attrs: { name: 'Chrome' } },
            { tag: 'device', attrs: { jid: pnJid(user.phone, companion.deviceId), lid: lidJid(user.lid, companion.deviceId) } },
          ],
        },
      ],
    });
    if (!child(answer, 'pair-device-sign')) throw new Error('the client did not confirm the pairing');
    // Like WhatsApp: the new device must reconnect and log in with its credentials.
    await conn.streamError({ code: '515' });
    return companion;
  }

  /** The phone removes a linked device ("Log out" in Linked devices). */
  async removeDevice(phone: string, deviceId?: number): Promise<void> {
    const user = this.user(phone);
    for (const companion of user.companions.values()) {
      if (deviceId !== undefined && companion.deviceId !== deviceId) continue;
      this.unlink(companion);
      await this.connectionOf(companion)?.streamError({ code: '401' }, [{ tag: 'conflict', attrs: { type: 'device_removed' } }]);
    }
  }

  unlink(companion: Companion): void {
    companion.removed = true;
    this.offline.delete(key(companion));
    this.changed();
  }

  /** Drops the sockets (of one user's devices, or all) as a network failure would. */
  /** The fault of a connection that looks open but hears nothing: the phone's open connections go deaf (see SimConnection.deaf); a new login is heard. */
  deafen(phone: string): number {
    let deafened = 0;
    for (const conn of this.connections) {
      if (conn.companion?.user.phone !== phone || !conn.isOpen || conn.deaf) continue;
      conn.deaf = true;
      deafened++;
    }
    return deafened;
  }

  dropConnections(phone?: string): number {
    let dropped = 0;
    for (const conn of this.connections) {
      if (phone && conn.companion?.user.phone !== phone) continue;
      conn.drop();
      dropped++;
    }
    return dropped;
  }

  /** Asks connected devices to restart (`stream:error 515`). */
  async restartConnections(phone?: string): Promise<void> {
    for (const conn of [...this.connections]) {
      if (!conn.companion || (phone && conn.companion.user.phone !== phone)) continue;
      await conn.streamError({ code: '515' });
    }
  }

  // ---- query answers (used by iq.ts) -------------------------------------

  /** Blocklist get/set. Baileys names the contact by LID (with `pn_jid` when blocking); kept by phone number. */
  blocklist(conn: SimConnection, iq: BinaryNode): BinaryNode {
    const owner = conn.companion?.user.phone ?? '';
    const set = this.blocked.get(owner) ?? new Set<string>();
    this.blocked.set(owner, set);
    if (iq.attrs.type === 'set') {
      const item = child(iq, 'item');
      const user = item?.attrs.jid ? this.directory.find(item.attrs.jid.split(/[@:]/)[0]!) : undefined;
      if (!item || !user) return iqError(iq, 400, 'bad-request');
      if (item.attrs.action === 'block') set.add(user.phone);
      else set.delete(user.phone);
      return iqResult(iq);
    }
    const items = [...set].map((phone) => ({ tag: 'item', attrs: { jid: lidJid(this.user(phone).lid), pn_jid: pnJid(phone) } }));
    return iqResult(iq, [{ tag: 'list', attrs: {}, content: items }]);
  }

  /** Whether `phone`'s account blocked a contact (phone number, PN JID or LID JID). */
  isBlocked(phone: string, contact: string): boolean {
    const user = this.directory.find(contact.split(/[@:]/)[0]!);
    return !!user && (this.blocked.get(phone)?.has(user.phone) ?? false);
  }

  async groups(conn: SimConnection, iq: BinaryNode): Promise<BinaryNode> {
    const asker = conn.companion?.user;
    return (await answerGroupAdminIq(this.groupAdmin, asker, iq)) ?? answerGroupIq(this.groupRegistry, asker, iq);
  }

  /** Where to upload: Baileys POSTs to `https://<hostname>/mms/<type>/<hash>?auth=<auth>`. */
  mediaConn(iq: BinaryNode): BinaryNode {
    return iqResult(iq, [
      {
        tag: 'media_conn',
        attrs: { auth: this.media.auth, ttl: '3600', auth_ttl: '3600', max_buckets: '1' },
        content: [{ tag: 'host', attrs: { hostname: this.media.hostname, maxContentLengthBytes: String(100 * 1024 * 1024) } }],
      },
    ]);
  }
}

const key = (companion: Companion) => `${companion.user.phone}:${companion.deviceId}`;
