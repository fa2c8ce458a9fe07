import v8 from 'node:v8';
import { NativeConnection, Worker, type WorkflowBundle } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { createCloudActivities } from './activities/cloud';
import { createCleanupActivities } from './activities/cleanup';
import { createDirectoryActivities } from './activities/directory';
import { createHandoverActivities } from './activities/handover';
import { createImportActivities } from './activities/import';
import { createNotifyActivities } from './activities/notify';
import { createReadModelActivities } from './activities/read-model';
import { createRunActivities } from './activities/runs';
import { createShredActivities } from './activities/crypto-shred';
import { loadConfig, parseEnv, temporalTls, type Env } from './config';
import type { CloudDirectory } from './connectors/graph/cloud-directory';
import { identityKeysFor, tunnusDataConverter } from './crypto/data-converter';
import type { IdentityKeys } from './crypto/identity-keys';
import type { Directory } from './connectors/ldap/directory';
import type { PhoneDirectory } from './connectors/phone/phone-directory';
import type { Policy } from './domain/policy';
import { createLogger, type Logger } from './logger';
import { sweepEndedImports } from './ops/staging-sweep';
import { createWorkerObservability, sdkMetricsBindAddress, type TunnusMetrics } from './metrics';
import { ensureCleanupSchedule, ensurePhoneSyncSchedule } from './ops/schedules';
import { openHandoverLedger, type HandoverLedger } from './store/handover-ledger';
import type { RecordStore } from './store/import-staging';
import { openNoticeLedger, type NoticeLedger } from './store/notice-ledger';
import { installTelemetry } from './telemetry';
import {
  BUFFER_POOL_BYTES,
  v8HeapFlags,
  v8HeapSizing,
  workerConcurrency,
  workflowCacheSize,
} from './worker-memory';
import { bundleWorkflowsInChild } from './workflow-bundle';
import { createDirectoryFromEnv, openRecordIndex, wire } from './wiring';
import { TASK_QUEUE } from './workflows/messages';

// Composition root of the worker: config → logger → runtime telemetry → connectors (src/wiring.ts)
// → activities → Worker. Other programs get their connectors from src/wiring.ts, not from here.

export interface WorkerDeps {
  connection: NativeConnection;
  /** For activities that read Temporal's visibility (phone sync cursor). */
  client: Client;
  namespace?: string;
  taskQueue?: string;
  directory: Directory;
  cloud: CloudDirectory;
  phone: PhoneDirectory;
  policy: Policy;
  baseDn: string;
  /** A pre-built bundle (tests build it once); otherwise the worker bundles src/workflows. */
  workflowBundle?: WorkflowBundle;
  maxConcurrentActivities?: number;
  maxConcurrentLocalActivities?: number;
  maxConcurrentWorkflowTasks?: number;
  /** Workflows kept cached; by default sized from the worker's memory (src/worker-memory.ts). */
  maxCachedWorkflows?: number;
  /** The workflow thread's V8 semi-space in MB (src/worker-memory.ts); default 4. */
  semiSpaceMb?: number;
  /** The workflow thread's V8 old-space limit in MB (src/worker-memory.ts); default 1024. */
  oldSpaceMb?: number;
  /** Seconds a task waits on this worker's sticky queue before another worker may take it. */
  stickyQueueTimeoutSeconds?: number;
  /** This worker's name in histories (WorkflowTaskStarted, ActivityTaskStarted); SDK: pid@host. */
  identity?: string;
  /** Record index + import staging; by default the one the environment names, opened on first use. */
  store?: RecordStore | (() => RecordStore);
  /** The notice ledger (sent once per key); by default in the store the environment names. */
  noticeLedger?: NoticeLedger | (() => NoticeLedger);
  /** The credential handover's ledger (per person and start date); by default in that store too. */
  handoverLedger?: HandoverLedger;
  /** The payload codec's keys (src/crypto); by default the ones the environment names. */
  keys?: IdentityKeys;
  /** Only bench/codec.ts's plaintext baseline sets this; every Tunnus worker encrypts. */
  benchPlaintext?: true;
  /**
   * Tunnus's metrics: runs are counted by a workflow interceptor through these sinks. With a
   * pre-built bundle, build it with `workflowInterceptorModules` (src/metrics) for the counts.
   */
  metrics?: TunnusMetrics;
  /**
   * Worker versioning (docs/versioning.md): this worker's Worker Deployment Version. Unset, the
   * worker is unversioned (tests, the sandbox): every worker on the task queue takes every task.
   */
  deployment?: WorkerDeployment;
}

/** `TUNNUS_DEPLOYMENT_NAME` + `TUNNUS_BUILD_ID`: one version of the worker's code. */
export interface WorkerDeployment {
  deploymentName: string;
  buildId: string;
}

