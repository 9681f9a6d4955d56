// Outgoing mail: SMTP when SMTP_URL is set; otherwise the mail is written to the log and kept in the outbox (mail_outbox),
// so nothing needs configuring to start and no notice is lost. Mail goes through a job so a slow or failing SMTP server
// never blocks the work that wanted to send it, and failed sends are retried with backoff.
import { z } from 'zod';
import { defineJob, sendJob, type JobHandler } from '../jobs/define.js';
import type { AppContext } from '../context.js';

const payload = z.object({
  tenantId: z.string().nullable().default(null),
  to: z.array(z.string().email()).min(1),
  subject: z.string().min(1),
  text: z.string(),
});
export type MailPayload = z.input<typeof payload>;

export const sendMailJob = defineJob({
  name: 'mail.send',
  schema: payload,
  queue: { retryLimit: 8, retryDelay: 30, retryBackoff: true, expireInSeconds: 120 },
  handler: async () => deliver,
});

export function enqueueMail(ctx: Pick<AppContext, 'boss'>, mail: MailPayload): Promise<string | null> {
  return sendJob(ctx.boss, sendMailJob, payload.parse(mail));
}

let transportCache: { url: string; transport: import('nodemailer').Transporter } | undefined;

const deliver: JobHandler<z.output<typeof payload>> = async (mail, ctx) => {
  const smtpUrl = ctx.config.SMTP_URL;
  if (smtpUrl) {
    if (transportCache?.url !== smtpUrl) {
      const nodemailer = await import('nodemailer');
      transportCache = { url: smtpUrl, transport: nodemailer.createTransport(smtpUrl) };
    }
    await transportCache.transport.sendMail({ from: ctx.config.MAIL_FROM, to: mail.to, subject: mail.subject, text: mail.text });
  } else {
    ctx.log.info({ to: mail.to, subject: mail.subject, tenantId: mail.tenantId }, 'mail kept in the outbox (SMTP_URL is not set)');
  }
  // attempts > 1 on a row means the same job ran again after it had delivered (a redelivery): visible, never silent.
  await ctx.db.pool.query(
    `INSERT INTO mail_outbox (job_id, tenant_id, recipients, subject, body, transport, handled_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (job_id) DO UPDATE SET attempts = mail_outbox.attempts + 1, handled_by = EXCLUDED.handled_by`,
    [ctx.jobId, mail.tenantId, mail.to, mail.subject, mail.text, smtpUrl ? 'smtp' : 'outbox', ctx.workerId],
  );
};
