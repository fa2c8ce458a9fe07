// Bounded concurrency for work over many items (deliveries, state reads, directory lookups).

/** Runs tasks with at most `limit` in flight; reports progress after each. */
export async function inBatches<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
  progress?: (done: number) => void,
): Promise<void> {
  let next = 0;
  let done = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await task(item);
      progress?.(++done);
    }
  });
  await Promise.all(lanes);
}
