import { ApplicationFailure, CancelledFailure } from '@temporalio/activity';
import { isTransientStoreError } from './postgres-index';

// Record store errors as activity failures: the database down or busy is retried; a broken
// schema or a bug is not. Used by every activity that reads or writes the store.

export const StoreErrorType = {
  /** The record index database cannot be reached or is busy; retried. */
  IndexUnavailable: 'RecordIndexUnavailable',
  /** The record index failed in a way a retry will not fix (schema, bug). */
  IndexFailed: 'RecordIndexFailed',
} as const;

/** Record store errors → classified failures; everything else passes through. */
export async function guardStore<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof ApplicationFailure || err instanceof CancelledFailure) throw err;
    if (isTransientStoreError(err)) {
      throw ApplicationFailure.create({
        type: StoreErrorType.IndexUnavailable,
        message: `record index unavailable: ${(err as Error).message}`,
        cause: err as Error,
      });
    }
    if (isStoreError(err)) {
      throw ApplicationFailure.create({
        type: StoreErrorType.IndexFailed,
        message: `record index failed: ${(err as Error).message}`,
        nonRetryable: true,
        cause: err as Error,
      });
    }
    throw err;
  }
}

// pg errors carry a five-character SQLSTATE; better-sqlite3 errors are SqliteError.
function isStoreError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return (
    (err instanceof Error && err.name === 'SqliteError') ||
    (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code))
  );
}
