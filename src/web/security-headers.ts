// Security headers on every answer (admin UI, API, LIFF page), through @fastify/helmet.
// - The admin UI and API: a Content-Security-Policy without inline script (the UI's behaviour is /assets/admin.js), no
//   framing at all (frame-ancestors 'none' + X-Frame-Options: DENY), so buttons such as 配信する and 連携を解除 cannot be
//   clickjacked; nosniff; no Referer leaves the site; HSTS when PUBLIC_URL is https (over plain http it would be ignored, and
//   on a development machine it would pin localhost to https).
// - The LIFF page (/liff/:tenantId/email) runs inside LINE's in-app browser with the LIFF SDK, which loads its extensions
//   from LINE's CDN, talks to LINE's API and may open LINE's login and sub-window pages: those origins, and nothing else.
//   Inline styles stay allowed: the pages carry one constant style sheet each, and styles cannot run code.
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';

type Directives = Record<string, string[]>;

const base: Directives = {
  'default-src': ["'self'"],
  'base-uri': ["'none'"],
  'object-src': ["'none'"],
  'script-src': ["'self'"],
  'style-src': ["'self'", "'unsafe-inline'"],
  'img-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
};

/** The origins the LIFF SDK (bundled from @line/liff) reaches from inside LINE. */
const LINE_SDK_ORIGINS = {
  script: ['https://static.line-scdn.net'],
  connect: ['https://api.line.me', 'https://access.line.me', 'https://liffsdk.line-scdn.net', 'https://uts-front.line-apps.com'],
  frame: ['https://liff.line.me', 'https://liff-subwindow.line.me', 'https://access.line.me'],
};

export function liffDirectives(config: Pick<Config, 'LINE_API_ORIGIN'>): Directives {
  return {
    ...base,
    'script-src': ["'self'", ...LINE_SDK_ORIGINS.script],
    'connect-src': ["'self'", ...new Set([config.LINE_API_ORIGIN, ...LINE_SDK_ORIGINS.connect])],
    'frame-src': LINE_SDK_ORIGINS.frame,
    'img-src': ["'self'", 'data:', 'https:'],
  };
}

/** The helmet options of the LIFF routes (route option `helmet`). */
export function liffHelmet(config: Pick<Config, 'LINE_API_ORIGIN'>) {
  return { contentSecurityPolicy: { useDefaults: false, directives: liffDirectives(config) } };
}

export async function registerSecurityHeaders(app: FastifyInstance, config: Pick<Config, 'PUBLIC_URL'>): Promise<void> {
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: { useDefaults: false, directives: base },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    hsts: config.PUBLIC_URL.startsWith('https:') ? { maxAge: 180 * 24 * 60 * 60, includeSubDomains: false } : false,
    // The LIFF SDK is served from this origin to pages of this origin; nothing is embedded cross-origin.
    crossOriginEmbedderPolicy: false,
  });
}
