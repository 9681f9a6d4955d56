// Webhook events as LINE sends them, for tests and demos that play LINE's side of a webhook. Builders take only what
// differs between events; webhookBody() fills in the properties every real event carries.

export type WebhookEventInput = { type: string; source?: Record<string, unknown> } & Record<string, unknown>;

const userSource = (userId: string) => ({ type: 'user', userId });

export function followEvent(userId: string, opts: { isUnblocked?: boolean; replyToken?: string } = {}): WebhookEventInput {
  return {
    type: 'follow',
    source: userSource(userId),
    replyToken: opts.replyToken ?? 'nHuyWiB7yP5Zw52FIkcQobQuGDXCTA',
    follow: { isUnblocked: opts.isUnblocked ?? false },
  };
}

export function unfollowEvent(userId: string): WebhookEventInput {
  return { type: 'unfollow', source: userSource(userId) };
}

export function textMessageEvent(userId: string, text: string, opts: { messageId?: string } = {}): WebhookEventInput {
  return {
    type: 'message',
    source: userSource(userId),
    replyToken: 'b60d1f5f3fd64d6a9f0a6f3e0f6b6d2a',
    message: { id: opts.messageId ?? '325708', type: 'text', text, quoteToken: 'q3Plxr4AgKd' },
  };
}

/** Webhook event IDs are ULIDs: 26 Crockford base32 characters, time first. */
export function ulid(timeMs: number, seq: number): string {
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  let time = '';
  for (let t = Math.max(0, Math.floor(timeMs)), i = 0; i < 10; i++, t = Math.floor(t / 32)) time = alphabet[t % 32] + time;
  let rand = '';
  for (let s = seq, i = 0; i < 16; i++, s = Math.floor(s / 32)) rand = alphabet[s % 32] + rand;
  return time + rand;
}
