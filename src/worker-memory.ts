import fs from 'node:fs';
import os from 'node:os';

// The worker's workflow cache, sized from the memory the worker has. The SDK's default grows with
// the V8 heap limit (about 2,300 workflows on a 4 GB heap), and a population operation or import
// that touches every person fills it: measured 4.4–4.8 GB of RSS over 5,000 people. Here the cache
// gets a share of the memory the process may really use — the container's cgroup limit, else the
// machine's — at what one cached person workflow costs, within fixed bounds. The upper bound is
// low on purpose: at 500 joiners in flight (bench/joiners.ts, 24 GB machine) a cache of 2,000 took
// the worker to 479 MB and one of 200 to 388 MB at the same joiners per second and CPU per joiner,
// because an evicted person replays only its ~20 events when its run ends.

/** Memory one cached workflow (a person with its carried state, reused V8 context) is counted at. */
export const CACHED_WORKFLOW_BYTES = 1.5 * 1024 * 1024;
/** The share of the worker's memory the workflow cache may take (activities, buffers: the rest). */
export const CACHE_SHARE = 0.25;
export const MIN_CACHED_WORKFLOWS = 50;
export const MAX_CACHED_WORKFLOWS = 200;

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
 * at 1.5 MB per workflow, between 50 and 200 (e.g. 256 MB → 50; 1 GB → 170; 1.2 GB or more → 200).
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

/**
 * V8's heap, per isolate (the worker has two: the main thread, where activations, the payload
 * codec and LDAP run, and the workflow thread, where the cached workflows live). Measured at 500
 * joiners in flight (bench/joiners.ts), V8's defaults let each grow to several times what it holds:
 * - the young generation grows to 32 MB semi-spaces (128 MB of new space committed in each
 *   isolate, a third of the worker's 720 MB peak) while a scavenge keeps a few MB: 4 MB semi-spaces
 *   hold both near their live size for more, cheap scavenges;
 * - with a heap limit of 2 GB or more (V8's default: a quarter of the machine's memory, up to 4 GB)
 *   V8 lets the old generation grow to 4× what survived the last full GC before the next one; at
 *   1 GB it grows by at most about 1.5× (main thread 137 → 100 MB committed, for ~60 MB live).
 * Together: peak RSS 720 → ~460 MB at the same throughput (GC: ~7 % of the worker's CPU).
 * buildWorker sets both for the workflow thread; the main thread's are fixed when its isolate is
 * made, so the worker is started with WORKER_NODE_FLAGS (Dockerfile, `npm run worker`).
 */
export const DEFAULT_SEMI_SPACE_MB = 4;
export const DEFAULT_OLD_SPACE_MB = 1024;
export const WORKER_NODE_FLAGS = [
  `--max-semi-space-size=${DEFAULT_SEMI_SPACE_MB}`,
  `--max-old-space-size=${DEFAULT_OLD_SPACE_MB}`,
];

/**
 * The worker process's environment that must be set before it starts, because glibc reads it once:
 * MALLOC_ARENA_MAX. By default glibc gives each thread that allocates an arena of its own, up to 8
 * per CPU of the host (not of the container's quota), and every arena keeps what its thread freed.
 * The worker has many such threads (the SDK's Rust core and its runtime, libuv's pool, two V8
 * isolates). Measured at 500 joiners in flight (bench/joiners.ts): peak RSS 388–401 MB → 349 MB at
 * the same joiners per second and CPU per joiner. Before the V8 heaps were sized it changed
 * nothing visible: the young generations held far more.
 */
export const WORKER_PROCESS_ENV = { MALLOC_ARENA_MAX: '2' } as const;

export interface V8HeapSizing {
  /** --max-semi-space-size (WORKER_SEMI_SPACE_MB). */
  semiSpaceMb: number;
  /** --max-old-space-size (WORKER_OLD_SPACE_MB): also the isolate's limit, past which it fails. */
  oldSpaceMb: number;
}

export function v8HeapSizing(configured: Partial<V8HeapSizing> = {}): V8HeapSizing {
  return {
    semiSpaceMb: configured.semiSpaceMb ?? DEFAULT_SEMI_SPACE_MB,
    oldSpaceMb: configured.oldSpaceMb ?? DEFAULT_OLD_SPACE_MB,
  };
}

/** The V8 flags for an isolate made from now on (the workflow thread), as one string. */
export function v8HeapFlags(sizing: V8HeapSizing): string {
  return `--max-semi-space-size=${sizing.semiSpaceMb} --max-old-space-size=${sizing.oldSpaceMb}`;
}

/**
 * Node's shared pool for small Buffers, 64 KB since Node 24 (8 KB before). A Buffer sliced from it
 * keeps the whole pool alive, and the SDK keeps each cached workflow's last completion and
 * activity results (pool slices) until its next activation: measured 600 pools, 37 MB of the
 * main thread's memory at 500 joiners. 8 KB pools pin 8× less.
 */
export const BUFFER_POOL_BYTES = 8 * 1024;
