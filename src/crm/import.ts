// Friend import from CSV (header line_user_id,display_name,email), for brands moving from another tool. Good lines are
// imported, each bad one is reported with its line number and reason. The file is read as a stream (the API's request body,
// the CLI's file) and never held whole: rows are written in batches (default 1000) as they are read, each batch in one
// transaction with one set-based upsert, so a crash never leaves half a batch: the report (or the IMPORT_INTERRUPTED error)
// says which lines are saved, and since re-importing updates by line_user_id instead of duplicating, running the same file
// again completes it. An email set or changed by the import emits the friend-email-changed event (source 'import').
// Report messages are Japanese: they are shown to the brand's operators as they are (UI, CLI).
//
// Limits (whatever the file holds, an import takes time linear in its size and memory independent of it):
// - MAX_FILE_BYTES: a larger file is refused (413 PAYLOAD_TOO_LARGE) — at once when its size is announced, otherwise when
//   reading passes the limit (batches saved before then stay saved; the error says through which line).
// - MAX_DATA_ROWS data lines (blank lines not counted): the line after them is reported and the rest is not read.
// - A line longer than MAX_LINE_BYTES, or a quoted field running over more than MAX_RECORD_LINES lines / MAX_RECORD_CHARS,
//   is reported and skipped (src/crm/csv.ts).
// - Errors: every one is counted (errorCount); the first MAX_REPORTED_ERRORS by line are listed (errors).
// - MAX_CONCURRENT_IMPORTS per process: an import holds one database connection from its first batch to its end (the file's
//   line_user_ids are kept in a temporary table there, to report duplicates without keeping them in memory), so the imports
//   of a slow upload cannot take the whole pool.
// The work yields to the event loop every few milliseconds, so other requests (and /healthz) are answered during an import.
import { Readable } from 'node:stream';
import type pg from 'pg';
import type { AppContext } from '../context.js';
import { AppError, Codes } from '../errors.js';
import { unstorableKind } from '../input.js';
import { CrmCodes } from './codes.js';
import { CsvReader, MAX_LINE_BYTES, MAX_RECORD_LINES, type CsvEncoding, type CsvErrorKind, type CsvRecord } from './csv.js';
import { recordFriendEmailChanges } from './events.js';
import { LINE_USER_ID_RE } from './friends.js';
import { isEmail } from './operators.js';

/** The largest file accepted: room for MAX_DATA_ROWS lines of ~130 bytes (a LINE user id, a Japanese name, an email). */
export const MAX_FILE_BYTES = 256 * 1024 * 1024;
/** Data lines read from one file; the line after them is reported and the rest of the file is not read. */
export const MAX_DATA_ROWS = 2_000_000;
/** Errors listed in the report (the first ones by line); errorCount counts them all. */
export const MAX_REPORTED_ERRORS = 100;
/** Rows per transaction. */
export const DEFAULT_BATCH_SIZE = 1000;
/** Imports running at once in one process; another one is refused with 429 RATE_LIMITED until one ends. */
export const MAX_CONCURRENT_IMPORTS = 2;
/** How much of a wrong header an error message quotes. */
const HEADER_QUOTE_CHARS = 200;
/** Reading and checking lines gives the event loop a turn at least this often (ms). */
const YIELD_AFTER_MS = 2;

export { MAX_LINE_BYTES, MAX_RECORD_LINES };

export interface ImportError {
  line: number;
  message: string;
}

export interface ImportReport {
  created: number;
  updated: number;
  /** Lines whose friend already had exactly these values. */
  unchanged: number;
  /** The first MAX_REPORTED_ERRORS errors, by line. */
  errors: ImportError[];
  /** Every error, listed or not. */
  errorCount: number;
  encoding: CsvEncoding;
}

/** The file: a stream (request body, fs.createReadStream), any async iterable of chunks, or a whole Buffer. */
export type CsvSource = Buffer | Readable | AsyncIterable<Buffer | Uint8Array | string>;

