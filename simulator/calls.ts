/**
 * Voice and video calls, as far as a linked device sees them: a simulated
 * phone calls an account (every linked device gets the `<call><offer>`
 * stanza, the caller named by LID with `caller_pn`), hangs up
 * (`<terminate>`), or the account's own phone answers it (`<accept>`). A
 * device that declines sends `<call><reject>`: the server acknowledges it and
 * the calling phone stops ringing (the call's status says so).
 */
import { randomBytes } from 'node:crypto';
import type { BinaryNode } from '@whiskeysockets/baileys';
import type { SimConnection } from './connection.js';
import { lidJid, pnJid, type SimUser } from './directory.js';
import { child, unixNow } from './nodes.js';
import type { Simulator } from './simulator.js';

export interface SimCall {
  id: string;
  caller: SimUser;
  callee: SimUser;
  video: boolean;
  /** Ringing; declined by a linked device; hung up by the caller; answered on the callee's phone. */
  status: 'ringing' | 'rejected' | 'ended' | 'answered';
  /** The linked device that declined it. */
  rejectedBy?: number;
  offeredAt: number;
}

export class CallRegistry {
  readonly calls = new Map<string, SimCall>();
  private readonly listeners = new Set<(call: SimCall) => void>();

  constructor(private readonly sim: Simulator) {}

  /** `caller`'s phone calls `callee`: every linked device of the callee rings. */
  async offer(caller: SimUser, callee: SimUser, video: boolean): Promise<SimCall> {
    const call: SimCall = {
      id: randomBytes(16).toString('hex').toUpperCase(),
      caller,
      callee,
      video,
      status: 'ringing',
      offeredAt: Date.now(),
    };
    this.calls.set(call.id, call);
    const media: BinaryNode[] = [
      { tag: 'audio', attrs: { enc: 'opus', rate: '16000' } },
      { tag: 'audio', attrs: { enc: 'opus', rate: '8000' } },
      ...(video
        ? [{ tag: 'video', attrs: { enc: 'vp8', dec: 'vp8', orientation: '0', screen_width: '1080', screen_height: '1920' } }]
        : []),
      { tag: 'net', attrs: { medium: '3' } },
      { tag: 'encopt', attrs: { keygen: '2' } },
    ];
    await this.toCallee(
      call,
      'offer',
      { caller_pn: pnJid(caller.phone), caller_country_code: caller.phone.slice(0, 2), joinable: '1' },
      media,
    );
    return call;
  }

  /** The caller hangs up before anyone answered: the devices see the call end (missed). */
  async hangUp(call: SimCall): Promise<void> {
    if (call.status !== 'ringing') return;
    call.status = 'ended';
    this.changed(call);
    await this.toCallee(call, 'terminate', {});
  }

  /** The callee's own phone answers: its linked devices see the call accepted elsewhere. */
  async answer(call: SimCall): Promise<void> {
    if (call.status !== 'ringing') return;
    call.status = 'answered';
    this.changed(call);
    await this.toCallee(call, 'accept', {});
  }

  /** `<call><reject call-id …/></call>` from a linked device: acknowledged; the calling phone learns it. */
  async fromDevice(conn: SimConnection, node: BinaryNode): Promise<void> {
    const reject = child(node, 'reject');
    await conn.send({
      tag: 'ack',
      attrs: { id: node.attrs.id!, class: 'call', from: node.attrs.to ?? '', ...(reject ? { type: 'reject' } : {}) },
    });
    const call = reject ? this.calls.get(reject.attrs['call-id'] ?? '') : undefined;
    if (!call || !conn.companion || conn.companion.user !== call.callee || call.status !== 'ringing') return;
    call.status = 'rejected';
    call.rejectedBy = conn.companion.deviceId;
    this.changed(call);
  }

  onChange(listener: (call: SimCall) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(call: SimCall): void {
    for (const listener of this.listeners) listener(call);
  }

  private async toCallee(call: SimCall, tag: string, attrs: Record<string, string>, content?: BinaryNode[]): Promise<void> {
    const creator = lidJid(call.caller.lid);
    for (const device of call.callee.companions.values()) {
      if (device.removed) continue;
      await this.sim.deliver(device, {
        tag: 'call',
        attrs: {
          from: creator,
          id: randomBytes(10).toString('hex').toUpperCase(),
          t: unixNow(),
          notify: call.caller.name,
          platform: 'android',
          version: '2.25.1.0',
        },
        content: [{ tag, attrs: { 'call-id': call.id, 'call-creator': creator, ...attrs }, ...(content ? { content } : {}) }],
      });
    }
  }
}

export const describeCall = (call: SimCall) => ({
  id: call.id,
  from: call.caller.phone,
  to: call.callee.phone,
  video: call.video,
  status: call.status,
  rejectedBy: call.rejectedBy ?? null,
  offeredAt: call.offeredAt,
});
