import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { parseLineWebhook } from '../../src/line/webhook.js';

const common = (id: string) => ({
  webhookEventId: id,
  timestamp: 1_764_300_000_000,
  mode: 'active',
  deliveryContext: { isRedelivery: false },
  source: { type: 'user', userId: 'U4af4980629' },
});

describe('parseLineWebhook', () => {
  it('reads follow, unfollow and message events with the fields Kizuna acts on', () => {
    const hook = parseLineWebhook({
      destination: 'Uxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
      events: [
        { ...common('01A'), type: 'follow', replyToken: 'r1', follow: { isUnblocked: true } },
        { ...common('01B'), type: 'unfollow', deliveryContext: { isRedelivery: true } },
        { ...common('01C'), type: 'message', replyToken: 'r2', message: { id: '1', type: 'text', text: 'やあ', quoteToken: 'q' } },
      ],
    });
    expect(hook.destination).toBe('Uxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx');
    const [follow, unfollow, message] = hook.events;
    expect(follow).toMatchObject({ type: 'follow', webhookEventId: '01A', follow: { isUnblocked: true }, source: { userId: 'U4af4980629' } });
    expect(unfollow).toMatchObject({ type: 'unfollow', deliveryContext: { isRedelivery: true } });
    expect(message).toMatchObject({ type: 'message', message: { type: 'text', text: 'やあ', quoteToken: 'q' } });
  });

  it('keeps unknown event types as ignored, with their id, and does not fail the delivery', () => {
    const hook = parseLineWebhook({
      destination: 'U1',
      events: [
        { ...common('01D'), type: 'postback', postback: { data: 'a=1' } },
        { ...common('01E'), type: 'somethingLineAddsNextYear' },
        { ...common('01F'), type: 'follow', follow: { isUnblocked: false } },
      ],
    });
    expect(hook.events.map((e) => e.type)).toEqual(['ignored', 'ignored', 'follow']);
    expect(hook.events[0]).toMatchObject({ originalType: 'postback', webhookEventId: '01D', reason: 'unsupported event type' });
  });

  it('sets aside a known event it cannot read instead of rejecting its neighbours', () => {
    const hook = parseLineWebhook({
      destination: 'U1',
      events: [{ type: 'follow', timestamp: 1 }, 'garbage', { ...common('01G'), type: 'unfollow' }],
    });
    expect(hook.events[0]).toMatchObject({ type: 'ignored', originalType: 'follow' });
    expect((hook.events[0] as { reason: string }).reason).toMatch(/webhookEventId/);
    expect(hook.events[1]).toMatchObject({ type: 'ignored', originalType: '' });
    expect(hook.events[2]).toMatchObject({ type: 'unfollow' });
  });

  it('tolerates properties LINE adds and defaults what older deliveries lack', () => {
    const { events } = parseLineWebhook({
      destination: 'U1',
      events: [{ ...common('01H'), mode: undefined, type: 'follow', newThing: { x: 1 } }],
    });
    expect(events[0]).toMatchObject({ type: 'follow', mode: 'active', follow: { isUnblocked: false }, newThing: { x: 1 } });
  });

  it('accepts the console\'s verification request (no events)', () => {
    expect(parseLineWebhook({ destination: 'U1', events: [] })).toEqual({ destination: 'U1', events: [] });
  });

  it('rejects a body that is not a webhook at all', () => {
    for (const bad of [null, 'x', {}, { destination: 'U1' }, { destination: 'U1', events: {} }]) {
      expect(() => parseLineWebhook(bad)).toThrow(AppError);
    }
    try {
      parseLineWebhook({});
    } catch (e) {
      expect((e as AppError).status).toBe(400);
      expect((e as AppError).code).toBe('VALIDATION_FAILED');
    }
  });
});
