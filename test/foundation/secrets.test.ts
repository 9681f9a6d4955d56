import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSecretBox, SecretBox, SecretKeyMismatchError, verifySecretKey } from '../../src/security/secrets.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { spawnKizuna } from '../helpers/proc.js';

describe('stored secrets', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it('round-trip with AES-256-GCM and never contain the plaintext', () => {
    const box = new SecretBox(crypto.randomBytes(32), 'k');
    const c = box.encrypt('shpat_0123456789abcdef');
    expect(c).not.toContain('shpat_');
    expect(box.encrypt('shpat_0123456789abcdef')).not.toBe(c); // fresh IV each time
    expect(box.decrypt(c)).toBe('shpat_0123456789abcdef');
    const tampered = c.slice(0, -2) + (c.endsWith('A') ? 'BB' : 'AA');
    expect(() => box.decrypt(tampered)).toThrow(SecretKeyMismatchError);
  });

  it('generate DATA_DIR/secret.key once, mode 0600, when KIZUNA_SECRET_KEY is unset', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kizuna-key-'));
    try {
      const a = loadSecretBox({ DATA_DIR: dir, KIZUNA_SECRET_KEY: undefined });
      const b = loadSecretBox({ DATA_DIR: dir, KIZUNA_SECRET_KEY: undefined });
      expect(b.decrypt(a.encrypt('x'))).toBe('x');
      expect(fs.statSync(path.join(dir, 'secret.key')).mode & 0o777).toBe(0o600);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a different key is reported clearly at start, not as a crash', async () => {
    const right = crypto.randomBytes(32).toString('base64');
    await verifySecretKey(db.pool, new SecretBox(Buffer.from(right, 'base64'), 'right'));
    await expect(verifySecretKey(db.pool, new SecretBox(crypto.randomBytes(32), 'wrong'))).rejects.toThrow(SecretKeyMismatchError);

    const wrong = crypto.randomBytes(32).toString('base64');
    const p = spawnKizuna(['migrate'], { DATABASE_URL: db.url, KIZUNA_SECRET_KEY: wrong, LOG_LEVEL: 'silent' });
    expect(await p.exited).toBe(1);
    expect(p.output().trim()).toMatch(/^kizuna: The secret key \(KIZUNA_SECRET_KEY\) is not the key that encrypted the stored credentials/);
    expect(p.output()).not.toContain(wrong);

    const ok = spawnKizuna(['migrate'], { DATABASE_URL: db.url, KIZUNA_SECRET_KEY: right, LOG_LEVEL: 'silent' });
    expect(await ok.exited).toBe(0);
  });
});
