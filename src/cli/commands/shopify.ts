// `kizuna shopify issue|link|unlink|status TENANT` (発行, 連携, 連携を解除) and `kizuna sync TENANT [--full]`.
import fs from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { categoryJson } from '../../crm/custom-data.js';
import { requireShopifyPlan, resolveTenant } from '../../crm/tenants.js';
import { admin, type Running } from '../../main.js';
import { issueCredentials, linkIntegration, unlinkIntegration } from '../../shopify/integration.js';
import { integrationView } from '../../shopify/view.js';
import { executeRun, type Progress } from '../../sync/runs.js';
import { getRun, isFinished, requestRun, RunStatus, type Run } from '../../sync/run-store.js';

async function withTenant<T>(role: string, idOrName: string, fn: (r: Running, tenant: Awaited<ReturnType<typeof resolveTenant>>) => Promise<T>): Promise<T> {
  const running = await admin(role, { config: loadConfig() });
  try {
    const tenant = await resolveTenant(running.ctx.db.pool, idOrName);
    requireShopifyPlan(tenant);
    return await fn(running, tenant);
  } finally {
    await running.stop();
  }
}

function readStdin(): string {
  return fs.readFileSync(0, 'utf8').trim();
}

function printStatus(view: Awaited<ReturnType<typeof integrationView>>): string {
  if (view.status === 'none') return 'Shopify: not issued yet (kizuna shopify issue TENANT --store STORE --token TOKEN)\n';
  const v = view as Extract<typeof view, { credentialKind: string }>;
  const lines = [
    `status:        ${v.status}`,
    `store:         ${v.storeDomain}${v.shop?.name ? ` (${v.shop.name}, ${v.shop.currencyCode})` : ''}`,
    `credentials:   ${v.credentialKind === 'access_token' ? 'Admin API access token' : 'client ID and secret (Dev Dashboard app)'}; scopes ${v.scopes.join(', ')}`,
    `last order id: ${v.lastOrderIdSource.label}`,
    `webhooks:      ${v.webhooks.state}${v.webhooks.message ? ` — ${v.webhooks.message}` : ''}`,
    `category:      ${v.category ? `${v.category.name} (${v.category.id})` : '-'}`,
    `next run:      ${v.nextRunAt ?? '-'} (window ${v.syncWindow.window} ${v.syncWindow.timeZone})`,
  ];
  if (v.paused) lines.push(`paused:        ${v.paused.code} — ${v.paused.message}`);
  if (v.currentRun) lines.push(`running:       ${v.currentRun.id} (${v.currentRun.mode}, ${v.currentRun.counts.fetched}/${v.currentRun.total ?? '?'})`);
  if (v.lastRun) {
    const r = v.lastRun;
    lines.push(`last run:      ${r.status} ${r.finishedAt ?? ''} ${r.mode} — ${countsLine(r.counts)}${r.error ? ` — ${r.error.code}: ${r.error.message}` : ''}`);
  }
  return lines.join('\n') + '\n';
}

function countsLine(c: Run['counts']): string {
  return `fetched ${c.fetched}, matched ${c.matched}, linked ${c.linked}, updated ${c.updated}, unchanged ${c.unchanged}, unverified ${c.unverified}, unmatched ${c.unmatched}, deleted ${c.deleted}`;
}