export interface ImportOptions {
  batchSize?: number;
  /** Refuse the file beyond this many bytes (default MAX_FILE_BYTES). */
  maxBytes?: number;
  /** Called after each committed batch (CLI progress). */
  onBatch?: (progress: { done: number; throughLine: number; bytesRead: number }) => void;
}

const COLUMNS = ['line_user_id', 'display_name', 'email'] as const;
type Column = (typeof COLUMNS)[number];

interface Row {
  line: number;
  lineUserId: string;
  displayName: string | null;
  email: string | null;
}

function parseError(kind: CsvErrorKind, encoding: CsvEncoding): string {
  switch (kind) {
    case 'unclosed-quote':
      return `引用符（"）が閉じられていません（引用符の中の改行は${MAX_RECORD_LINES}行まで）`;
    case 'stray-quote':
      return '引用符（"）の後に区切り文字（,）がありません';
    case 'line-too-long':
      return `行が長すぎます（${MAX_LINE_BYTES / 1024}KiBまで）`;
    case 'invalid-encoding':
      return `${encoding === 'shift_jis' ? 'Shift_JIS' : 'UTF-8'} として読めない文字があります（文字コードはファイルの先頭で判定しています）`;
  }
}

let running = 0;

/**
 * Imports a CSV file's friends into the tenant. An empty display_name or email keeps the stored one (an import never erases
 * an email acquired through LIFF). Imported friends are 'active'; an existing friend keeps its status. Throws INVALID_CSV
 * (nothing imported) when the header is missing or wrong.
 */
export async function importFriendsCsv(
  ctx: Pick<AppContext, 'db' | 'boss' | 'clock' | 'log'>,
  tenantId: string,
  source: CsvSource,
  opts: ImportOptions = {},
): Promise<ImportReport> {
  if (running >= MAX_CONCURRENT_IMPORTS) {
    throw new AppError(Codes.RATE_LIMITED, `${MAX_CONCURRENT_IMPORTS} imports are already running; retry when one has finished.`);
  }
  running++;
  const run = new ImportRun(ctx, tenantId, opts);
  try {
    return await run.read(source);
  } finally {
    await run.close();
    running--;
  }
}

/** The first MAX_REPORTED_ERRORS errors by line (they are not found in line order: duplicates show when their batch is written). */
class ErrorList {
  private items: ImportError[] = [];
  private last: ImportError | undefined;
  count = 0;

  add(line: number, message: string): void {
    this.count++;
    const items = this.items;
    if (items.length === MAX_REPORTED_ERRORS && line >= items[items.length - 1]!.line) return;
    let i = items.length;
    while (i > 0 && items[i - 1]!.line > line) i--;
    items.splice(i, 0, { line, message });
    if (items.length > MAX_REPORTED_ERRORS) items.pop();
  }

  /** The error that stopped reading: always listed, last. */
  stop(e: ImportError): void {
    this.count++;
    this.last = e;
  }

  list(): ImportError[] {
    return this.last ? [...this.items.slice(0, MAX_REPORTED_ERRORS - 1), this.last] : [...this.items];
  }
}

class ImportRun {
  private readonly reader = new CsvReader();
  private readonly batchSize: number;
  private readonly maxBytes: number;
  private readonly errors = new ErrorList();
  private columns: { names: string[]; index: Record<Column, number> } | undefined;
  private batch: Row[] = [];
  /** line_user_id → line, for the batch being filled (earlier batches are in the temporary table). */
  private batchIds = new Map<string, number>();
  private created = 0;
  private updated = 0;
  private unchanged = 0;
  private dataRows = 0;
  private bytesRead = 0;
  private committedThroughLine = 0;
  private stopped = false;
  private client: pg.PoolClient | undefined;
  private clientBroken = false;
  private lastYield = performance.now();