/**
 * Every Tunnus workflow is AUTO_UPGRADE: a person lives for years and a joiner may wait weeks, so
 * they move to the current version on their next task; command changes go behind patched() and the
 * replay test (test/replay) proves old histories still replay. docs/versioning.md has the why.
 */
export function deploymentOptions(deployment: WorkerDeployment | undefined) {
  if (!deployment) return {};
  return {
    workerDeploymentOptions: {
      useWorkerVersioning: true as const,
      version: deployment,
      defaultVersioningBehavior: 'AUTO_UPGRADE' as const,
    },
  };
}

/** The deployment the environment names, or none when TUNNUS_BUILD_ID is unset. */
export function deploymentFromEnv(env: Env): WorkerDeployment | undefined {
  return env.TUNNUS_BUILD_ID
    ? { deploymentName: env.TUNNUS_DEPLOYMENT_NAME, buildId: env.TUNNUS_BUILD_ID }
    : undefined;
}

export async function buildWorker(deps: WorkerDeps): Promise<Worker> {
  const activities = {
    ...createDirectoryActivities(deps.directory, deps.policy, { baseDn: deps.baseDn }),
    ...createCloudActivities(deps.cloud, deps.directory, deps.phone, deps.policy),
    ...createRunActivities(deps.client),
    ...createCleanupActivities(deps),
    ...createImportActivities({ client: deps.client, policy: deps.policy, store: lazyStore(deps.store) }),
    ...createReadModelActivities({ store: lazyStore(deps.store), policy: deps.policy }),
    // Notices by e-mail (contract A): sendNotice, sent once per key by the notice ledger.
    ...createNotifyActivities({
      cloud: deps.cloud,
      directory: deps.directory,
      policy: deps.policy,
      ledger: deps.noticeLedger ?? (() => openNoticeLedger(parseEnv())),
    }),
    // The first-day credential (a Temporary Access Pass or a one-time password), by the same channel.
    ...createHandoverActivities({
      cloud: deps.cloud,
      directory: deps.directory,
      policy: deps.policy,
      ledger: () => (deps.handoverLedger ??= openHandoverLedger(parseEnv())),
    }),
    // Crypto-shredding at the end of retention (src/workflows/shred.ts).
    ...createShredActivities({
      client: deps.client,
      store: lazyStore(deps.store),
      keys: () => (deps.keys ??= identityKeysFor(parseEnv())),
    }),
  };
  const concurrency = workerConcurrency({
    workflowTasks: deps.maxConcurrentWorkflowTasks,
    activities: deps.maxConcurrentActivities,
    localActivities: deps.maxConcurrentLocalActivities,
  });
  // Before Worker.create: V8 reads these when the workflow thread's isolate is made (process-wide
  // flags, they hold for isolates made later; the running main thread keeps its own).
  v8.setFlagsFromString(
    v8HeapFlags(v8HeapSizing({ semiSpaceMb: deps.semiSpaceMb, oldSpaceMb: deps.oldSpaceMb })),
  );
  return Worker.create({
    connection: deps.connection,
    namespace: deps.namespace ?? 'default',
    taskQueue: deps.taskQueue ?? TASK_QUEUE,
    ...(deps.identity ? { identity: deps.identity } : {}),
    // Bundled in a child process, the metrics interceptors included: webpack's memory never joins
    // this process's peak RSS (src/workflow-bundle.ts).
    workflowBundle: deps.workflowBundle ?? (await bundleWorkflowsInChild({ interceptors: !!deps.metrics })),
    // One V8 context for every workflow (the SDK's default, stated): a cached workflow costs its
    // own state, not a context of its own.
    reuseV8Context: true,
    activities,
    // Also bundled: the failure converter (failure messages encrypted); pre-built bundles use
    // failureConverterPath too (test/support/temporal.ts).
    ...(deps.benchPlaintext
      ? {}
      : { dataConverter: tunnusDataConverter(deps.keys ?? identityKeysFor(parseEnv())) }),
    // Explicit, so that no population operation or import can grow the worker past its memory.
    maxConcurrentWorkflowTaskExecutions: concurrency.workflowTasks,
    maxConcurrentActivityTaskExecutions: concurrency.activities,
    maxConcurrentLocalActivityExecutions: concurrency.localActivities,
    maxCachedWorkflows: workflowCacheSize(deps.maxCachedWorkflows),
    ...(deps.stickyQueueTimeoutSeconds !== undefined
      ? { stickyQueueScheduleToStartTimeout: deps.stickyQueueTimeoutSeconds * 1000 }
      : {}),
    ...deploymentOptions(deps.deployment),
    ...(deps.metrics ? { sinks: deps.metrics.sinks } : {}),
  });
}

