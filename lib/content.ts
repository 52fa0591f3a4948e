/**
 * A message's content as stored with the message (`messages.content`) between
 * the API accepting it and a worker sending it. Media is a reference: a URL to
 * fetch at send time, or a file in the instance's media storage.
 */
export type MediaRef = { url: string } | { stored: string };

export type StoredContent =
  | { type: 'text'; body: string }
  | { type: 'image' | 'video' | 'sticker'; media: MediaRef; caption?: string }
  | { type: 'document'; media: MediaRef; filename: string; caption?: string }
  | { type: 'audio' | 'voice'; media: MediaRef }
  | { type: 'location'; lat: number; lng: number; name?: string; address?: string }
  | { type: 'contact'; name: string; phone?: string }
  | { type: 'poll'; name: string; values: string[]; selectableCount: number }
  | { type: 'reaction'; messageId: string; emoji: string }
  | { type: 'delete'; messageId: string };

/** The gateway's message type names (`messages.type`, webhook `type`). */
export function messageType(content: StoredContent): string {
  return content.type === 'text' ? 'chat' : content.type;
}

/** The text stored as a message's body (what history and webhooks show). */
export function bodyOf(content: StoredContent): string | null {
  switch (content.type) {
    case 'text':
      return content.body;
    case 'image':
    case 'video':
    case 'document':
      return content.caption ?? null;
    case 'location':
      return content.name ?? `${content.lat},${content.lng}`;
    case 'contact':
      return content.name;
    case 'poll':
      return content.name;
    case 'reaction':
      return content.emoji;
    default:
      return null;
  }
}
