// Serves the bundled LIFF SDK at /liff/sdk.js. A request carrying the current version (?v=, as in liffSdkPath) may be cached
// for a year, because a new @line/liff version changes the URL; any other request gets a short cache, so a page rendered
// before an upgrade still loads, and browsers do not keep an old SDK under a URL that now means something else.
import crypto from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { liffSdkBundle, liffSdkVersion } from './liff-sdk.js';

let etag: string | undefined;

export default async function liffAssets(app: FastifyInstance): Promise<void> {
  app.get<{ Querystring: { v?: string } }>(
    '/liff/sdk.js',
    { schema: { hide: true } },
    async (req, reply) => {
      const js = await liffSdkBundle();
      etag ??= `"${crypto.createHash('sha256').update(js).digest('base64url').slice(0, 27)}"`;
      const pinned = req.query.v === liffSdkVersion;
      void reply
        .header('content-type', 'application/javascript; charset=utf-8')
        .header('cache-control', pinned ? 'public, max-age=31536000, immutable' : 'public, max-age=300')
        .header('etag', etag)
        .header('x-content-type-options', 'nosniff');
      if (req.headers['if-none-match'] === etag) return reply.status(304).send();
      return js;
    },
  );
}
