/**
 * A value read at most once per `ttlMs`; callers in between get the last one, and concurrent
 * callers share one read. A failed read is not cached, so the next caller tries again.
 */
export function cached<T>(read: () => Promise<T>, ttlMs: number, now = () => Date.now()): () => Promise<T> {
  let last: { value: T; at: number } | undefined;
  let inFlight: Promise<T> | undefined;
  return () => {
    if (last && now() - last.at < ttlMs) return Promise.resolve(last.value);
    inFlight ??= read()
      .then((value) => {
        last = { value, at: now() };
        return value;
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };
}
