// The very first `kizuna serve` on an empty database creates a tenant and an operator and prints the password once, so a
// fresh `npm start` ends with something to log in with. Later starts find an operator and print nothing.
import type { AppContext } from '../context.js';
import { ensureFirstOperator } from './operators.js';

export async function announceFirstOperator(ctx: Pick<AppContext, 'db' | 'secrets' | 'config' | 'log'>, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const first = await ensureFirstOperator(ctx);
  if (!first) return;
  ctx.log.info({ tenantId: first.tenant.id, email: first.email }, 'created the first tenant and operator');
  out.write(
    [
      '',
      '  最初の管理者アカウントを作成しました / First operator created (the password is shown only this once):',
      `    URL:      ${ctx.config.PUBLIC_URL}/login`,
      `    email:    ${first.email}`,
      `    password: ${first.password}`,
      `    tenant:   ${first.tenant.name} (${first.tenant.id})`,
      '',
      '',
    ].join('\n'),
  );
}
