import fs from 'node:fs';
import os from 'node:os';

// The worker's workflow cache, sized from the memory the worker has. The SDK's default grows with
// the V8 heap limit (about 2,300 workflows on a 4 GB heap), and a population operation or import
// that touches every person fills it: measured 4.4–4.8 GB of RSS over 5,000 people. Here the cache
// gets a share of the memory the process may really use — the container's cgroup limit, else the
// machine's — at what one cached person workflow costs, within fixed bounds.

/** Memory one cached workflow (a person with its carried state, reused V8 context) is counted at. */
export const CACHED_WORKFLOW_BYTES = 1.5 * 1024 * 1024;
/** The share of the worker's memory the workflow cache may take (activities, buffers: the rest). */
export const CACHE_SHARE = 0.25;
export const MIN_CACHED_WORKFLOWS = 50;
export const MAX_CACHED_WORKFLOWS = 2000;

/** The cgroup (v2, else v1) memory limit of this process in bytes, when it has one. */
export function cgroupMemoryLimit(
  read: (file: string) => string = (f) => fs.readFileSync(f, 'utf8'),
): number | undefined {
  for (const file of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    try {
      const text = read(file).trim();
      const bytes = Number(text);
      // "max" (v2) or a huge number (v1's unlimited) mean no limit.
      if (Number.isFinite(bytes) && bytes > 0 && bytes < 2 ** 60) return bytes;
    } catch {
      // not this cgroup version
    }
  }
  return undefined;
}

/** The memory the worker may use: the cgroup limit when lower than the machine's memory. */
export function workerMemoryBytes(total = os.totalmem(), cgroup = cgroupMemoryLimit()): number {
  return cgroup !== undefined ? Math.min(total, cgroup) : total;
}

/**
 * `maxCachedWorkflows`: WORKER_MAX_CACHED_WORKFLOWS when set, else a quarter of the worker's memory
 * at 1.5 MB per workflow, between 50 and 2,000 (e.g. 1 GB → 170; 4 GB → 682; 16 GB → 2,000).
 * An evicted workflow is replayed from its history when it next has work: slower, never wrong.
 */
export function workflowCacheSize(configured?: number, memoryBytes = workerMemoryBytes()): number {
  if (configured !== undefined) return configured;
  const fit = Math.floor((memoryBytes * CACHE_SHARE) / CACHED_WORKFLOW_BYTES);
  return Math.min(MAX_CACHED_WORKFLOWS, Math.max(MIN_CACHED_WORKFLOWS, fit));
}

/**
 * How much one worker runs at once. Each in-flight task holds its activation or its LDAP/Graph
 * request in memory, so these bound the worker's memory together with the cache; with N workers on
 * one task queue they apply per worker (docs/scale-out.md).
 */
export interface WorkerConcurrency {
  /** maxConcurrentWorkflowTaskExecutions (WORKER_MAX_WORKFLOW_TASKS). */
  workflowTasks: number;
  /** maxConcurrentActivityTaskExecutions (WORKER_MAX_ACTIVITIES). */
  activities: number;
  /** maxConcurrentLocalActivityExecutions (WORKER_MAX_LOCAL_ACTIVITIES). */
  localActivities: number;
}

/**
 * Defaults: workflow tasks run on one thread (reused V8 context), so more than a few dozen at once
 * only queue there holding memory; activities wait on AD and Graph, so 100 keep a DC busy without
 * piling up requests it then serves one by one. The SDK caps workflow tasks at 2 or more while
 * workflows are cached.
 */
export const DEFAULT_CONCURRENCY: WorkerConcurrency = {
  workflowTasks: 40,
  activities: 100,
  localActivities: 100,
};

export function workerConcurrency(configured: Partial<WorkerConcurrency> = {}): WorkerConcurrency {
  const pick = (k: keyof WorkerConcurrency) => configured[k] ?? DEFAULT_CONCURRENCY[k];
  return {
    workflowTasks: Math.max(2, pick('workflowTasks')),
    activities: pick('activities'),
    localActivities: pick('localActivities'),
  };
}
