import { findingKinds, type CleanupReport, type Finding } from '../domain/cleanup-report';
import { lastCleanupReport, startCleanup, waitForCleanup } from '../ops/cleanup';
import type { CliContext } from './context';
import { CliError } from './errors';
import { ExitCode } from './exit-codes';
import { withTemporal } from './temporal';
import { openFindings } from '../activities/cleanup-seal';
import { identityKeysFor } from '../crypto/data-converter';

// `tunnus cleanup run [--mode report|enforce] [--no-wait] [--json]` starts the leaver cleanup now
// (through its schedule, or directly with a mode of its own); `tunnus cleanup report [--json]`
// prints the last completed run's report — the same object the Web UI shows as its result.

/** How long `cleanup run` waits for the report before it leaves the run going (and says so). */
const WAIT_LIMIT_MS = 30 * 60_000;

export async function cleanupRun(
  ctx: CliContext,
  options: { mode?: 'report' | 'enforce'; wait: boolean; json?: boolean },
): Promise<ExitCode> {
  return withTemporal(ctx.env, async (client) => {
    const workflowId = await startCleanup(client, ctx.env.TEMPORAL_TASK_QUEUE, options.mode);
    if (!options.wait) {
      ctx.print(options.json ? JSON.stringify({ workflowId }) : `started ${workflowId}`);
      return ExitCode.Ok;
    }
    ctx.note(`started ${workflowId}`);
    let told = false;
    const outcome = await waitForCleanup(client, workflowId, {
      timeoutMs: WAIT_LIMIT_MS,
      // A busy worker or server: the run is durable and carries on; say so once, keep waiting.
      onUnanswered: (why) => {
        if (told) return;
        told = true;
        ctx.note(
          `no answer from Temporal or the worker in time (${why}); the cleanup is still running, waiting on`,
        );
      },
    });
    if ('running' in outcome) {
      // Not a failure either: the run goes on without this command.
      if (options.json) {
        ctx.print(JSON.stringify({ workflowId, status: 'running', reason: outcome.running }));
      } else {
        ctx.print(`${workflowId} is ${outcome.running}; the run carries on`);
        ctx.print('its report when it ends: tunnus cleanup report');
      }
      return ExitCode.Ok;
    }
    if ('waiting' in outcome) {
      // Not a failure: the run waits durably; the operator decides.
      if (options.json) {
        ctx.print(JSON.stringify({ workflowId, status: 'awaiting approval', reason: outcome.waiting }));
      } else {
        ctx.print(`waiting for approval: ${outcome.waiting}`);
        ctx.print(`approve with: tunnus approve ${workflowId}`);
      }
      return ExitCode.AwaitingApproval;
    }
    await printReport(ctx, outcome.report, options.json);
    return ExitCode.Ok;
  });
}

export async function cleanupReport(ctx: CliContext, options: { json?: boolean }): Promise<ExitCode> {
  const last = await withTemporal(ctx.env, (client) =>
    lastCleanupReport(client, ctx.env.TEMPORAL_TASK_QUEUE),
  );
  if (!last) throw new CliError('not_found', 'no completed cleanup run yet (tunnus cleanup run starts one)');
  await printReport(ctx, last, options.json);
  return ExitCode.Ok;
}

/** The report with its findings' account names and DNs opened (a shredded person's: "(shredded)"). */
async function printReport(ctx: CliContext, sealed: CleanupReport, json: boolean | undefined): Promise<void> {
  const report = { ...sealed, findings: await openFindings(identityKeysFor(ctx.env), sealed.findings) };
  ctx.print(json ? JSON.stringify(report, null, 2) : formatCleanupReport(report));
}

export function formatCleanupReport(r: CleanupReport): string {
  const lines = [
    `leaver cleanup ${r.runAt} — ${r.mode} mode, ${r.managedIdentities} managed identities` +
      (r.approvedBy ? ` (approved by ${r.approvedBy})` : ''),
    '',
    `${'finding'.padEnd(20)} ${'found'.padStart(6)} ${(r.mode === 'enforce' ? 'fixed' : '').padStart(6)}`,
  ];
  for (const k of findingKinds) {
    lines.push(
      `${k.padEnd(20)} ${String(r.counts[k]).padStart(6)} ${(r.mode === 'enforce' ? String(r.done[k]) : '').padStart(6)}`,
    );
  }
  const seats = Object.entries(r.licences);
  lines.push('');
  lines.push(
    `licences ${r.mode === 'enforce' ? 'reclaimed' : 'reclaimable'}: ` +
      (seats.length > 0 ? seats.map(([sku, n]) => `${sku} ${n}`).join(', ') : 'none'),
  );
  lines.push(`monthly saving: ${r.monthlySaving.toFixed(2)} €`);
  if (r.findings.length > 0) {
    lines.push('', 'findings:');
    for (const f of r.findings) lines.push(`  ${describeFinding(f)}`);
  }
  return lines.join('\n');
}

export function describeFinding(f: Finding): string {
  switch (f.kind) {
    case 'pastRetention':
      return `pastRetention      ${f.employeeId} ${f.account}: retention ended ${f.deleteAt.slice(0, 10)}`;
    case 'licenceOnLeaver':
      return `licenceOnLeaver    ${f.employeeId}: ${f.skus.join(', ')} (${f.why})`;
    case 'orphanAccount':
      return `orphanAccount      ${f.account}: enabled, ${f.why}`;
    case 'ungrantedMember':
      return `ungrantedMember    ${f.account} in ${f.group}: no rule grants it`;
    case 'expiredReservation':
      return `expiredReservation ${f.dn}: ended ${f.until}`;
  }
}
