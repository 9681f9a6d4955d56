import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { admin, serve, worker } from '../../main.js';

export function register(program: Command): void {
  program
    .command('serve')
    .description('web server (admin UI, API, webhooks), scheduler and a worker in one process')
    .option('--no-worker', 'run no jobs here: kizuna worker processes run them (the API never shares a process with a sync)')
    .action(async (opts: { worker: boolean }) => {
      const running = await serve({ worker: opts.worker });
      running.ctx.log.info({ url: running.url, dataDir: running.ctx.db.embedded ? running.ctx.config.DATA_DIR : undefined }, 'Kizuna is ready');
      process.stdout.write(`Kizuna is running at http://${running.ctx.config.HOST}:${running.ctx.config.PORT}  (Ctrl-C to stop)\n`);
    });

  program
    .command('worker')
    .description('run jobs only; start more of these on one PostgreSQL (DATABASE_URL) to scale out')
    .action(async () => {
      const running = await worker();
      running.ctx.log.info('worker is ready');
    });

  program
    .command('migrate')
    .description('apply database migrations (also done at serve start)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const running = await admin('migrate', { config: loadConfig() });
      try {
        const { applied } = running;
        process.stdout.write(opts.json ? JSON.stringify({ applied }) + '\n' : applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
      } finally {
        await running.stop();
      }
    });
}