  constructor(
    private readonly ctx: Pick<AppContext, 'db' | 'boss' | 'clock' | 'log'>,
    private readonly tenantId: string,
    private readonly opts: ImportOptions,
  ) {
    this.batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
    this.maxBytes = opts.maxBytes ?? MAX_FILE_BYTES;
  }

  async read(source: CsvSource): Promise<ImportReport> {
    for await (const chunk of chunksOf(source, () => this.details())) {
      this.bytesRead += chunk.length;
      if (this.bytesRead > this.maxBytes) throw this.tooLarge();
      this.reader.write(chunk);
      await this.takeRecords();
      if (this.stopped) break;
    }
    if (!this.stopped) {
      this.reader.end();
      await this.takeRecords();
    }
    if (!this.columns) {
      throw new AppError(CrmCodes.INVALID_CSV, 'The CSV is empty; its first line must be line_user_id,display_name,email.');
    }
    await this.flush();
    return this.report();
  }

  /** Every record the reader can give from the input so far (each read() is a bounded piece of work). */
  private async takeRecords(): Promise<void> {
    for (let recs; (recs = this.reader.read()) !== null; ) {
      for (const rec of recs) {
        if (this.take(rec)) await this.flush();
        if (this.stopped) return;
      }
      await this.yieldSometimes();
    }
  }

