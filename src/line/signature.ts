// LINE signs every webhook request: x-line-signature = base64(HMAC-SHA256(channel secret, raw request body)). The HMAC must be
// computed over the exact bytes received, so callers pass the raw body, never a re-serialised JSON object.
import crypto from 'node:crypto';

// A SHA-256 digest is 32 bytes: exactly 43 base64 characters and one '='. Anything else cannot be a LINE signature.
const SIGNATURE = /^[A-Za-z0-9+/]{43}=$/;

export function signLineBody(rawBody: Buffer | string, channelSecret: string): string {
  return crypto.createHmac('sha256', channelSecret).update(rawBody).digest('base64');
}

/**
 * True only when `signature` is the body's HMAC under `channelSecret`. A header sent twice (string[]) is refused rather than
 * guessed at; an empty secret never verifies, since anyone can compute an HMAC under the empty key.
 */
export function verifyLineSignature(rawBody: Buffer, channelSecret: string, signature: string | string[] | undefined): boolean {
  if (typeof signature !== 'string' || !SIGNATURE.test(signature) || !channelSecret) return false;
  const expected = crypto.createHmac('sha256', channelSecret).update(rawBody).digest();
  return crypto.timingSafeEqual(expected, Buffer.from(signature, 'base64'));
}
