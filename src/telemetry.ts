import { Runtime, type LogLevel } from '@temporalio/worker';
import type { Logger } from './logger';

// The Temporal SDK's runtime, installed once per process before any connection: its logs (the
// TypeScript side and Core, the Rust side) go through pino, so every line a Tunnus process writes
// is JSON; its metrics go to a Prometheus exporter on loopback that the worker's /metrics serves
// (src/metrics/server.ts).

export interface TelemetryOptions {
  /** host:port for the SDK's Prometheus exporter; unset: no SDK metrics. */
  sdkMetricsBindAddress?: string;
}

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';

export function installTelemetry(log: Logger, options: TelemetryOptions = {}): void {
  const forward = (level: Level) => (message: string, meta?: Record<string, unknown>) =>
    log[level]({ sdk: true, ...sanitizeMeta(meta) }, message);
  Runtime.install({
    logger: {
      log: (level, message, meta) => forward(level.toLowerCase() as Level)(message, meta),
      trace: forward('trace'),
      debug: forward('debug'),
      info: forward('info'),
      warn: forward('warn'),
      error: forward('error'),
    },
    telemetryOptions: {
      // Without `forward`, Core prints its own ANSI-coloured text to stderr.
      logging: { filter: { core: coreLevel(log.level), other: 'ERROR' }, forward: {} },
      ...(options.sdkMetricsBindAddress
        ? {
            metrics: {
              prometheus: {
                bindAddress: options.sdkMetricsBindAddress,
                countersTotalSuffix: true,
                unitSuffix: true,
                useSecondsForDurations: true,
              },
            },
          }
        : {}),
    },
  });
}

/** Kept for the callers that only want the logs. */
export const installRuntimeLogger = (log: Logger): void => installTelemetry(log);

/** Core's verbosity follows LOG_LEVEL, but never below WARN unless debugging was asked for. */
function coreLevel(level: string): LogLevel {
  if (level === 'trace') return 'TRACE';
  if (level === 'debug') return 'DEBUG';
  if (level === 'error' || level === 'fatal' || level === 'silent') return 'ERROR';
  return 'WARN';
}

const KEPT_META = [
  'workflowId',
  'runId',
  'workflowType',
  'activityType',
  'taskQueue',
  'attempt',
  'namespace',
  'sdkComponent',
  'target',
];

/**
 * Keeps ids and counts from SDK metadata and drops payload-like fields (failures carry messages
 * that may name people). Core's `error` is a transport or protocol error string: kept, cut short.
 */
export function sanitizeMeta(meta?: Record<string, unknown>): Record<string, unknown> {
  if (!meta) return {};
  const kept = Object.fromEntries(Object.entries(meta).filter(([k]) => KEPT_META.includes(k)));
  if (meta.sdkComponent === 'core' && typeof meta.error === 'string') kept.error = meta.error.slice(0, 500);
  return kept;
}
