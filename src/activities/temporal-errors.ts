import { ApplicationFailure } from '@temporalio/activity';

// Temporal client errors inside activities that signal person workflows (imports, the held set):
// a refused start is that row's failure; Temporal unreachable or slow is retried.

export const IntakeErrorType = {
  /** Temporal did not take a signal in time; retried. */
  IntakeUnavailable: 'IntakeUnavailable',
} as const;

/** gRPC status on an SDK error (or its cause chain). */
export function grpcCode(err: unknown): number | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'number') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

// 3 INVALID_ARGUMENT: Temporal refused this one start (e.g. a search attribute value); a retry
// will not help, and the other rows should still go through.
export const isRejectedByTemporal = (err: unknown) => grpcCode(err) === 3;

/** Temporal unavailable, slow or overloaded → a retryable IntakeUnavailable; else as it was. */
export function toIntakeFailure(err: unknown): unknown {
  const code = grpcCode(err);
  // 4 DEADLINE_EXCEEDED, 8 RESOURCE_EXHAUSTED, 14 UNAVAILABLE
  if (code === 4 || code === 8 || code === 14) {
    return ApplicationFailure.create({
      type: IntakeErrorType.IntakeUnavailable,
      message: 'Temporal did not take the signal',
      cause: err as Error,
    });
  }
  return err;
}