  async close(): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.client = undefined;
    if (this.clientBroken) {
      client.release(true);
      return;
    }
    try {
      await client.query('DROP TABLE IF EXISTS pg_temp.kizuna_import_seen');
      client.release();
    } catch (e) {
      client.release(e as Error); // a session that may still hold the table is not given back to the pool
    }
  }

  private report(): ImportReport {
    return {
      created: this.created,
      updated: this.updated,
      unchanged: this.unchanged,
      errors: this.errors.list(),
      errorCount: this.errors.count,
      encoding: this.reader.encoding ?? 'utf-8',
    };
  }

  private details(): Record<string, unknown> {
    return { ...this.report(), committedThroughLine: this.committedThroughLine };
  }

  private tooLarge(): AppError {
    return new AppError(
      Codes.PAYLOAD_TOO_LARGE,
      `The file is larger than ${this.maxBytes} bytes; split it (at most ${MAX_DATA_ROWS} lines per file).` +
        (this.committedThroughLine ? ` Lines through ${this.committedThroughLine} were saved; importing them again is safe.` : ''),
      this.details(),
    );
  }

  private async yieldSometimes(): Promise<void> {
    if (performance.now() - this.lastYield < YIELD_AFTER_MS) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.lastYield = performance.now();
  }

  /** One record: the header, or a data line checked and added to the batch. True when the batch is full. */
  private take(rec: CsvRecord): boolean {
    if (!this.columns) {
      this.columns = this.readHeader(rec);
      return false;
    }
    if (++this.dataRows > MAX_DATA_ROWS) {
      this.errors.stop({ line: rec.line, message: `データ行が${MAX_DATA_ROWS.toLocaleString('en-US')}行を超えたため、この行から後は取り込んでいません` });
      this.stopped = true;
      return false;
    }
    const row = this.check(rec);
    if (typeof row === 'string') {
      this.errors.add(rec.line, row);
      return false;
    }
    this.batch.push(row);
    this.batchIds.set(row.lineUserId, row.line);
    return this.batch.length >= this.batchSize;
  }

  private readHeader(rec: CsvRecord): { names: string[]; index: Record<Column, number> } {
    const expected = 'it must be line_user_id,display_name,email (email values may be empty)';
    if (rec.error === 'line-too-long') {
      throw new AppError(CrmCodes.INVALID_CSV, `The first line of the CSV is longer than ${MAX_LINE_BYTES} bytes; ${expected}.`);
    }
    if (rec.error !== undefined) throw new AppError(CrmCodes.INVALID_CSV, `The CSV header cannot be read; ${expected}.`);
    const names = rec.fields.map((h) => h.trim().toLowerCase());
    const index = Object.fromEntries(COLUMNS.map((c) => [c, names.indexOf(c)])) as Record<Column, number>;
    const unknown = names.filter((n) => !(COLUMNS as readonly string[]).includes(n));
    if (index.line_user_id < 0 || unknown.length || new Set(names).size !== names.length) {
      const header = rec.fields.join(',');
      const quoted = header.length > HEADER_QUOTE_CHARS ? `${header.slice(0, HEADER_QUOTE_CHARS)}…` : header;
      throw new AppError(CrmCodes.INVALID_CSV, `The CSV header is "${quoted}"; ${expected}.`);
    }
    return { names, index };
  }

  /** The row to import, or why the line cannot be imported. */
  private check(rec: CsvRecord): Row | string {
    const { names, index } = this.columns!;
    if (rec.error !== undefined) return parseError(rec.error, this.reader.encoding!);
    const fields = rec.fields;
    if (fields.length !== names.length) return `列の数が${names.length}ではありません（${fields.length}列）`;
    for (let k = 0; k < fields.length; k++) {
      const kind = unstorableKind(fields[k]!);
      const why = kind === 'nul' ? 'U+0000' : kind === 'surrogate' ? '対になっていないサロゲート' : null;
      if (why) return `${names[k]} に保存できない文字（${why}）が含まれています`;
    }
    const lineUserId = fields[index.line_user_id]!.trim();
    const displayName = index.display_name < 0 ? '' : fields[index.display_name]!.trim();
    const email = index.email < 0 ? '' : fields[index.email]!.trim();
    if (!LINE_USER_ID_RE.test(lineUserId)) {
      return lineUserId ? `line_user_id「${lineUserId.slice(0, 40)}」の形式が正しくありません（Uと32桁の英数字）` : 'line_user_id が空です';
    }
    if (displayName.length > 200) return '表示名が長すぎます（200文字まで）';
    if (email && !isEmail(email)) return `メールアドレス「${email.slice(0, 80)}」の形式が正しくありません`;
    const first = this.batchIds.get(lineUserId);
    if (first !== undefined) return `line_user_id が${first}行目と重複しています`;
    return { line: rec.line, lineUserId, displayName: displayName || null, email: email || null };
  }

  /** Writes the batch in one transaction; duplicates of earlier batches' lines are reported instead. */
  private async flush(): Promise<void> {
    const batch = this.batch;
    if (!batch.length) return;
    this.batch = [];
    this.batchIds = new Map();
    let dupOf = new Map<string, number>();
    let counts = { created: 0, updated: 0, written: 0 };
    let client: pg.PoolClient | undefined;
    try {
      client = await this.connect();
      await client.query('BEGIN');
      const ids = batch.map((r) => r.lineUserId);
      const { rows: seen } = await client.query<{ line_user_id: string; line: number }>(
        `SELECT line_user_id, line FROM pg_temp.kizuna_import_seen WHERE line_user_id = ANY($1::text[])`,
        [ids],
      );
      dupOf = new Map(seen.map((r) => [r.line_user_id, r.line]));
      const fresh = dupOf.size ? batch.filter((r) => !dupOf.has(r.lineUserId)) : batch;
      if (fresh.length) {
        await client.query(`INSERT INTO pg_temp.kizuna_import_seen (line_user_id, line) SELECT * FROM unnest($1::text[], $2::int[])`, [
          fresh.map((r) => r.lineUserId),
          fresh.map((r) => r.line),
        ]);
        counts = { ...(await upsertFriends(this.ctx, client, this.tenantId, fresh)), written: fresh.length };
      }
      await client.query('COMMIT');
    } catch (e) {
      if (client) await client.query('ROLLBACK').catch(() => (this.clientBroken = true));
      else this.clientBroken = true;
      this.ctx.log.error({ err: e, tenantId: this.tenantId, fromLine: batch[0]!.line }, 'friend import interrupted');
      throw new AppError(
        CrmCodes.IMPORT_INTERRUPTED,
        `The import stopped at the batch starting on line ${batch[0]!.line}; lines before it are saved. Run the same file again to finish.`,
        { ...this.report(), committedThroughLine: this.committedThroughLine, failedFromLine: batch[0]!.line },
        { cause: e },
      );
    }
    this.created += counts.created;
    this.updated += counts.updated;
    this.unchanged += counts.written - counts.created - counts.updated;
    for (const r of batch) {
      const first = dupOf.get(r.lineUserId);
      if (first !== undefined) this.errors.add(r.line, `line_user_id が${first}行目と重複しています`);
    }
    this.committedThroughLine = batch.at(-1)!.line;
    this.lastYield = performance.now(); // the database round trips gave the event loop its turns
    this.opts.onBatch?.({ done: this.created + this.updated + this.unchanged, throughLine: this.committedThroughLine, bytesRead: this.bytesRead });
  }

  /** The import's own connection, with the temporary table of the line_user_ids imported so far (and their lines). */
  private async connect(): Promise<pg.PoolClient> {
    if (this.client) return this.client;
    const client = await this.ctx.db.pool.connect();
    this.client = client;
    await client.query(`DROP TABLE IF EXISTS pg_temp.kizuna_import_seen`);
    await client.query(`CREATE TEMPORARY TABLE kizuna_import_seen (line_user_id text PRIMARY KEY, line integer NOT NULL)`);
    return client;
  }
}

