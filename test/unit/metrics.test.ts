import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { cached } from '../../src/metrics/cached';
import { waitReasonOf, type PopulationSources } from '../../src/metrics/population';
import { createTunnusMetrics } from '../../src/metrics/registry';
import { startMetricsServer } from '../../src/metrics/server';

// The metrics module without Temporal: the wait-reason reading, the cache, the counters fed by
// the run interceptor's sinks, the population gauges and the HTTP server. The whole path against
// real servers is test/integration/metrics.test.ts.

const info = {} as never;

const population = (overrides: Partial<PopulationSources> = {}): PopulationSources => ({
  runs: async () => ({
    waiting: { start_date: 3, effective_date: 0, licence_seat: 1, directory_sync: 0, mailbox: 2 },
    running: { joiner: 6 },
    stuck: 0,
    oldestStuckSeconds: 0,
  }),
  seats: async () => [{ sku: 'SPE_E3', seats: 10, free: 0 }],
  guard: async () => ({ waiting: { import: 1 }, oldestWaitSeconds: 120, held: { disable: 2 } }),
  cleanup: async () => ({ counts: { orphanAccount: 2, pastRetention: 0 }, completedAt: 1_700_000_000_000 }),
  ...overrides,
});

function line(text: string, sample: string): number | undefined {
  const found = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return found ? Number(found.slice(sample.length + 1)) : undefined;
}

describe('metrics', () => {
  it('reads the wait reason from the run status, and nothing from a run that does not wait', () => {
    const cases: [string, string, string | undefined][] = [
      ['waiting', 'waiting for start date 2027-01-07', 'start_date'],
      ['waiting', 'waiting to create account on 2026-12-24', 'start_date'],
      ['waiting', 'waiting for the change dated 2027-02-01', 'effective_date'],
      ['waiting', 'waiting for licence SPE_E3, SPE_F1', 'licence_seat'],
      ['waiting', 'waiting for directory sync to create the cloud user', 'directory_sync'],
      ['waiting', 'waiting for the mailbox to be provisioned', 'mailbox'],
      ['applying', 'addToGroups ERP-Nurse', undefined],
      ['planning', 'planning', undefined],
    ];
    for (const [phase, detail, reason] of cases) {
      assert.equal(waitReasonOf({ phase: phase as 'waiting', detail }), reason, detail);
    }
  });

  it('caches a value for its time, shares a read in flight and does not cache a failure', async () => {
    let t = 0;
    let reads = 0;
    let fail = false;
    const read = cached(
      async () => {
        reads++;
        if (fail) throw new Error('down');
        return reads;
      },
      1000,
      () => t,
    );
    assert.deepEqual(await Promise.all([read(), read()]), [1, 1]);
    t = 999;
    assert.equal(await read(), 1);
    t = 1000;
    fail = true;
    await assert.rejects(read());
    fail = false;
    assert.equal(await read(), 3);
  });

  it('counts runs started, completed, failed and cancelled by kind from the sinks, every kind from zero', async () => {
    const metrics = createTunnusMetrics();
    const sinks = metrics.sinks.runMetrics;
    void sinks.started.fn(info, 'joiner');
    void sinks.started.fn(info, 'joiner');
    void sinks.finished.fn(info, 'joiner', 'completed');
    void sinks.finished.fn(info, 'joiner', 'failed');
    void sinks.started.fn(info, 'import');
    void sinks.finished.fn(info, 'import', 'cancelled');
    void sinks.approved.fn(info, 'import');
    const text = await metrics.render();
    assert.equal(line(text, 'tunnus_runs_started_total{kind="joiner"}'), 2);
    assert.equal(line(text, 'tunnus_runs_completed_total{kind="joiner"}'), 1);
    assert.equal(line(text, 'tunnus_runs_failed_total{kind="joiner"}'), 1);
    assert.equal(line(text, 'tunnus_runs_cancelled_total{kind="import"}'), 1);
    assert.equal(line(text, 'tunnus_guard_approvals_total{kind="import"}'), 1);
    assert.equal(line(text, 'tunnus_runs_started_total{kind="leaver"}'), 0);
  });

  it('renders the population gauges, and a failing source as down with its gauges empty', async () => {
    const text = await createTunnusMetrics(population()).render();
    assert.equal(line(text, 'tunnus_people_waiting{reason="licence_seat"}'), 1);
    assert.equal(line(text, 'tunnus_people_waiting{reason="start_date"}'), 3);
    assert.equal(line(text, 'tunnus_licence_seats_free{sku="SPE_E3"}'), 0);
    assert.equal(line(text, 'tunnus_licence_seats_total{sku="SPE_E3"}'), 10);
    assert.equal(line(text, 'tunnus_guard_waiting_runs{kind="import"}'), 1);
    assert.equal(line(text, 'tunnus_guard_oldest_wait_seconds'), 120);
    assert.equal(line(text, 'tunnus_guard_held_changes{kind="disable"}'), 2);
    assert.equal(line(text, 'tunnus_cleanup_findings{kind="orphanAccount"}'), 2);
    assert.equal(line(text, 'tunnus_cleanup_last_completed_timestamp_seconds'), 1_700_000_000);
    assert.equal(line(text, 'tunnus_metrics_source_up{source="seats"}'), 1);

    const down = await createTunnusMetrics(
      population({ seats: () => Promise.reject(new Error('Graph unavailable')) }),
    ).render();
    assert.equal(line(down, 'tunnus_metrics_source_up{source="seats"}'), 0);
    assert.equal(line(down, 'tunnus_licence_seats_free{sku="SPE_E3"}'), undefined);
    assert.equal(line(down, 'tunnus_people_waiting{reason="licence_seat"}'), 1, 'other sources unaffected');
  });

  it('serves /metrics with the SDK exporter appended, /health, and /ready within its timeout', async () => {
    const sdk = http.createServer((_req, res) => res.end('# TYPE temporal_x counter\ntemporal_x 7\n'));
    await new Promise<void>((r) => sdk.listen(0, '127.0.0.1', r));
    let directory: () => Promise<void> = async () => undefined;
    let running = true;
    const server = await startMetricsServer({
      host: '127.0.0.1',
      port: 0,
      metrics: createTunnusMetrics(),
      readiness: { workerRunning: () => running, directory: () => directory() },
      sdkMetricsUrl: `http://127.0.0.1:${(sdk.address() as AddressInfo).port}/metrics`,
      timeoutMs: 300,
    });
    try {
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      assert.equal(line(metrics, 'temporal_x'), 7);
      assert.equal(line(metrics, 'tunnus_runs_started_total{kind="joiner"}'), 0);
      assert.equal((await fetch(`${server.url}/health`)).status, 200);
      assert.equal((await fetch(`${server.url}/ready`)).status, 200);

      directory = () => new Promise(() => undefined); // a DC that never answers
      const started = Date.now();
      const hung = await fetch(`${server.url}/ready`);
      assert.equal(hung.status, 503);
      assert.ok(Date.now() - started < 2000);
      assert.deepEqual(await hung.json(), { ready: false, worker: 'running', directory: 'unreachable' });

      directory = async () => undefined;
      running = false;
      assert.equal((await fetch(`${server.url}/ready`)).status, 503);
      assert.equal((await fetch(`${server.url}/nope`)).status, 404);
    } finally {
      await server.close();
      sdk.close();
    }
  });
});
