import path from 'node:path';
import type { temporal } from '@temporalio/proto';
import type { WorkflowBundle } from '@temporalio/worker';
import type { Stack } from '../test/support/stack';

// Proof that an upgrade stops no one (issue 15, docs/versioning.md): people start on worker version
// N — half wait for a free licence seat, half, hired ahead, for their start date — then version
// N+1 (the real workflows plus a joiner change behind patched(), test/replay/variants/joiner-n1.ts)
// is rolled out beside N as a new Worker Deployment Version, made current, and N is stopped. Seats
// are bought and HR moves the start dates to today; every run must finish on N+1 with no
// non-determinism error.
//
//   npx tsx scripts/upgrade-proof.ts [people] [--from-unversioned]      (default 50)
//
// Its own state dir, DC address and Temporal port, like scripts/record-histories.ts.
// test/integration/upgrade.test.ts runs the same proof in npm test.

type History = temporal.api.history.v1.IHistory;

export interface UpgradeFigures {
  people: number;
  waitingForSeat: number;
  waitingForStartDate: number;
  /** Joiner runs whose first workflow task was completed by version N. */
  startedOnN: number;
  /** Joiner runs whose last workflow task was completed by version N+1. */
  finishedOnN1: number;
  /** Joiner runs that took the N+1 step (the patch marker is in their history). */
  tookNewStep: number;
  /** Persons active at the end. */
  active: number;
  /** Workflow tasks failed with a non-determinism error, and failed for any reason (all runs). */
  nonDeterminismErrors: number;
  workflowTaskFailures: number;
  /** The final joiner histories replayed against N+1 (all of them): failures. */
  replayFailuresOnN1: number;
  /** A sample of them replayed against N (what a rollback would meet): how many, and failures. */
  replayedOnN: number;
  replayFailuresOnN: number;
  /** Runs now on each deployment version, as `tunnus runs --build-id` lists them (open and closed). */
  runsByVersion: Record<string, number>;
  seconds: { waiting: number; upgradeToDone: number; total: number };
}

export interface ProofOptions {
  people?: number;
  /**
   * Start on an unversioned worker instead of version N (the first switch to worker versioning,
   * runbook step 1); N+1 is then the first version made current.
   */
  fromUnversioned?: boolean;
  log?: (line: string) => void;
}

