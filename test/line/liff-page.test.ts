import vm from 'node:vm';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import liffAssets from '../../src/line/liff-assets.js';
import { liffMessageForCode, liffMessages, liffSdkBundle, liffSdkPath, renderLiffEmailPage } from '../../src/line/liff-page.js';
import { liffPageScript } from '../../src/line/liff-page-script.js';

const scriptUrl = '/liff/email.js?v=abc';
const opts = { liffId: '1650000001-AbCdEfGh', tenantId: 'tn_123', postUrl: '/liff/tn_123/email', sdkUrl: liffSdkPath, scriptUrl };

describe('renderLiffEmailPage', () => {
  const html = renderLiffEmailPage(opts);

  it('is a Japanese, mobile page wired to the tenant\'s LIFF app, post URL and the local SDK', () => {
    expect(html).toContain('<html lang="ja">');
    expect(html).toContain('name="viewport"');
    expect(html).toContain('"liffId":"1650000001-AbCdEfGh"');
    expect(html).toContain('"postUrl":"/liff/tn_123/email"');
    expect(html).toContain(`<script src="${liffSdkPath}"></script>`);
    expect(html).toContain(`<script src="${scriptUrl}"></script>`);
    expect(liffPageScript).toContain('liff.init({ liffId: config.liffId })');
    expect(liffPageScript).toContain('liff.getIDToken()');
  });

  it('loads nothing from anywhere else: no absolute URLs, no remote fonts, styles or images', () => {
    expect(html).not.toMatch(/https?:/i);
    expect(html).not.toMatch(/url\(|@import|<link|<img|<iframe/i);
    const refs = [...html.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1]);
    expect(refs).toEqual([liffSdkPath, scriptUrl]);
    expect(refs.every((r) => r!.startsWith('/') && !r!.startsWith('//'))).toBe(true);
  });

  it('cannot be broken out of by hostile settings', () => {
    const evil = renderLiffEmailPage({ ...opts, liffId: '</script><script>alert(1)</script>', sdkUrl: '/x"><script>alert(2)</script>' });
    expect(evil).not.toContain('<script>alert');
    expect(evil.match(/<script/g)).toHaveLength(3);
  });

  it('exports the same words the routes answer with', () => {
    expect(liffMessages.success).toBe('メールアドレスを登録しました');
    expect(liffMessageForCode('LIFF_TOKEN_EXPIRED')).toBe('有効期限が切れました。もう一度このページを開いてください。');
    expect(liffMessageForCode('LIFF_NOT_FRIEND')).toBe('先に公式アカウントを友だち追加してください。');
    expect(liffMessageForCode('LIFF_EMAIL_MISSING')).toMatch(/^LINEにメールアドレスが登録されていないか、メールアドレスの提供が許可されませんでした。/);
    expect(liffMessageForCode('SOMETHING_NEW')).toBe(liffMessages.failed);
  });
});

/** Runs the page's own script against a stub DOM, a stub LIFF SDK and a stub server; returns what the user would see. */
async function runPage(
  scenario: { inClient?: boolean; loggedIn?: boolean; idToken?: string | null; answer?: { status: number; body: unknown } | 'network-error'; loginTried?: boolean },
) {
  const html = renderLiffEmailPage(opts);
  const configJson = /<script type="application\/json" id="kizuna-liff-config">([\s\S]*?)<\/script>/.exec(html)![1]!;
  const script = liffPageScript;
  const elements = new Map<string, Record<string, unknown>>();
  // Each element starts as the HTML has it: hidden when its tag carries the attribute.
  for (const [tag, id] of html.matchAll(/<[a-z]+\b[^>]*\bid="([^"]+)"[^>]*>/g)) {
    elements.set(id!, { id, hidden: / hidden[ >]/.test(tag), textContent: '', href: '', setAttribute() {}, addEventListener() {} });
  }
  const el = (id: string) => elements.get(id)!;
  el('kizuna-liff-config').textContent = configJson;
  const storage = new Map<string, string>(scenario.loginTried ? [[`kizuna-liff-login:${opts.tenantId}`, '1']] : []);
  const posted: unknown[] = [];
  const calls: string[] = [];
  const liff = {
    init: async (c: { liffId: string }) => void calls.push(`init:${c.liffId}`),
    isInClient: () => scenario.inClient ?? true,
    isLoggedIn: () => scenario.loggedIn ?? true,
    login: (c: unknown) => void calls.push(`login:${JSON.stringify(c)}`),
    getIDToken: () => (scenario.idToken === undefined ? 'id.token.value' : scenario.idToken),
    closeWindow: () => void calls.push('close'),
    permanentLink: { createUrlBy: async () => 'line-permanent-link' },
  };
  const ctx: Record<string, unknown> = {
    liff,
    document: { getElementById: el },
    location: { href: 'https://crm.example/liff/tn_123/email' },
    sessionStorage: { getItem: (k: string) => storage.get(k) ?? null, setItem: (k: string, v: string) => storage.set(k, v), removeItem: (k: string) => storage.delete(k) },
    fetch: async (url: string, init: { body: string; headers: Record<string, string> }) => {
      posted.push({ url, headers: init.headers, body: JSON.parse(init.body) });
      const a = scenario.answer ?? { status: 200, body: { ok: true, email: 'hanako@example.jp' } };
      if (a === 'network-error') throw new TypeError('Failed to fetch');
      return { ok: a.status < 300, status: a.status, json: async () => a.body };
    },
  };
  ctx.window = ctx;
  vm.runInNewContext(script, ctx);
  const outcome = await (ctx.kizunaLiffEmail as Promise<string>);
  const shown = (id: string) => (el(id).hidden ? null : (el(id).textContent as string));
  return { outcome, posted, calls, message: shown('message'), help: shown('help'), detail: shown('detail'), el, storage };
}

