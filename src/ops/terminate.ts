import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { personState } from './persons';
import { endLoss } from '../domain/access-loss';
import { windowStart } from '../domain/mass-change';
import type { PersonState, Termination } from '../domain/person-state';
import type { Policy } from '../domain/policy';
import {
  DEFAULT_TERMINATIONS_PER_WINDOW,
  terminateProblem,
  terminateRef,
  terminationVerdict,
  type OpsActionResult,
} from '../domain/termination';
import type { LedgerEntry } from '../store/guard-ledger';
import {
  liftTerminationUpdate,
  personWorkflowId,
  retryRunUpdate,
  terminateUpdate,
} from '../workflows/messages';
import { admitApproved, type GuardStore } from './guard';

// The operator's actions on one person, for `tunnus terminate` / `tunnus retry` and the API's
// /termination and /retry (scope ops:write): each a Temporal Update of the person workflow, which
// validates it and answers with the result (src/domain/termination.ts). The operator is an id
// (`cli:{user}`, `api:{client}`). A terminate goes through the mass-change guard first (the rule
// is beside terminationVerdict).

export interface OpsActionDeps {
  client: Client;
  /** The record store with the guard's ledger and the active count. */
  store: GuardStore;
  policy: Policy;
  now?: () => Date;
}

export type TerminateOutcome =
  | { status: 'terminated' | 'already'; termination: Termination; message: string; state?: PersonState }
  | { status: 'held'; message: string; terminations: number; allowed: number }
  | { status: 'not_found' | 'refused'; message: string };

export interface TerminateInput {
  employeeId: string;
  reason: string;
  operator: string;
  /** The operator approves a terminate over the guard's allowance (recorded as approved by them). */
  approveMass?: boolean;
}

/** Ends the person's access now: through the guard, then the person workflow's terminate update. */
export async function terminatePerson(deps: OpsActionDeps, input: TerminateInput): Promise<TerminateOutcome> {
  const { client } = deps;
  const { employeeId, operator } = input;
  const state = await personState(client, employeeId);
  if (!state) return { status: 'not_found', message: `no person ${employeeId}` };
  if (state.termination) {
    const t = state.termination;
    return { status: 'already', termination: t, message: `terminated already at ${t.at} by ${t.operator}` };
  }
  // Checked here too, so that a refused request writes nothing to the guard's ledger.
  const problem = terminateProblem(state, { operator, reason: input.reason });
  if (problem) return { status: 'refused', message: problem };

  const stopped = await admitTermination(deps, state, input);
  if (stopped) return stopped;
  try {
    const result = await personHandle(client, employeeId).executeUpdate(terminateUpdate, {
      args: [{ operator, reason: input.reason }],
    });
    return {
      status: result.terminated ? 'terminated' : 'already',
      termination: result.termination,
      message: result.message,
    };
  } catch (err) {
    return refusal(err, employeeId);
  }
}

/** Counts the terminate in the window; a terminate over the allowance stops unless approved. */
async function admitTermination(
  deps: OpsActionDeps,
  state: PersonState,
  input: TerminateInput,
): Promise<TerminateOutcome | undefined> {
  // Nothing to take away from someone without an account or whose access has ended already.
  const hasAccess = state.account && state.phase !== 'left' && state.phase !== 'deleted';
  if (!hasAccess || !state.record) return undefined;
  const { policy } = deps;
  const asOf = (deps.now ?? (() => new Date()))();
  const ref = terminateRef(state.employeeId, asOf.toISOString());
  const loss = endLoss(state.employeeId, state.record, policy);
  const allowed = policy.safety.terminationsPerWindow ?? DEFAULT_TERMINATIONS_PER_WINDOW;
  if (input.approveMass) {
    await admitApproved({ store: deps.store, policy }, ref, [loss], input.operator);
    return undefined;
  }
  let verdict = terminationVerdict([], state.employeeId, allowed);
  const admitted = await deps.store.admitLosses(
    {
      ref,
      losses: [{ identityId: loss.identityId, kind: loss.kind, groups: loss.groups }],
      since: windowStart(asOf, policy.safety.windowHours),
    },
    (window) => {
      verdict = terminationVerdict(window as LedgerEntry[], state.employeeId, allowed);
      return verdict.admitted;
    },
  );
  if (admitted) return undefined;
  return {
    status: 'held',
    terminations: verdict.terminations,
    allowed,
    message:
      `stopped by the mass-change guard: ${verdict.terminations} terminations within ` +
      `${policy.safety.windowHours} h (safety.terminationsPerWindow ${allowed}); nothing was done. ` +
      'If this is intended, repeat it approving: tunnus terminate <id> --reason … --approve-mass',
  };
}

