// `kizuna tenant create|update`: a brand's contract. The API token is printed once, at creation; secrets never.
import { Option, type Command } from 'commander';
import { loadConfig } from '../../config.js';
import { createTenant, updateTenant, type Tenant, type TenantUpdateInput } from '../../crm/tenants.js';
import { admin } from '../../main.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

interface LineOpts {
  lineChannelId?: string;
  lineChannelSecret?: string;
  lineAccessToken?: string;
  lineLoginChannelId?: string;
  liffId?: string;
}

function withLineOptions(cmd: Command): Command {
  return cmd
    .option('--line-channel-id <id>', 'Messaging API channel id')
    .option('--line-channel-secret <secret>', 'Messaging API channel secret (stored encrypted)')
    .option('--line-access-token <token>', 'Messaging API channel access token (stored encrypted)')
    .option('--line-login-channel-id <id>', 'LINE Login channel id of the LIFF app (email acquisition)')
    .option('--liff-id <liffId>', 'LIFF app id, e.g. 1234567890-AbcdEfgh');
}

/** The LINE settings given on the command line, as createTenant/updateTenant take them. */
function lineSettings(o: LineOpts): LineOpts {
  const { lineChannelId, lineChannelSecret, lineAccessToken, lineLoginChannelId, liffId } = o;
  return { lineChannelId, lineChannelSecret, lineAccessToken, lineLoginChannelId, liffId };
}

function describe(t: Tenant): string {
  const line = t.line.channelId ? `LINE channel ${t.line.channelId}` : 'no LINE channel';
  const liff = t.line.liffId ? `, LIFF ${t.line.liffId}` : '';
  return `${t.name} (${t.id}): plan ${t.plan}, options [${t.options.join(', ')}], notify [${t.notifyEmails.join(', ')}], ${line}${liff}`;
}

export function register(program: Command): void {
  const tenant = program.command('tenant').description("manage tenants (one brand's contract)");

  withLineOptions(
    tenant
      .command('create')
      .description('create a tenant; prints its API token once')
      .requiredOption('--name <name>', 'brand name')
      .addOption(new Option('--plan <plan>', 'contract plan').choices(['standard', 'enterprise']).default('standard'))
      .option('--shopify-option', 'the paid Shopify option')
      .option('--notify <email>', 'notification address (repeatable)', collect, [])
      .option('--json', 'machine-readable output'),
  ).action(async (opts: { name: string; plan: string; shopifyOption?: boolean; notify: string[]; json?: boolean } & LineOpts) => {
    const running = await admin('tenant', { config: loadConfig() });
    try {
      const { tenant: t, apiToken } = await createTenant(running.ctx, {
        name: opts.name,
        plan: opts.plan as 'standard',
        options: opts.shopifyOption ? ['shopify'] : [],
        notifyEmails: opts.notify,
        ...lineSettings(opts),
      });
      if (opts.json) process.stdout.write(JSON.stringify({ id: t.id, apiToken }) + '\n');
      else
        process.stdout.write(
          `created ${describe(t)}\n` +
            `API token (shown once, keep it safe): ${apiToken}\n` +
            `LINE webhook URL: ${running.ctx.config.PUBLIC_URL}/webhooks/line/${t.id}\n` +
            `LIFF endpoint URL: ${running.ctx.config.PUBLIC_URL}/liff/${t.id}/email\n`,
        );
    } finally {
      await running.stop();
    }
  });

  withLineOptions(
    tenant
      .command('update <id>')
      .description("change a tenant's plan, options, notification addresses or LINE settings")
      .option('--name <name>', 'brand name')
      .addOption(new Option('--plan <plan>', 'contract plan').choices(['standard', 'enterprise']))
      .option('--shopify-option', 'add the paid Shopify option')
      .option('--no-shopify-option', 'remove the paid Shopify option')
      .option('--notify <email>', 'notification address (repeatable; replaces the list)', collect)
      .option('--json', 'machine-readable output'),
  ).action(async (id: string, opts: { name?: string; plan?: string; shopifyOption?: boolean; notify?: string[]; json?: boolean } & LineOpts) => {
    const running = await admin('tenant', { config: loadConfig() });
    try {
      const t = await updateTenant(running.ctx, id, {
        name: opts.name,
        plan: opts.plan as TenantUpdateInput['plan'],
        shopifyOption: opts.shopifyOption,
        notifyEmails: opts.notify,
        ...lineSettings(opts),
      });
      process.stdout.write(opts.json ? JSON.stringify(t) + '\n' : `updated ${describe(t)}\n`);
    } finally {
      await running.stop();
    }
  });
}
