import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deliverRecord, personState } from '../../src/ops/persons';
import { helsinkiDate } from '../../src/domain/dates';
import type { HrRecord } from '../../src/domain/record';
import { cleanupWorkflow } from '../../src/workflows/cleanup';
import { provisionStatusQuery, type PersonState } from '../../src/workflows/messages';
import { eventually, startStack, type Stack } from '../support/stack';

// The worker's /metrics, /health and /ready, from the real worker program (src/worker.ts in a
// child process, as in production: its own Temporal runtime with the SDK's Prometheus exporter
// and Core's logs forwarded) against Samba AD, the dev server and the simulators. Temporal is
// reached through a TCP relay in this test, so the last case can take Temporal away.

const runId = Date.now().toString(36).toUpperCase();
let seq = 0;
const nextId = (prefix: string) => `${prefix}${runId}-${++seq}`;

function nurse(employeeId: string): HrRecord {
  return {
    employeeId,
    firstNames: 'Aino',
    lastName: `Mittari${runId}${seq}`,
    jobTitle: 'Sairaanhoitaja',
    jobCode: 'SH01',
    orgUnit: 'SOTE-110',
    employmentType: 'permanent',
    startDate: helsinkiDate(new Date()),
  };
}

/** One sample of the Prometheus text format. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    assert.ok(m, `not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** The value of the one sample with this name and these labels (others ignored); undefined if none. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  assert.ok(found.length <= 1, `${name} ${JSON.stringify(labels)}: ${found.length} samples`);
  return found[0]?.value;
}

/** A TCP relay to Temporal that the test can cut. */
async function startRelay(target: string): Promise<{ address: string; cut: () => Promise<void> }> {
  const [host, port] = target.split(':') as [string, string];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: relayPort } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${relayPort}`,
    cut: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const metricsRoot = 'OU=MetricsIT';

describe('worker metrics, health and logs', () => {
  let stack: Stack;
  let relay: Awaited<ReturnType<typeof startRelay>>;
  let worker: ChildProcess;
  let base: string;
  /** Every line the worker wrote, stdout and stderr. */
  const lines: { stream: 'stdout' | 'stderr'; text: string }[] = [];

  before(async () => {
    // An OU tree of its own, as test/integration/cleanup.test.ts has: the suite's other files
    // leave accounts in the shared test DC whose person workflows answer on other task queues
    // (their workers are gone), and the cleanup never takes an identity it cannot read for an
    // orphan; it retries. This file's cleanup sees only this file's people.
    stack = await startStack({
      policy: (p) => {
        p.ous = {
          default: `OU=Staff,${metricsRoot}`,
          disabled: `OU=Disabled,${metricsRoot}`,
          retiredNames: `OU=Retired,${metricsRoot}`,
        };
        p.managedGroups = [];
        // The sample's per-role credential entries name roles this file replaces.
        p.credentials.roles = {};
        p.roles = [
          {
            name: 'nurse',
            match: { jobCodes: ['SH01'], orgUnitPrefixes: ['SOTE'] },
            ou: `OU=Care,OU=Staff,${metricsRoot}`,
            groups: ['MIT-ERP-Nurse'],
            licences: [{ sku: 'SPE_E3', disabledPlans: [] }],
            cloud: true,
          },
          // Keeps SPE_F1 a managed SKU, so its seats are on the endpoint too.
          {
            name: 'physician',
            match: { jobCodes: ['LK01'] },
            groups: ['MIT-ERP-Physician'],
            licences: [{ sku: 'SPE_F1', disabledPlans: [] }],
          },
        ];
      },
    });
    // The held set is one workflow per namespace; on the shared test server another file may
    // have left one whose worker is gone (its query could not answer): not this file's business.
    await stack.client.workflow
      .getHandle('mass-change-hold')
      .terminate('metrics test: a held set left by another test file')
      .catch(() => undefined);
    relay = await startRelay(stack.temporal.address);
    const metricsPort = await freePort();
    const sdkPort = await freePort();
    base = `http://127.0.0.1:${metricsPort}`;
    const indexDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-metrics-'));
    worker = spawn(process.execPath, ['--import', 'tsx', path.resolve(__dirname, '../../src/worker.ts')], {
      env: {
        ...stack.childEnv(),
        TEMPORAL_ADDRESS: relay.address,
        TUNNUS_METRICS_PORT: String(metricsPort),
        TUNNUS_SDK_METRICS_PORT: String(sdkPort),
        TUNNUS_METRICS_CACHE_SECONDS: '0',
        TUNNUS_INDEX_FILE: path.join(indexDir, 'index.sqlite'),
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of ['stdout', 'stderr'] as const) {
      let rest = '';
      worker[stream]!.setEncoding('utf8').on('data', (chunk: string) => {
        const parts = (rest + chunk).split('\n');
        rest = parts.pop()!;
        for (const text of parts) if (text.trim()) lines.push({ stream, text });
      });
    }
    // The worker bundles its workflows before it polls: allow for a slow, shared machine.
    await eventually(
      () =>
        fetch(`${base}/ready`).then(
          (r) => r.status,
          () => 0,
        ),
      (status) => status === 200,
      180_000,
      'worker ready',
    );
  });

  after(async () => {
    if (worker.exitCode === null) {
      worker.kill('SIGKILL');
      await new Promise((resolve) => worker.once('exit', resolve));
    }
    await relay.cut().catch(() => undefined);
    await stack.close();
  });

  const scrape = async () => {
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    return parseExposition(await res.text());
  };
  const settled = (id: string) =>
    eventually(
      () => personState(stack.client, id),
      (s) => !!s && ['active', 'failed'].includes(s.stage) && s.runs.every((r) => r.endedAt),
      90_000,
      `person ${id} settled`,
    ) as Promise<PersonState>;

  it('/health answers 200, and /ready 200 while the worker polls and the DC answers', async () => {
    const health = await fetch(`${base}/health`);
    assert.equal(health.status, 200);
    const ready = await fetch(`${base}/ready`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { ready: true, worker: 'running', directory: 'ok' });
  });

  it('after a joiner, a licence wait and a cleanup, /metrics shows the runs, the wait, the seats and the findings', async () => {
    // 1. A joiner that completes.
    const done = nextId('MJ');
    await deliverRecord(stack.client, nurse(done), 'hr', stack.taskQueue);
    assert.equal((await settled(done)).stage, 'active');

    // 2. A joiner that waits for a seat: the SPE_E3 pool exhausted.
    const e3 = (await stack.cloud.listSubscribedSkus()).find((s) => s.skuPartNumber === 'SPE_E3')!;
    const skus = (await stack.cloud.listSubscribedSkus()).map((s) => ({
      skuPartNumber: s.skuPartNumber,
      enabled: s.enabled,
    }));
    const withSeats = (n: number) =>
      skus.map((s) => (s.skuPartNumber === 'SPE_E3' ? { ...s, enabled: n } : s));
    const waiting = nextId('MW');
    try {
      // The seat the first joiner took was the last one.
      stack.sims.graph.admin.setSkus(withSeats(e3.consumed));
      await deliverRecord(stack.client, nurse(waiting), 'hr', stack.taskQueue);
      const run = await eventually(
        async () => (await personState(stack.client, waiting))?.runs.at(-1)?.workflowId,
        (id) => !!id,
        60_000,
        'joiner started',
      );
      await eventually(
        () =>
          stack.client.workflow
            .getHandle(run!)
            .query(provisionStatusQuery)
            .catch(() => undefined),
        (s) => s?.detail === 'waiting for licence SPE_E3',
        60_000,
        'waiting for licence',
      );

      // 3. A leaver cleanup in report mode (changes nothing).
      const report = await stack.client.workflow.execute(cleanupWorkflow, {
        workflowId: `cleanup-metrics-${runId}`,
        taskQueue: stack.taskQueue,
        args: [{ mode: 'report' }],
      });

      const m = await scrape();
      assert.equal(valueOf(m, 'tunnus_runs_started_total', { kind: 'joiner' }), 2);
      assert.equal(valueOf(m, 'tunnus_runs_completed_total', { kind: 'joiner' }), 1);
      assert.equal(valueOf(m, 'tunnus_runs_failed_total', { kind: 'joiner' }), 0);
      assert.equal(valueOf(m, 'tunnus_runs_started_total', { kind: 'cleanup' }), 1);
      assert.equal(valueOf(m, 'tunnus_runs_completed_total', { kind: 'cleanup' }), 1);
      assert.equal(valueOf(m, 'tunnus_runs_started_total', { kind: 'leaver' }), 0);
      assert.equal(valueOf(m, 'tunnus_people_waiting', { reason: 'licence_seat' }), 1);
      assert.equal(valueOf(m, 'tunnus_people_waiting', { reason: 'start_date' }), 0);
      assert.equal(valueOf(m, 'tunnus_people_waiting', { reason: 'mailbox' }), 0);
      assert.equal(valueOf(m, 'tunnus_runs_running', { kind: 'joiner' }), 1);
      assert.equal(valueOf(m, 'tunnus_licence_seats_free', { sku: 'SPE_E3' }), 0);
      assert.equal(valueOf(m, 'tunnus_licence_seats_total', { sku: 'SPE_E3' }), e3.consumed);
      assert.equal(
        valueOf(m, 'tunnus_licence_seats_free', { sku: 'SPE_F1' }),
        2000 - (await skuUsed('SPE_F1')),
      );
      assert.equal(valueOf(m, 'tunnus_runs_stuck'), 0);
      assert.equal(valueOf(m, 'tunnus_run_oldest_stuck_seconds'), 0);
      assert.equal(valueOf(m, 'tunnus_guard_oldest_wait_seconds'), 0);
      assert.equal(
        m.filter((s) => s.name === 'tunnus_guard_waiting_runs').length,
        0,
        'no run waits for approval',
      );
      assert.equal(m.filter((s) => s.name === 'tunnus_guard_held_changes').length, 0, 'nothing held');
      for (const [kind, n] of Object.entries(report.counts)) {
        assert.equal(valueOf(m, 'tunnus_cleanup_findings', { kind }), n, `cleanup findings ${kind}`);
      }
      assert.ok(
        (valueOf(m, 'tunnus_cleanup_last_completed_timestamp_seconds') ?? 0) > Date.now() / 1000 - 600,
      );
      for (const source of ['runs', 'seats', 'guard', 'cleanup']) {
        assert.equal(valueOf(m, 'tunnus_metrics_source_up', { source }), 1, `source ${source}`);
      }
      // The Temporal SDK's own metrics, through the same endpoint.
      const sdkCompleted = m.filter(
        (s) => s.name === 'temporal_workflow_completed_total' && s.labels.workflow_type === 'joinerWorkflow',
      );
      assert.equal(
        sdkCompleted.reduce((sum, s) => sum + s.value, 0),
        1,
      );
      assert.ok(m.some((s) => s.name.startsWith('temporal_worker_task_slots_available')));
      // No person in any label.
      for (const s of m)
        for (const v of Object.values(s.labels)) assert.ok(!v.includes(runId), `${s.name}: ${v}`);
    } finally {
      stack.sims.graph.admin.setSkus(withSeats(2000));
    }

    // A seat is bought: the waiting joiner completes and the wait is gone.
    assert.equal((await settled(waiting)).stage, 'active');
    const m = await scrape();
    assert.equal(valueOf(m, 'tunnus_runs_completed_total', { kind: 'joiner' }), 2);
    assert.equal(valueOf(m, 'tunnus_people_waiting', { reason: 'licence_seat' }), 0);
  });

  async function skuUsed(sku: string): Promise<number> {
    return (await stack.cloud.listSubscribedSkus()).find((s) => s.skuPartNumber === sku)!.consumed;
  }

  it('/ready answers 503 naming the directory while the DC is down, and 200 once it is back', async () => {
    await stack.samba.stop();
    try {
      const started = Date.now();
      const res = await fetch(`${base}/ready`);
      assert.ok(Date.now() - started < 10_000, 'answers within the probe timeout');
      assert.equal(res.status, 503);
      assert.deepEqual(await res.json(), { ready: false, worker: 'running', directory: 'unreachable' });
      assert.equal((await fetch(`${base}/health`)).status, 200, 'still alive');
    } finally {
      await stack.samba.start();
    }
    await eventually(
      () => fetch(`${base}/ready`).then((r) => r.status),
      (status) => status === 200,
      60_000,
      'ready again',
    );
  });

  it('every line the worker writes is JSON without personal data, Core warnings included, when Temporal goes away', async () => {
    await relay.cut();
    await eventually(
      async () => lines.filter((l) => l.text.includes('"sdkComponent":"core"')).length,
      (n) => n > 0,
      60_000,
      'a Core warning forwarded',
    );
    assert.ok(lines.length > 0);
    for (const line of lines) {
      assert.equal(line.stream, 'stdout', `written to ${line.stream}: ${line.text.slice(0, 200)}`);
      assert.doesNotThrow(() => JSON.parse(line.text), `not JSON: ${line.text.slice(0, 200)}`);
      assert.ok(!line.text.includes('\u001b['), 'no ANSI colours');
      assert.ok(!/Aino|Mittari/.test(line.text), `personal data in a log line: ${line.text.slice(0, 200)}`);
    }
  });
});
