// Structured logs (pino, the logger Fastify ships with). Anything that may hold a secret is redacted by path, so a token pasted
// into a request body or header never reaches a log line.
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** Paths pino censors wherever they appear in a logged object (request headers, bodies, job payloads, configs). */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'req.headers["x-shopify-access-token"]',
  'req.headers["x-line-signature"]',
  'req.headers["x-shopify-hmac-sha256"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.accessToken',
  '*.access_token',
  '*.clientSecret',
  '*.client_secret',
  '*.apiToken',
  '*.token',
  '*.secret',
  '*.channelSecret',
  '*.channelAccessToken',
  '*.KIZUNA_SECRET_KEY',
  '*.DATABASE_URL',
  '*.SMTP_URL',
  '*.databaseUrl',
  '*.connectionString',
];

export function loggerOptions(level: string): LoggerOptions {
  return { level, redact: { paths: redactPaths, censor: '[redacted]' }, base: { pid: process.pid } };
}

export function createLogger(level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino(loggerOptions(level));
}

/** A URL safe to print: the password part of a connection string replaced. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '[unparseable url]';
  }
}
