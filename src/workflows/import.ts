import {
  allHandlersFinished,
  CancellationScope,
  condition,
  continueAsNew,
  defineQuery,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type {
  BatchResult,
  EndResult,
  ImportActivities,
  ImportAnalysis,
  ImportFailure,
} from '../activities/import';
import { countsVerdict, type GuardVerdict } from '../domain/mass-change';
import { awaitApproval, type ApprovalReceipt } from './approval';
import type { Source } from './messages';

// A snapshot import (`import-{source}-{hash}`): analyse the staged rows against the record index,
// stop for approval if the mass-change guard says so, then deliver only new and changed persons in
// batches; when the policy makes the source's snapshots authoritative, end the persons the snapshot
// leaves out (counted as disables by the guard). Rows stay in staging; history carries ids and
// counts. Progress: the `progress` query and the current details in the Web UI.

export interface ImportInput {
  importId: string;
  /** Where the CLI/API staged the validated rows (src/store/import-staging.ts). */
  stagingId: string;
  source: Source;
  /** Rows staged (valid rows). */
  total: number;
  /** Rows of the file rejected by validation (only with accept-valid-rows). */
  rejectedRows: number;
  /** Rows per delivery activity. */
  batchSize?: number;
  /** Carried across continue-as-new. */
  carried?: ImportProgress;
}

// Ending missing persons (authoritative snapshots) is part of 'delivering': the phase names are
// part of the API's response schema (src/api/routes/imports.ts).
export type ImportPhase = 'analysing' | 'awaiting approval' | 'delivering' | 'completed';

export interface ImportProgress {
  importId: string;
  source: Source;
  phase: ImportPhase;
  total: number;
  rejectedRows: number;
  /** Rows handled so far (unchanged + delivered + failed). */
  processed: number;
  unchanged: number;
  delivered: number;
  failed: number;
  /** The first failures (all are counted in `failed`). */
  failures: ImportFailure[];
  analysis?: ImportAnalysis;
  guard?: GuardVerdict;
  approval?: ApprovalReceipt;
  /** Persons the index knows from this source whom the snapshot leaves out, in words. */
  notInSnapshot?: string;
  /** Persons ended because an authoritative snapshot left them out (`ends` has the details). */
  ended?: number;
  /** What ending the missing persons did; only when the source's snapshots are authoritative. */
  ends?: EndResult;
  startedAt: string;
  finishedAt?: string;
}

export const importProgressQuery = defineQuery<ImportProgress>('progress');

const DEFAULT_BATCH = 1000;

const { analyseImport, confirmImportLosses, deliverImportBatch, endMissingPersons, dropImportStaging } =
  proxyActivities<ImportActivities>({
    // A batch signals up to 1,000 persons; heartbeats every 200 rows show it is alive.
    startToCloseTimeout: '15 minutes',
    // One heartbeat per 200 rows (seconds apart): a dead worker's batch resumes within 30 s.
    heartbeatTimeout: '30 seconds',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
  });

export async function importWorkflow(input: ImportInput): Promise<ImportProgress> {
  const progress: ImportProgress = input.carried ?? {
    importId: input.importId,
    source: input.source,
    phase: 'analysing',
    total: input.total,
    rejectedRows: input.rejectedRows,
    processed: 0,
    unchanged: 0,
    delivered: 0,
    failed: 0,
    failures: [],
    startedAt: new Date().toISOString(),
  };
  setHandler(importProgressQuery, () => progress);
  const ref = { importId: input.importId, stagingId: input.stagingId, source: input.source };
  const what = `${input.source === 'hr' ? 'HR' : 'education'} import of ${input.total} rows`;
  let continuing = false;

  try {
    if (!progress.analysis) {
      setCurrentDetails(`Analysing ${input.total} rows against the record index…`);
      const analysis = await analyseImport(ref);
      progress.analysis = analysis;
      if (analysis.missingFromSnapshot > 0) {
        progress.notInSnapshot =
          `${analysis.missingFromSnapshot} persons known from ${input.source} are not in this snapshot; ` +
          (analysis.authoritative
            ? `${analysis.wouldEnd} of them are ended today (snapshots are authoritative), the others ` +
              'have ended already or hold no record'
            : 'they are not ended (snapshots are not authoritative)');
      }
      // Every loss of access the import would cause (ends within the window, deletions, groups and
      // licences lost by role changes), with what the window already holds, against the active
      // identities. Over the threshold: the operator approves this exact set; if it moved by the
      // time they did (HR sent something meanwhile), they are asked again.
      // An analysis recorded before the guard classified losses replays the counts-only guard.
      const legacy = !analysis.guard;
      let verdict: GuardVerdict =
        analysis.guard ??
        countsVerdict({
          managedIdentities: analysis.managedIdentities,
          disables: analysis.disables + (analysis.wouldEnd ?? 0),
          deletes: 0,
          thresholdPercent: analysis.thresholdPercent,
        });
      progress.guard = verdict;
      while (verdict.verdict === 'needsApproval') {
        progress.phase = 'awaiting approval';
        const { receipt } = await awaitApproval({
          what,
          verdict,
          details: [
            `${analysis.changed} changed and ${analysis.new} new persons would be delivered; ` +
              `${analysis.unchanged} rows are unchanged. Changes judged against ${analysis.asOf}.`,
            ...(progress.notInSnapshot ? [progress.notInSnapshot] : []),
          ],
        });
        if (legacy) {
          progress.approval = receipt;
          break;
        }
        const confirmed = await confirmImportLosses({
          ...ref,
          setHash: receipt.setHash,
          approvedBy: receipt.approvedBy,
        });
        if (confirmed.confirmed) {
          progress.approval = receipt;
          break;
        }
        verdict = confirmed.guard;
        progress.guard = verdict;
      }
    }

    progress.phase = 'delivering';
    const batchSize = input.batchSize ?? DEFAULT_BATCH;
    while (progress.processed < progress.total) {
      setCurrentDetails(describeProgress(progress));
      const batch = await deliverImportBatch({ ...ref, offset: progress.processed, limit: batchSize });
      add(progress, batch);
      const info = workflowInfo();
      if (progress.processed < progress.total && info.continueAsNewSuggested) {
        await condition(allHandlersFinished);
        continuing = true;
        return await continueAsNew<typeof importWorkflow>({ ...input, carried: progress });
      }
    }
    // After the deliveries, and while the staging still holds the snapshot (dropped below).
    if (progress.analysis?.authoritative && !progress.ends) {
      setCurrentDetails(`**Ending persons missing from the snapshot**: ${describeProgress(progress)}`);
      const ends = await endMissingPersons(ref);
      progress.ends = ends;
      progress.ended = ends.ended;
      progress.failed += ends.failed;
      for (const f of ends.failures) if (progress.failures.length < 50) progress.failures.push(f);
    }
    progress.phase = 'completed';
    progress.finishedAt = new Date().toISOString();
    setCurrentDetails(describeProgress(progress));
    return progress;
  } catch (err) {
    if (isCancellation(err)) setCurrentDetails(`Cancelled: ${describeProgress(progress)}`);
    throw err;
  } finally {
    // Staged rows hold personal data: gone when the import ends, however it ends.
    if (!continuing) await CancellationScope.nonCancellable(() => dropImportStaging(ref));
  }
}

function add(progress: ImportProgress, batch: BatchResult): void {
  progress.processed += batch.done;
  progress.unchanged += batch.unchanged;
  progress.delivered += batch.delivered;
  progress.failed += batch.failed;
  for (const f of batch.failures) if (progress.failures.length < 50) progress.failures.push(f);
}

/** "12,000/50,000 rows: 240 delivered, 11,760 unchanged, 0 failed" (Markdown for the Web UI). */
export function describeProgress(p: ImportProgress): string {
  const head = p.phase === 'completed' ? '**Completed**' : `**Delivering** ${p.processed}/${p.total} rows`;
  return (
    `${head}: ${p.delivered} delivered, ${p.unchanged} unchanged, ${p.failed} failed` +
    (p.ends ? `, ${p.ends.ended} ended (missing from the snapshot)` : '') +
    (p.rejectedRows > 0 ? `; ${p.rejectedRows} rows rejected by validation` : '') +
    (p.notInSnapshot ? `.\n\n${p.notInSnapshot}` : '')
  );
}
