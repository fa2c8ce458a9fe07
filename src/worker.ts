import { NativeConnection, Worker, type WorkflowBundle } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { createCloudActivities } from './activities/cloud';
import { createCleanupActivities } from './activities/cleanup';
import { createDirectoryActivities } from './activities/directory';
import { createImportActivities } from './activities/import';
import { createRunActivities } from './activities/runs';
import { loadConfig, parseEnv, temporalTls, type Env } from './config';
import type { CloudDirectory } from './connectors/graph/cloud-directory';
import type { Directory } from './connectors/ldap/directory';
import type { PhoneDirectory } from './connectors/phone/phone-directory';
import type { Policy } from './domain/policy';
import { createLogger } from './logger';
import { ensureCleanupSchedule, ensurePhoneSyncSchedule } from './schedules';
import type { RecordStore } from './store/import-staging';
import { installTelemetry } from './telemetry';
import { openRecordIndex, wire } from './wiring';
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
  /** Record index + import staging; by default the one the environment names, opened on first use. */
  store?: RecordStore | (() => RecordStore);
}

export async function buildWorker(deps: WorkerDeps): Promise<Worker> {
  const activities = {
    ...createDirectoryActivities(deps.directory, deps.policy, { baseDn: deps.baseDn }),
    ...createCloudActivities(deps.cloud, deps.directory, deps.phone, deps.policy),
    ...createRunActivities(deps.client),
    ...createCleanupActivities(deps),
    ...createImportActivities({ client: deps.client, policy: deps.policy, store: lazyStore(deps.store) }),
  };
  return Worker.create({
    connection: deps.connection,
    namespace: deps.namespace ?? 'default',
    taskQueue: deps.taskQueue ?? TASK_QUEUE,
    ...(deps.workflowBundle
      ? { workflowBundle: deps.workflowBundle }
      : { workflowsPath: require.resolve('./workflows') }),
    activities,
    maxConcurrentActivityTaskExecutions: deps.maxConcurrentActivities ?? 100,
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

export async function main(): Promise<void> {
  const config = loadConfig();
  const { env, policy } = config;
  const log = createLogger(env.LOG_LEVEL);
  installTelemetry(log);
  const deps = await wire(config, { log });
  const connection = await connectTemporal(env);
  await ensurePhoneSyncSchedule(deps.client, policy, env.TEMPORAL_TASK_QUEUE);
  await ensureCleanupSchedule(deps.client, policy, env.TEMPORAL_TASK_QUEUE);
  const worker = await buildWorker({
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
    store: deps.store,
  });
  log.info({ taskQueue: env.TEMPORAL_TASK_QUEUE }, 'worker started');
  try {
    await worker.run();
  } finally {
    await deps.close();
    await connection.close();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
