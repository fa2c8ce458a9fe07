import type { Client } from '@temporalio/client';
import { personState, readPerson, SHREDDED_TEXT } from '../ops/persons';
import { loadPolicy } from '../config';
import { cliOperator } from '../ops/approve';
import { confirmHeldEndDate } from '../ops/confirm-end';
import { deliverGuarded } from '../ops/deliver';
import { describeErrors, parseHrRecord } from '../domain/record';
import { licenceReport, type LicenceRow } from '../ops/licences';
import { openRecordIndex } from '../store/open';
import type { PersonState } from '../workflows/messages';
import type { CliContext } from './context';
import { CliError } from './errors';
import { ExitCode } from './exit-codes';
import { readJsonFile } from './files';
import { withTemporal } from './temporal';

// `tunnus hire`, `tunnus person show` and `tunnus licences`: one record in, one person or the
// licence pool out. Validation happens before anything reaches Temporal: a bad record is reported
// with its fields and nothing is delivered.

export async function hire(ctx: CliContext, file: string, options: { wait?: boolean }): Promise<ExitCode> {
  const parsed = parseHrRecord(readJsonFile(file), ctx.intakeRules());
  if (!parsed.ok) throw new CliError('invalid_input', `invalid record: ${describeErrors(parsed.errors)}`);
  const record = parsed.value;
  return withTemporal(ctx.env, async (client) => {
    // Through the one intake use-case: the mass-change guard may hold it for approval.
    const [outcome] = await deliverGuarded({ client, env: ctx.env, origin: cliOperator() }, [
      { record, source: 'hr' },
    ]);
    if (outcome!.status === 'held') {
      ctx.print(`held for approval in ${outcome!.workflowId}: ${outcome!.reason ?? ''}`);
      ctx.print(`approve with: tunnus approve ${outcome!.workflowId}`);
      return ExitCode.AwaitingApproval;
    }
    ctx.print(`${outcome!.status === 'unchanged' ? 'unchanged' : 'delivered'}: ${outcome!.workflowId}`);
    if (!options.wait) return ExitCode.Ok;
    const state = await waitForSettled(client, record.employeeId);
    ctx.print(formatState(state));
    if (state.stage === 'failed') {
      throw new CliError(
        'failed',
        `the run for ${record.employeeId} failed${state.lastError ? `: ${state.lastError.type}` : ''}`,
      );
    }
    return ExitCode.Ok;
  });
}

export async function personShow(
  ctx: CliContext,
  employeeId: string,
  options: { json?: boolean },
): Promise<ExitCode> {
  const reading = await withTemporal(ctx.env, (client) => readPerson(client, employeeId));
  if (reading.kind === 'unknown') throw new CliError('not_found', `no person ${employeeId}`);
  // Shredded: nothing of theirs can be read any more; not found, and why (exit code 1).
  if (reading.kind === 'shredded') throw new CliError('not_found', `person ${employeeId}: ${SHREDDED_TEXT}`);
  const { state } = reading;
  ctx.print(options.json ? JSON.stringify(state, null, 2) : formatState(state));
  return ExitCode.Ok;
}

export async function licences(ctx: CliContext, options: { json?: boolean }): Promise<ExitCode> {
  const env = ctx.env;
  const store = openRecordIndex(env);
  try {
    const rows = await withTemporal(env, (client) =>
      licenceReport({
        client,
        identities: store.identities,
        policy: loadPolicy(env.TUNNUS_POLICY_FILE),
        taskQueue: env.TEMPORAL_TASK_QUEUE,
      }),
    );
    ctx.print(options.json ? JSON.stringify(rows, null, 2) : formatLicences(rows));
    return ExitCode.Ok;
  } finally {
    await store.close();
  }
}

/** The tenant's seats beside what Tunnus holds (the read model) and who waits for one. */
export function formatLicences(rows: readonly LicenceRow[]): string {
  const n = (v: number, w: number) => String(v).padStart(w);
  return [
    'sku                    seats   used   free  tunnus  waiting',
    ...rows.map(
      (r) =>
        `${r.sku.padEnd(20)} ${n(r.seats, 7)} ${n(r.used, 6)} ${n(r.free, 6)} ${n(r.assigned, 7)} ${n(r.waiting, 8)}`,
    ),
    '(seats, used, free: the tenant; tunnus: seats managed identities hold; waiting: runs under way that need one)',
  ].join('\n');
}

async function waitForSettled(client: Client, employeeId: string, timeoutMs = 120_000): Promise<PersonState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await personState(client, employeeId);
    const running = state?.runs.some((r) => !r.endedAt);
    if (state && !running && ['active', 'failed'].includes(state.stage)) return state;
    if (Date.now() > deadline) throw new Error(`person ${employeeId} did not settle within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export function formatState(s: PersonState): string {
  const lines = [
    `person     ${s.employeeId}`,
    `stage      ${s.stage}`,
    `account    ${s.account ? `${s.account.sAMAccountName} (${s.account.userPrincipalName})` : '-'}`,
    `job        ${s.record ? `${s.record.jobCode} in ${s.record.orgUnit}, from ${s.record.startDate}` : '-'}`,
    `records    ${s.recordsReceived} received, ${s.duplicatesIgnored} duplicates ignored`,
  ];
  if (s.termination) {
    const t = s.termination;
    lines.push(`terminated ${t.at} by ${t.operator}: ${t.reason}`);
    lines.push('           access stays ended whatever HR sends; lift: tunnus terminate <id> --lift');
  }
  if (s.lastError) lines.push(`error      ${s.lastError.type}: ${s.lastError.message}`);
  lines.push('runs');
  // A joiner that finished at once ran inside its person (joiner-here): its steps are in that history.
  for (const r of s.runs)
    lines.push(
      `  ${r.workflowId}  ${r.outcome ?? 'running'}  ${r.startedAt}${r.ranIn ? `  in ${r.ranIn}` : ''}`,
    );
  lines.push('timeline');
  for (const t of s.timeline) lines.push(`  ${t.at}  ${t.event}${t.detail ? ` (${t.detail})` : ''}`);
  return lines.join('\n');
}

/** `tunnus person confirm-end <employeeId> <endDate>`: release an end date held as too far past. */
export async function confirmEnd(ctx: CliContext, employeeId: string, endDate: string): Promise<ExitCode> {
  const outcome = await withTemporal(ctx.env, (client) =>
    confirmHeldEndDate(client, employeeId, endDate, cliOperator()),
  );
  if (!outcome.ok) {
    throw new CliError(
      outcome.reason,
      outcome.reason === 'refused' ? `not confirmed: ${outcome.message}` : outcome.message,
    );
  }
  ctx.print(`${employeeId}: end date ${endDate} confirmed by ${cliOperator()}: ${outcome.reason}`);
  return ExitCode.Ok;
}
