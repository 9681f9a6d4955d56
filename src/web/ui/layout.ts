// The admin UI's frame: header with the tenant name, the navigation, and one inline style sheet (no build step, no assets).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { adminScriptAsset } from '../routes/assets.js';
import { html, raw, type Html } from './html.js';

export interface NavItem {
  href: string;
  label: string;
  /** Paths starting with this prefix mark the item as current. */
  match: string;
  /** Shown only when this returns true for the request (e.g. only for tenants with a plan). */
  visible?: (req: FastifyRequest) => boolean;
}

/**
 * The navigation, in order. Later issues add their pages with addNavItem (e.g. 「外部データ連携」 → /settings/integrations/shopify)
 * when, and only when, the page exists.
 */
export const navItems: NavItem[] = [
  { href: '/friends', label: '友だち', match: '/friends' },
  { href: '/custom-data', label: 'カスタムデータ', match: '/custom-data' },
];

export function addNavItem(item: NavItem, opts: { after?: string } = {}): void {
  if (navItems.some((n) => n.href === item.href)) return;
  const i = opts.after ? navItems.findIndex((n) => n.href === opts.after) : -1;
  if (i >= 0) navItems.splice(i + 1, 0, item);
  else navItems.push(item);
}

const styles = `
:root { --fg:#1f2328; --muted:#656d76; --line:#d0d7de; --bg:#f6f8fa; --accent:#06c755; --accent-dark:#05a647; --danger:#cf222e; }
* { box-sizing: border-box; }
body { margin:0; color:var(--fg); background:var(--bg);
  font:14px/1.6 -apple-system,BlinkMacSystemFont,"Hiragino Sans","Hiragino Kaku Gothic ProN","Noto Sans JP",Meiryo,sans-serif; }
a { color:#0969da; text-decoration:none; } a:hover { text-decoration:underline; }
header { display:flex; align-items:center; gap:24px; padding:0 24px; height:52px; background:#fff; border-bottom:1px solid var(--line); }
header .brand { font-weight:700; font-size:16px; color:var(--fg); }
header nav { display:flex; gap:4px; flex:1; }
header nav a { padding:6px 12px; border-radius:6px; color:var(--fg); }
header nav a.current { background:var(--bg); font-weight:600; }
header .who { color:var(--muted); display:flex; gap:12px; align-items:center; }
main { max-width:1080px; margin:24px auto; padding:0 24px; }
h1 { font-size:20px; margin:0 0 16px; } h2 { font-size:16px; margin:24px 0 8px; }
.card { background:#fff; border:1px solid var(--line); border-radius:8px; padding:16px; margin-bottom:16px; }
table { width:100%; border-collapse:collapse; background:#fff; }
th, td { text-align:left; padding:8px 12px; border-bottom:1px solid var(--line); vertical-align:top; }
th { background:var(--bg); font-weight:600; white-space:nowrap; }
.muted { color:var(--muted); }
.badge { display:inline-block; padding:0 8px; border-radius:10px; font-size:12px; background:var(--bg); border:1px solid var(--line); color:var(--muted); }
.badge.ok { color:var(--accent-dark); border-color:var(--accent); }
.badge.ng { color:var(--danger); border-color:var(--danger); }
form.inline { display:flex; gap:8px; align-items:center; flex-wrap:wrap; }
input[type=text], input[type=email], input[type=password], input[type=search], input[type=number], input[type=date], select {
  padding:6px 10px; border:1px solid var(--line); border-radius:6px; font:inherit; background:#fff; }
button { padding:6px 14px; border:1px solid var(--accent-dark); border-radius:6px; background:var(--accent); color:#fff; font:inherit; cursor:pointer; }
button.secondary { background:#fff; color:var(--fg); border-color:var(--line); }
.pager { display:flex; gap:12px; align-items:center; margin-top:12px; }
.error { color:var(--danger); } .notice { color:var(--accent-dark); }
dl.props { display:grid; grid-template-columns:160px 1fr; gap:6px 16px; margin:0; } dl.props dt { color:var(--muted); } dl.props dd { margin:0; }
`;

/** What operators read for a custom data field's type. */
export const TYPE_LABELS: Record<string, string> = { text: 'テキスト', number: '数値', date: '日付' };

/** The hidden field every form of a logged-in page carries: the session's CSRF token. */
export function csrfField(req: FastifyRequest): Html {
  return html`<input type="hidden" name="_csrf" value="${req.csrfToken ?? ''}">`;
}

/** Sends a rendered page: HTML, never cached (pages show an operator's data). */
export function sendHtml(reply: FastifyReply, body: string, status = 200): FastifyReply {
  return reply.status(status).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(body);
}

export interface PageOptions {
  title: string;
  body: Html;
  /** Omit for pages shown before login. */
  req?: FastifyRequest;
}

export function page(opts: PageOptions): string {
  const req = opts.req;
  const path = req?.url.split('?')[0] ?? '';
  const header = req?.operator
    ? html`<header>
        <a class="brand" href="/friends">Kizuna</a>
        <nav>${navItems
          .filter((n) => !n.visible || n.visible(req))
          .map((n) => html`<a href="${n.href}" class="${path.startsWith(n.match) ? 'current' : ''}">${n.label}</a>`)}</nav>
        <div class="who"><span>${req.tenant.name}</span><span>${req.operator.email}</span>
          <form method="post" action="/logout">${csrfField(req)}<button class="secondary" type="submit">ログアウト</button></form>
        </div>
      </header>`
    : html``;
  return html`<!doctype html>
<html lang="ja">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
${req?.csrfToken ? html`<meta name="csrf-token" content="${req.csrfToken}">` : ''}
<title>${opts.title} | Kizuna</title>
<style>${raw(styles)}</style>
<script src="${adminScriptAsset.url}" defer></script>
</head>
<body>
${header}
<main>
${opts.body}
</main>
</body>
</html>
`.value;
}
