// Hostile inputs for the route fuzz suite (fast-check arbitraries): strings with U+0000, lone surrogates and other control
// characters, very long and non-ASCII strings, numbers out of range and numbers written as strings, wrong types, deep and wide
// JSON, form bodies, CSV files, and percent-encoding that does not decode (%00, %ff). Everything here is pure: the routes'
// request shapes are in routes.ts, the server side in world.ts.
import fc from 'fast-check';

/** Characters and short sequences that have broken servers before; each is used alone and mixed into other strings. */
export const NASTY = [
  '\u0000', '\u0000\u0000', 'a\u0000', '\u0000a', '\uD800', '\uDBFF', '\uDC00', '\uDFFF', '\uD800\uD800', 'x\uDC00y',
  '\u0001', '\u0007', '\b', '\u000B', '\f', '\u001B', '\u001B[31m', '\u007F', '\u0080', '\u0085', '\u009F', '\u00A0', '\u00AD',
  '\u2028', '\u2029', '\u200B', '\u200E', '\u202E', '\u2066', '\uFEFF', '\uFFFD', '\uFFFE', '\uFFFF', '\r', '\n', '\r\n', '\t',
  '😀', '👩‍👩‍👧‍👦', '🇯🇵', '𠮷', 'ｶﾞ', '０１２', '日本語', 'e\u0301', 'ß', 'İ', 'ﬁ', 'Ω', '\u0345', '\u0600', '\u06DD',
  '%00', '%ff', '%FF%FE', '%', '%zz', '%c0%80', '%ed%a0%80', '%e3%81', '\\', '\\0', '\\u0000', '"', "'", '`', '<', '>', '&',
  '</script><script>', '${x}', '{{x}}', '../', '..\\', '/', '//', '?', '#', '=', ';', ',', ' ', '   ', '+', '%2F', 'null',
  'undefined', 'NaN', 'true', '[object Object]', '__proto__', 'constructor', 'prototype', "' OR 1=1 --", '$1', '\\x00',
];

/** One piece of a string: printable text, ASCII of any kind, a NASTY sequence, or any UTF-16 code unit (lone surrogates too). */
const unit = fc.oneof(
  { weight: 5, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 6 }) },
  { weight: 4, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) },
);

/** Strings at and around the lengths the product checks (names 100, emails 254, text 5000, condition text 10000…). */
export const longString = fc
  .tuple(
    fc.constantFrom(99, 100, 101, 200, 201, 254, 255, 256, 400, 401, 1000, 2000, 2001, 5000, 5001, 10_000, 10_001, 16_385, 70_000),
    fc.constantFrom('x', 'あ', '😀', ' ', '\u0000', 'a\u0000', '\uD800', '%'),
  )
  .map(([n, c]) => c.repeat(Math.max(1, Math.floor(n / c.length))));

/** Any hostile string. About one in four holds U+0000 or a lone surrogate. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 10, arbitrary: fc.array(unit, { maxLength: 5 }).map((a) => a.join('')) },
  { weight: 3, arbitrary: fc.constantFrom(...NASTY) },
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.string({ maxLength: 8 }), fc.constantFrom('\u0000', '\uD800', '\uDFFF', '\u0000\uD800'), fc.string({ maxLength: 8 }))
      .map(([a, b, c]) => a + b + c),
  },
  { weight: 1, arbitrary: longString },
);

/** Numbers the product should refuse or handle: out of every range, fractional, negative zero, beyond 2^53 and 2^63. */
export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      0, -0, -1, 1, 1.5, 0.1, 1e20, -1e20, 1e300, -1e300, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 2 ** 63, 2 ** 64, -(2 ** 63),
      Number.MAX_SAFE_INTEGER, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 1e-7, 36_500, 36_501, 8.64e15, 8.64e15 + 1,
    ),
  },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
);

