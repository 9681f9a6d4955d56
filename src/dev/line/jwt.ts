// Just enough JWT for the fake LINE Login: HS256 tokens signed with a channel secret, which is how LINE signs ID tokens for
// web logins. (LINE signs LIFF and native-app tokens with ES256 instead; the difference is invisible to Kizuna, which never
// checks signatures itself but asks the verify endpoint.)
import crypto from 'node:crypto';

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

export function signHs256(payload: Record<string, unknown>, secret: string): string {
  const head = `${b64url(JSON.stringify({ typ: 'JWT', alg: 'HS256' }))}.${b64url(JSON.stringify(payload))}`;
  return `${head}.${crypto.createHmac('sha256', secret).update(head).digest('base64url')}`;
}

export interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

/** The token's parts, or null for anything that is not a three-part JWT with JSON objects in it. */
export function decodeJwt(token: string): DecodedJwt | null {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p))) return null;
  try {
    const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as unknown;
    const payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as unknown;
    if (!isObject(header) || !isObject(payload)) return null;
    return { header, payload, signingInput: `${parts[0]}.${parts[1]}`, signature: Buffer.from(parts[2]!, 'base64url') };
  } catch {
    return null;
  }
}

export function hs256Valid(jwt: DecodedJwt, secret: string): boolean {
  if (jwt.header.alg !== 'HS256') return false;
  const expected = crypto.createHmac('sha256', secret).update(jwt.signingInput).digest();
  return expected.length === jwt.signature.length && crypto.timingSafeEqual(expected, jwt.signature);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