export function register(program: Command): void {
  const shopify = program.command('shopify').description('the Shopify integration: 発行 (issue), 連携 (link), 連携を解除 (unlink), status');

  shopify
    .command('issue <tenant>')
    .description('発行: check the store domain and credentials with Shopify and store them encrypted')
    .requiredOption('--store <store>', 'store domain: my-store, my-store.myshopify.com or the admin URL')
    .option('--token <token>', 'Admin API access token (shpat_…) of a custom app made in the store admin')
    .option('--token-stdin', 'read the access token from standard input (keeps it out of shell history)')
    .option('--client-id <id>', 'client ID of a Dev Dashboard app')
    .option('--client-secret <secret>', 'client secret of a Dev Dashboard app')
    .option('--webhook-secret <secret>', "the custom app's API secret key, to verify webhooks (near-real-time updates)")
    .option('--json', 'machine-readable output')
    .action(async (tenantArg: string, o: { store: string; token?: string; tokenStdin?: boolean; clientId?: string; clientSecret?: string; webhookSecret?: string; json?: boolean }) => {
      const token = o.tokenStdin ? readStdin() : o.token;
      await withTenant('shopify', tenantArg, async (r, tenant) => {
        const i = await issueCredentials(r.ctx, tenant, {
          storeDomain: o.store,
          accessToken: token,
          clientId: o.clientId,
          clientSecret: o.clientSecret,
          webhookSecret: o.webhookSecret,
        });
        const view = await integrationView(r.ctx, tenant);
        process.stdout.write(o.json ? JSON.stringify(view) + '\n' : `issued: ${i.storeDomain} (${i.shop.name}); next: kizuna shopify link ${tenant.id}\n`);
      });
    });

  shopify
    .command('link <tenant>')
    .description('連携: create the category データ連携(shopify) with its 22 read-only fields and start syncing')
    .option('--json', 'machine-readable output')
    .action(async (tenantArg: string, o: { json?: boolean }) => {
      await withTenant('shopify', tenantArg, async (r, tenant) => {
        const { category } = await linkIntegration(r.ctx, tenant);
        const view = await integrationView(r.ctx, tenant);
        process.stdout.write(
          o.json
            ? JSON.stringify({ status: 'linked', category: categoryJson(category) }) + '\n'
            : `linked: ${category.name} with ${category.fields.length} fields; the first full sync is queued (a running kizuna serve or worker does it, or: kizuna sync ${tenant.id})\n` +
                (view.status !== 'none' && 'webhooks' in view && view.webhooks.message ? `note: ${view.webhooks.message}\n` : ''),
        );
      });
    });

  shopify
    .command('unlink <tenant>')
    .description('連携を解除: stop syncing; the imported data stays')
    .option('--json', 'machine-readable output')
    .action(async (tenantArg: string, o: { json?: boolean }) => {
      await withTenant('shopify', tenantArg, async (r, tenant) => {
        await unlinkIntegration(r.ctx, tenant);
        process.stdout.write(o.json ? JSON.stringify({ status: 'unlinked' }) + '\n' : 'unlinked: no more syncing; imported data kept\n');
      });
    });

  shopify
    .command('status <tenant>')
    .description('the integration as the settings page shows it')
    .option('--json', 'machine-readable output')
    .action(async (tenantArg: string, o: { json?: boolean }) => {
      await withTenant('shopify', tenantArg, async (r, tenant) => {
        const view = await integrationView(r.ctx, tenant);
        process.stdout.write(o.json ? JSON.stringify(view) + '\n' : printStatus(view));
      });
    });

  program
    .command('sync <tenant>')
    .description('run one sync now, in the foreground, with a progress bar; prints the counts')
    .option('--full', 'read every customer (default: only those changed since the last run)')
    .option('--json', 'machine-readable output (no progress bar)')
    .action(async (tenantArg: string, o: { full?: boolean; json?: boolean }) => {
      await withTenant('sync', tenantArg, async (r, tenant) => {
        const { runId, joined } = await requestRun(r.ctx, tenant.id, { mode: o.full ? 'full' : 'incremental', trigger: 'cli', enqueue: false });
        const bar = progressBar(o.json ? null : process.stderr);
        if (joined && !o.json) process.stderr.write(`joining run ${runId}, already queued or running\n`);
        // A queued run (ours, or one no worker has taken yet) is claimed and run here; one a live worker is running is followed.
        let run: Run = await executeRun(r.ctx, runId, { finalAttempt: true, onProgress: bar.update });
        if (!isFinished(run)) run = await follow(r, tenant.id, runId, bar.update);
        bar.done();
        if (o.json) process.stdout.write(JSON.stringify({ id: run.id, status: run.status, mode: run.mode, counts: run.counts, error: run.error }) + '\n');
        else process.stdout.write(`${run.status}: ${run.mode} run ${run.id}\n${countsLine(run.counts)}\n`);
        if (run.status !== RunStatus.succeeded) throw new Error(`the sync failed: ${run.error?.code}: ${run.error?.message}`);
      });
    });
}

async function follow(r: Running, tenantId: string, runId: string, update: (p: Progress) => void): Promise<Run> {
  for (;;) {
    const run = (await getRun(r.ctx, tenantId, runId))!;
    update({ runId, done: run.counts.fetched, total: run.total, counts: run.counts });
    if (isFinished(run)) return run;
    await new Promise((res) => setTimeout(res, 1000));
  }
}

/** customers done / total, rate and ETA: redrawn in place on a terminal, a line every few seconds otherwise. */
export function progressBar(out: NodeJS.WriteStream | null) {
  const started = Date.now();
  let last = 0;
  let drawn = false;
  const fmt = (n: number) => n.toLocaleString('en-US');
  return {
    update(p: Progress) {
      if (!out) return;
      const now = Date.now();
      if (!out.isTTY && now - last < 5000) return;
      last = now;
      const secs = Math.max(0.001, (now - started) / 1000);
      const rate = p.done / secs;
      const total = p.total ?? 0;
      const frac = total ? Math.min(1, p.done / total) : 0;
      const width = 30;
      const bar = total ? '#'.repeat(Math.round(frac * width)).padEnd(width, '-') : '?'.repeat(width);
      const eta = total && rate > 0 ? Math.max(0, Math.round((total - p.done) / rate)) : null;
      const etaText = eta === null ? '--:--' : `${Math.floor(eta / 60)}:${String(eta % 60).padStart(2, '0')}`;
      const line = `[${bar}] ${fmt(p.done)} / ${total ? fmt(total) : '?'} customers  ${fmt(Math.round(rate))}/s  ETA ${etaText}`;
      if (out.isTTY) {
        out.write(`\r${line}`);
        drawn = true;
      } else out.write(line + '\n');
    },
    done() {
      if (out?.isTTY && drawn) out.write('\n');
    },
  };
}