/** Numbers written as strings: what a form or a careless client sends. */
export const numericString: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'NaN', 'Infinity', '-Infinity', '1e20', '1e400', '-1e400', '-1', '0', '-0', '00', '007', '0x1f', '0b1', '1_000', ' 1', '1 ',
      '+1', '.5', '5.', '1.', '1e', 'e1', '１２', '٣', '²', '9007199254740993', '9223372036854775807', '9223372036854775808',
      '18446744073709551616', '-9223372036854775809', '99999999999999999999999999999999999999', '1.7976931348623157e309', '',
      ' ', '1\u0000', '\u00001', '1%00', '1,000', '1e-400', '36501', '1.5', '4294967296',
    ),
  },
  { weight: 2, arbitrary: fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String) },
  { weight: 1, arbitrary: hostileNumber.map(String) },
);

/** Dates and times the way people and programs get them wrong. */
export const hostileDate: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '2026-11-28', '2026-02-29', '2028-02-29', '2026-02-30', '2026-13-01', '2026-00-10', '0000-01-01', '0001-01-01', '9999-12-31',
    '10000-01-01', '+275760-09-13', '-271821-04-20', '2026-1-1', '2026/11/28', '20261128', '2026-11-28T00:00:00Z',
    '2026-11-28 ', ' 2026-11-28', '2026-11-28\u0000', '２０２６-１１-２８', '1970-01-01', '1969-12-31', '4714-11-24 BC',
  ),
  fc
    .tuple(fc.integer({ min: -300_000, max: 300_000 }), fc.integer({ min: -1, max: 14 }), fc.integer({ min: -1, max: 33 }))
    .map(([y, m, d]) => `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`),
);

/** Date-times with offsets (scheduledAt, X-Shopify-Triggered-At): valid ones near the clock, and broken ones. */
export const hostileDateTime: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '2026-12-01T10:00:00+09:00', '2026-11-28T03:00:00Z', '2026-11-28T03:05:00.123456789Z', '2027-11-28T03:00:00Z',
    '2027-11-29T03:00:00Z', '2020-01-01T00:00:00Z', '+275760-09-13T00:00:00Z', '+275760-09-13T00:00:00.001Z',
    '-271821-04-20T00:00:00Z', '-000001-01-01T00:00:00Z', '0000-01-01T00:00:00Z', '2026-13-45T99:99:99+99:99',
    '2026-12-01T10:00:00+24:00', '2026-12-01T10:00', '2026-12-01T10:00:00', '2026-12-01 10:00:00+09:00', '2026-12-01T10:00:60Z',
    'Tue, 01 Dec 2026 10:00:00 GMT', '1e20', '0', '-1', '', 'now', '2026-12-01T10:00:00+09:00\u0000',
  ),
  fc.date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true }).map((d) => d.toISOString()),
);

export const hostileEmail: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(hostileString, fc.constantFrom('example.jp', 'example.com', 'ex\u0000ample.jp', 'ｅｘａｍｐｌｅ.jp', '例え.jp', 'x.y'))
      .map(([local, domain]) => `${local.replace(/[\s@]/g, '') || 'a'}@${domain}`),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'a\u0000b@example.jp', 'a@example.jp\u0000', '\u0000@example.jp', 'a@b\u0000.jp', 'テスト@example.jp', '😀@example.jp',
      'a\uD800@example.jp', `${'a'.repeat(250)}@x.jp`, `${'a'.repeat(64)}@${'b'.repeat(185)}.jp`, 'A@EXAMPLE.JP', ' a@example.jp ',
      'a@@example.jp', '@example.jp', 'a@', 'a@example', '"a b"@example.jp', 'a@[127.0.0.1]', 'a+tag@example.jp', 'İ@example.jp',
    ),
  },
  { weight: 1, arbitrary: hostileString },
);

/** JSON object keys: the names routes read, prototype names and hostile strings. */
export const KNOWN_KEYS = [
  'name', 'type', 'value', 'email', 'match', 'conditions', 'fieldId', 'op', 'segmentId', 'messages', 'text', 'scheduledAt',
  'storeDomain', 'accessToken', 'clientId', 'clientSecret', 'webhookSecret', 'mode', 'idToken', 'password', 'next', '_csrf',
  'id', 'events', 'destination', '__proto__', 'constructor', 'prototype', 'toString', '', '\u0000',
];
const jsonKey = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...KNOWN_KEYS) }, { weight: 1, arbitrary: hostileString });

const jsonLeaf: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  { weight: 2, arbitrary: hostileNumber },
  { weight: 2, arbitrary: numericString },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
);

