// `kizuna operator add TENANT EMAIL`: a login for the admin UI. The generated password is printed once (or read from stdin).
import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { addOperator, generatePassword } from '../../crm/operators.js';
import { resolveTenant } from '../../crm/tenants.js';
import { admin } from '../../main.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export function register(program: Command): void {
  const operator = program.command('operator').description('manage operators (admin UI logins)');
  operator
    .command('add <tenant> <email>')
    .description('add an operator to a tenant (id or unique name); prints a generated password once')
    .option('--password-stdin', 'read the password from standard input instead of generating one')
    .option('--json', 'machine-readable output')
    .action(async (tenantArg: string, email: string, opts: { passwordStdin?: boolean; json?: boolean }) => {
      const password = opts.passwordStdin ? await readStdin() : generatePassword();
      const running = await admin('operator', { config: loadConfig() });
      try {
        const tenant = await resolveTenant(running.ctx.db.pool, tenantArg);
        const op = await addOperator(running.ctx.db.pool, tenant.id, email, password);
        const shown = opts.passwordStdin ? undefined : password;
        if (opts.json) process.stdout.write(JSON.stringify({ id: op.id, tenantId: tenant.id, email: op.email, ...(shown ? { password: shown } : {}) }) + '\n');
        else
          process.stdout.write(
            `added operator ${op.email} to ${tenant.name}\n` +
              (shown ? `password (shown once): ${shown}\n` : '') +
              `log in at ${running.ctx.config.PUBLIC_URL}/login\n`,
          );
      } finally {
        await running.stop();
      }
    });
}
