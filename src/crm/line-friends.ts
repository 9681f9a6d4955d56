// What LINE's webhook events do to the CRM: `follow` creates or re-activates the friend, `unfollow` marks it blocked, and a
// redelivered event (same webhookEventId) changes nothing. Each event is applied in its own transaction together with its
// dedupe row, so an event is either fully applied and remembered, or neither.
// The display name comes from the Messaging API profile endpoint, fetched by a job (line.fetch-profile) enqueued in the same
// transaction as the follow: the webhook answers at once whatever LINE's API is doing, the friend is never lost because the
// profile call failed, and the job retries with backoff until LINE answers (the name stays null meanwhile).
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { withTransaction } from '../db/index.js';
import { defineJob, type JobHandler } from '../jobs/define.js';
import { MessagingApi } from '../line/messaging.js';
import type { LineWebhook } from '../line/webhook.js';
import { recordFollow, recordUnfollow, setDisplayName } from './friends.js';
import { tenantLineSecrets } from './tenants.js';
import { AppError } from '../errors.js';

const profilePayload = z.object({ tenantId: z.string().uuid(), friendId: z.number().int().positive() });

export const fetchProfileJob = defineJob({
  name: 'line.fetch-profile',
  schema: profilePayload,
  queue: { retryLimit: 8, retryDelay: 5, retryBackoff: true, expireInSeconds: 60 },
  handler: async () => handleFetchProfile,
});

const handleFetchProfile: JobHandler<z.output<typeof profilePayload>> = async (p, ctx) => {
  const { rows } = await ctx.db.pool.query<{ line_user_id: string }>(`SELECT line_user_id FROM friends WHERE tenant_id = $1 AND id = $2`, [p.tenantId, p.friendId]);
  if (!rows[0]) return;
  const { accessToken } = await tenantLineSecrets(ctx, p.tenantId);
  if (!accessToken) {
    ctx.log.warn({ tenantId: p.tenantId }, 'no LINE channel access token for this tenant; display names cannot be fetched');
    return;
  }
  const api = new MessagingApi({ origin: ctx.config.LINE_API_ORIGIN, channelAccessToken: accessToken, log: ctx.log, maxRetries: 1 });
  try {
    const profile = await api.getProfile(rows[0].line_user_id);
    // null: LINE no longer knows the user for this channel (blocked meanwhile); nothing to fill in
    if (profile) await setDisplayName(ctx.db.pool, p.tenantId, p.friendId, profile.displayName, ctx.clock.now());
  } catch (e) {
    // Only failures that can pass by waiting are worth pg-boss's retries; a refused token needs an operator.
    if (e instanceof AppError && !e.retryable) {
      ctx.log.warn({ tenantId: p.tenantId, code: e.code }, 'LINE refused the profile request; the display name stays empty');
      return;
    }
    throw e;
  }
};

export interface WebhookOutcome {
  applied: number;
  duplicates: number;
  ignored: number;
}

export async function applyLineWebhook(ctx: Pick<AppContext, 'db' | 'boss' | 'clock'>, tenantId: string, webhook: LineWebhook): Promise<WebhookOutcome> {
  const out: WebhookOutcome = { applied: 0, duplicates: 0, ignored: 0 };
  for (const event of webhook.events) {
    const eventId = event.webhookEventId;
    const userId = event.type === 'follow' || event.type === 'unfollow' ? event.source?.userId : undefined;
    const acts = (event.type === 'follow' || event.type === 'unfollow') && !!userId;
    if (!eventId) {
      out.ignored++;
      continue;
    }
    const fresh = await withTransaction(ctx.db.pool, async (client) => {
      const { rowCount } = await client.query(
        `INSERT INTO line_webhook_events (tenant_id, webhook_event_id, type, received_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, webhook_event_id) DO NOTHING`,
        [tenantId, eventId, event.type === 'ignored' ? `ignored:${event.originalType}` : event.type, ctx.clock.now()],
      );
      if (!rowCount) return false;
      if (!acts) return true;
      const at = new Date((event as { timestamp: number }).timestamp);
      if (event.type === 'follow') {
        const { friendId } = await recordFollow(client, tenantId, userId!, at);
        await ctx.boss.insert([{ name: fetchProfileJob.name, data: profilePayload.parse({ tenantId, friendId }) }], {
          db: { executeSql: (text: string, values: unknown[]) => client.query(text, values) },
        });
      } else {
        await recordUnfollow(client, tenantId, userId!, at);
      }
      return true;
    });
    if (!fresh) out.duplicates++;
    else if (acts) out.applied++;
    else out.ignored++;
  }
  return out;
}
