// Structured logs (pino, the logger Fastify ships with). Anything that may hold a secret is redacted by path, so a token pasted
// into a request body or header never reaches a log line.
// Logs go to stderr: a command's stdout carries only its result (`kizuna tenant create --json | jq` works). On a terminal they
// are readable lines (pino-pretty, in this thread: no transport worker); piped or under a supervisor, JSON lines.
import { pino, type Logger, type LoggerOptions } from 'pino';
import { PinoPretty } from 'pino-pretty';

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
  '*.METRICS_TOKEN',
  '*.DATABASE_URL',
  '*.SMTP_URL',
  '*.databaseUrl',
  '*.connectionString',
];

export function loggerOptions(level: string): LoggerOptions {
  return { level, redact: { paths: redactPaths, censor: '[redacted]' }, base: { pid: process.pid } };
}

export type LogFormat = 'json' | 'pretty' | 'auto';

/** `auto`: pretty when stderr is a terminal, JSON otherwise. */
export function createLogger(level = process.env.LOG_LEVEL ?? 'info', format: LogFormat = 'auto'): Logger {
  const pretty = format === 'pretty' || (format === 'auto' && process.stderr.isTTY === true);
  const destination = pretty
    ? PinoPretty({ destination: 2, sync: true, colorize: process.stderr.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' })
    : pino.destination({ dest: 2, sync: true });
  return pino(loggerOptions(level), destination);
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
