// Friend import from CSV (header line_user_id,display_name,email), for brands moving from another tool. Good lines are
// imported, each bad one is reported with its line number and reason. Rows are written in batches (default 1000), each batch
// in one transaction with one set-based upsert, so a crash never leaves half a batch: the report (or the IMPORT_INTERRUPTED
// error) says which lines are saved, and since re-importing updates by line_user_id instead of duplicating, running the same
// file again completes it. An email set or changed by the import emits the friend-email-changed event (source 'import').
// Report messages are Japanese: they are shown to the brand's operators as they are (UI, CLI).
import type { AppContext } from '../context.js';
import { withTransaction } from '../db/index.js';
import { AppError } from '../errors.js';
import { CrmCodes } from './codes.js';
import { decodeCsv, parseCsv, type CsvEncoding } from './csv.js';
import { recordFriendEmailChanges } from './events.js';
import { LINE_USER_ID_RE } from './friends.js';
import { isEmail } from './operators.js';

export interface ImportError {
  line: number;
  message: string;
}

export interface ImportReport {
  created: number;
  updated: number;
  /** Lines whose friend already had exactly these values. */
  unchanged: number;
  errors: ImportError[];
  encoding: CsvEncoding;
}

const COLUMNS = ['line_user_id', 'display_name', 'email'] as const;

interface Row {
  line: number;
  lineUserId: string;
  displayName: string | null;
  email: string | null;
}

const parseErrors: Record<string, string> = {
  'unclosed-quote': '引用符（"）が閉じられていません',
  'stray-quote': '引用符（"）の後に区切り文字（,）がありません',
};

/** Checks every line; returns the rows to import and the reasons for the others. Throws INVALID_CSV for an unusable file. */
export function readFriendCsv(buf: Buffer): { rows: Row[]; errors: ImportError[]; encoding: CsvEncoding } {
  const { text, encoding } = decodeCsv(buf);
  const records = parseCsv(text);
  const header = records[0];
  if (!header) throw new AppError(CrmCodes.INVALID_CSV, 'The CSV is empty; its first line must be line_user_id,display_name,email.');
  if (header.error !== undefined) throw new AppError(CrmCodes.INVALID_CSV, 'The CSV header cannot be read; it must be line_user_id,display_name,email.');
  const names = header.fields.map((h) => h.trim().toLowerCase());
  const index = Object.fromEntries(COLUMNS.map((c) => [c, names.indexOf(c)])) as Record<(typeof COLUMNS)[number], number>;
  const unknown = names.filter((n) => !(COLUMNS as readonly string[]).includes(n));
  if (index.line_user_id < 0 || unknown.length || new Set(names).size !== names.length) {
    throw new AppError(
      CrmCodes.INVALID_CSV,
      `The CSV header is "${header.fields.join(',')}"; it must be line_user_id,display_name,email (email values may be empty).`,
    );
  }
  const rows: Row[] = [];
  const errors: ImportError[] = [];
  const seen = new Map<string, number>();
  for (const rec of records.slice(1)) {
    if (rec.error !== undefined) {
      errors.push({ line: rec.line, message: parseErrors[rec.error] ?? rec.error });
      continue;
    }
    if (rec.fields.length !== names.length) {
      errors.push({ line: rec.line, message: `列の数が${names.length}ではありません（${rec.fields.length}列）` });
      continue;
    }
    const get = (c: (typeof COLUMNS)[number]) => (index[c] < 0 ? '' : rec.fields[index[c]]!.trim());
    const lineUserId = get('line_user_id');
    const displayName = get('display_name');
    const email = get('email');
    if (!LINE_USER_ID_RE.test(lineUserId)) {
      errors.push({
        line: rec.line,
        message: lineUserId ? `line_user_id「${lineUserId.slice(0, 40)}」の形式が正しくありません（Uと32桁の英数字）` : 'line_user_id が空です',
      });
      continue;
    }
    if (displayName.length > 200) {
      errors.push({ line: rec.line, message: '表示名が長すぎます（200文字まで）' });
      continue;
    }
    if (email && !isEmail(email)) {
      errors.push({ line: rec.line, message: `メールアドレス「${email.slice(0, 80)}」の形式が正しくありません` });
      continue;
    }
    const first = seen.get(lineUserId);
    if (first !== undefined) {
      errors.push({ line: rec.line, message: `line_user_id が${first}行目と重複しています` });
      continue;
    }
    seen.set(lineUserId, rec.line);
    rows.push({ line: rec.line, lineUserId, displayName: displayName || null, email: email || null });
  }
  return { rows, errors, encoding };
}

export interface ImportOptions {
  batchSize?: number;
  /** Called after each committed batch (CLI progress). */
  onBatch?: (progress: { done: number; total: number; throughLine: number }) => void;
}

