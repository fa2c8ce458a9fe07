import type { Client } from '@temporalio/client';
import type { Env } from '../config';
import type { CloudDirectory } from '../connectors/graph/cloud-directory';
import type { Directory } from '../connectors/ldap/directory';
import type { Policy } from '../domain/policy';
import { createPopulationSources } from './population';
import { createTunnusMetrics, type TunnusMetrics } from './registry';
import { startMetricsServer, type MetricsServer } from './server';

// Metrics, health and readiness for one worker process (docs/metrics.md).

export { createTunnusMetrics, type TunnusMetrics } from './registry';
export { startMetricsServer, type MetricsServer } from './server';

/** The workflow interceptor that counts runs; bundled with the workflows (see buildWorker). */
export const workflowInterceptorModules = [require.resolve('./workflow-interceptors')];

/** host:port for the SDK's own Prometheus exporter (loopback only), or undefined when off. */
export function sdkMetricsBindAddress(env: Pick<Env, 'TUNNUS_SDK_METRICS_PORT'>): string | undefined {
  return env.TUNNUS_SDK_METRICS_PORT ? `127.0.0.1:${env.TUNNUS_SDK_METRICS_PORT}` : undefined;
}

export interface WorkerObservabilityDeps {
  env: Env;
  policy: Policy;
  client: Client;
  cloud: CloudDirectory;
  /** A directory connection of its own, so probes never disturb the activities' connection. */
  probeDirectory: Directory;
  /** Whether the worker is polling; false until it runs and after it stops. */
  workerRunning: () => boolean;
  /** How long population gauges are cached; default 30 s. */
  cacheMs?: number;
}

export interface WorkerObservability {
  metrics: TunnusMetrics;
  start(): Promise<MetricsServer>;
}

/** A name no group has: the search is answered from the sAMAccountName index and finds nothing. */
const PROBE_GROUP = 'tunnus-readiness-probe';

export function createWorkerObservability(deps: WorkerObservabilityDeps): WorkerObservability {
  const { env } = deps;
  const metrics = createTunnusMetrics(
    createPopulationSources({
      client: deps.client,
      taskQueue: env.TEMPORAL_TASK_QUEUE,
      cloud: deps.cloud,
      policy: deps.policy,
      ...(deps.cacheMs !== undefined ? { cacheMs: deps.cacheMs } : {}),
    }),
  );
  const sdk = sdkMetricsBindAddress(env);
  return {
    metrics,
    start: () =>
      startMetricsServer({
        host: env.TUNNUS_METRICS_HOST,
        port: env.TUNNUS_METRICS_PORT,
        metrics,
        readiness: {
          workerRunning: deps.workerRunning,
          directory: async () => void (await deps.probeDirectory.findGroup(PROBE_GROUP)),
        },
        ...(sdk ? { sdkMetricsUrl: `http://${sdk}/metrics` } : {}),
      }),
  };
}
