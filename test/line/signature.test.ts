import { describe, expect, it } from 'vitest';
import { signLineBody, verifyLineSignature } from '../../src/line/signature.js';

const secret = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const body = Buffer.from('{"destination":"U0","events":[{"type":"message","message":{"type":"text","text":"こんにちは"}}]}');

describe('verifyLineSignature', () => {
  it('accepts the HMAC of the exact bytes', () => {
    expect(verifyLineSignature(body, secret, signLineBody(body, secret))).toBe(true);
  });

  it('is base64 of HMAC-SHA256 (RFC 4231 test case 2)', () => {
    // The RFC's hex digest, re-encoded: catches a switch to hex or base64url, which LINE's header would never match.
    const rfc = Buffer.from('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843', 'hex').toString('base64');
    expect(signLineBody('what do ya want for nothing?', 'Jefe')).toBe(rfc);
  });

  it('refuses a signature made with another secret', () => {
    expect(verifyLineSignature(body, secret, signLineBody(body, 'other-secret'))).toBe(false);
  });

  it('refuses a tampered body, even one differing only in whitespace', () => {
    const sig = signLineBody(body, secret);
    expect(verifyLineSignature(Buffer.from(body.toString().replace('こんにちは', 'こんばんは')), secret, sig)).toBe(false);
    expect(verifyLineSignature(Buffer.from(JSON.stringify(JSON.parse(body.toString()), null, 1)), secret, sig)).toBe(false);
  });

  it('refuses missing, empty, malformed, truncated and repeated headers', () => {
    const sig = signLineBody(body, secret);
    expect(verifyLineSignature(body, secret, undefined)).toBe(false);
    expect(verifyLineSignature(body, secret, '')).toBe(false);
    expect(verifyLineSignature(body, secret, 'not base64 at all!!')).toBe(false);
    expect(verifyLineSignature(body, secret, sig.slice(0, 20))).toBe(false);
    expect(verifyLineSignature(body, secret, Buffer.from(sig, 'base64').toString('hex'))).toBe(false);
    expect(verifyLineSignature(body, secret, [sig, sig])).toBe(false);
  });

  it('never verifies under an empty secret, which anyone could sign with', () => {
    expect(verifyLineSignature(body, '', signLineBody(body, ''))).toBe(false);
  });
});