/** The given store, or the configured one opened when an import first needs it. */
function lazyStore(store?: RecordStore | (() => RecordStore)): () => RecordStore {
  if (typeof store === 'function') return store;
  let opened = store;
  return () => (opened ??= openRecordIndex(parseEnv()));
}

/** The worker's own connection to Temporal (a client connection is made in src/wiring.ts). */
export async function connectTemporal(env: Env): Promise<NativeConnection> {
  return NativeConnection.connect({ address: env.TEMPORAL_ADDRESS, ...temporalTls(env) });
}

export async function main(log: Logger): Promise<void> {
  const config = loadConfig();
  const { env, policy } = config;
  log.level = env.LOG_LEVEL;
  installTelemetry(log, { sdkMetricsBindAddress: sdkMetricsBindAddress(env) });
  const deps = await wire(config, { log });
  const probeDirectory = createDirectoryFromEnv(env);
  let worker: Worker | undefined;
  const observability = createWorkerObservability({
    env,
    policy,
    client: deps.client,
    cloud: deps.cloud,
    probeDirectory,
    workerRunning: () => worker?.getState() === 'RUNNING',
    cacheMs: env.TUNNUS_METRICS_CACHE_SECONDS * 1000,
  });
  // Before the worker bundles its workflows: /health answers (and /ready says 503) meanwhile.
  const server = await observability.start();
  log.info({ url: server.url }, 'metrics and health listening');
  const connection = await connectTemporal(env);
  try {
    await ensurePhoneSyncSchedule(deps.client, policy, env.TEMPORAL_TASK_QUEUE);
    await ensureCleanupSchedule(deps.client, policy, env.TEMPORAL_TASK_QUEUE);
    worker = await buildWorker({
      connection,
      client: deps.client,
      cloud: deps.cloud,
      phone: deps.phone,
      namespace: env.TEMPORAL_NAMESPACE,
      taskQueue: env.TEMPORAL_TASK_QUEUE,
      directory: deps.directory,
      policy,
      baseDn: env.LDAP_BASE_DN,
      maxConcurrentActivities: env.WORKER_MAX_ACTIVITIES,
      ...(env.WORKER_MAX_WORKFLOW_TASKS !== undefined
        ? { maxConcurrentWorkflowTasks: env.WORKER_MAX_WORKFLOW_TASKS }
        : {}),
      ...(env.WORKER_MAX_LOCAL_ACTIVITIES !== undefined
        ? { maxConcurrentLocalActivities: env.WORKER_MAX_LOCAL_ACTIVITIES }
        : {}),
      ...(env.WORKER_MAX_CACHED_WORKFLOWS !== undefined
        ? { maxCachedWorkflows: env.WORKER_MAX_CACHED_WORKFLOWS }
        : {}),
      ...(env.WORKER_SEMI_SPACE_MB !== undefined ? { semiSpaceMb: env.WORKER_SEMI_SPACE_MB } : {}),
      ...(env.WORKER_OLD_SPACE_MB !== undefined ? { oldSpaceMb: env.WORKER_OLD_SPACE_MB } : {}),
      stickyQueueTimeoutSeconds: env.WORKER_STICKY_QUEUE_TIMEOUT_SECONDS,
      ...(env.TUNNUS_WORKER_IDENTITY ? { identity: env.TUNNUS_WORKER_IDENTITY } : {}),
      store: deps.store,
      keys: identityKeysFor(env),
      metrics: observability.metrics,
      deployment: deploymentFromEnv(env),
    });
    log.info({ taskQueue: env.TEMPORAL_TASK_QUEUE, ...(deploymentFromEnv(env) ?? {}) }, 'worker started');
    // Staged rows of imports that were terminated (issue 13): not left to wait for the next import.
    void sweepEndedImports({ client: deps.client, store: lazyStore(deps.store)() }).then(
      (r) =>
        r.dropped.length > 0 &&
        log.info({ imports: r.dropped.length }, 'staged rows of ended imports dropped'),
      (err: unknown) => log.warn({ error: (err as Error).message }, 'staging sweep failed'),
    );
    await worker.run();
  } finally {
    await server.close();
    await probeDirectory.close();
    await deps.close();
    await connection.close();
  }
}

if (require.main === module) {
  // Pools made from now on (src/worker-memory.ts): small Buffers kept by the SDK pin 8 KB, not 64.
  Buffer.poolSize = BUFFER_POOL_BYTES;
  // Every line the worker writes is JSON, its last words included.
  const log = createLogger(process.env.LOG_LEVEL ?? 'info');
  main(log).catch((err: unknown) => {
    log.fatal({ error: err instanceof Error ? err.message : String(err) }, 'worker failed');
    process.exit(1);
  });
}