/**
 * The source as Buffers. A stream is read without being destroyed when the import stops early: a request body destroyed
 * would close the connection before the route answers.
 */
async function* chunksOf(source: CsvSource, details: () => Record<string, unknown>): AsyncGenerator<Buffer> {
  if (Buffer.isBuffer(source)) {
    yield source;
    return;
  }
  const iterable: AsyncIterable<Buffer | Uint8Array | string> =
    source instanceof Readable ? { [Symbol.asyncIterator]: () => source.iterator({ destroyOnReturn: false }) } : source;
  const it = iterable[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next: IteratorResult<Buffer | Uint8Array | string>;
      try {
        next = await it.next();
      } catch (e) {
        throw new AppError(Codes.BAD_REQUEST, `The file could not be read to its end (${(e as Error).message}).`, details(), { cause: e });
      }
      if (next.done) return;
      const c = next.value;
      yield typeof c === 'string' ? Buffer.from(c, 'utf8') : Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
    }
  } finally {
    await Promise.resolve(it.return?.()).catch(() => {});
  }
}

async function upsertFriends(
  ctx: Pick<AppContext, 'boss' | 'clock'>,
  client: pg.PoolClient,
  tenantId: string,
  batch: Row[],
): Promise<{ created: number; updated: number }> {
  const now = ctx.clock.now();
  // Lock the existing rows first and remember their emails: the event needs the email before this import.
  const { rows: before } = await client.query<{ line_user_id: string; email: string | null }>(
    `SELECT line_user_id, email FROM friends WHERE tenant_id = $1 AND line_user_id = ANY($2::text[]) FOR UPDATE`,
    [tenantId, batch.map((r) => r.lineUserId)],
  );
  const oldEmail = new Map<string, string | null>(before.map((r) => [r.line_user_id, r.email]));
  const { rows } = await client.query<{ id: number; line_user_id: string; new_email: string | null; created: boolean }>(
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
  const changes = rows
    .map((r) => ({ ...r, old_email: oldEmail.get(r.line_user_id) ?? null }))
    .filter((r): r is typeof r & { new_email: string } => r.new_email !== null && r.new_email !== r.old_email)
    .map((r) => ({ tenantId, friendId: r.id, oldEmail: r.old_email, newEmail: r.new_email, source: 'import' as const, at: now }));
  await recordFriendEmailChanges(client, ctx.boss, changes);
  const created = rows.filter((r) => r.created).length;
  return { created, updated: rows.length - created };
}
