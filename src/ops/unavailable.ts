// Temporal could not be reached in time: worth retrying later (the API answers 503, the CLI keeps
// following an import). Raised by the src/ops modules that talk to Temporal for a caller waiting.

export class IntakeUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'IntakeUnavailableError';
  }
}

// gRPC codes: 4 DEADLINE_EXCEEDED, 8 RESOURCE_EXHAUSTED, 14 UNAVAILABLE, and 1 CANCELLED: at a
// call's deadline the server may reset the stream before the client's own timer fires, and the
// client then reports "1 CANCELLED: Call cancelled" (seen on a status query to a worker busy for
// seconds, 50,000-identity cleanup). No caller here cancels its own calls. The SDK wraps them in
// ServiceError/QueryNotRegisteredError etc. with the gRPC error as cause.
export function isUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === 1 || code === 4 || code === 8 || code === 14) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
