// A long pass in an activity shares the worker's main thread with every workflow task, query and
// heartbeat. Awaiting a promise that is already settled (a SQLite read, a decryption) runs the
// rest at once as a microtask and lets none of them in; awaiting this does.

/** Resolves on the event loop's next turn, after pending I/O callbacks. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