/** Any JSON value of modest size: the wrong-type and odd-shape generator for every body and every property. */
export const hostileJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, jsonLeaf, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(jsonKey, tie('value'), { maxKeys: 4 }),
})).value;

/** A value in a spot that expects something else: any JSON, or an array / object / number where a string belongs. */
export const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  hostileJson,
  fc.constantFrom([], {}, [null], [''], [1], { length: 1 }, 0, true, false, null, [['x']], { 0: 'x' }),
);

/** Raw JSON text: deeply nested (stack depth), very wide (many keys / elements), duplicate keys, numbers JSON.parse rounds. */
const scale = (max: number) => fc.constantFrom(50, 500, 5_000, max);
export const rawJsonText: fc.Arbitrary<string> = fc.oneof(
  scale(20_000).map((n) => '['.repeat(n) + ']'.repeat(n)),
  scale(20_000).map((n) => '{"a":'.repeat(n) + '1' + '}'.repeat(n)),
  scale(20_000).map((n) => `{${Array.from({ length: n }, (_, i) => `"k${i}":${i}`).join(',')}}`),
  scale(50_000).map((n) => `[${Array.from({ length: n }, () => '0').join(',')}]`),
  fc.constantFrom(
    '{"name":"a","name":"b"}', '{"value":1e400}', '{"value":-1e400}', '{"value":99999999999999999999999999}', '{"name":"\\u0000"}',
    '{"name":"\\ud800"}', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}', '{', '}', '[', '"', 'nul', 'tru',
    '{"a":1,}', "{'a':1}", '\uFEFF{}', '{}\u0000', '\u0000', ' ', '\n', '01', '-', '1e', 'NaN', '{"a":"\u0000"}',
  ),
);

/**
 * Percent-encodes a string's UTF-8 bytes, lone surrogates as U+FFFD (as any client sends them). Fast on long strings (a
 * slow encoder here would stall the event loop the server shares with this suite, and /healthz with it).
 */
export function percentEncode(s: string): string {
  const wellFormed = s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
  return encodeURIComponent(wellFormed).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

/** A string as it goes into a URL: encoded, or (when it is already %-escapes such as %00 / %ff / %zz) left raw. */
export function urlPart(s: string, raw: boolean): string {
  if (raw && s.length < 200 && /^[\x21-\x7e]*$/.test(s) && !/[#?/]/.test(s)) return s;
  return percentEncode(s.slice(0, 8 * 1024)); // URLs are capped at 8 KiB anyway (routes.ts)
}

/** A form field value or key, encoded the way browsers do, or raw (broken %-escapes). */
export const formEncoded = (s: string, raw: boolean): string => (raw && s.length < 200 && /^[\x21-\x7e]*$/.test(s) && !/[&=#]/.test(s) ? s : percentEncode(s));

/** x-www-form-urlencoded bodies from key/value pairs, some keys repeated (arrays) and some escapes broken. */
export function formBody(pairs: [string, string][], raw: boolean): string {
  return pairs.map(([k, v]) => `${formEncoded(k, raw)}=${formEncoded(v, raw)}`).join('&');
}

/** Query strings: keys the route reads and hostile ones, values hostile, sometimes repeated or with broken escapes. */
export function queryArb(keys: string[]): fc.Arbitrary<string> {
  const key = keys.length ? fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...keys) }, { weight: 1, arbitrary: hostileString }) : hostileString;
  const value = fc.oneof(hostileString, numericString, hostileDate);
  return fc
    .record({ pairs: fc.array(fc.tuple(key, value), { maxLength: keys.length ? 4 : 2 }), raw: fc.boolean() })
    .map(({ pairs, raw }) => (pairs.length ? '?' + pairs.map(([k, v]) => `${urlPart(k, raw)}=${urlPart(v, raw)}`).join('&') : ''));
}

/** A LINE user id as LINE makes them (U + 32 hex), or something else in its place. */
export const lineUserIdish: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.stringMatching(/^U[0-9a-f]{32}$/) },
  { weight: 1, arbitrary: hostileString },
  { weight: 1, arbitrary: fc.constantFrom('U' + '0'.repeat(32), 'u' + 'a'.repeat(32), 'U' + 'A'.repeat(32), 'U' + '0'.repeat(31) + '\u0000') },
);

