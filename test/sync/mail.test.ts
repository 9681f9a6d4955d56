// Failure and recovery mails, received by a real SMTP server started here (smtp-server) and read with mailparser: Kizuna
// sends them through its `mail.send` job (workers running) to SMTP_URL. One failure mail per incident — not per retry, not
// per night — in Japanese with the cause, what to do and the run id; a short recovery mail when a run works again. Runs
// stopped by a plan downgrade or by 連携を解除 are not failures to mail.
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { updateTenant } from '../../src/crm/tenants.js';
import { issueCredentials, unlinkIntegration } from '../../src/shopify/integration.js';
import { requestRun } from '../../src/sync/run-store.js';
import { syncWorld, type SyncWorld } from '../helpers/sync.js';

let smtp: SMTPServer;
let smtpUrl = '';
const inbox: ParsedMail[] = [];

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, done) {
      simpleParser(stream).then(
        (mail) => {
          inbox.push(mail);
          done();
        },
        (err: Error) => done(err),
      );
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', () => resolve()));
  smtpUrl = `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => smtp.close(() => resolve())));

/** Waits (bounded) until the inbox holds `n` mails; then checks no other mail is on its way. */
async function mailsArrive(w: SyncWorld, n: number): Promise<ParsedMail[]> {
  for (let i = 0; i < 300 && inbox.length < n; i++) await new Promise((r) => setTimeout(r, 50));
  expect(inbox.length).toBe(n);
  // Every mail Kizuna decided to send is a mail.send job: none beyond those received.
  expect((await w.mails()).length).toBe(n);
  return inbox;
}

const SUBJECT_FAILED = '【Kizuna】Shopify連携の反映に失敗しました(テスト商店)';
const SUBJECT_RECOVERED = '【Kizuna】Shopify連携の反映が復旧しました(テスト商店)';

describe('failure and recovery mails', () => {
  let w: SyncWorld;
  beforeAll(async () => {
    w = await syncWorld({
      shopify: { customers: 300, seed: 41 },
      env: { SMTP_URL: smtpUrl, MAIL_FROM: 'Kizuna <no-reply@kizuna.example>' },
      work: true,
      notify: ['ops@example.jp', 'owner@example.jp'],
    });
    await w.addGeneratedFriends(300, 3);
    await w.issue('client_credentials');
    await w.link();
    expect((await w.sync('full')).status).toBe('succeeded');
  });
  afterAll(() => w.close());

  it('a lasting outage: retries mail nothing; the last attempt mails once, in Japanese, with cause, what to do and the run id', async () => {
    w.h.clock.advance(86_400_000);
    const { runId } = await requestRun(w.t.ctx, w.tenant.id, { mode: 'incremental', trigger: 'nightly', enqueue: false });
    w.h.shop.failNext({ kind: '5xx', status: 503, count: 1000 });
    for (let attempt = 0; attempt < 3; attempt++) {
      const e = await w.execute(runId).catch((err: { code: string }) => err);
      expect((e as { code: string }).code).toBe('SHOPIFY_UNAVAILABLE');
    }
    expect(await w.mails()).toEqual([]);
    const run = await w.execute(runId, { finalAttempt: true });
    expect(run.status).toBe('failed');
    expect(run.error?.code).toBe('SHOPIFY_UNAVAILABLE');

    const [mail] = await mailsArrive(w, 1);
    expect(mail!.subject).toBe(SUBJECT_FAILED);
    expect(mail!.from?.value).toEqual([{ name: 'Kizuna', address: 'no-reply@kizuna.example' }]);
    const to = (Array.isArray(mail!.to) ? mail!.to : [mail!.to]).flatMap((a) => a!.value.map((v) => v.address));
    expect(to).toEqual(['ops@example.jp', 'owner@example.jp']);
    const text = mail!.text!;
    expect(text).toContain('テスト商店 ご担当者様');
    expect(text).toContain('■ 原因\nShopify側の障害または通信の問題で、何度か再試行しても応答が得られませんでした。');
    expect(text).toContain('(エラーコード: SHOPIFY_UNAVAILABLE /');
    expect(text).toContain('■ ご対応\n対応は不要です。次回の反映で自動的に再試行します。');
    expect(text).toContain(`実行ID: ${runId}`);
    expect(text).toContain('復旧したときに改めてお知らせします。');
  });

  it('the next night fails too (even with another cause): still the same incident, no second mail', async () => {
    w.h.clock.advance(86_400_000);
    expect((await w.sync('incremental', { finalAttempt: true })).error?.code).toBe('SHOPIFY_UNAVAILABLE');
    w.h.shop.clearFaults();
    w.h.shop.setShopStatus(402);
    w.h.clock.advance(86_400_000);
    expect((await w.sync('incremental', { finalAttempt: true })).error?.code).toBe('SHOP_UNAVAILABLE');
    w.h.shop.setShopStatus(null);
    await mailsArrive(w, 1);
  });

  it('when a run works again: one short recovery mail naming the run', async () => {
    w.h.clock.advance(86_400_000);
    const run = await w.sync('incremental');
    expect(run.status).toBe('succeeded');
    const mail = (await mailsArrive(w, 2))[1]!;
    expect(mail.subject).toBe(SUBJECT_RECOVERED);
    expect(mail.text).toContain('(SHOPIFY_UNAVAILABLE)は解消し、反映が正常に完了しました。');
    expect(mail.text).toContain(`実行ID: ${run.id}`);
    expect(mail.text!.length).toBeLessThan(300);
    // Succeeding again tells nobody anything.
    w.h.clock.advance(86_400_000);
    expect((await w.sync('incremental')).status).toBe('succeeded');
    await mailsArrive(w, 2);
  });

  it('a new failure opens a new incident: client credentials refused mid-run → INVALID_TOKEN mail saying to 発行 again; re-issuing recovers', async () => {
    w.h.clock.advance(86_400_000);
    const run = await w.sync('full', {
      afterBatch: (n) => {
        if (n !== 1) return;
        w.h.shop.setClientSecret('shpss_rotated_by_the_merchant_0001');
        w.h.shop.revokeToken();
      },
    });
    expect(run.error?.code).toBe('INVALID_TOKEN');
    const mail = (await mailsArrive(w, 3))[2]!;
    expect(mail.subject).toBe(SUBJECT_FAILED);
    expect(mail.text).toContain('ShopifyがアクセストークンまたはクライアントIDとシークレットを受け付けませんでした');
    expect(mail.text).toContain('「発行」から認証情報を入力し直してください');
    expect(mail.text).toContain(`実行ID: ${run.id}`);
    expect(mail.text).toContain('取得済み: 199件');

    const c = w.h.shop.credentials();
    await issueCredentials(w.t.ctx, w.tenant, { storeDomain: c.domain, clientId: c.clientId, clientSecret: c.clientSecret });
    w.h.clock.advance(3600_000);
    const ok = await w.sync('full');
    expect(ok.status).toBe('succeeded');
    const recovery = (await mailsArrive(w, 4))[3]!;
    expect(recovery.subject).toBe(SUBJECT_RECOVERED);
    expect(recovery.text).toContain('(INVALID_TOKEN)');
    const { rows } = await w.t.ctx.db.pool.query(`SELECT transport, count(*)::int AS n FROM mail_outbox GROUP BY transport`);
    expect(rows).toEqual([{ transport: 'smtp', n: 4 }]);
  });
});

describe('runs that stop without being failures to mail', () => {
  it('a tenant downgraded while linked: its run fails with PLAN_REQUIRED, nothing is fetched, nobody is mailed', async () => {
    const w = await syncWorld({ shopify: { customers: 50, seed: 42 } });
    try {
      await w.addGeneratedFriends(50);
      await w.issue();
      await w.link();
      await updateTenant(w.t.ctx, w.tenant.id, { shopifyOption: false });
      const before = w.h.shop.requests().length;
      const run = await w.sync('full');
      expect(run.status).toBe('failed');
      expect(run.error?.code).toBe('PLAN_REQUIRED');
      expect(run.counts.fetched).toBe(0);
      expect(w.h.shop.requests().length).toBe(before);
      expect(await w.mails()).toEqual([]);
      const { rows } = await w.t.ctx.db.pool.query(`SELECT paused_code FROM shopify_integrations`);
      expect(rows[0].paused_code).toBe('PLAN_REQUIRED');
      expect((await w.snapshot()).values).toEqual({});
      // The option back: the next run works and clears the pause.
      await updateTenant(w.t.ctx, w.tenant.id, { shopifyOption: true });
      expect((await w.sync('full')).status).toBe('succeeded');
      expect((await w.t.ctx.db.pool.query(`SELECT paused_code FROM shopify_integrations`)).rows[0].paused_code).toBeNull();
      expect(await w.mails()).toEqual([]);
    } finally {
      await w.close();
    }
  });

  it('連携を解除 during a run stops it at its next batch; what it had written stays; nobody is mailed', async () => {
    const w = await syncWorld({ shopify: { customers: 450, seed: 43 } });
    try {
      await w.addGeneratedFriends(450);
      await w.issue();
      await w.link();
      const run = await w.sync('full', { afterBatch: async (n) => void (n === 1 ? await unlinkIntegration(w.t.ctx, w.tenant) : undefined) });
      expect(run.status).toBe('failed');
      expect(run.error?.code).toBe('UNLINKED');
      expect(run.counts.fetched).toBe(199);
      // Only customers of the first page reached friends; those values stay after 連携を解除.
      const { rows } = await w.t.ctx.db.pool.query(`SELECT count(*)::int AS n FROM shopify_customers`);
      expect(rows[0].n).toBe(199);
      const snap = await w.snapshot();
      expect(Object.keys(snap.values).length).toBe(run.counts.linked);
      expect(run.counts.linked).toBeGreaterThan(0);
      expect(await w.mails()).toEqual([]);
      // A run requested now is refused at its start with the same code.
      const again = await w.sync('full');
      expect(again.error?.code).toBe('UNLINKED');
      expect(await w.mails()).toEqual([]);
    } finally {
      await w.close();
    }
  });
});