export async function upgradeProof(stack: Stack, options: ProofOptions = {}): Promise<UpgradeFigures> {
  const { NativeConnection, Worker, bundleWorkflowCode } = await import('@temporalio/worker');
  const { deliverRecord, personState } = await import('../src/ops/persons');
  const { addDays, helsinkiDate } = await import('../src/domain/dates');
  const { buildWorker } = await import('../src/worker');
  const { personWorkflowId, provisionStatusQuery } = await import('../src/workflows/messages');
  const { listRuns } = await import('../src/ops/runs');
  const { eventually } = await import('../test/support/stack');
  const { workflowBundle } = await import('../test/support/temporal');
  const { UPGRADE_PATCH } = await import('../test/replay/variants/joiner-n1');
  type HrRecord = import('../src/domain/record').HrRecord;

  const people = options.people ?? 50;
  const log = options.log ?? (() => undefined);
  const t0 = Date.now();
  const today = helsinkiDate(new Date());
  const runTag = Date.now().toString(36).toUpperCase().slice(-5);
  const deploymentName = `tunnus-proof-${runTag.toLowerCase()}`;
  const N = 'n';
  const N1 = 'n-plus-1';
  const namespace = 'default';
  const { client, taskQueue } = stack;
  // Histories come from the server encrypted: the replayer decodes them with the stack's codec.
  const { tunnusDataConverter } = await import('../src/crypto/data-converter');
  const dataConverter = tunnusDataConverter(stack.keys);

  const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
  const bundles: Record<string, WorkflowBundle> = {
    [N]: await workflowBundle(),
    [N1]: await bundleWorkflowCode({
      workflowsPath: require.resolve('../test/replay/variants/joiner-n1'),
      // As the worker bundles it (failure messages into a payload the codec encrypts).
      failureConverterPath: require.resolve('../src/crypto/failure-converter'),
      logger: quiet,
    }),
  };

  const workers: Record<string, { stop: () => Promise<void> }> = {};
  async function startVersion(buildId: string, versioned = true): Promise<void> {
    const connection = await NativeConnection.connect({ address: stack.temporal.address });
    const worker = await buildWorker({
      connection,
      client,
      taskQueue,
      directory: stack.directory,
      cloud: stack.cloud,
      phone: stack.phone,
      policy: stack.policy,
      baseDn: stack.samba.baseDn,
      workflowBundle: bundles[buildId]!,
      ...(versioned ? { deployment: { deploymentName, buildId } } : {}),
    });
    const running = worker.run();
    workers[buildId] = {
      stop: async () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running;
        await connection.close();
      },
    };
  }
  /** `temporal worker deployment set-current-version`, once the version's worker has polled. */
  const makeCurrent = (buildId: string) =>
    eventually(
      () =>
        client.workflowService
          .setWorkerDeploymentCurrentVersion({
            namespace,
            deploymentName,
            buildId,
            identity: 'upgrade-proof',
          })
          .then(
            () => true,
            () => false,
          ),
      (ok) => ok,
      60_000,
      `${deploymentName}:${buildId} current`,
    );

  const seats = (faculty: number) =>
    stack.sims.graph.admin.setSkus([
      { skuPartNumber: 'SPE_E3', enabled: 2000 },
      { skuPartNumber: 'SPE_F1', enabled: 2000 },
      { skuPartNumber: 'M365EDU_A3_FACULTY', enabled: faculty },
    ]);
  const letters = (i: number) => String.fromCharCode(97 + Math.floor(i / 26), 97 + (i % 26));
  const ids = Array.from({ length: people }, (_, i) => `UP${runTag}-${i}`);
  const waitsForSeat = (i: number) => i % 2 === 0;
  const record = (i: number, startDate: string): HrRecord => ({
    employeeId: ids[i]!,
    firstNames: 'Versio',
    lastName: `Koe${letters(i)}`,
    ...(waitsForSeat(i)
      ? { jobTitle: 'Opettaja', jobCode: 'OP01', orgUnit: 'KASV-200' }
      : { jobTitle: 'Sairaanhoitaja', jobCode: 'SH01', orgUnit: 'SOTE-110' }),
    employmentType: 'permanent',
    startDate,
  });
  const inParallel = async <T>(items: T[], task: (item: T) => Promise<void>, lanes = 8) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: lanes }, async () => {
        while (next < items.length) await task(items[next++]!);
      }),
    );
  };
  const indices = ids.map((_, i) => i);

  // ---- Version N: current, with everyone waiting -------------------------------------------------
  if (options.fromUnversioned) {
    await startVersion(N, false);
    log('an unversioned worker runs the code of version N');
  } else {
    await startVersion(N);
    await makeCurrent(N);
    log(`version ${deploymentName}:${N} is current`);
  }
  seats(0);
  await inParallel(indices, (i) =>
    deliverRecord(client, record(i, waitsForSeat(i) ? today : addDays(today, 5)), 'hr', taskQueue).then(
      () => undefined,
    ),
  );
  const detailOf = async (i: number) => {
    const s = await personState(client, ids[i]!).catch(() => null);
    const run = s?.runs.find((r) => r.kind === 'joiner' && !r.endedAt);
    if (!run) return '';
    const status = await client.workflow
      .getHandle(run.workflowId)
      .query(provisionStatusQuery)
      .catch(() => undefined);
    return status?.detail ?? '';
  };
  let waiting = { seat: 0, date: 0 };
  await eventually(
    async () => {
      waiting = { seat: 0, date: 0 };
      await inParallel(indices, async (i) => {
        const detail = await detailOf(i);
        if (waitsForSeat(i) && /^waiting for licence/.test(detail)) waiting.seat++;
        if (!waitsForSeat(i) && /^waiting for start date/.test(detail)) waiting.date++;
      });
      return waiting;
    },
    (w) => w.seat + w.date === people,
    240_000,
    'everyone waiting on version N',
  );
  const waitedAt = Date.now();
  log(`on ${N}: ${waiting.seat} wait for a licence seat, ${waiting.date} for their start date`);

  // ---- Roll out N+1 beside N, make it current, drain N ------------------------------------------
  await startVersion(N1);
  await makeCurrent(N1);
  log(`version ${deploymentName}:${N1} is current; stopping ${N}`);
  await workers[N]!.stop();
  seats(people);
  await inParallel(
    indices.filter((i) => !waitsForSeat(i)),
    (i) => deliverRecord(client, record(i, today), 'hr', taskQueue).then(() => undefined),
  );
  let active = 0;
  await eventually(
    async () => {
      active = 0;
      await inParallel(indices, async (i) => {
        const s = await personState(client, ids[i]!).catch(() => null);
        if (s?.stage === 'active' && s.runs.every((r) => r.endedAt)) active++;
      });
      return active;
    },
    (n) => n === people,
    300_000,
    'everyone active on N+1',
  );
  const doneAt = Date.now();
  log(`all ${active} active ${Math.round((doneAt - waitedAt) / 1000)} s after the upgrade`);

  // ---- What the histories say ---------------------------------------------------------------------
  const figures: UpgradeFigures = {
    people,
    waitingForSeat: waiting.seat,
    waitingForStartDate: waiting.date,
    startedOnN: 0,
    finishedOnN1: 0,
    tookNewStep: 0,
    active,
    nonDeterminismErrors: 0,
    workflowTaskFailures: 0,
    replayFailuresOnN1: 0,
    replayedOnN: 0,
    replayFailuresOnN: 0,
    runsByVersion: {},
    seconds: { waiting: 0, upgradeToDone: 0, total: 0 },
  };
  const buildIdOf = (e: temporal.api.history.v1.IHistoryEvent) => {
    const a = e.workflowTaskCompletedEventAttributes;
    return a?.deploymentVersion?.buildId ?? a?.workerDeploymentVersion?.split(/[.:]/).pop();
  };
  const joinerHistories: { workflowId: string; history: History }[] = [];
  const countFailures = (history: History) => {
    for (const e of history.events ?? []) {
      const failed = e.workflowTaskFailedEventAttributes;
      if (!failed) continue;
      figures.workflowTaskFailures++;
      // WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR = 24
      if (Number(failed.cause) === 24) figures.nonDeterminismErrors++;
    }
  };
  await inParallel(indices, async (i) => {
    const personHandle = client.workflow.getHandle(personWorkflowId(ids[i]!));
    countFailures(await personHandle.fetchHistory());
    const s = await personState(client, ids[i]!);
    for (const run of s?.runs.filter((r) => r.kind === 'joiner') ?? []) {
      const history = await client.workflow.getHandle(run.workflowId).fetchHistory();
      countFailures(history);
      const completed = (history.events ?? []).filter((e) => e.workflowTaskCompletedEventAttributes);
      const first = completed.length > 0 ? buildIdOf(completed[0]!) : 'none';
      if (options.fromUnversioned ? !first : first === N) figures.startedOnN++;
      if (completed.length > 0 && buildIdOf(completed.at(-1)!) === N1) figures.finishedOnN1++;
      const marker = (history.events ?? []).some((e) => {
        const m = e.markerRecordedEventAttributes;
        if (m?.markerName !== 'core_patch') return false;
        return Object.values(m.details ?? {}).some((p) =>
          (p.payloads ?? []).some(
            (x) => !!x.data && Buffer.from(x.data).toString('utf8').includes(UPGRADE_PATCH),
          ),
        );
      });
      if (marker) figures.tookNewStep++;
      joinerHistories.push({ workflowId: run.workflowId, history });
    }
  });
  for await (const result of Worker.runReplayHistories(
    { workflowBundle: bundles[N1]!, replayName: 'proof-n-plus-1', dataConverter },
    joinerHistories,
  )) {
    if (result.error) figures.replayFailuresOnN1++;
  }
  const sample = joinerHistories.slice(0, 5);
  figures.replayedOnN = sample.length;
  for await (const result of Worker.runReplayHistories(
    { workflowBundle: bundles[N]!, replayName: 'proof-n', dataConverter },
    sample,
  )) {
    if (result.error) figures.replayFailuresOnN++;
  }
  // What `tunnus runs --build-id <id>` lists: the filter and its version column.
  for (const buildId of [N, N1]) {
    const version = `${deploymentName}:${buildId}`;
    const { rows } = await listRuns(client, { version }, 1000);
    figures.runsByVersion[version] = rows.filter((r) => r.version === version).length;
  }
  await workers[N1]!.stop();
  figures.seconds = {
    waiting: Math.round((waitedAt - t0) / 1000),
    upgradeToDone: Math.round((doneAt - waitedAt) / 1000),
    total: Math.round((Date.now() - t0) / 1000),
  };
  return figures;
}

