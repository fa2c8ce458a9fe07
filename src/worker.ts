import { NativeConnection, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import { createCloudActivities } from './activities/cloud';
import { createCleanupActivities } from './activities/cleanup';
import { createDirectoryActivities } from './activities/directory';
import { createImportActivities } from './activities/import';
import type { RecordStore } from './store/import-staging';
import { openRecordIndex } from './store/open';
import { createRunActivities } from './activities/runs';
import type { CloudDirectory } from './connectors/graph/cloud-directory';
import { GraphCloudDirectory } from './connectors/graph/cloud-directory';
import { createGraphClient, graphOptionsFromEnv } from './connectors/graph/graph-client';
import type { PhoneDirectory } from './connectors/phone/phone-directory';
import { createPhoneDirectory } from './connectors/phone/phone-directory';
import { ConfigError, loadPolicy, parseEnv, temporalTls, type Env } from './config';
import type { Directory } from './connectors/ldap/directory';
import {
  createLdapDirectory,
  type DirectoryLogger,
  type LdapDirectory,
} from './connectors/ldap/ldap-directory';
import type { Policy } from './domain/policy';
import { createLogger, type Logger } from './logger';
import { TASK_QUEUE } from './workflows/messages';
import { connectClient } from './client';
import { ensureCleanupSchedule, ensurePhoneSyncSchedule } from './schedules';
import type { Client } from '@temporalio/client';

// Composition root: config → logger → connectors → activities → Worker.

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
  store?: RecordStore;
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
function lazyStore(store?: RecordStore): () => RecordStore {
  let opened = store;
  return () => (opened ??= openRecordIndex(parseEnv()));
}

export async function connectTemporal(env: Env): Promise<NativeConnection> {
  return NativeConnection.connect({ address: env.TEMPORAL_ADDRESS, ...temporalTls(env) });
}

/** Routes the SDK's own logs through pino so there is one log stream. */
export function installRuntimeLogger(log: Logger): void {
  const forward =
    (level: 'trace' | 'debug' | 'info' | 'warn' | 'error') =>
    (message: string, meta?: Record<string, unknown>) =>
      log[level]({ sdk: true, ...sanitizeMeta(meta) }, message);
  Runtime.install({
    logger: {
      log: (level, message, meta) =>
        forward(level === 'TRACE' ? 'trace' : (level.toLowerCase() as 'info'))(message, meta),
      trace: forward('trace'),
      debug: forward('debug'),
      info: forward('info'),
      warn: forward('warn'),
      error: forward('error'),
    },
  });
}

/** Keeps ids and counts from SDK metadata; drops payload-like fields. */
function sanitizeMeta(meta?: Record<string, unknown>): Record<string, unknown> {
  if (!meta) return {};
  const keep = [
    'workflowId',
    'runId',
    'workflowType',
    'activityType',
    'taskQueue',
    'attempt',
    'namespace',
    'sdkComponent',
  ];
  return Object.fromEntries(Object.entries(meta).filter(([k]) => keep.includes(k)));
}

/** Graph with the app's credentials; the simulator's static token only when explicitly set. */
export function createCloudDirectory(env: Env): CloudDirectory {
  const options = env.GRAPH_STATIC_TOKEN
    ? {
        auth: { kind: 'staticToken' as const, token: env.GRAPH_STATIC_TOKEN },
        ...(env.GRAPH_BASE_URL ? { baseUrl: env.GRAPH_BASE_URL } : {}),
        ...(env.GRAPH_CA_CERT_PATH ? { caCertPath: env.GRAPH_CA_CERT_PATH } : {}),
      }
    : graphOptionsFromEnv(process.env);
  return new GraphCloudDirectory(createGraphClient(options).client);
}

export function createPhoneDirectoryFromEnv(env: Env): PhoneDirectory {
  if (!env.PHONE_BASE_URL || !env.PHONE_API_KEY) {
    throw new ConfigError(['PHONE_BASE_URL and PHONE_API_KEY: both are required']);
  }
  return createPhoneDirectory({
    baseUrl: env.PHONE_BASE_URL,
    apiKey: env.PHONE_API_KEY,
    ...(env.PHONE_CA_CERT ? { caCertPath: env.PHONE_CA_CERT } : {}),
  });
}

/**
 * The LDAP directory the environment names (connects on first use). `missingPassword` is the
 * error when no bind password is set: callers say what they need it for.
 */
export function createDirectoryFromEnv(
  env: Env,
  log?: DirectoryLogger,
  missingPassword = 'LDAP_BIND_PASSWORD is required',
): LdapDirectory {
  if (!env.LDAP_BIND_PASSWORD) throw new Error(missingPassword);
  return createLdapDirectory(
    {
      url: env.LDAP_URL,
      bindDn: env.LDAP_BIND_DN,
      bindPassword: env.LDAP_BIND_PASSWORD,
      baseDn: env.LDAP_BASE_DN,
      timeoutMs: env.LDAP_TIMEOUT_MS,
      ...(env.LDAP_CA_CERT ? { caCertPath: env.LDAP_CA_CERT } : {}),
    },
    log,
  );
}

export async function main(): Promise<void> {
  const env = parseEnv();
  const log = createLogger(env.LOG_LEVEL);
  installRuntimeLogger(log);
  const policy = loadPolicy(env.TUNNUS_POLICY_FILE);
  const directory = createDirectoryFromEnv(env, log);
  const cloud = createCloudDirectory(env);
  const phone = createPhoneDirectoryFromEnv(env);
  const connection = await connectTemporal(env);
  const client = await connectClient(env);
  await ensurePhoneSyncSchedule(client, policy, env.TEMPORAL_TASK_QUEUE);
  await ensureCleanupSchedule(client, policy, env.TEMPORAL_TASK_QUEUE);
  const worker = await buildWorker({
    connection,
    client,
    cloud,
    phone,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    directory,
    policy,
    baseDn: env.LDAP_BASE_DN,
    maxConcurrentActivities: env.WORKER_MAX_ACTIVITIES,
  });
  log.info({ taskQueue: env.TEMPORAL_TASK_QUEUE }, 'worker started');
  try {
    await worker.run();
  } finally {
    await phone.close();
    await directory.close();
    await client.connection.close();
    await connection.close();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
