import { loadPolicy } from '../config';
import type { PersonState } from '../domain/person-state';
import { cliOperator } from '../ops/approve';
import {
  liftPersonTermination,
  retryPerson,
  terminatePerson,
  waitForSettled,
  type OpsActionOutcome,
  type TerminateOutcome,
} from '../ops/terminate';
import { openRecordIndex } from '../store/open';
import type { CliContext } from './context';
import { CliError, UsageError } from './errors';
import { ExitCode } from './exit-codes';
import { withTemporal } from './temporal';

// `tunnus terminate <id> --reason "…"` / `--lift` and `tunnus retry <id>`: thin over src/ops/terminate.ts
// (the API's /termination and /retry call the same). The operator is always the OS user.

export interface TerminateOptions {
  reason?: string;
  lift?: boolean;
  approveMass?: boolean;
  wait: boolean;
  json?: boolean;
}

export async function terminate(ctx: CliContext, employeeId: string, o: TerminateOptions): Promise<ExitCode> {
  if (!o.lift && !o.reason?.trim()) {
    throw new UsageError('terminate needs --reason "<why>" (or --lift to lift a termination)', 'terminate');
  }
  const operator = cliOperator();
  return withTemporal(ctx.env, async (client) => {
    if (o.lift) {
      const outcome = await liftPersonTermination(client, employeeId, operator);
      failIfRefused(outcome);
      const state =
        outcome.status === 'done' && o.wait ? await waitForSettled(client, employeeId) : undefined;
      report(ctx, o, { action: 'lift', employeeId, operator, ...outcome }, state);
      return ExitCode.Ok;
    }
    const store = openRecordIndex(ctx.env);
    try {
      const outcome = await terminatePerson(
        { client, store, policy: loadPolicy(ctx.env.TUNNUS_POLICY_FILE) },
        { employeeId, reason: o.reason!, operator, ...(o.approveMass ? { approveMass: true } : {}) },
      );
      failIfRefused(outcome);
      if (outcome.status === 'held') {
        report(ctx, o, { action: 'terminate', employeeId, operator, ...outcome });
        return ExitCode.AwaitingApproval;
      }
      const state =
        outcome.status === 'terminated' && o.wait ? await waitForSettled(client, employeeId) : undefined;
      report(ctx, o, { action: 'terminate', employeeId, operator, ...outcome }, state);
      return ExitCode.Ok;
    } finally {
      await store.close();
    }
  });
}

export async function retry(ctx: CliContext, employeeId: string, o: { json?: boolean }): Promise<ExitCode> {
  const operator = cliOperator();
  return withTemporal(ctx.env, async (client) => {
    const outcome = await retryPerson(client, employeeId, operator);
    failIfRefused(outcome);
    report(ctx, o, { action: 'retry', employeeId, operator, ...outcome });
    return ExitCode.Ok;
  });
}

function failIfRefused(outcome: TerminateOutcome | OpsActionOutcome): void {
  if (outcome.status === 'not_found') throw new CliError('not_found', outcome.message);
  if (outcome.status === 'refused') throw new CliError('refused', `refused: ${outcome.message}`);
}

/** One line (or one JSON document) with what happened, and the person where it settled. */
function report(
  ctx: CliContext,
  o: { json?: boolean },
  result: { action: string; employeeId: string; operator: string; status: string; message: string },
  state?: PersonState,
): void {
  const settled = state ? settledSummary(state) : undefined;
  if (o.json) {
    ctx.print(JSON.stringify({ ...result, ...(settled ? { settled } : {}) }, null, 2));
    return;
  }
  ctx.print(
    `${result.employeeId}: ${result.action} ${result.status} (${result.operator}): ${result.message}`,
  );
  if (settled) {
    ctx.print(
      `stage ${settled.stage}${settled.disabledAt ? `, disabled at ${settled.disabledAt}` : ''}` +
        `${settled.lastError ? `, failed: ${settled.lastError}` : ''}`,
    );
  }
}

function settledSummary(s: PersonState) {
  return {
    stage: s.stage,
    ...(s.disabledAt ? { disabledAt: s.disabledAt } : {}),
    ...(s.termination ? { termination: s.termination } : {}),
    ...(s.lastError ? { lastError: `${s.lastError.type}: ${s.lastError.message}` } : {}),
    lastRun: s.runs.at(-1)?.workflowId,
  };
}
