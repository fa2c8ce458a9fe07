import type { Client } from '@temporalio/client';
import { inBatches } from '../in-batches';
import type { CloudDirectory } from '../connectors/graph/cloud-directory';
import type { CleanupReport } from '../domain/cleanup-report';
import { managedSkus, type Policy } from '../domain/policy';
import { pendingApprovalQuery } from '../workflows/approval';
import { provisionStatusQuery, type ProvisionStatus } from '../workflows/messages';
import { cached } from './cached';
import { GUARDED_WORKFLOW_TYPES, LIFECYCLE_WORKFLOW_TYPES, runKindOf } from './run-kinds';
import { heldChangeKinds } from '../ops/hold';
import { lastCompleted, queryRun, runningRuns } from '../ops/runs';

// Facts about the population, read on scrape: Temporal visibility lists the running runs of this
// deployment (its task queue), each run's `status` / `pendingApproval` query says what it waits
// for, Graph says the seats, and the last completed cleanup's result holds its findings. Each
// source is cached for `cacheMs`, so a scrape every 15 s costs one read per source and window.

export type WaitReason = 'start_date' | 'effective_date' | 'licence_seat' | 'directory_sync' | 'mailbox';

export interface RunsSnapshot {
  /** People whose run waits, by reason (one run per person at a time). */
  waiting: Record<WaitReason, number>;
  /** Running lifecycle runs by kind. */
  running: Record<string, number>;
  /** Runs past their dates and not in a business wait, i.e. planning or applying. */
  stuck: number;
  oldestStuckSeconds: number;
}

export interface GuardSnapshot {
  /** Imports and cleanups stopped for approval, by run kind. */
  waiting: Record<string, number>;
  oldestWaitSeconds: number;
  /** Single changes (API, CLI, plan apply, rollout) in the held set, by loss kind. */
  held: Record<string, number>;
}

export interface SeatsRow {
  sku: string;
  seats: number;
  free: number;
}

export interface PopulationSources {
  runs(): Promise<RunsSnapshot>;
  seats(): Promise<SeatsRow[]>;
  guard(): Promise<GuardSnapshot>;
  /** Counts per finding kind of the last completed cleanup, or undefined before the first. */
  cleanup(): Promise<{ counts: Record<string, number>; completedAt: number } | undefined>;
}

export interface PopulationDeps {
  client: Client;
  taskQueue: string;
  cloud: CloudDirectory;
  policy: Policy;
  cacheMs?: number;
  /** Per workflow query; a run whose worker does not answer is left out of this scrape. */
  queryTimeoutMs?: number;
  now?: () => number;
}

/** What a run's status detail says it waits for (the texts of src/workflows/converge.ts). */
export function waitReasonOf(status: Pick<ProvisionStatus, 'phase' | 'detail'>): WaitReason | undefined {
  if (status.phase !== 'waiting') return undefined;
  const d = status.detail;
  if (d.startsWith('waiting for start date') || d.startsWith('waiting to create account'))
    return 'start_date';
  if (d.startsWith('waiting for the change dated')) return 'effective_date';
  if (d.startsWith('waiting for licence')) return 'licence_seat';
  if (d.startsWith('waiting for directory sync')) return 'directory_sync';
  if (d.startsWith('waiting for the mailbox')) return 'mailbox';
  return undefined;
}

export function createPopulationSources(deps: PopulationDeps): PopulationSources {
  const ttl = deps.cacheMs ?? 30_000;
  const now = deps.now ?? (() => Date.now());
  const queryTimeoutMs = deps.queryTimeoutMs ?? 5_000;
  const { client, taskQueue } = deps;

  const runs = async (): Promise<RunsSnapshot> => {
    const listed = await runningRuns(client, taskQueue, LIFECYCLE_WORKFLOW_TYPES);
    const snapshot: RunsSnapshot = {
      waiting: { start_date: 0, effective_date: 0, licence_seat: 0, directory_sync: 0, mailbox: 0 },
      running: {},
      stuck: 0,
      oldestStuckSeconds: 0,
    };
    await inBatches(listed, 8, async (run) => {
      const kind = runKindOf(run.type) ?? run.type;
      snapshot.running[kind] = (snapshot.running[kind] ?? 0) + 1;
      const status = await queryRun(client, run, provisionStatusQuery, queryTimeoutMs);
      if (!status || status.phase === 'done') return;
      const reason = waitReasonOf(status);
      if (reason) snapshot.waiting[reason]++;
      else if (status.phase !== 'waiting') {
        snapshot.stuck++;
        snapshot.oldestStuckSeconds = Math.max(snapshot.oldestStuckSeconds, (now() - run.startTime) / 1000);
      }
    });
    return snapshot;
  };

  const seats = async (): Promise<SeatsRow[]> => {
    const managed = new Set(managedSkus(deps.policy));
    if (managed.size === 0) return [];
    return (await deps.cloud.listSubscribedSkus())
      .filter((s) => managed.has(s.skuPartNumber))
      .map((s) => ({ sku: s.skuPartNumber, seats: s.enabled, free: s.available }));
  };

  const guard = async (): Promise<GuardSnapshot> => {
    const snapshot: GuardSnapshot = { waiting: {}, oldestWaitSeconds: 0, held: {} };
    for (const kind of await heldChangeKinds(client, queryTimeoutMs)) {
      snapshot.held[kind] = (snapshot.held[kind] ?? 0) + 1;
    }
    const listed = await runningRuns(client, taskQueue, GUARDED_WORKFLOW_TYPES);
    await inBatches(listed, 8, async (run) => {
      // Not registered until the run stops for approval: then the query fails, and it does not wait.
      const pending = await queryRun(client, run, pendingApprovalQuery, queryTimeoutMs);
      if (!pending) return;
      const kind = runKindOf(run.type) ?? run.type;
      snapshot.waiting[kind] = (snapshot.waiting[kind] ?? 0) + 1;
      const waited = (now() - Date.parse(pending.since)) / 1000;
      if (Number.isFinite(waited)) snapshot.oldestWaitSeconds = Math.max(snapshot.oldestWaitSeconds, waited);
    });
    return snapshot;
  };

  const cleanup = async () => {
    const last = await lastCompleted<CleanupReport>(client, 'cleanupWorkflow', taskQueue);
    return last && { counts: { ...last.result.counts }, completedAt: last.closedAt };
  };

  return {
    runs: cached(runs, ttl, now),
    seats: cached(seats, ttl, now),
    guard: cached(guard, ttl, now),
    cleanup: cached(cleanup, ttl, now),
  };
}
