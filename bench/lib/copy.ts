// Measure 1 (a): PostgreSQL's raw COPY of the rows a full sync leaves behind, into the same tables of the same database.
// "The same rows" are everything the sync's result consists of: the mirror (shopify_customers, one row per customer with the
// 22 typed values and the matching inputs), the links (shopify_links) and the custom data values (custom_values) — with the
// same indexes, constraints and foreign keys in place. COPY is the fastest way PostgreSQL has to take rows in, so its rate is
// the local limit for writing that result; the sync additionally downloads, parses, validates, maps, compares and matches.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';

const TABLES = ['shopify_customers', 'shopify_links', 'custom_values'] as const;

export interface CopyResult {
  rows: Record<string, number>;
  bytes: Record<string, number>;
  ms: Record<string, number>;
  totalMs: number;
}

export async function copyBaseline(url: string): Promise<CopyResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kizuna-bench-copy-'));
  const client = new pg.Client(url);
  await client.connect();
  try {
    const rows: Record<string, number> = {};
    const bytes: Record<string, number> = {};
    const ms: Record<string, number> = {};
    for (const t of TABLES) {
      const file = path.join(dir, `${t}.copy`);
      await pipeline(client.query(copyTo(`COPY ${t} TO STDOUT`)), fs.createWriteStream(file));
      bytes[t] = fs.statSync(file).size;
      rows[t] = (await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t}`)).rows[0].n;
    }
    await client.query(`TRUNCATE ${TABLES.join(', ')}`);
    await client.query('VACUUM ANALYZE');
    await client.query('CHECKPOINT');
    const t0 = performance.now();
    for (const t of TABLES) {
      const s = performance.now();
      await pipeline(fs.createReadStream(path.join(dir, `${t}.copy`), { highWaterMark: 1 << 20 }), client.query(copyFrom(`COPY ${t} FROM STDIN`)));
      ms[t] = performance.now() - s;
    }
    return { rows, bytes, ms, totalMs: performance.now() - t0 };
  } finally {
    await client.end();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
