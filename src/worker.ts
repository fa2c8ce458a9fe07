import { NativeConnection, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import { createDirectoryActivities } from './activities/directory';
import { loadPolicy, parseEnv, readPem, type Env } from './config';
import type { Directory } from './connectors/ldap/directory';
import { createLdapDirectory } from './connectors/ldap/ldap-directory';
import type { Policy } from './domain/policy';
import { createLogger, type Logger } from './logger';
import { TASK_QUEUE } from './workflows/messages';

// Composition root: config → logger → connectors → activities → Worker.

export interface WorkerDeps {
  connection: NativeConnection;
  namespace?: string;
  taskQueue?: string;
  directory: Directory;
  policy: Policy;
  baseDn: string;
  /** A pre-built bundle (tests build it once); otherwise the worker bundles src/workflows. */
  workflowBundle?: WorkflowBundle;
  maxConcurrentActivities?: number;
}

export async function buildWorker(deps: WorkerDeps): Promise<Worker> {
  const activities = createDirectoryActivities(deps.directory, deps.policy, { baseDn: deps.baseDn });
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

export async function connectTemporal(env: Env): Promise<NativeConnection> {
  const cert = readPem('TEMPORAL_TLS_CERT', env.TEMPORAL_TLS_CERT);
  const key = readPem('TEMPORAL_TLS_KEY', env.TEMPORAL_TLS_KEY);
  const ca = readPem('TEMPORAL_TLS_CA', env.TEMPORAL_TLS_CA);
  const tls =
    cert && key
      ? { clientCertPair: { crt: cert, key }, ...(ca ? { serverRootCACertificate: ca } : {}) }
      : undefined;
  return NativeConnection.connect({ address: env.TEMPORAL_ADDRESS, ...(tls ? { tls } : {}) });
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

export async function main(): Promise<void> {
  const env = parseEnv();
  const log = createLogger(env.LOG_LEVEL);
  installRuntimeLogger(log);
  const policy = loadPolicy(env.TUNNUS_POLICY_FILE);
  if (!env.LDAP_BIND_PASSWORD) throw new Error('LDAP_BIND_PASSWORD is required');
  const directory = createLdapDirectory(
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
  const connection = await connectTemporal(env);
  const worker = await buildWorker({
    connection,
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
    await directory.close();
    await connection.close();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
