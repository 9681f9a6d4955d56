import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('configuration', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      PORT: 3000,
      HOST: '127.0.0.1',
      SHOPIFY_API_VERSION: '2026-04',
      LINE_API_ORIGIN: 'https://api.line.me',
      SYNC_WINDOW: '00:00-02:00',
      SYNC_TIMEZONE: 'Asia/Tokyo',
      PUBLIC_URL: 'http://127.0.0.1:3000',
    });
    expect(c.DATA_DIR).toMatch(/\/data$/);
    expect(c.DATABASE_URL).toBeUndefined();
  });

  it('names every bad variable in one error', () => {
    let err: unknown;
    try {
      loadConfig({
        PORT: 'eighty',
        DATABASE_URL: 'mysql://x',
        KIZUNA_SECRET_KEY: 'short',
        SYNC_WINDOW: '25:00-02:00',
        SYNC_TIMEZONE: 'Mars/Olympus',
        SHOPIFY_API_ORIGIN: 'ftp://x',
        HOST: '127.0.0.1',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    for (const name of ['PORT', 'DATABASE_URL', 'KIZUNA_SECRET_KEY', 'SYNC_WINDOW', 'SYNC_TIMEZONE', 'SHOPIFY_API_ORIGIN']) {
      expect(msg).toContain(name);
    }
    expect(msg).not.toContain('HOST');
  });

  it('treats empty strings as unset and strips trailing slashes of origins', () => {
    const c = loadConfig({ PORT: '', PUBLIC_URL: 'https://crm.example.jp/', KIZUNA_SECRET_KEY: Buffer.alloc(32, 1).toString('base64') });
    expect(c.PORT).toBe(3000);
    expect(c.PUBLIC_URL).toBe('https://crm.example.jp');
  });
});
