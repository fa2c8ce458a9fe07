import { ApplicationFailure } from '@temporalio/activity';
import { CloudError } from '../connectors/graph/errors';
import { DirectoryError } from '../connectors/ldap/errors';
import { PhoneError } from '../connectors/phone/errors';
import { ErrorType } from '../domain/error-types';
import { NamingError } from '../domain/naming';

// Connector errors → classified Temporal failures. One place decides what is retryable, what
// needs a person, and how long to wait (a server's Retry-After becomes the next retry delay).

/** Runs an activity body and turns connector errors into classified Temporal failures. */
export async function guard<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    throw toFailure(err);
  }
}

export function toFailure(err: unknown): unknown {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof NamingError) {
    return ApplicationFailure.create({
      type: ErrorType.InvalidRecord,
      message: `${err.field}: ${err.message}`,
      nonRetryable: true,
    });
  }
  if (err instanceof DirectoryError) {
    const type = {
      unavailable: ErrorType.DirectoryUnavailable,
      constraint: ErrorType.DirectoryConstraint,
      alreadyExists: ErrorType.DirectoryConstraint,
      permission: ErrorType.DirectoryPermission,
      invalid: ErrorType.DirectoryInvalid,
      noSuchObject: ErrorType.DirectoryInvalid,
      duplicateIdentity: ErrorType.DuplicateIdentity,
    }[err.kind];
    return ApplicationFailure.create({
      type,
      message: err.message,
      nonRetryable: !err.retryable,
      cause: err,
    });
  }
  if (err instanceof CloudError) {
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
  return err;
}
