import { ApplicationFailure, Context, log } from '@temporalio/activity';
import { TemporalFailure } from '@temporalio/common';
import { CloudError } from '../connectors/graph/errors';
import { DirectoryError, errorTypeOf } from '../connectors/ldap/errors';
import { PhoneError } from '../connectors/phone/errors';
import { BOUNDED_ATTEMPTS, ErrorType } from '../domain/error-types';
import { NamingError } from '../domain/naming';

// Connector errors → classified Temporal failures. One place decides what is retryable, what
// needs a person, and how long to wait (a server's Retry-After becomes the next retry delay).
// Three kinds need more than a type: rejected credentials wait long and alert; unknown errors
// and a missing account are retried a bounded number of times, then raised to a person.

/** Runs an activity body and turns connector errors into classified Temporal failures. */
export async function guard<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    throw toFailure(err);
  }
}

export function toFailure(err: unknown): unknown {
  // Our own failures, and Temporal's (cancellation): already say what they are.
  if (err instanceof ApplicationFailure || err instanceof TemporalFailure) return err;
  if (err instanceof NamingError) {
    return ApplicationFailure.create({
      type: ErrorType.InvalidRecord,
      message: `${err.field}: ${err.message}`,
      nonRetryable: true,
    });
  }
  if (err instanceof DirectoryError) {
    if (err.kind === 'credentials') return credentialsFailure('ldap', err.message, err);
    if (err.kind === 'unclassified') return boundedFailure(ErrorType.Unclassified, err.message, err);
    return ApplicationFailure.create({
      type: errorTypeOf(err),
      message: err.message,
      nonRetryable: !err.retryable,
      ...(err.attribute ? { details: [{ field: err.attribute }] } : {}),
      cause: err,
    });
  }
  if (err instanceof CloudError) {
    if (err.kind === 'credentials') return credentialsFailure('graph', err.message, err);
    if (err.kind === 'unclassified') return boundedFailure(ErrorType.Unclassified, err.message, err);
    const type = err.retryable
      ? ErrorType.CloudUnavailable
      : {
          throttled: ErrorType.CloudUnavailable,
          unavailable: ErrorType.CloudUnavailable,
          notFound: ErrorType.CloudInvalid,
          conflict: ErrorType.CloudConflict,
          invalid: ErrorType.CloudInvalid,
          permission: ErrorType.CloudPermission,
          // Seats are checked before assigning; losing the race to another joiner is worth a retry.
          noSeats: ErrorType.CloudUnavailable,
          unknownSku: ErrorType.UnknownSku,
        }[err.kind];
    return ApplicationFailure.create({
      type,
      message: err.message,
      nonRetryable: !err.retryable && type !== ErrorType.CloudUnavailable,
      ...(err.retryAfterMs !== undefined ? { nextRetryDelay: err.retryAfterMs } : {}),
      ...(err.property ? { details: [{ field: err.property }] } : {}),
      cause: err,
    });
  }
  if (err instanceof PhoneError) {
    return ApplicationFailure.create({
      type: err.retryable ? ErrorType.PhoneUnavailable : ErrorType.PhoneRejected,
      message: err.message,
      nonRetryable: !err.retryable,
      ...(err.retryAfterMs !== undefined ? { nextRetryDelay: err.retryAfterMs } : {}),
      cause: err,
    });
  }
  // Nothing recognised it: the error's class name only (its message may quote data).
  const name = err instanceof Error ? err.name : typeof err;
  return boundedFailure(ErrorType.Unclassified, `unexpected ${name}`, err);
}

/** Delay before the next try with rejected credentials: long, growing, capped at 5 minutes. */
export function credentialsRetryDelayMs(attempt: number): number {
  const steps = [15_000, 30_000, 60_000, 120_000];
  return steps[attempt - 1] ?? 300_000;
}

/**
 * Tunnus's own credentials were refused: every run would fail alike until ops fix the password
 * or secret, so the run waits (retryable, long backoff) and an alert is logged each attempt.
 */
export function credentialsFailure(system: 'ldap' | 'graph', message: string, cause?: unknown) {
  const info = activityInfo();
  const attempt = info?.attempt ?? 1;
  const nextRetryDelay = credentialsRetryDelayMs(attempt);
  alert(ErrorType.CredentialsRejected, 'credentials rejected: runs wait until they are corrected', {
    system,
    attempt,
    retryInMs: nextRetryDelay,
  });
  return ApplicationFailure.create({
    type: ErrorType.CredentialsRejected,
    message: `${system === 'ldap' ? 'directory' : 'Graph'} refused Tunnus's credentials (${message}); retrying in ${Math.round(nextRetryDelay / 1000)} s`,
    nextRetryDelay,
    ...(cause instanceof Error ? { cause } : {}),
  });
}

/**
 * A failure retried up to BOUNDED_ATTEMPTS attempts (the activity's own attempt number) and then
 * raised as non-retryable with an alert: for what may heal by itself (replication, a hiccup
 * nobody has classified) but must not be retried silently for ever.
 */
export function boundedFailure(type: ErrorType, message: string, cause?: unknown): ApplicationFailure {
  const attempt = activityInfo()?.attempt ?? BOUNDED_ATTEMPTS;
  const giveUp = attempt >= BOUNDED_ATTEMPTS;
  if (giveUp) alert(type, 'giving up after bounded attempts: a person must look', { attempt });
  else if (type === ErrorType.Unclassified) warn('unclassified failure: retrying', { type, attempt });
  return ApplicationFailure.create({
    type,
    message: giveUp ? `${message} (gave up after ${attempt} attempts)` : message,
    nonRetryable: giveUp,
    ...(cause instanceof Error ? { cause } : {}),
  });
}

/** The current activity's info, or undefined outside an activity (the plan CLI calls directly). */
function activityInfo() {
  try {
    return Context.current().info;
  } catch {
    return undefined;
  }
}

/**
 * One structured alert line: `alert` is the failure type ops filter on; the fields are business
 * keys only (activity, workflow id, attempt), never names or secrets.
 */
function alert(type: ErrorType, message: string, fields: Record<string, unknown>): void {
  const info = activityInfo();
  if (!info) return;
  log.error(message, {
    alert: type,
    activityType: info.activityType,
    workflowId: info.workflowExecution?.workflowId,
    ...fields,
  });
}

function warn(message: string, fields: Record<string, unknown>): void {
  const info = activityInfo();
  if (!info) return;
  log.warn(message, { activityType: info.activityType, ...fields });
}
