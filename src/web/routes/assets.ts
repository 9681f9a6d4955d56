// The scripts the pages load, served by Kizuna itself (no inline script: see web/security-headers.ts). Each URL carries a
// hash of its content, so a page always loads the script of the same version and browsers may cache it for a year.
// Also the favicon, so no page asks for a file that does not exist.
import crypto from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { liffPageScript } from '../../line/liff-page-script.js';
import { adminScript } from '../ui/scripts.js';

interface Asset {
  path: string;
  type: string;
  body: string;
  etag: string;
  /** The URL to put in a page. */
  url: string;
}

function asset(path: string, type: string, body: string): Asset {
  const hash = crypto.createHash('sha256').update(body).digest('base64url').slice(0, 16);
  return { path, type, body, etag: `"${hash}"`, url: `${path}?v=${hash}` };
}

export const adminScriptAsset = asset('/assets/admin.js', 'application/javascript; charset=utf-8', adminScript);
export const liffScriptAsset = asset('/liff/email.js', 'application/javascript; charset=utf-8', liffPageScript);
// 絆's first character on LINE green: the tab shows something of Kizuna's instead of a 404 in every page's console.
const favicon = asset(
  '/favicon.ico',
  'image/svg+xml',
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#06c755"/>' +
    '<text x="16" y="23" font-size="20" text-anchor="middle" fill="#fff" font-family="sans-serif">絆</text></svg>',
);

export default async function assetRoutes(app: FastifyInstance): Promise<void> {
  for (const a of [adminScriptAsset, liffScriptAsset, favicon]) {
    app.get<{ Querystring: { v?: string } }>(a.path, { config: { auth: 'none' }, schema: { hide: true } }, async (req, reply) => {
      const pinned = req.query.v !== undefined && a.url.endsWith(`?v=${req.query.v}`);
      void reply
        .header('content-type', a.type)
        .header('cache-control', pinned ? 'public, max-age=31536000, immutable' : 'public, max-age=300')
        .header('etag', a.etag);
      if (req.headers['if-none-match'] === a.etag) return reply.status(304).send();
      return a.body;
    });
  }
}