async function main(): Promise<void> {
  const repoRoot = path.resolve(__dirname, '..');
  process.env.TUNNUS_STATE_DIR ??= path.join(repoRoot, '.state', 'replay');
  process.env.TUNNUS_DC_HOST ??= '127.0.0.28';
  process.env.TUNNUS_TEST_TEMPORAL_PORT ??= '17309';
  process.env.TUNNUS_INDEX_FILE = path.join(process.env.TUNNUS_STATE_DIR, 'record-index.sqlite');
  const { startStack } = await import('../test/support/stack');
  const { stopSamba } = await import('../sandbox/samba');
  const { stopTemporalDevServers } = await import('../sandbox/temporal');
  const stack = await startStack({
    policy: (p) => {
      p.cloud.licenceRecheckSeconds = 5;
    },
  });
  try {
    const people = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 50);
    const fromUnversioned = process.argv.includes('--from-unversioned');
    const figures = await upgradeProof(stack, { people, fromUnversioned, log: (line) => console.log(line) });
    console.log(JSON.stringify(figures, null, 2));
    console.log(
      `runs started on N: ${figures.startedOnN}, finished on N+1: ${figures.finishedOnN1}, ` +
        `errors: ${figures.nonDeterminismErrors + figures.workflowTaskFailures + figures.replayFailuresOnN1}`,
    );
  } finally {
    await stack.close();
    if (process.env.UPGRADE_PROOF_KEEP !== '1') {
      await stopTemporalDevServers();
      await stopSamba();
    }
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
