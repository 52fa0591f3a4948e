/** Small helpers for reading and building WhatsApp binary nodes. */
import type { BinaryNode } from '@whiskeysockets/baileys';

export const S_WHATSAPP_NET = 's.whatsapp.net';

export function children(node: BinaryNode | undefined): BinaryNode[] {
  return Array.isArray(node?.content) ? (node.content as BinaryNode[]) : [];
}

export function child(node: BinaryNode | undefined, tag: string): BinaryNode | undefined {
  return children(node).find((c) => c.tag === tag);
}

export function bytes(node: BinaryNode | undefined): Buffer | undefined {
  const content = node?.content;
  if (content instanceof Uint8Array) return Buffer.from(content);
  if (typeof content === 'string') return Buffer.from(content, 'utf8');
  return undefined;
}

export function unixNow(): string {
  return String(Math.floor(Date.now() / 1000));
}

/** The result for an iq: from whom it was addressed, same id. */
export function iqResult(iq: BinaryNode, content?: BinaryNode[]): BinaryNode {
  return {
    tag: 'iq',
    attrs: { from: iq.attrs.to ?? S_WHATSAPP_NET, id: iq.attrs.id!, type: 'result', t: unixNow() },
    ...(content ? { content } : {}),
  };
}

export function iqError(iq: BinaryNode, code: number, text: string): BinaryNode {
  return {
    tag: 'iq',
    attrs: { from: iq.attrs.to ?? S_WHATSAPP_NET, id: iq.attrs.id!, type: 'error' },
    content: [{ tag: 'error', attrs: { code: String(code), text } }],
  };
}

export function encodeBigEndian(value: number, length = 4): Buffer {
  const out = Buffer.alloc(length);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = value & 0xff;
    value >>>= 8;
  }
  return out;
}

export function decodeBigEndian(buffer: Buffer | undefined): number {
  if (!buffer) return 0;
  return buffer.reduce((acc, byte) => acc * 256 + byte, 0);
}
