// The LINE webhook body (https://developers.line.biz/en/reference/messaging-api/#webhooks). LINE adds event types and
// properties without notice and asks receivers to tolerate them, so parsing is strict only about what Kizuna acts on:
// an event Kizuna does not handle, or one it cannot read, is kept as `{ type: 'ignored' }` instead of failing the whole
// delivery (a 4xx here would make LINE report the webhook as broken and, with redelivery on, send everything again).
import { z } from 'zod';
import { AppError, Codes } from '../errors.js';
import { findInputProblem, unstorableReason } from '../input.js';

/** LINE's ids are 26-character ULIDs; anything much longer is not one. */
const eventId = z.string().min(1).max(128);
/** Milliseconds since the epoch that a JavaScript Date and PostgreSQL can both hold. */
const timestamp = z.number().int().min(0).max(253402300799999);

const source = z.looseObject({
  type: z.string(),
  userId: z.string().optional(),
  groupId: z.string().optional(),
  roomId: z.string().optional(),
});

const common = {
  webhookEventId: eventId,
  timestamp,
  /** 'standby' while another channel owns the chat (module channels); such events must not be acted on as if active. */
  mode: z.string().default('active'),
  deliveryContext: z.looseObject({ isRedelivery: z.boolean() }),
  source: source.optional(),
};

const follow = z.looseObject({
  ...common,
  type: z.literal('follow'),
  replyToken: z.string().optional(),
  /** Older deliveries lack `follow`; treat them as a first follow. */
  follow: z.looseObject({ isUnblocked: z.boolean() }).default({ isUnblocked: false }),
});

const unfollow = z.looseObject({ ...common, type: z.literal('unfollow') });

const message = z.looseObject({
  ...common,
  type: z.literal('message'),
  replyToken: z.string().optional(),
  message: z.looseObject({ id: z.string(), type: z.string(), text: z.string().optional() }),
});

const known = { follow, unfollow, message } as const;

export type LineSource = z.output<typeof source>;
export type LineFollowEvent = z.output<typeof follow>;
export type LineUnfollowEvent = z.output<typeof unfollow>;
export type LineMessageEvent = z.output<typeof message>;

/** An event Kizuna does not act on: its original type, why it was set aside, and the event as received. */
export interface LineIgnoredEvent {
  type: 'ignored';
  originalType: string;
  reason: string;
  /** Present when the event had one, so redeliveries of ignored events can still be recognised. */
  webhookEventId?: string;
  raw: unknown;
}

export type LineEvent = LineFollowEvent | LineUnfollowEvent | LineMessageEvent | LineIgnoredEvent;

export interface LineWebhook {
  /** The bot's user ID: which channel the delivery is for. */
  destination: string;
  /** Every event in delivery order, unknown ones as `ignored`. LINE's "Verify" button sends an empty list. */
  events: LineEvent[];
}

const envelope = z.looseObject({ destination: z.string(), events: z.array(z.unknown()) });

/** Parses a webhook body that already passed the signature check. Throws VALIDATION_FAILED (400) only for a broken envelope. */
export function parseLineWebhook(json: unknown): LineWebhook {
  const body = envelope.safeParse(json);
  if (!body.success) {
    throw new AppError(Codes.VALIDATION_FAILED, 'The body is not a LINE webhook: it needs "destination" and an "events" array.');
  }
  return { destination: body.data.destination, events: body.data.events.map(parseEvent) };
}

function parseEvent(raw: unknown): LineEvent {
  const obj = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const originalType = typeof obj.type === 'string' && !unstorableReason(obj.type) ? obj.type.slice(0, 100) : '';
  // An event with a value Kizuna cannot store (U+0000, an unpaired surrogate) is set aside like any unreadable event; its id
  // is kept for redelivery detection only when the id itself can be stored.
  const problem = findInputProblem(raw, 'event');
  const id = eventId.safeParse(obj.webhookEventId);
  const webhookEventId = id.success && !findInputProblem(id.data, 'id') ? id.data : undefined;
  const ignored = (reason: string): LineIgnoredEvent => ({ type: 'ignored', originalType, reason, webhookEventId, raw });
  if (problem) return ignored(`${problem.path} ${problem.reason}`);

  if (!Object.hasOwn(known, originalType)) return ignored(originalType ? 'unsupported event type' : 'event without a type');
  const parsed = known[originalType as keyof typeof known].safeParse(raw);
  if (!parsed.success) {
    return ignored(parsed.error.issues.map((i) => `${i.path.join('.') || 'event'}: ${i.message}`).join('; '));
  }
  return parsed.data;
}
