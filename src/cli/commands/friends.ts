// `kizuna friends import TENANT FILE.csv`: the same import as POST /api/v1/friends/import (same code, same limits), reading
// the file as a stream, with progress on stderr.
import fs from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { importFriendsCsv, MAX_DATA_ROWS, MAX_FILE_BYTES } from '../../crm/import.js';
import { resolveTenant } from '../../crm/tenants.js';
import { AppError, Codes } from '../../errors.js';
import { admin } from '../../main.js';

export function register(program: Command): void {
  const friends = program.command('friends').description('LINE friends');
  friends
    .command('import <tenant> <file>')
    .description('import friends from CSV (line_user_id,display_name,email; UTF-8, UTF-8 BOM or Shift_JIS)')
    .option('--json', 'machine-readable output')
    .action(async (tenantArg: string, file: string, opts: { json?: boolean }) => {
      const size = fs.statSync(file).size;
      if (size > MAX_FILE_BYTES) {
        throw new AppError(Codes.PAYLOAD_TOO_LARGE, `${file} is larger than ${MAX_FILE_BYTES} bytes; split it (at most ${MAX_DATA_ROWS} lines per file).`);
      }
      const running = await admin('friends-import', { config: loadConfig() });
      try {
        const tenant = await resolveTenant(running.ctx.db.pool, tenantArg);
        let report;
        try {
          report = await importFriendsCsv(running.ctx, tenant.id, fs.createReadStream(file), {
            onBatch: (p) => {
              if (!opts.json && process.stderr.isTTY) process.stderr.write(`\r${p.done} rows (${Math.floor((p.bytesRead / Math.max(size, 1)) * 100)}%)`);
            },
          });
        } catch (e) {
          if (e instanceof AppError && e.code === 'IMPORT_INTERRUPTED') {
            const d = e.details as { created: number; updated: number; committedThroughLine: number };
            process.stdout.write(`saved before the failure: created ${d.created}, updated ${d.updated} (through line ${d.committedThroughLine})\n`);
          }
          throw e;
        }
        if (!opts.json && process.stderr.isTTY) process.stderr.write('\n');
        if (opts.json) {
          process.stdout.write(JSON.stringify(report) + '\n');
        } else {
          process.stdout.write(
            `${file} (${report.encoding}): created ${report.created}, updated ${report.updated}, unchanged ${report.unchanged}, errors ${report.errorCount}\n`,
          );
          for (const err of report.errors) process.stdout.write(`line ${err.line}: ${err.message}\n`);
          if (report.errorCount > report.errors.length) process.stdout.write(`(the first ${report.errors.length} errors are listed)\n`);
        }
      } finally {
        await running.stop();
      }
    });
}
