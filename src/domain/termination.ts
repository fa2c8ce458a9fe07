import { hasNewRecord, note, type PersonState, type Termination } from './person-state';

// The operator's actions on one person, as pure transitions of the person's state (the person
// workflow's `terminate`, `liftTermination` and `retryRun` updates call these; src/ops/terminate.ts
// from outside):
// - terminate: access ends now — the normal disable-first leaver, whatever HR says — and stays
//   ended until an operator lifts it; a later HR record is stored but does not re-enable.
// - lift: the termination goes and the person is planned again from their records by policy.
// - retry: a failed or held run, or an end of access waiting for its backoff, runs again now.

export interface TerminateRequest {
  /** `cli:{OS user}` or `api:{client}`. */
  operator: string;
  reason: string;
}

export interface TerminateResult {
  /** False when the person was terminated already (the earlier termination stands). */
  terminated: boolean;
  termination: Termination;
  message: string;
}

export interface OperatorRequest {
  operator: string;
}

export interface OpsActionResult {
  /** Whether anything changed (false: a no-op, `message` says why). */
  done: boolean;
  message: string;
}

export const MAX_REASON_LENGTH = 500;
const OPERATOR = /^(cli|api):[A-Za-z0-9._@\\-]{1,64}$/;

/** Why an operator request is refused at the door of the update (undefined: valid). */
export function operatorProblem(operator: unknown): string | undefined {
  return typeof operator === 'string' && OPERATOR.test(operator)
    ? undefined
    : 'operator: must be cli:{user} or api:{client}';
}

/** The terminate update's validator: refused requests leave no trace in the history. */
export function terminateProblem(state: PersonState, request: TerminateRequest): string | undefined {
  const operator = operatorProblem(request.operator);
  if (operator) return operator;
  const reason = typeof request.reason === 'string' ? request.reason.trim() : '';
  if (!reason) return 'reason: is required';
  if (reason.length > MAX_REASON_LENGTH) return `reason: at most ${MAX_REASON_LENGTH} characters`;
  // eslint-disable-next-line no-control-regex -- a reason is one line of text for the timeline
  if (/[\u0000-\u001f\u007f]/.test(reason)) return 'reason: must be one line without control characters';
  if (!state.record) return 'person: has no record yet (nothing to terminate)';
  if (state.phase === 'deleted' && !state.account) return 'person: is deleted already';
  return undefined;
}

/** Ends access now and keeps it ended until lifted. Terminating twice keeps the first. */
export function terminate(state: PersonState, request: TerminateRequest, now: number): TerminateResult {
  if (state.termination) {
    const t = state.termination;
    return { terminated: false, termination: t, message: `terminated already at ${t.at} by ${t.operator}` };
  }
  const termination: Termination = {
    at: new Date(now).toISOString(),
    operator: request.operator,
    reason: request.reason.trim(),
  };
  state.termination = termination;
  // The termination decides now: an end waiting for confirmation or for the guard's approval is
  // overtaken (access ends anyway), and a run waiting for its backoff starts at once.
  if (state.hold?.kind === 'lateEndDate' || state.hold?.kind === 'massChange') delete state.hold;
  state.version++;
  note(state, now, 'terminated', `by ${request.operator}: ${termination.reason}`);
  return { terminated: true, termination, message: 'access ends now (disable first)' };
}

/** The lift update's validator. */
export const liftProblem = (_state: PersonState, request: OperatorRequest): string | undefined =>
  operatorProblem(request.operator);

/** The termination goes; the records and policy decide again (access back if HR says so). */
export function liftTermination(state: PersonState, request: OperatorRequest, now: number): OpsActionResult {
  const t = state.termination;
  if (!t) return { done: false, message: 'not terminated: nothing to lift' };
  delete state.termination;
  state.version++;
  note(state, now, 'termination lifted', `by ${request.operator} (terminated ${t.at} by ${t.operator})`);
  return { done: true, message: 'termination lifted: planned again from the records by policy' };
}

/**
 * Runs a failed or stuck run again now: an end of access waiting for its backoff is due at once; a
 * failed run (one that waits for a corrected record) or a run held for an end date far in the past
 * is planned again with the records held. Not a way around an approval: an end the mass-change
 * guard holds waits for its held set. Anything else is a no-op that says what the person does.
 */
export function retryRun(state: PersonState, request: OperatorRequest, now: number): OpsActionResult {
  const by = `by ${request.operator}`;
  if (state.hold?.kind === 'massChange') {
    return {
      done: false,
      message: `held by the mass-change guard (end ${state.hold.endDate}): approve the held set with tunnus approve mass-change-hold`,
    };
  }
  if (state.retry) {
    const { kind, attempt } = state.retry;
    state.retry = { ...state.retry, at: new Date(now).toISOString() };
    note(state, now, 'retry requested', `${kind} attempt ${attempt + 1} now, ${by}`);
    return { done: true, message: `${kind} runs again now (attempt ${attempt + 1})` };
  }
  const running = state.runs.find((r) => !r.endedAt);
  if (running) {
    return {
      done: false,
      message: `nothing failed or stuck: ${running.workflowId} is running (stage ${state.stage}); its activities retry on their own`,
    };
  }
  if ((state.stage === 'failed' || state.hold) && state.record && !hasNewRecord(state)) {
    const what = state.hold
      ? `held run (${state.hold.reason})`
      : `failed run (${state.lastError?.type ?? 'failed'})`;
    delete state.hold;
    state.version++;
    note(state, now, 'retry requested', `${what}, ${by}`);
    return { done: true, message: `${what} planned again now` };
  }
  return { done: false, message: `nothing failed or stuck: stage ${state.stage}` };
}

// The mass-change guard and terminations. An operator's terminate of one person is an explicit
// decision, often an incident response: it must not wait because an import or the day's ends
// already filled the window, nor because the population is small. A script that terminates many
// people one by one must still stop. So a terminate is counted in the guard's window like any
// disable (the paths after it see it), but admitted by its own rule: the terminations in the
// window, this one included, up to `safety.terminationsPerWindow` (default 3). One more is
// stopped (nothing done, exit 3) until the operator repeats it approving it (recorded as approved
// by them).

export const DEFAULT_TERMINATIONS_PER_WINDOW = 3;
const TERMINATE_REF = 'terminate:';

/** The ledger ref of one termination (one per identity and instant). */
export const terminateRef = (identityId: string, at: string): string => `${TERMINATE_REF}${identityId}:${at}`;

export interface TerminationVerdict {
  admitted: boolean;
  /** Identities terminated in the window, this one included. */
  terminations: number;
  allowed: number;
}

/** Whether one more terminate fits: the window's terminations (by ref) and this identity. */
export function terminationVerdict(
  window: readonly { ref: string; identityId: string }[],
  identityId: string,
  allowed = DEFAULT_TERMINATIONS_PER_WINDOW,
): TerminationVerdict {
  const ids = new Set(window.filter((l) => l.ref.startsWith(TERMINATE_REF)).map((l) => l.identityId));
  ids.add(identityId);
  return { admitted: ids.size <= allowed, terminations: ids.size, allowed };
}
