import { log, patched, proxyActivities, setCurrentDetails, workflowInfo } from '@temporalio/workflow';
import type { CleanupActivities } from '../activities/cleanup';
import {
  countByKind,
  findingKinds,
  guardCounts,
  monthlySavingOf,
  reclaimableLicences,
  type CleanupReport,
  type FindingKind,
} from '../domain/cleanup-report';
import { cleanupLosses, countsVerdict } from '../domain/mass-change';
import { cleanupReportNotice } from '../domain/notice-events';
import { awaitApproval } from './approval';
import { sendNotice } from './notices';

// The daily leaver cleanup (Temporal Schedule "leaver-cleanup", or `tunnus cleanup run`): find
// what slipped through — leavers past retention, licences on leavers, orphan accounts, members
// of managed groups the policy does not grant — then report it, or (enforce) fix it. A run that
// would disable or delete too many identities waits for an operator. The report is the result.

const { collectCleanup } = proxyActivities<CleanupActivities>({
  // Reads every account and asks every person workflow: minutes at city scale.
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  // Bounded: a collection that keeps failing fails this run (and alerts) instead of blocking every
  // later daily run behind it (the schedule skips overlapping runs).
  retry: { initialInterval: '5 seconds', maximumInterval: '1 minute', maximumAttempts: 30 },
});
const { applyCleanup, admitCleanupLosses } = proxyActivities<CleanupActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute' },
});

export interface CleanupInput {
  /** Overrides the policy's mode for this run (`tunnus cleanup run --mode`). */
  mode?: 'report' | 'enforce';
}

const BATCH = 50;

export async function cleanupWorkflow(input: CleanupInput = {}): Promise<CleanupReport> {
  setCurrentDetails('collecting: directory, cloud, identities');
  const collected = await collectCleanup.executeWithOptions(
    { summary: 'read AD, cloud and every identity; find what slipped through' },
    [{ asOf: new Date().toISOString() }],
  );
  const mode = input.mode ?? collected.mode;
  const { findings } = collected;
  const counts = countByKind(findings);
  const done = Object.fromEntries(findingKinds.map((k) => [k, 0])) as Record<FindingKind, number>;
  const summary = findingKinds.map((k) => `${k} ${counts[k]}`).join(', ');
  setCurrentDetails(`${mode}: ${findings.length} findings (${summary})`);

  let approvedBy: string | undefined;
  const stale: Partial<Record<FindingKind, number>> = {};
  let licences = reclaimableLicences(findings);
  if (mode === 'enforce' && findings.length > 0) {
    if (patched('mass-change-ledger')) {
      // Every access the fixes would take (disables, deletes, managed group removals) goes through
      // the guard's window, against the active identities; over the threshold an operator approves
      // exactly this set. Each finding is re-checked right before its fix (applyCleanup).
      const losses = cleanupLosses(findings);
      const ref = workflowInfo().workflowId;
      const admission = await admitCleanupLosses({ ref, losses });
      if (!admission.admitted && admission.verdict === 'needsApproval') {
        const { admitted: _admitted, ...verdict } = admission;
        const { receipt } = await awaitApproval({ what: 'leaver cleanup', verdict, details: [summary] });
        approvedBy = receipt.approvedBy;
        await admitCleanupLosses({ ref, losses, approvedBy });
      }
    } else {
      // Histories recorded before the guard's ledger replay the counts-only guard.
      const verdict = countsVerdict({
        managedIdentities: collected.managedIdentities,
        ...guardCounts(findings),
        thresholdPercent: collected.thresholdPercent,
      });
      if (verdict.verdict === 'needsApproval') {
        approvedBy = (await awaitApproval({ what: 'leaver cleanup', verdict, details: [summary] })).receipt
          .approvedBy;
      }
    }
    licences = {};
    for (let i = 0; i < findings.length; i += BATCH) {
      const batch = findings.slice(i, i + BATCH);
      const applied = await applyCleanup.executeWithOptions(
        { summary: `fix findings ${i + 1}-${i + batch.length} of ${findings.length}` },
        [{ findings: batch }],
      );
      for (const [k, n] of Object.entries(applied.done)) done[k as FindingKind] += n;
      for (const [k, n] of Object.entries(applied.stale ?? {}))
        stale[k as FindingKind] = (stale[k as FindingKind] ?? 0) + n;
      for (const [sku, n] of Object.entries(applied.licences)) licences[sku] = (licences[sku] ?? 0) + n;
      setCurrentDetails(`enforce: fixed ${Math.min(i + BATCH, findings.length)} of ${findings.length}`);
    }
  }
  const monthlySaving = monthlySavingOf(licences, collected.prices);
  const report: CleanupReport = {
    runAt: collected.asOf,
    mode,
    managedIdentities: collected.managedIdentities,
    counts,
    done,
    licences,
    monthlySaving,
    findings,
    ...(collected.skipped ? { skipped: collected.skipped } : {}),
    ...(approvedBy ? { approvedBy } : {}),
    ...(Object.keys(stale).length > 0 ? { stale } : {}),
  };
  log.info('cleanup finished', {
    mode,
    findings: findings.length,
    skipped: collected.skipped?.length ?? 0,
    monthlySaving,
  });
  setCurrentDetails(
    `${mode}: ${findings.length} findings; licences ${JSON.stringify(licences)}; saving ${monthlySaving} €/month`,
  );
  // The report to ops (counts and codes only), once per run: the key names the run.
  if (patched('notices-cleanup-report'))
    await sendNotice(cleanupReportNotice(report, workflowInfo().workflowId));
  return report;
}
