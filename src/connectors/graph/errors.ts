import { GraphError } from '@microsoft/microsoft-graph-client';

// Every failure of a Graph call becomes a CloudError whose `kind` says what happened and whether
// retrying can help. Temporal owns retries (the SDK's own retry is off), so a throttled or
// unavailable call surfaces here at once, with the server's Retry-After as `retryAfterMs` for the
// activity to turn into the next retry delay.
//
// Graph reports most business rules as 400 Request_BadRequest and tells them apart only by the
// message text, so some kinds are recognised by message. The CloudError message carries the
// operation, status, Graph code and (at most) a property name — never the Graph message itself,
// which can quote a user principal name, and never a token.

export type CloudErrorKind =
  | 'throttled'
  | 'unavailable'
  | 'notFound'
  | 'conflict'
  | 'invalid'
  | 'permission'
  | 'noSeats'
  | 'unknownSku'
  /** Graph refused the app's own token (401) or no token could be had: wait for ops, do not fail. */
  | 'credentials'
  /** Not an answer any rule here recognises: retried a bounded number of times, then raised. */
  | 'unclassified';

export interface CloudErrorInit {
  kind: CloudErrorKind;
  retryable: boolean;
  retryAfterMs?: number;
  graphCode?: string;
  status?: number;
  requestId?: string;
  /** The property Graph named as invalid or conflicting (a schema name, not a value). */
  property?: string;
}

export class CloudError extends Error {
  readonly kind: CloudErrorKind;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  readonly graphCode?: string;
  readonly status?: number;
  readonly requestId?: string;
  readonly property?: string;

  constructor(message: string, init: CloudErrorInit) {
    super(message);
    this.name = 'CloudError';
    this.kind = init.kind;
    this.retryable = init.retryable;
    this.retryAfterMs = init.retryAfterMs;
    this.graphCode = init.graphCode;
    this.status = init.status;
    this.requestId = init.requestId;
    this.property = init.property;
  }
}

/**
 * Graph refused a new Temporary Access Pass because the user already holds one (one per user).
 * A conflict, not retryable as such: the handover deletes the earlier pass (it is void) and issues
 * a fresh one.
 */
export class TapConflictError extends CloudError {
  constructor(from: CloudError) {
    super(
      `createTemporaryAccessPass: Graph ${from.status ?? 400} ${from.graphCode ?? 'error'} (conflict, the user already holds a Temporary Access Pass)`,
      {
        kind: 'conflict',
        retryable: false,
        graphCode: from.graphCode,
        status: from.status,
        requestId: from.requestId,
        property: 'temporaryAccessPass',
      },
    );
    this.name = 'TapConflictError';
  }
}

/** Transport failures (no HTTP answer): the name the transport gave the error, see graph-client.ts. */
const tlsConfigCodes = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * Turns whatever a Graph call threw into a CloudError. `operation` names the connector method for
 * the message (e.g. "assignLicenses").
 */
export function classifyGraphError(err: unknown, operation = 'graph call'): CloudError {
  if (err instanceof CloudError) return err;
  if (!isGraphError(err)) {
    // Not from the SDK at all (a bug, or an auth library failure before any request was sent).
    const name = err instanceof Error ? err.name : typeof err;
    if (name === 'CredentialUnavailableError' || name === 'AuthenticationError') {
      // A wrong or expired client secret or certificate: ops fix it, runs resume.
      return new CloudError(`${operation}: could not get a Graph token (${name})`, {
        kind: 'credentials',
        retryable: true,
        graphCode: name,
      });
    }
    return new CloudError(`${operation}: unexpected ${name}`, { kind: 'unclassified', retryable: true });
  }

  const status = err.statusCode;
  const code = err.code ?? undefined;
  const requestId = err.requestId ?? undefined;
  const body = parseBody(err.body);
  const message = body.message ?? '';
  const property = /property '?(\w+)'? /i.exec(message)?.[1] ?? body.details.find((d) => d.target)?.target;
  const retryAfterMs = parseRetryAfter(err.headers?.get('retry-after') ?? null);
  const make = (kind: CloudErrorKind, retryable: boolean, extra = '') =>
    new CloudError(
      `${operation}: Graph ${status > 0 ? status : 'transport'} ${code ?? 'error'} (${kind}${property && !extra ? `, property ${property}` : ''}${extra})`,
      {
        kind,
        retryable,
        retryAfterMs,
        graphCode: code,
        status: status > 0 ? status : undefined,
        requestId,
        property,
      },
    );

  if (status <= 0) {
    // No HTTP answer: connection refused or reset, DNS, timeout — or a certificate we do not trust,
    // which retrying cannot fix.
    if (code && tlsConfigCodes.has(code)) return make('invalid', false, ', TLS certificate not trusted');
    return make('unavailable', true);
  }
  if (status === 429) return make('throttled', true);
  if (status === 500 || status === 502 || status === 503 || status === 504) return make('unavailable', true);
  // 401: the token itself was refused (expired secret, wrong tenant) — the app's credentials, the
  // same for every run. 403: the app lacks a permission for this call — permanent.
  if (status === 401) return make('credentials', true);
  if (status === 403) return make('permission', false);
  if (status === 404) return make('notFound', false);
  if (status === 409 || status === 412) return make('conflict', false);
  if (status === 400) {
    if (body.details.some((d) => d.code === 'ObjectConflict') || /already exists/i.test(message)) {
      return make('conflict', false);
    }
    if (/does not have any available licenses/i.test(message)) return make('noSeats', false);
    if (/does not correspond to a valid company License/i.test(message)) return make('unknownSku', false);
    if (/invalid usage location/i.test(message))
      return make('invalid', false, ', usageLocation missing or invalid');
    return make('invalid', false);
  }
  if (status >= 500) return make('unavailable', true);
  return make('invalid', false);
}

/** Retry-After as Graph sends it: delta seconds (possibly fractional) or an HTTP date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds * 1000));
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function isGraphError(err: unknown): err is GraphError {
  return (
    err instanceof GraphError || (err instanceof Error && typeof (err as GraphError).statusCode === 'number')
  );
}

interface ParsedBody {
  message?: string;
  details: { code?: string; target?: string }[];
}

/** GraphError.body is the JSON text of the envelope's `error` object (or a plain string). */
function parseBody(body: unknown): ParsedBody {
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body) as unknown;
    } catch {
      return { details: [] };
    }
  }
  if (typeof parsed !== 'object' || parsed === null) return { details: [] };
  const obj = parsed as { message?: unknown; details?: unknown };
  return {
    message: typeof obj.message === 'string' ? obj.message : undefined,
    details: Array.isArray(obj.details) ? (obj.details as ParsedBody['details']) : [],
  };
}
