// Every environment variable Kizuna reads, parsed once through one schema. A bad start names every bad variable at once,
// so an operator fixes the whole environment in one go instead of one restart per mistake.
import net from 'node:net';
import path from 'node:path';
import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);
/** An http(s) URL, refused by name (never a bare "Invalid URL") when it is not one. */
const isHttpUrl = (u: string): boolean => {
  try {
    return /^https?:$/.test(new URL(u).protocol);
  } catch {
    return false;
  }
};
const origin = z
  .string()
  .refine(isHttpUrl, 'must be an http(s) URL')
  .transform((u) => u.replace(/\/+$/, ''));
const hhmm = /^([01]\d|2[0-3]):[0-5]\d$/;

/** An IPv4/IPv6 address, optionally with a /prefix (CIDR). */
function isAddressOrCidr(s: string): boolean {
  const [addr, prefix, ...rest] = s.split('/');
  if (rest.length || !addr || !net.isIP(addr)) return false;
  if (prefix === undefined) return true;
  const max = net.isIPv4(addr) ? 32 : 128;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= max;
}

/**
 * Which proxies may tell Kizuna the client's address (X-Forwarded-For): unset or `false` = none (the socket's address is the
 * client's); a number = that many proxy hops in front of Kizuna; otherwise a comma-separated list of proxy addresses/CIDRs.
 */
const trustProxy = z
  .string()
  .refine(
    (v) => v === 'false' || /^\d{1,2}$/.test(v) || v.split(',').every((p) => isAddressOrCidr(p.trim())),
    'must be false, a number of proxy hops (e.g. 1), or proxy addresses/CIDRs separated by commas (e.g. 10.0.0.0/8,127.0.0.1)',
  )
  .transform((v): false | number | string => (v === 'false' ? false : /^\d+$/.test(v) ? Number(v) : v.split(',').map((p) => p.trim()).join(',')))
  .optional();

const envSchema = z
  .object({
    PORT: port.default(3000).describe('listen port'),
    HOST: z.string().min(1).default('127.0.0.1').describe('listen address'),
    DATA_DIR: z.string().min(1).default('./data').describe('embedded PostgreSQL cluster and generated key file'),
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://')
      .optional()
      .describe('use this PostgreSQL instead of the embedded one'),
    KIZUNA_SECRET_KEY: z
      .string()
      .refine((s) => Buffer.from(s, 'base64').length === 32, 'must be 32 bytes encoded as base64 (openssl rand -base64 32)')
      .optional()
      .describe('encrypts stored Shopify credentials'),
    PUBLIC_URL: origin.optional().describe('base for webhook callback and LIFF URLs shown to operators'),
    SHOPIFY_API_ORIGIN: origin.optional().describe('send every Shopify call here instead (development Shopify)'),
    SHOPIFY_API_VERSION: z
      .string()
      .regex(/^\d{4}-(01|04|07|10)$/, 'must be a Shopify API version such as 2026-04')
      .default('2026-04'),
    LINE_API_ORIGIN: origin.default('https://api.line.me'),
    SMTP_URL: z.string().regex(/^smtps?:\/\//, 'must start with smtp:// or smtps://').optional(),
    MAIL_FROM: z.string().min(3).default('Kizuna <no-reply@kizuna.local>'),
    SYNC_WINDOW: z
      .string()
      .refine((w) => {
        const [a, b] = w.split('-');
        return !!a && !!b && hhmm.test(a) && hhmm.test(b) && a !== b;
      }, 'must be HH:MM-HH:MM, e.g. 00:00-02:00')
      .default('00:00-02:00'),
    SYNC_TIMEZONE: z
      .string()
      .refine((tz) => {
        try {
          new Intl.DateTimeFormat('en', { timeZone: tz });
          return true;
        } catch {
          return false;
        }
      }, 'must be an IANA time zone such as Asia/Tokyo')
      .default('Asia/Tokyo'),
    TRUST_PROXY: trustProxy.describe('proxies whose X-Forwarded-For is believed: false (default), a hop count, or addresses/CIDRs'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto').describe('auto: readable lines on a terminal, JSON lines otherwise'),
    WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2).describe('jobs one worker process runs at once'),
    METRICS_TOKEN: z
      .string()
      .min(16, 'must be at least 16 characters (e.g. openssl rand -hex 24)')
      .optional()
      .describe('GET /metrics answers only with Authorization: Bearer <METRICS_TOKEN>; unset: metrics are off'),
    RETENTION_DAYS: z.coerce
      .number()
      .int()
      .min(1)
      .max(3650)
      .default(30)
      .describe('days log-like tables (webhook deliveries, mail outbox, login failures…) are kept; runs are kept at least 90'),
    WORKER_POLL_SECONDS: z.coerce.number().min(0.5).max(60).default(2).describe('how often an idle worker looks for jobs'),
  })
  .transform((env) => ({
    ...env,
    DATA_DIR: path.resolve(env.DATA_DIR),
    TRUST_PROXY: env.TRUST_PROXY ?? (false as const),
    PUBLIC_URL: env.PUBLIC_URL ?? `http://${env.HOST.includes(':') ? `[${env.HOST}]` : env.HOST}:${env.PORT}`,
  }));

export type Config = z.output<typeof envSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid environment: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment (empty strings count as unset, as in most .env tooling). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const input: Record<string, string> = {};
  for (const key of Object.keys(envSchema.in.shape)) {
    const v = env[key];
    if (v !== undefined && v.trim() !== '') input[key] = v.trim();
  }
  const parsed = envSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'env'} ${i.message}`);
    throw new ConfigError(problems);
  }
  return parsed.data;
}

/** Names and descriptions, for the README's table and `kizuna --help`. */
export const configKeys = Object.keys(envSchema.in.shape);
