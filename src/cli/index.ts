// `kizuna <command>`: every command exits 0 on success and non-zero with a one-line reason on stderr otherwise.
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config.js';
import { DataDirInUseError } from '../db/embedded.js';
import { AppError } from '../errors.js';
import { processShutdown, StartInterrupted } from '../lifecycle.js';
import { SecretKeyMismatchError } from '../security/secrets.js';
import { register as registerFriends } from './commands/friends.js';
import { register as registerOperator } from './commands/operator.js';
import { register as registerServe } from './commands/serve.js';
import { register as registerTenant } from './commands/tenant.js';
import { register as registerShopify } from './commands/shopify.js';
import { register as registerFakeShopify } from './commands/fake-shopify.js';
import { register as registerDemo } from './commands/demo.js';

// Before anything starts: SIGINT/SIGTERM, or the parent going away, stop whatever this process has started (lifecycle.ts).
processShutdown.install();

const program = new Command();
program
  .name('kizuna')
  .description('LINE CRM with a Shopify integration. Configuration comes from environment variables (see README).')
  .exitOverride()
  // One-line reasons, as for every other failure; `--help` shows the usage.
  .showHelpAfterError(false)
  .configureOutput({ outputError: (str, write) => write(`kizuna: ${str.replace(/^error: /, '').trim()}\n`) });

registerServe(program);
registerTenant(program);
registerOperator(program);
registerFriends(program);
registerShopify(program);
registerFakeShopify(program);
registerDemo(program);

function reason(e: unknown): string {
  if (e instanceof ConfigError) return `Invalid environment: ${e.problems.join('; ')}`;
  if (e instanceof DataDirInUseError || e instanceof SecretKeyMismatchError) return e.message;
  if (e instanceof AppError) return `${e.code}: ${e.message}`;
  return (e as Error)?.message ?? String(e);
}

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exit(e.exitCode); // commander already printed the reason (or the help)
  }
  // Asked to stop (a signal, the parent gone) before or while it worked: what it started is being stopped; not an error.
  if (e instanceof StartInterrupted || processShutdown.requested) await new Promise(() => {});
  process.stderr.write(`kizuna: ${reason(e).split('\n')[0]}\n`);
  process.exit(1);
}
