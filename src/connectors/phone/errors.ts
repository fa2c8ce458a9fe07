// Failures of the telephony platform, classified once so activities can tell retrying apart from
// asking a person. Messages name the operation, the status and the platform's error code — never
// a name, number or e-mail (the platform's own message text is not copied, it may echo them).

export type PhoneErrorKind = 'throttled' | 'unavailable' | 'notFound' | 'invalid' | 'permission' | 'conflict';

export interface PhoneErrorDetails {
  retryable?: boolean;
  retryAfterMs?: number;
  status?: number;
  /** The platform's machine-readable error code, e.g. "validation_failed". */
  code?: string;
  /** Field names the platform rejected (a 422's details), never their values. */
  fields?: string[];
  cause?: unknown;
}

export class PhoneError extends Error {
  override readonly name = 'PhoneError';
  readonly kind: PhoneErrorKind;
  /** Whether trying the same call again later can succeed. */
  readonly retryable: boolean;
  /** How long the platform asked us to wait (Retry-After), in milliseconds. */
  readonly retryAfterMs?: number;
  readonly status?: number;
  readonly code?: string;
  readonly fields?: string[];

  constructor(kind: PhoneErrorKind, message: string, details: PhoneErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.kind = kind;
    this.retryable = details.retryable ?? defaultRetryable(kind);
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
    if (details.status !== undefined) this.status = details.status;
    if (details.code !== undefined) this.code = details.code;
    if (details.fields !== undefined && details.fields.length > 0) this.fields = details.fields;
  }
}

function defaultRetryable(kind: PhoneErrorKind): boolean {
  return kind === 'throttled' || kind === 'unavailable';
}

/** The kind an HTTP status means. Only called for statuses that are failures (>= 400). */
export function kindForStatus(status: number): PhoneErrorKind {
  if (status === 429) return 'throttled';
  if (status >= 500) return 'unavailable';
  if (status === 401 || status === 403) return 'permission';
  if (status === 404 || status === 410) return 'notFound';
  if (status === 409 || status === 412) return 'conflict';
  // 408 Request Timeout is the server giving up on a slow request: try again.
  if (status === 408) return 'unavailable';
  return 'invalid';
}

/**
 * An error for a failed HTTP answer. `operation` is a fixed description such as
 * "PUT catalogue entry" — callers must not put identifiers or personal data in it.
 */
export function errorFromResponse(
  operation: string,
  status: number,
  headers: { retryAfter?: string | undefined; now?: number },
  code?: string,
  fields: readonly string[] = [],
): PhoneError {
  const kind = kindForStatus(status);
  const retryAfterMs = parseRetryAfter(headers.retryAfter, headers.now ?? Date.now());
  const said = [
    ...(code === undefined ? [] : [code]),
    ...(fields.length ? [`fields: ${fields.join(', ')}`] : []),
  ];
  const suffix = said.length === 0 ? '' : ` (${said.join('; ')})`;
  return new PhoneError(kind, `telephony ${operation}: HTTP ${status}${suffix}`, {
    status,
    ...(code === undefined ? {} : { code }),
    ...(fields.length === 0 ? {} : { fields: [...fields] }),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}

/** Network codes after which the platform may well answer on a later try. */
const transientNetworkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
]);

/** Certificate problems: retrying with the same trust store cannot succeed, someone must act. */
const tlsCodes = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Classifies an error thrown before any HTTP answer arrived (network, TLS, timeout). */
export function errorFromNetwork(operation: string, err: unknown): PhoneError {
  if (err instanceof PhoneError) return err;
  const code = errorCode(err);
  if (code !== undefined && tlsCodes.has(code)) {
    return new PhoneError('unavailable', `telephony ${operation}: TLS certificate not trusted (${code})`, {
      retryable: false,
      code,
      cause: err,
    });
  }
  if (code !== undefined && transientNetworkCodes.has(code)) {
    return new PhoneError('unavailable', `telephony ${operation}: network error (${code})`, {
      code,
      cause: err,
    });
  }
  // Anything else on the wire (socket hang up, TLS handshake cut short) is treated as transient:
  // a retry is cheap, and a permanent fault keeps failing visibly.
  return new PhoneError(
    'unavailable',
    `telephony ${operation}: connection failed${code ? ` (${code})` : ''}`,
    {
      ...(code === undefined ? {} : { code }),
      cause: err,
    },
  );
}

/** Retry-After is either delta-seconds or an HTTP-date; returns milliseconds, or undefined. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = err.code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}