/**
 * Imports a CSV file's friends into the tenant. An empty display_name or email keeps the stored one (an import never erases
 * an email acquired through LIFF). Imported friends are 'active'; an existing friend keeps its status.
 */
export async function importFriendsCsv(
  ctx: Pick<AppContext, 'db' | 'boss' | 'clock' | 'log'>,
  tenantId: string,
  buf: Buffer,
  opts: ImportOptions = {},
): Promise<ImportReport> {
  const { rows, errors, encoding } = readFriendCsv(buf);
  const batchSize = opts.batchSize ?? 1000;
  const report: ImportReport = { created: 0, updated: 0, unchanged: 0, errors, encoding };
  let throughLine = 0;
  for (let start = 0; start < rows.length; start += batchSize) {
    const batch = rows.slice(start, start + batchSize);
    try {
      const counts = await importBatch(ctx, tenantId, batch);
      report.created += counts.created;
      report.updated += counts.updated;
      report.unchanged += batch.length - counts.created - counts.updated;
    } catch (e) {
      ctx.log.error({ err: e, tenantId, fromLine: batch[0]!.line }, 'friend import interrupted');
      throw new AppError(
        CrmCodes.IMPORT_INTERRUPTED,
        `The import stopped at the batch starting on line ${batch[0]!.line}; lines before it are saved. Run the same file again to finish.`,
        { ...report, errors: report.errors.slice(0, 1000), committedThroughLine: throughLine, failedFromLine: batch[0]!.line },
        { cause: e },
      );
    }
    throughLine = batch.at(-1)!.line;
    opts.onBatch?.({ done: Math.min(start + batchSize, rows.length), total: rows.length, throughLine });
  }
  report.errors.sort((a, b) => a.line - b.line);
  return report;
}

async function importBatch(
  ctx: Pick<AppContext, 'db' | 'boss' | 'clock'>,
  tenantId: string,
  batch: Row[],
): Promise<{ created: number; updated: number }> {
  const now = ctx.clock.now();
  return withTransaction(ctx.db.pool, async (client) => {
    // Lock the existing rows first and remember their emails: the event needs the email before this import.
    const { rows: before } = await client.query(
      `SELECT line_user_id, email FROM friends WHERE tenant_id = $1 AND line_user_id = ANY($2::text[]) FOR UPDATE`,
      [tenantId, batch.map((r) => r.lineUserId)],
    );
    const oldEmail = new Map<string, string | null>(before.map((r) => [r.line_user_id, r.email]));
    const { rows } = await client.query(
      `INSERT INTO friends AS f (tenant_id, line_user_id, display_name, status, email, email_normalized, email_acquired_at,
                                 email_source, created_at, updated_at)
       SELECT $1, i.line_user_id, i.display_name, 'active', i.email, lower(i.email),
              CASE WHEN i.email IS NOT NULL THEN $5::timestamptz END, CASE WHEN i.email IS NOT NULL THEN 'import' END, $5, $5
       FROM unnest($2::text[], $3::text[], $4::text[]) AS i(line_user_id, display_name, email)
       ON CONFLICT (tenant_id, line_user_id) DO UPDATE SET
         display_name = coalesce(EXCLUDED.display_name, f.display_name),
         email = coalesce(EXCLUDED.email, f.email),
         email_normalized = coalesce(EXCLUDED.email_normalized, f.email_normalized),
         email_acquired_at = CASE WHEN EXCLUDED.email IS DISTINCT FROM f.email AND EXCLUDED.email IS NOT NULL THEN $5 ELSE f.email_acquired_at END,
         email_source = CASE WHEN EXCLUDED.email IS DISTINCT FROM f.email AND EXCLUDED.email IS NOT NULL THEN 'import' ELSE f.email_source END,
         updated_at = $5
       WHERE (EXCLUDED.display_name IS NOT NULL AND EXCLUDED.display_name IS DISTINCT FROM f.display_name)
          OR (EXCLUDED.email IS NOT NULL AND EXCLUDED.email IS DISTINCT FROM f.email)
       RETURNING f.id, f.line_user_id, f.email AS new_email, (xmax = 0) AS created`,
      [tenantId, batch.map((r) => r.lineUserId), batch.map((r) => r.displayName), batch.map((r) => r.email), now],
    );
    for (const r of rows) r.old_email = oldEmail.get(r.line_user_id) ?? null;
    const changes = rows
      .filter((r) => r.new_email !== null && r.new_email !== r.old_email)
      .map((r) => ({ tenantId, friendId: r.id as number, oldEmail: r.old_email, newEmail: r.new_email, source: 'import' as const, at: now }));
    await recordFriendEmailChanges(client, ctx.boss, changes);
    const created = rows.filter((r) => r.created).length;
    return { created, updated: rows.length - created };
  });
}
