// Secrets at rest (Shopify tokens and client secrets, LINE channel secrets and access tokens) are encrypted with AES-256-GCM
// under KIZUNA_SECRET_KEY, or under a key generated once into DATA_DIR/secret.key (mode 0600) when the variable is unset.
// Ciphertexts are versioned text ("v1:" iv:tag:data, base64url) so the format can change without guessing.
// A wrong key is detected at start against a known value encrypted with the right one, and reported as such, instead of
// failing later on the first decrypt.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import type { Queryable } from '../db/index.js';

export class SecretKeyMismatchError extends Error {
  constructor(source: string) {
    super(
      `The secret key (${source}) is not the key that encrypted the stored credentials. ` +
        'Start Kizuna with the KIZUNA_SECRET_KEY (or DATA_DIR/secret.key) it was first started with; ' +
        'if that key is lost, the stored Shopify and LINE credentials must be entered again.',
    );
    this.name = 'SecretKeyMismatchError';
  }
}

export class SecretBox {
  constructor(
    private readonly key: Buffer,
    readonly source: string,
  ) {
    if (key.length !== 32) throw new Error('secret key must be 32 bytes');
  }

  encrypt(plaintext: string): string {
    const iv = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.key, iv);
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), data.toString('base64url')].join(':');
  }

  decrypt(ciphertext: string): string {
    const [version, iv, tag, data] = ciphertext.split(':');
    if (version !== 'v1' || !iv || !tag || data === undefined) throw new Error('not a Kizuna ciphertext');
    const decipher = crypto.createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    try {
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretKeyMismatchError(this.source);
    }
  }
}

/** The key from KIZUNA_SECRET_KEY, else DATA_DIR/secret.key, generated on first use. */
export function loadSecretBox(config: Pick<Config, 'KIZUNA_SECRET_KEY' | 'DATA_DIR'>): SecretBox {
  if (config.KIZUNA_SECRET_KEY) return new SecretBox(Buffer.from(config.KIZUNA_SECRET_KEY, 'base64'), 'KIZUNA_SECRET_KEY');
  const file = path.join(config.DATA_DIR, 'secret.key');
  fs.mkdirSync(config.DATA_DIR, { recursive: true, mode: 0o700 });
  try {
    fs.writeFileSync(file, crypto.randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const key = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new Error(`${file} does not hold a 32-byte base64 key; restore it or set KIZUNA_SECRET_KEY`);
  return new SecretBox(key, file);
}

const CHECK_PLAINTEXT = 'kizuna-secret-key-check';

/**
 * Compares the key with the one the database was first used with (kizuna_settings 'secret_key_check'); records it on first use.
 * Throws SecretKeyMismatchError for a different key.
 */
export async function verifySecretKey(db: Queryable, box: SecretBox): Promise<void> {
  await db.query(
    `INSERT INTO kizuna_settings (key, value) VALUES ('secret_key_check', $1) ON CONFLICT (key) DO NOTHING`,
    [box.encrypt(CHECK_PLAINTEXT)],
  );
  const { rows } = await db.query<{ value: string }>(`SELECT value FROM kizuna_settings WHERE key = 'secret_key_check'`);
  if (box.decrypt(rows[0].value) !== CHECK_PLAINTEXT) throw new SecretKeyMismatchError(box.source);
}
