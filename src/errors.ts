// Errors that say what to do. Every error Kizuna raises on purpose carries a code (UPPER_SNAKE, part of the public API),
// the HTTP status it maps to, and whether retrying the same thing later can succeed. The message is written where the error is
// thrown, in words for the person who will read it; there is no global code → message table.

export interface ErrorCodeInfo {
  status: number;
  /** true: a later retry of the same operation can succeed (outage, throttling); false: something must change first. */
  retryable: boolean;
}

/** The codes Kizuna uses, each in one line. Domains add theirs with `defineErrorCodes` so the catalogue stays in one place. */
const catalogue = new Map<string, ErrorCodeInfo>();

export function defineErrorCodes<const T extends Record<string, ErrorCodeInfo>>(codes: T): { [K in keyof T]: K } {
  const out = {} as { [K in keyof T]: K };
  for (const [code, info] of Object.entries(codes)) {
    if (!/^[A-Z][A-Z0-9_]*$/.test(code)) throw new Error(`error code ${code} is not UPPER_SNAKE`);
    catalogue.set(code, info);
    (out as Record<string, string>)[code] = code;
  }
  return out;
}

export const Codes = defineErrorCodes({
  /** The request body, query or parameters do not have the expected shape. */
  VALIDATION_FAILED: { status: 400, retryable: false },
  /** The request body is not valid JSON / CSV / the declared content type. */
  BAD_REQUEST: { status: 400, retryable: false },
  /** No such route or resource (within the caller's tenant). */
  NOT_FOUND: { status: 404, retryable: false },
  /** Missing or invalid credentials. */
  UNAUTHORIZED: { status: 401, retryable: false },
  /** Authenticated, but not allowed. */
  FORBIDDEN: { status: 403, retryable: false },
  /** The request conflicts with the current state (e.g. a duplicate). */
  CONFLICT: { status: 409, retryable: false },
  /** The body is larger than the route accepts. */
  PAYLOAD_TOO_LARGE: { status: 413, retryable: false },
  /** The content type is not one the route accepts. */
  UNSUPPORTED_MEDIA_TYPE: { status: 415, retryable: false },
  /** Too many requests from this client; wait and retry. */
  RATE_LIMITED: { status: 429, retryable: true },
  /** A bug or an unexpected state in Kizuna; details are in the server log, not in the response. */
  INTERNAL_ERROR: { status: 500, retryable: true },
  /** The database is unreachable; retry when it is back. */
  DATABASE_UNAVAILABLE: { status: 503, retryable: true },
});

export class AppError extends Error {
  readonly status: number;
  readonly retryable: boolean;

  constructor(
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AppError';
    const info = catalogue.get(code);
    if (!info) throw new Error(`unknown error code ${code}: add it with defineErrorCodes`);
    this.status = info.status;
    this.retryable = info.retryable;
  }

  toJSON(): { error: { code: string; message: string; details?: Record<string, unknown> } } {
    return { error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) } };
  }
}

export function errorInfo(code: string): ErrorCodeInfo | undefined {
  return catalogue.get(code);
}

/**
 * Every code defined so far (those of the modules imported up to now), read-only: docs/http-api.md's error table is generated
 * from it (scripts/docs.ts), so the published catalogue is the one the code raises.
 */
export function errorCatalogue(): ReadonlyMap<string, Readonly<ErrorCodeInfo>> {
  return new Map([...catalogue].map(([code, info]) => [code, { ...info }]));
}
