// Visibility queries (Temporal's SQL-like list filter), built in one place: every value goes
// through `quoted`, so an id or task queue with a quote or backslash cannot end the string early.

/** A value as a visibility query string literal: backslashes and single quotes escaped. */
export function quoted(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Running person workflows on the task queue: the identities Tunnus holds state for. */
export const runningPersonsQuery = (taskQueue: string): string =>
  `WorkflowType = 'personWorkflow' AND ExecutionStatus = 'Running' AND TaskQueue = ${quoted(taskQueue)}`;
