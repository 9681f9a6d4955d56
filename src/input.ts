// The input boundary: what no request may carry into SQL, checked once where input enters (the web server's preValidation
// hook for JSON, forms, query strings and path parameters; the webhook routes and the CSV reader for the bytes they parse
// themselves). PostgreSQL cannot store U+0000 in text or jsonb (it answers 22021/22P05, which used to surface as a 500), and
// an unpaired UTF-16 surrogate cannot be encoded as UTF-8 (node-postgres would silently replace it with U+FFFD, storing
// something other than what was sent). Both are refused as 400 INVALID_INPUT naming the field, so the caller can fix it.
import { AppError, defineErrorCodes } from './errors.js';

export const InputCodes = defineErrorCodes({
  /** A value cannot be stored as sent: U+0000, an unpaired surrogate, nesting too deep, or a number out of range. `message` names the field. */
  INVALID_INPUT: { status: 400, retryable: false },
});

/** JSON nesting deeper than this is refused: nothing Kizuna accepts (LINE flex messages included) comes close. */
export const MAX_INPUT_DEPTH = 64;

// U+0000, a high surrogate not followed by a low one, or a low surrogate not preceded by a high one.
// eslint-disable-next-line no-control-regex -- U+0000 is what this looks for: PostgreSQL cannot store it
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** What in a string cannot be stored — U+0000 or an unpaired surrogate — or null when it can be. */
export function unstorableKind(s: string): 'nul' | 'surrogate' | null {
  const m = UNSTORABLE.exec(s);
  return !m ? null : m[0] === '\u0000' ? 'nul' : 'surrogate';
}

/** Why a string cannot be stored, or null when it can. */
export function unstorableReason(s: string): string | null {
  const kind = unstorableKind(s);
  if (!kind) return null;
  return kind === 'nul' ? 'contains U+0000 (NUL), which cannot be stored' : 'contains an unpaired UTF-16 surrogate, which is not valid Unicode';
}

export interface InputProblem {
  /** Where, e.g. `body.conditions[0].value` or `query.q`. */
  path: string;
  reason: string;
}

/**
 * The first string (value or object key) in `value` that cannot be stored, or nesting deeper than MAX_INPUT_DEPTH. Iterative,
 * so a hostile document cannot overflow the stack; linear in the size of the value.
 */
export function findInputProblem(value: unknown, root: string): InputProblem | null {
  const stack: { v: unknown; path: string; depth: number }[] = [{ v: value, path: root, depth: 0 }];
  while (stack.length) {
    const { v, path, depth } = stack.pop()!;
    if (typeof v === 'string') {
      const reason = unstorableReason(v);
      if (reason) return { path, reason };
      continue;
    }
    if (typeof v !== 'object' || v === null || Buffer.isBuffer(v) || ArrayBuffer.isView(v)) continue;
    if (typeof (v as { pipe?: unknown }).pipe === 'function') continue; // a stream: its reader checks what it reads
    if (depth >= MAX_INPUT_DEPTH) return { path, reason: `is nested more than ${MAX_INPUT_DEPTH} levels deep` };
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], path: `${path}[${i}]`, depth: depth + 1 });
      continue;
    }
    const entries = Object.entries(v as Record<string, unknown>);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i]!;
      const keyReason = unstorableReason(key);
      if (keyReason) return { path: `${path} (a property name)`, reason: keyReason };
      stack.push({ v: child, path: `${path}.${safeForMessage(key)}`, depth: depth + 1 });
    }
  }
  return null;
}

/** Throws 400 INVALID_INPUT for the first problem in `value`. */
export function assertStorable(value: unknown, root: string): void {
  const problem = findInputProblem(value, root);
  if (problem) throw new AppError(InputCodes.INVALID_INPUT, `${problem.path}: ${problem.reason}.`, { field: problem.path });
}

/** A key shown in an error message: at most 60 characters, control characters escaped. */
function safeForMessage(key: string): string {
  const short = key.length > 60 ? `${key.slice(0, 60)}…` : key;
  // eslint-disable-next-line no-control-regex -- control characters are what gets escaped here
  return short.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * PostgreSQL errors a request's input can cause although it passed the boundary (a value out of a column's range, a string
 * too long for an index, a duplicate): the 4xx they mean, by SQLSTATE class. Anything else stays a 500 — a bug or an outage.
 */
export function inputErrorFromDatabase(err: unknown): AppError | null {
  const code = (err as { code?: unknown }).code;
  const severity = (err as { severity?: unknown }).severity;
  if (typeof code !== 'string' || code.length !== 5 || typeof severity !== 'string') return null;
  if (code === '23505') return new AppError('CONFLICT', 'This conflicts with something that already exists.');
  // 22: data exception (out of range, invalid text representation…); 23: other integrity violations caused by the values sent;
  // 54: program limit exceeded (a value too large for an index row, too many columns…).
  if (code.startsWith('22') || code.startsWith('23') || code.startsWith('54')) {
    return new AppError(InputCodes.INVALID_INPUT, 'A value in the request is out of range or cannot be stored; check the values sent.', {
      sqlstate: code,
    });
  }
  return null;
}