export type OpsActionOutcome =
  ({ status: 'done' | 'noop' } & OpsActionResult) | { status: 'not_found' | 'refused'; message: string };

/** Lifts a termination: the person is planned again from their records by policy. */
export async function liftPersonTermination(
  client: Client,
  employeeId: string,
  operator: string,
): Promise<OpsActionOutcome> {
  return opsUpdate(client, employeeId, (h) =>
    h.executeUpdate(liftTerminationUpdate, { args: [{ operator }] }),
  );
}

/** Re-runs the person's failed or stuck run now (a no-op, saying why, when nothing is). */
export async function retryPerson(
  client: Client,
  employeeId: string,
  operator: string,
): Promise<OpsActionOutcome> {
  return opsUpdate(client, employeeId, (h) => h.executeUpdate(retryRunUpdate, { args: [{ operator }] }));
}

async function opsUpdate(
  client: Client,
  employeeId: string,
  update: (handle: ReturnType<typeof personHandle>) => Promise<OpsActionResult>,
): Promise<OpsActionOutcome> {
  try {
    const result = await update(personHandle(client, employeeId));
    return { status: result.done ? 'done' : 'noop', ...result };
  } catch (err) {
    return refusal(err, employeeId);
  }
}

/**
 * Waits until the person has planned everything it was told (no run going, every version
 * handled): after a terminate that is the leaver's disable done (or failed, and retrying).
 */
export async function waitForSettled(
  client: Client,
  employeeId: string,
  timeoutMs = 60_000,
): Promise<PersonState | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await personState(client, employeeId);
    const running = state?.runs.some((r) => !r.endedAt);
    if (state && !running && (state.handledVersion ?? state.version) >= state.version) return state;
    if (Date.now() > deadline) return state ?? undefined;
    await new Promise((r) => setTimeout(r, 250));
  }
}

const personHandle = (client: Client, employeeId: string) =>
  client.workflow.getHandle(personWorkflowId(employeeId));

function refusal(err: unknown, employeeId: string): { status: 'not_found' | 'refused'; message: string } {
  if (err instanceof WorkflowNotFoundError)
    return { status: 'not_found', message: `no person ${employeeId}` };
  // The workflow's validator refused it (its message names the field).
  if (err instanceof WorkflowUpdateFailedError) {
    const cause = err.cause instanceof Error ? err.cause.message : err.message;
    return { status: 'refused', message: cause };
  }
  throw err;
}

/** The operator actions as a port (the API's routes take this; tests and main wire Temporal). */
export interface PersonOps {
  terminate(input: TerminateInput): Promise<TerminateOutcome>;
  lift(employeeId: string, operator: string): Promise<OpsActionOutcome>;
  retry(employeeId: string, operator: string): Promise<OpsActionOutcome>;
}

export const createTemporalPersonOps = (deps: OpsActionDeps): PersonOps => ({
  terminate: (input) => terminatePerson(deps, input),
  lift: (employeeId, operator) => liftPersonTermination(deps.client, employeeId, operator),
  retry: (employeeId, operator) => retryPerson(deps.client, employeeId, operator),
});