/** A CSV cell: hostile text, a LINE user id, an email; quoted, half-quoted or bare. */
const csvCell = fc
  .tuple(fc.oneof(hostileString, lineUserIdish, hostileEmail, fc.constant('')), fc.constantFrom('bare', 'quoted', 'unclosed', 'stray'))
  .map(([v, how]) => {
    const q = `"${v.replace(/"/g, '""')}"`;
    return how === 'quoted' ? q : how === 'unclosed' ? `"${v}` : how === 'stray' ? `${q}x` : v;
  });

/**
 * CSV files for /api/v1/friends/import: the right header or a broken one, rows of hostile cells, odd line ends, BOM, NUL bytes,
 * bytes that are not UTF-8 (read as Shift_JIS), UTF-16, and the occasional very long line (kept well under a megabyte).
 */
export const csvFile: fc.Arbitrary<Buffer> = fc
  .record({
    header: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom('line_user_id,display_name,email', 'LINE_USER_ID , Display_Name,EMAIL', 'line_user_id') },
      { weight: 1, arbitrary: fc.constantFrom('', 'line_user_id,line_user_id', 'a,b,c', '"line_user_id', 'line_user_id\u0000,email', '\uFEFFline_user_id') },
      { weight: 1, arbitrary: hostileString },
    ),
    rows: fc.array(
      fc.oneof(
        { weight: 4, arbitrary: fc.tuple(lineUserIdish, csvCell, csvCell).map((c) => c.join(',')) },
        { weight: 1, arbitrary: fc.array(csvCell, { maxLength: 6 }).map((c) => c.join(',')) },
        { weight: 1, arbitrary: fc.constantFrom('', ',,', '"', '""', '"a', 'a"b', '\u0000', '\u0000,\u0000,\u0000', ',,,,,,,,,,,,,,,,,') },
      ),
      { maxLength: 12 },
    ),
    eol: fc.constantFrom('\n', '\r\n', '\r', '\n\n'),
    encoding: fc.constantFrom('utf8', 'utf8', 'utf8', 'bom', 'utf16le', 'latin1-bytes', 'nul-bytes', 'ff-bytes'),
    longLine: fc.option(fc.constantFrom(1_000, 20_000, 70_000), { freq: 12 }),
  })
  .map(({ header, rows, eol, encoding, longLine }) => {
    const lines = [header, ...rows];
    if (longLine) lines.push(`U${'1'.repeat(32)},${'長'.repeat(longLine / 3)},a@example.jp`);
    const text = lines.join(eol);
    switch (encoding) {
      case 'bom':
        return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]);
      case 'utf16le':
        return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
      case 'latin1-bytes':
        return Buffer.from(text, 'latin1');
      case 'nul-bytes':
        return Buffer.from(text.replace(/,/g, '\u0000,'), 'utf8');
      case 'ff-bytes':
        return Buffer.concat([Buffer.from(text, 'utf8'), Buffer.from([0xff, 0x81, 0x00, 0x82, 0xa0])]);
      default:
        return Buffer.from(text, 'utf8');
    }
  });

/** Bodies of arbitrary bytes: empty, binary, invalid UTF-8, a little of everything. */
export const rawBytes: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
  fc.constantFrom(Buffer.alloc(0), Buffer.from([0]), Buffer.from([0xff, 0xfe]), Buffer.from([0xc0, 0x80]), Buffer.from([0xed, 0xa0, 0x80])),
  hostileString.map((s) => Buffer.from(s, 'utf8')),
);

/** Content types: right, wrong, exotic, parameterised and malformed (all legal as header values). */
export const contentType: fc.Arbitrary<string | undefined> = fc.constantFrom(
  'application/json', 'application/json; charset=utf-8', 'application/json; charset=utf-16', 'APPLICATION/JSON',
  'application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=shift_jis', 'text/csv', 'text/plain',
  'application/octet-stream', 'multipart/form-data; boundary=x', 'multipart/form-data', 'application/xml', 'text/html',
  'application/vnd.api+json', 'application/json-patch+json', '*/*', 'application/*', 'x', ';', 'application/json;;',
  'application/json; charset="', undefined,
);