describe('the page\'s script', () => {
  it('posts the ID token as JSON and shows success with the registered address', async () => {
    const r = await runPage({});
    expect(r.calls[0]).toBe('init:1650000001-AbCdEfGh');
    expect(r.posted).toEqual([{ url: '/liff/tn_123/email', headers: { 'content-type': 'application/json' }, body: { idToken: 'id.token.value' } }]);
    expect(r.outcome).toBe('success');
    expect(r.message).toBe('メールアドレスを登録しました');
    expect(r.detail).toBe('登録したメールアドレス：hanako@example.jp');
    expect(r.el('close').hidden).toBe(false);
  });

  it('explains how to allow the email when the token carried none', async () => {
    const r = await runPage({ answer: { status: 422, body: { error: { code: 'LIFF_EMAIL_MISSING', message: '…' } } } });
    expect(r.message).toBe(liffMessages.noEmail);
    expect(r.help).toContain('連動アプリ');
  });

  it('asks to reopen the page when the token expired', async () => {
    const r = await runPage({ answer: { status: 401, body: { error: { code: 'LIFF_TOKEN_EXPIRED', message: '…' } } } });
    expect(r.message).toBe('有効期限が切れました。もう一度このページを開いてください。');
  });

  it('asks to add the account as a friend first', async () => {
    const r = await runPage({ answer: { status: 403, body: { error: { code: 'LIFF_NOT_FRIEND', message: '…' } } } });
    expect(r.message).toBe('先に公式アカウントを友だち追加してください。');
  });

  it('offers a retry when the connection failed or the server answered something unexpected', async () => {
    const down = await runPage({ answer: 'network-error' });
    expect(down.message).toBe(liffMessages.unavailable);
    expect(down.el('retry').hidden).toBe(false);
    const odd = await runPage({ answer: { status: 500, body: null } });
    expect(odd.message).toBe(liffMessages.failed);
  });

  it('outside LINE, asks to open the page in LINE and links there without posting', async () => {
    const r = await runPage({ inClient: false });
    expect(r.outcome).toBe('OUTSIDE_LINE');
    expect(r.message).toBe(liffMessages.outsideLine);
    expect(r.el('open-in-line')).toMatchObject({ hidden: false, href: 'line-permanent-link' });
    expect(r.posted).toEqual([]);
  });

  it('logs in once when needed, back to this page, and does not loop', async () => {
    const first = await runPage({ loggedIn: false });
    expect(first.outcome).toBe('LOGIN_REDIRECT');
    expect(first.calls).toContain('login:{"redirectUri":"https://crm.example/liff/tn_123/email"}');
    const again = await runPage({ loggedIn: false, loginTried: true });
    expect(again.outcome).toBe('LOGIN_FAILED');
    expect(again.calls.some((c) => c.startsWith('login'))).toBe(false);
  });

  it('says the page is not set up when the LIFF app lacks the openid scope (no ID token)', async () => {
    const r = await runPage({ idToken: null });
    expect(r.outcome).toBe('NO_ID_TOKEN');
    expect(r.message).toBe(liffMessages.notConfigured);
  });
});

describe('the bundled LIFF SDK', () => {
  it('is valid JavaScript that defines window.liff, built once', async () => {
    const js = await liffSdkBundle();
    expect(await liffSdkBundle()).toBe(js);
    expect(() => new vm.Script(js)).not.toThrow();
    const ctx = browserLikeGlobal();
    vm.runInContext(js, ctx);
    const liff = ctx.liff as Record<string, unknown>;
    expect(typeof liff.init).toBe('function');
    expect(typeof liff.getIDToken).toBe('function');
    expect(typeof liff.login).toBe('function');
    expect((liff.getVersion as () => string)()).toBe(liffSdkPath.split('v=')[1]);
  });

  it('is served at /liff/sdk.js, cached long only under the current version', async () => {
    const app = Fastify();
    await app.register(liffAssets);
    const pinned = await app.inject(liffSdkPath);
    expect(pinned.statusCode).toBe(200);
    expect(pinned.headers['content-type']).toBe('application/javascript; charset=utf-8');
    expect(pinned.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(pinned.body).toBe(await liffSdkBundle());
    const unversioned = await app.inject('/liff/sdk.js');
    expect(unversioned.headers['cache-control']).toBe('public, max-age=300');
    const revalidated = await app.inject({ url: '/liff/sdk.js', headers: { 'if-none-match': pinned.headers.etag as string } });
    expect(revalidated.statusCode).toBe(304);
    await app.close();
  });
});

function browserLikeGlobal(): vm.Context {
  const storage = () => {
    const m = new Map<string, string>();
    return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => m.set(k, String(v)), removeItem: (k: string) => m.delete(k), clear: () => m.clear(), key: (i: number) => [...m.keys()][i] ?? null, get length() { return m.size; } };
  };
  const ctx: Record<string, unknown> = {
    navigator: { userAgent: 'Mozilla/5.0 (iPhone) Line/14.0.0', language: 'ja' },
    location: { href: 'https://crm.example/liff/x/email', hash: '', search: '' },
    document: { cookie: '', addEventListener() {}, documentElement: { style: { setProperty() {} } } },
    sessionStorage: storage(),
    localStorage: storage(),
    addEventListener() {},
    removeEventListener() {},
    console,
    Event,
    EventTarget,
    URL,
    URLSearchParams,
    TextEncoder,
    TextDecoder,
    setTimeout,
    clearTimeout,
  };
  ctx.window = ctx;
  ctx.self = ctx;
  return vm.createContext(ctx);
}
