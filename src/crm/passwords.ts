// Operator passwords: scrypt with OWASP's current minimum (N=2^17, r=8, p=1: 128 MiB and a few hundred milliseconds per
// attempt), a per-password salt, and the parameters stored with the hash — so hashes made with older, weaker parameters keep
// verifying and are replaced at the next successful login (needsRehash).
// Each attempt holds 128 MiB, so at most HASH_CONCURRENCY run at once; a flood of logins waits in a short queue and beyond it
// is told to retry (429), instead of taking the process's memory with it.
import crypto from 'node:crypto';
import { promisify } from 'node:util';
import { AppError, Codes } from '../errors.js';

const scrypt = promisify(crypto.scrypt) as (pw: string, salt: Buffer, len: number, opts: crypto.ScryptOptions) => Promise<Buffer>;

export const SCRYPT = { N: 2 ** 17, r: 8, p: 1 } as const;
const KEYLEN = 32;
/** Parameters older hashes may carry and still be verified (upgraded at next login). Anything outside is refused. */
const ACCEPTED_N = new Set([2 ** 15, 2 ** 16, 2 ** 17, 2 ** 18]);

const HASH_CONCURRENCY = 2;
const HASH_QUEUE = 32;
let running = 0;
const waiting: (() => void)[] = [];

async function limited<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= HASH_CONCURRENCY) {
    if (waiting.length >= HASH_QUEUE) throw new AppError(Codes.RATE_LIMITED, 'Too many logins are being checked at once; retry in a few seconds.');
    await new Promise<void>((resolve) => waiting.push(resolve));
  } else {
    running++;
  }
  try {
    return await fn();
  } finally {
    const next = waiting.shift();
    if (next) next(); // the slot passes to the next waiter
    else running--;
  }
}

function derive(password: string, salt: Buffer, len: number, params: { N: number; r: number; p: number }): Promise<Buffer> {
  return limited(() => scrypt(password.normalize('NFKC'), salt, len, { ...params, maxmem: 128 * params.N * params.r * params.p + 1024 * 1024 }));
}

export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.randomBytes(16);
  const hash = await derive(password, salt, KEYLEN, SCRYPT);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

function parse(stored: string): { N: number; r: number; p: number; salt: Buffer; hash: Buffer } | null {
  const [alg, n, r, p, salt, hash] = stored.split('$');
  const N = Number(n);
  if (alg !== 'scrypt' || !salt || !hash || !ACCEPTED_N.has(N) || r !== '8' || p !== '1') return null;
  return { N, r: 8, p: 1, salt: Buffer.from(salt, 'base64url'), hash: Buffer.from(hash, 'base64url') };
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const h = parse(stored);
  if (!h) return false;
  const actual = await derive(password, h.salt, h.hash.length, h);
  return crypto.timingSafeEqual(actual, h.hash);
}

/** True when `stored` was made with parameters other than today's: hash the password again after it verified. */
export function needsRehash(stored: string): boolean {
  const h = parse(stored);
  return !h || h.N !== SCRYPT.N || h.hash.length !== KEYLEN;
}
