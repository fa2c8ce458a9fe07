import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TunnusMetrics } from './registry';

// The worker's small HTTP server (TUNNUS_METRICS_HOST:TUNNUS_METRICS_PORT, default
// 127.0.0.1:9464):
//   GET /metrics  Prometheus text: Tunnus's metrics, then the Temporal SDK's (its own exporter on
//                 loopback, fetched per scrape), so Prometheus scrapes one target per worker;
//   GET /health   200 while the process serves requests (liveness);
//   GET /ready    200 when the worker polls its task queue and the directory answers a cheap
//                 LDAP search within the probe timeout; 503 otherwise (docker-compose's check).

export interface ReadinessChecks {
  /** Whether the Temporal worker is running (polling its task queue). */
  workerRunning: () => boolean;
  /** Resolves when the directory answered; rejects (or times out) otherwise. */
  directory: () => Promise<void>;
}

export interface MetricsServerOptions {
  host: string;
  port: number;
  metrics: Pick<TunnusMetrics, 'registry' | 'render'>;
  readiness: ReadinessChecks;
  /** The SDK's Prometheus endpoint, e.g. http://127.0.0.1:9465/metrics; unset: none. */
  sdkMetricsUrl?: string;
  /** Deadline for the directory probe and the SDK fetch. Default 3 s. */
  timeoutMs?: number;
}

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

export interface Readiness {
  ready: boolean;
  worker: 'running' | 'not running';
  directory: 'ok' | 'unreachable';
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const timeoutMs = options.timeoutMs ?? 3_000;
  const probeDirectory = sharedProbe(options.readiness.directory, timeoutMs);

  const readiness = async (): Promise<Readiness> => {
    const worker = options.readiness.workerRunning() ? 'running' : 'not running';
    const directory = await probeDirectory().then(
      () => 'ok' as const,
      () => 'unreachable' as const,
    );
    return { ready: worker === 'running' && directory === 'ok', worker, directory };
  };

  const metrics = async (): Promise<string> => {
    const [own, sdk] = await Promise.all([
      options.metrics.render(),
      options.sdkMetricsUrl ? fetchText(options.sdkMetricsUrl, timeoutMs).catch(() => '') : '',
    ]);
    return sdk ? `${own.trimEnd()}\n${sdk}` : own;
  };

  const server = http.createServer((req, res) => {
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    const json = (status: number, body: unknown) => send(status, 'application/json', JSON.stringify(body));
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(405, { error: 'GET only' });
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/health') return json(200, { status: 'ok' });
    if (path === '/ready') {
      void readiness().then(
        (r) => json(r.ready ? 200 : 503, r),
        () => json(503, { ready: false }),
      );
      return;
    }
    if (path === '/metrics') {
      void metrics().then(
        (text) => send(200, options.metrics.registry.contentType, text),
        () => send(500, 'text/plain', 'metrics unavailable\n'),
      );
      return;
    }
    json(404, { error: 'not found', paths: ['/metrics', '/health', '/ready'] });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * One probe at a time: probes arriving while one runs share its answer, so a DC that hangs never
 * piles up LDAP connections behind health checks. Each answer is bounded by the timeout.
 */
function sharedProbe(probe: () => Promise<void>, timeoutMs: number): () => Promise<void> {
  let inFlight: Promise<void> | undefined;
  return () =>
    (inFlight ??= new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      probe()
        .then(resolve, reject)
        .finally(() => clearTimeout(timer));
    }).finally(() => {
      inFlight = undefined;
    }));
}

async function fetchText(url: string, timeoutMs: number): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return res.text();
}
