// docs/configuration.md lists exactly the variables of src/config.ts's schema, with the defaults and messages the schema has.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, configKeys, loadConfig } from '../../src/config.js';
import { firstCode, readDoc, tableAfter } from './helpers.js';

const doc = readDoc('docs/configuration.md');
const rows = tableAfter(doc, '<!-- The test');
const byName = new Map(rows.map((r) => [r[0]!.replace(/`/g, ''), { defaultCell: r[1]!, meaning: r[2]!, accepted: r[3]! }]));

/** The problems loadConfig reports for one variable set to `value`. */
function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
}

// One value each variable refuses (HOST and DATA_DIR accept any non-empty value; empty means unset).
const bad: Record<string, string> = {
  PORT: '70000',
  DATABASE_URL: 'mysql://db/kizuna',
  KIZUNA_SECRET_KEY: 'c2hvcnQ=',
  PUBLIC_URL: 'ftp://crm.example.jp',
  SHOPIFY_API_ORIGIN: 'ftp://127.0.0.1:4010',
  SHOPIFY_API_VERSION: '2026-05',
  LINE_API_ORIGIN: 'ftp://api.line.me',
  SMTP_URL: 'http://smtp.example.jp',
  MAIL_FROM: 'ab',
  SYNC_WINDOW: '02:00-02:00',
  SYNC_TIMEZONE: 'Asia/Nowhere',
  LOG_LEVEL: 'loud',
  LOG_FORMAT: 'xml',
  TRUST_PROXY: 'everyone',
  WORKER_CONCURRENCY: '0',
  RETENTION_DAYS: '0',
  METRICS_TOKEN: 'short',
  WORKER_POLL_SECONDS: '0.1',
};

describe('docs/configuration.md', () => {
  it('has one row per variable of the schema, and no other', () => {
    expect([...byName.keys()].sort()).toEqual([...configKeys].sort());
    expect(rows).toHaveLength(configKeys.length);
  });

  it("README's summary table names the same variables", () => {
    const readme = tableAfter(readDoc('README.md'), '## Configuration').flatMap((r) => [...r[0]!.matchAll(/`([A-Z_]+)`/g)].map((m) => m[1]!));
    expect(readme.sort()).toEqual([...configKeys].sort());
  });

  it("gives each variable the schema's default", () => {
    const defaults = loadConfig({});
    for (const [name, { defaultCell }] of byName) {
      const actual = (defaults as Record<string, unknown>)[name];
      if (actual === undefined) {
        expect(defaultCell, name).toMatch(/^unset/);
        continue;
      }
      let documented = firstCode(defaultCell);
      expect(documented, name).not.toBeNull();
      documented = documented!.replace('HOST', String(defaults.HOST)).replace('PORT', String(defaults.PORT));
      if (name === 'DATA_DIR') documented = path.resolve(documented);
      expect(documented, name).toBe(String(actual));
    }
  });

  it('quotes the message every refused value gets, when Kizuna words it', () => {
    for (const name of configKeys) {
      if (name === 'HOST' || name === 'DATA_DIR') continue;
      expect(bad[name], `add a refused value of ${name} to this test`).toBeDefined();
      const [problem] = problems({ [name]: bad[name]! });
      expect(problem, name).toMatch(new RegExp(`^${name} `));
      const message = problem!.slice(name.length + 1);
      // zod's own wording ("Too big: …") is summarised in the doc; Kizuna's own ("must …") is quoted exactly.
      if (message.startsWith('must')) expect(byName.get(name)!.accepted, name).toContain(`"${message}"`);
    }
    for (const name of ['HOST', 'DATA_DIR']) expect(problems({ [name]: '/anything' }), name).toEqual([]);
  });

  it('shows the one-line message of a bad start as Kizuna prints it', () => {
    const line = `kizuna: Invalid environment: ${problems({ PORT: '70000', SYNC_WINDOW: '2-4' }).join('; ')}`;
    expect(doc).toContain(`$ PORT=70000 SYNC_WINDOW=2-4 npx kizuna serve\n${line}\n`);
  });

  it('names the variable of a value that is not a URL at all', () => {
    expect(problems({ PUBLIC_URL: 'example.com', LINE_API_ORIGIN: 'api.line.me' })).toEqual([
      'PUBLIC_URL must be an http(s) URL',
      'LINE_API_ORIGIN must be an http(s) URL',
    ]);
  });
});
