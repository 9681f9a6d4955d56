// LINE message objects of a delivery, checked when the delivery is created so a mistake is a 400 now rather than a failed
// delivery later. The checks are LINE's own rules for the types a marketer sends (text, image, sticker, flex), as far as they
// can be told without LINE; anything else on a message (quickReply, sender, emojis…) is passed through for LINE to judge.
import { AppError } from '../errors.js';
import type { LineMessage } from '../line/messaging.js';
import { DeliveryCodes } from './codes.js';

export const MESSAGE_TYPES = ['text', 'image', 'sticker', 'flex'] as const;
export const MAX_MESSAGES = 5;
export const MAX_TEXT_CHARS = 5000;
/** All messages together, as JSON: far below LINE's 2 MB request limit, far above any real campaign. */
const MAX_MESSAGES_BYTES = 64 * 1024;

const bad = (path: string, message: string): never => {
  throw new AppError(DeliveryCodes.INVALID_MESSAGE, `${path}: ${message}`, { path });
};

function httpsUrl(m: Record<string, unknown>, key: string, path: string): void {
  const v = m[key];
  if (typeof v !== 'string' || !v) bad(`${path}.${key}`, 'required (an https URL).');
  let u: URL | null = null;
  try {
    u = new URL(v as string);
  } catch {
    u = null;
  }
  if (!u || u.protocol !== 'https:' || (v as string).length > 2000) bad(`${path}.${key}`, 'must be an https URL of at most 2000 characters.');
}

/** Checks 1–5 message objects; returns them unchanged. 400 INVALID_MESSAGE naming the first problem's path otherwise. */
export function validateMessages(raw: unknown): LineMessage[] {
  if (!Array.isArray(raw) || raw.length < 1 || raw.length > MAX_MESSAGES) {
    bad('messages', `must be an array of 1 to ${MAX_MESSAGES} LINE message objects.`);
  }
  const list = raw as unknown[];
  if (Buffer.byteLength(JSON.stringify(list)) > MAX_MESSAGES_BYTES) bad('messages', `must be at most ${MAX_MESSAGES_BYTES / 1024} kB as JSON.`);
  list.forEach((m, i) => {
    const path = `messages[${i}]`;
    if (!m || typeof m !== 'object' || Array.isArray(m)) return bad(path, 'must be a LINE message object such as {"type": "text", "text": "…"}.');
    const o = m as Record<string, unknown>;
    switch (o.type) {
      case 'text': {
        if (typeof o.text !== 'string' || o.text.trim() === '') return bad(`${path}.text`, 'required: the text to send.');
        // LINE counts characters (code points), so an emoji is one
        const n = [...o.text].length;
        if (n > MAX_TEXT_CHARS) return bad(`${path}.text`, `at most ${MAX_TEXT_CHARS} characters; this one has ${n}.`);
        return;
      }
      case 'image':
        httpsUrl(o, 'originalContentUrl', path);
        httpsUrl(o, 'previewImageUrl', path);
        return;
      case 'sticker':
        for (const k of ['packageId', 'stickerId']) {
          const v = o[k];
          if (!(typeof v === 'string' && /^\d+$/.test(v))) bad(`${path}.${k}`, 'required: a number written as a string, e.g. "446".');
        }
        return;
      case 'flex': {
        if (typeof o.altText !== 'string' || !o.altText.trim() || [...o.altText].length > 400) {
          return bad(`${path}.altText`, 'required: 1 to 400 characters shown in notifications and chat lists.');
        }
        const c = o.contents as Record<string, unknown> | undefined;
        if (!c || typeof c !== 'object' || (c.type !== 'bubble' && c.type !== 'carousel')) {
          return bad(`${path}.contents`, 'required: a flex container, {"type": "bubble", …} or {"type": "carousel", "contents": […]}.');
        }
        if (c.type === 'carousel' && (!Array.isArray(c.contents) || c.contents.length < 1 || c.contents.length > 12)) {
          return bad(`${path}.contents.contents`, 'a carousel holds 1 to 12 bubbles.');
        }
        return;
      }
      default:
        return bad(`${path}.type`, `must be one of ${MESSAGE_TYPES.join(', ')}.`);
    }
  });
  return list as LineMessage[];
}

/** A short description of the messages for lists: the first text, or the types. */
export function messagesSummary(messages: LineMessage[]): string {
  const text = messages.find((m) => m.type === 'text')?.text;
  if (typeof text === 'string') return text.length > 60 ? text.slice(0, 60) + '…' : text;
  return messages.map((m) => m.type).join(', ');
}
