// The email acquisition page, opened inside LINE as a LIFF app: one small HTML document with its style sheet inline and its
// script and the LIFF SDK served by Kizuna itself (/liff/email.js, /liff/sdk.js) — no fonts, images or CDNs, because the
// in-app browser is often on a phone connection and every third-party request is one more thing that can fail or track.
import { liffCodeMessageKeys, liffMessages } from './liff-messages.js';

export { liffMessages, liffMessageForCode, liffMessageKeyForCode, type LiffMessageKey } from './liff-messages.js';
export { liffSdkBundle, liffSdkPath, liffSdkVersion } from './liff-sdk.js';

export interface LiffEmailPageOptions {
  /** The tenant's LIFF app ID, e.g. 1234567890-AbcdEfgh. */
  liffId: string;
  tenantId: string;
  /** Where the page POSTs {"idToken"}; normally /liff/{tenantId}/email. */
  postUrl: string;
  /** The bundled SDK; normally liffSdkPath. */
  sdkUrl: string;
  /** The page's own script (liff-page-script.ts), served as a file: the page's CSP allows no inline script. */
  scriptUrl: string;
}

export function renderLiffEmailPage(opts: LiffEmailPageOptions): string {
  const config = {
    liffId: opts.liffId,
    tenantId: opts.tenantId,
    postUrl: opts.postUrl,
    messages: liffMessages,
    codes: liffCodeMessageKeys,
  };
  const m = liffMessages;
  return `<!doctype html>
<html lang="ja">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex">
<title>メールアドレスの登録</title>
<style>${styles}</style>
</head>
<body>
<main id="page" class="card" data-state="busy">
  <h1>メールアドレスの登録</h1>
  <p class="lead">LINEに登録されているメールアドレスを、この公式アカウントに登録します。</p>
  <div class="status" role="status" aria-live="polite">
    <div id="spinner" class="spinner" aria-hidden="true"></div>
    <p id="message" class="message">${escapeHtml(m.loading)}</p>
    <p id="detail" class="detail" hidden></p>
    <p id="help" class="help" hidden></p>
  </div>
  <div class="actions">
    <a id="open-in-line" class="button" hidden>${escapeHtml(m.openInLine)}</a>
    <button id="retry" class="button" type="button" hidden>${escapeHtml(m.retry)}</button>
    <button id="close" class="button secondary" type="button" hidden>${escapeHtml(m.close)}</button>
  </div>
</main>
<script type="application/json" id="kizuna-liff-config">${jsonForScript(config)}</script>
<script src="${escapeHtml(opts.sdkUrl)}"></script>
<script src="${escapeHtml(opts.scriptUrl)}"></script>
</body>
</html>
`;
}

const styles = `
:root { color-scheme: light dark; --green: #06c755; --fg: #111; --muted: #555; --bg: #f5f6f7; --card: #fff; }
@media (prefers-color-scheme: dark) { :root { --fg: #eee; --muted: #aaa; --bg: #111; --card: #1e1e1e; } }
* { box-sizing: border-box; }
body { margin: 0; min-height: 100vh; background: var(--bg); color: var(--fg);
  font: 16px/1.7 -apple-system, BlinkMacSystemFont, "Hiragino Sans", "Hiragino Kaku Gothic ProN", "Noto Sans JP", Meiryo, sans-serif;
  padding: max(16px, env(safe-area-inset-top)) 16px max(24px, env(safe-area-inset-bottom)); }
.card { max-width: 480px; margin: 0 auto; background: var(--card); border-radius: 16px; padding: 24px 20px; }
h1 { font-size: 1.25rem; margin: 0 0 8px; }
.lead { color: var(--muted); font-size: .9375rem; margin: 0 0 20px; }
.status { min-height: 96px; }
.message { font-size: 1.0625rem; font-weight: 600; margin: 0 0 8px; }
[data-state="done"] .message { color: var(--green); }
.detail { margin: 0 0 8px; word-break: break-all; }
.help { color: var(--muted); font-size: .9375rem; margin: 0; }
.spinner { width: 32px; height: 32px; margin: 8px 0 16px; border-radius: 50%; border: 3px solid rgba(127,127,127,.3);
  border-top-color: var(--green); animation: spin 1s linear infinite; }
@keyframes spin { to { transform: rotate(360deg); } }
@media (prefers-reduced-motion: reduce) { .spinner { animation: none; } }
.actions { display: flex; flex-direction: column; gap: 12px; margin-top: 24px; }
.button { display: block; width: 100%; min-height: 48px; padding: 12px; border: 0; border-radius: 10px; background: var(--green);
  color: #fff; font: inherit; font-weight: 600; text-align: center; text-decoration: none; cursor: pointer; }
.button.secondary { background: transparent; color: var(--fg); border: 1px solid rgba(127,127,127,.5); }
[hidden] { display: none !important; }
`;

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON that cannot end the <script> element it sits in, whatever the strings contain. */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
