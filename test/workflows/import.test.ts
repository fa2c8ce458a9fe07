import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createImportActivities } from '../../src/activities/import';
import { createTemporalImports } from '../../src/ops/imports';
import { prepareHrImport, type ImportStatus } from '../../src/api/imports';
import { addDays, helsinkiDate } from '../../src/domain/dates';
import { parsePolicy } from '../../src/domain/policy';
import type { HrRecord } from '../../src/domain/record';
import type { RecordStore } from '../../src/store/import-staging';
import { openSqliteIndex } from '../../src/store/sqlite-index';
import { approveUpdate, pendingApprovalQuery } from '../../src/workflows/approval';
import type { ImportProgress } from '../../src/workflows/import';
import type { PersonState } from '../../src/workflows/messages';
import { timeSkippingEnv, workflowBundle } from '../support/temporal';

// The import workflow with its real activities and a real SQLite index/staging, on the
// time-skipping server; delivery to person workflows is a recording fake.

const policy = parsePolicy(fs.readFileSync(path.join(__dirname, '../../config/policy.yaml'), 'utf8'));
// These tests are about the import's mechanics and the overall threshold; the care ERP's own
// lower threshold is tested in test/unit/mass-change.test.ts.
policy.safety.groupThresholds = [];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-import-wf-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const columns =
  'employee_id;first_names;last_name;job_title;job_code;org_unit;employment_type;start_date;end_date';
const today = helsinkiDate(new Date());

interface Row {
  id: string;
  title?: string;
  start?: string;
  end?: string;
}
function csv(rows: Row[]): string {
  const lines = rows.map(
    (r) =>
      `${r.id};Aino;Ääpälä;${r.title ?? 'Sairaanhoitaja'};SH01;SOTE-110;permanent;${r.start ?? addDays(today, 60)};${r.end ?? ''}`,
  );
  return [columns, ...lines].join('\n') + '\n';
}

describe('import workflow on the time-skipping server', () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  let store: RecordStore;
  const file = path.join(dir, 'index.sqlite');
  const taskQueue = `import-test-${randomUUID()}`;
  const deliveries: HrRecord[] = [];
  /** The person workflows' records, as the delivery fake leaves them and the state fake reads. */
  const states = new Map<string, PersonState>();
  /** Set to make one delivery fail as if Temporal were unavailable. */
  let failOnCall: number | undefined;
  let calls = 0;

  before(async () => {
    env = await timeSkippingEnv();
    store = openSqliteIndex({ file });
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: createImportActivities({
        client: env.client,
        store: () => store,
        policy,
        deliver: async (record) => {
          if (++calls === failOnCall) throw Object.assign(new Error('unavailable'), { code: 14 });
          deliveries.push(record);
          states.set(record.employeeId, {
            employeeId: record.employeeId,
            stage: 'active',
            record,
            records: { hr: record },
            version: 1,
          } as PersonState);
        },
        readState: async (id) => states.get(id) ?? null,
      }),
    });
    running = worker.run();
  });
  after(async () => {
    worker.shutdown();
    await running;
    await env.teardown();
    await store.close();
  });

  const runner = () => createTemporalImports({ client: env.client, staging: store, taskQueue });
  const startImport = async (text: string) => {
    const prepared = prepareHrImport(text, false);
    assert.ok(prepared.ok);
    return (await runner().start(prepared)).importId;
  };
  const finished = async (importId: string): Promise<ImportStatus> => {
    await env.client.workflow.getHandle(importId).result();
    return (await runner().status(importId))!;
  };
  const stagedRows = () => {
    const db = new Database(file, { readonly: true });
    try {
      return (db.prepare('SELECT count(*) AS n FROM import_staging').get() as { n: number }).n;
    } finally {
      db.close();
    }
  };
  const people = (prefix: string, n: number): Row[] =>
    Array.from({ length: n }, (_, i) => ({ id: `${prefix}${String(i).padStart(3, '0')}` }));
  /** The first test's second snapshot: every seventh person has a new title. */
  const changed = people('A', 20).map((r, i) => (i % 7 === 0 ? { ...r, title: 'Osastonhoitaja' } : r));

  it('the second run of a snapshot delivers only the changed rows', async () => {
    const rows = people('A', 20);
    deliveries.length = 0;
    const first = await finished(await startImport(csv(rows)));
    assert.equal(first.status, 'completed');
    assert.deepEqual(
      {
        delivered: first.progress?.delivered,
        unchanged: first.progress?.unchanged,
        total: first.progress?.total,
      },
      { delivered: 20, unchanged: 0, total: 20 },
    );
    assert.equal(deliveries.length, 20);
    assert.equal(await store.count(), 20);

    deliveries.length = 0;
    const second = await finished(await startImport(csv(changed)));
    assert.equal(second.progress?.delivered, 3);
    assert.equal(second.progress?.unchanged, 17);
    assert.deepEqual(deliveries.map((d) => d.employeeId).sort(), ['A000', 'A007', 'A014']);
    assert.equal(second.progress?.guard?.verdict, 'ok');
    assert.equal(stagedRows(), 0, 'staging is dropped when an import ends');
  });

  it('a person missing from the snapshot is reported, not ended', async () => {
    deliveries.length = 0;
    const result = await finished(await startImport(csv(changed.slice(0, 18))));
    assert.equal(result.progress?.analysis?.missingFromSnapshot, 2);
    assert.match(result.progress?.notInSnapshot ?? '', /2 persons .* not ended/);
    assert.equal(deliveries.length, 0);
  });

  it('an import ending 10 % of the active people today waits for approval; a set that moved re-asks', async () => {
    // Active people (started 100 days ago); the index also holds the earlier tests' future hires,
    // which are not active and do not dilute the share.
    const base = people('G', 20).map((r) => ({ ...r, start: addDays(today, -100) }));
    await finished(await startImport(csv(base)));
    assert.equal(await store.countActive(today), 20);
    deliveries.length = 0;
    // Two of the twenty end TODAY (an end date already past was all the old guard counted); one
    // more changes only a title, which takes nothing away.
    const next = base.map((r, i) =>
      i < 2 ? { ...r, end: today } : i === 10 ? { ...r, title: 'Osastonhoitaja' } : r,
    );
    const importId = await startImport(csv(next));
    const handle = env.client.workflow.getHandle(importId);
    const waitFor = async (notHash?: string) => {
      for (let i = 0; i < 200; i++) {
        const p = await handle.query(pendingApprovalQuery).catch(() => null);
        if (p && p.verdict.setHash !== notHash) return p;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('the import does not wait for approval');
    };

    const pending = await waitFor();
    assert.equal(pending.verdict.disables, 2);
    assert.equal(pending.verdict.managedIdentities, 20);
    assert.equal(pending.verdict.percent, 10);
    const status = await runner().status(importId);
    assert.equal(status?.progress?.phase, 'awaiting approval');
    assert.match(status?.details ?? '', /Waiting for approval.*access from 2 of 20 active identities/);
    assert.equal(deliveries.length, 0, 'nothing is delivered before approval');

    await assert.rejects(
      handle.executeUpdate(approveUpdate, {
        args: [{ approvedBy: 'cli:ops-anna', expect: { setHash: 'x' } }],
      }),
      (err: unknown) =>
        err instanceof WorkflowUpdateFailedError && /the set moved/.test(String(err.cause?.message)),
    );
    // Meanwhile G010's workflow came to hold a physician's record (another path): the snapshot's
    // nurse row now takes ERP-Physician away. The approval given for the two ends does not cover it.
    const g010 = states.get('G010')!;
    states.set('G010', { ...g010, record: { ...g010.record!, jobCode: 'LK01' } });
    const first = await handle.executeUpdate(approveUpdate, {
      args: [{ approvedBy: 'cli:ops-anna', expect: { setHash: pending.verdict.setHash } }],
    });
    assert.equal(first.approvedBy, 'cli:ops-anna');
    const again = await waitFor(pending.verdict.setHash);
    assert.equal(again.verdict.roleChanges, 1, 'the moved set is asked again');
    assert.equal(again.verdict.disables, 2);
    assert.equal(deliveries.length, 0, 'still nothing delivered');
    await handle.executeUpdate(approveUpdate, {
      args: [{ approvedBy: 'api:ops-console', expect: { setHash: again.verdict.setHash } }],
    });
    const result = await finished(importId);
    assert.equal(result.progress?.delivered, 3);
    assert.equal(result.progress?.approval?.approvedBy, 'api:ops-console');
    assert.equal(deliveries.length, 3);
  });

  it('a batch that fails midway resumes from its last heartbeat, not from the start', async () => {
    deliveries.length = 0;
    calls = 0;
    failOnCall = 250;
    try {
      const result = await finished(await startImport(csv(people('R', 300))));
      assert.equal(result.status, 'completed');
      assert.equal(result.progress?.delivered, 300);
      // Without resuming, the retry would deliver all 300 again (550 in all).
      assert.ok(calls > 300, 'one delivery failed and the batch was retried');
      assert.ok(deliveries.length <= 300 + 200, `delivered ${deliveries.length} times`);
      assert.equal(new Set(deliveries.map((d) => d.employeeId)).size, 300);
      assert.equal((await store.getMany(deliveries.map((d) => d.employeeId))).size, 300);
    } finally {
      failOnCall = undefined;
    }
  });

  it('the same file uploaded twice gets the same import id, and its persons are delivered once', async () => {
    deliveries.length = 0;
    const prepared = prepareHrImport(csv(people('D', 5)), false);
    assert.ok(prepared.ok);
    const a = await runner().start(prepared);
    const b = await runner().start(prepared);
    assert.equal(a.importId, b.importId);
    assert.match(a.importId, /^import-hr-[0-9a-f]{16}$/);
    await finished(a.importId);
    assert.equal(deliveries.length, 5);
  });
});

describe('an authoritative HR snapshot on the time-skipping server', () => {
  // Real import activities and SQLite staging/index; the person workflows are stood in for by a
  // map of their HR records, which the delivery fake updates and the state query fake reads.
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  let store: RecordStore;
  const taskQueue = `import-auth-test-${randomUUID()}`;
  const authoritative = parsePolicy(
    fs.readFileSync(path.join(__dirname, '../../config/policy.yaml'), 'utf8'),
  );
  authoritative.intake.snapshotsAuthoritative.hr = true;
  authoritative.safety.groupThresholds = [];
  const held = new Map<string, HrRecord>();
  const deliveries: HrRecord[] = [];
  /** Set to make one delivery fail as if Temporal were unavailable. */
  let failOnCall: number | undefined;
  let calls = 0;

  before(async () => {
    env = await timeSkippingEnv();
    store = openSqliteIndex({ file: path.join(dir, 'authoritative.sqlite') });
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: createImportActivities({
        client: env.client,
        store: () => store,
        policy: authoritative,
        deliver: async (record) => {
          if (++calls === failOnCall) throw Object.assign(new Error('unavailable'), { code: 14 });
          deliveries.push(record);
          held.set(record.employeeId, record);
        },
        readState: async (id) => {
          const hr = held.get(id);
          return hr
            ? ({ employeeId: id, stage: 'active', record: hr, records: { hr }, version: 1 } as PersonState)
            : null;
        },
      }),
    });
    running = worker.run();
  });
  after(async () => {
    worker.shutdown();
    await running;
    await env.teardown();
    await store.close();
  });

  const runner = () => createTemporalImports({ client: env.client, staging: store, taskQueue });
  const startImport = async (rows: Row[]) => {
    const prepared = prepareHrImport(csv(rows), false);
    assert.ok(prepared.ok);
    return (await runner().start(prepared)).importId;
  };
  const finished = async (importId: string): Promise<ImportProgress> =>
    (await env.client.workflow.getHandle(importId).result()) as ImportProgress;
  const staff = Array.from({ length: 20 }, (_, i) => ({
    id: `F${String(i).padStart(3, '0')}`,
    start: addDays(today, -100),
  }));
  const endedIds = () => deliveries.filter((d) => d.endDate === today).map((d) => d.employeeId);

  it('a person left out is ended today, once: the same snapshot again finds them ended', async () => {
    await finished(await startImport(staff));
    assert.equal(held.size, 20);

    deliveries.length = 0;
    const first = await finished(await startImport(staff.slice(1)));
    assert.equal(first.analysis?.wouldEnd, 1);
    assert.equal(first.guard?.verdict, 'ok', '1 of 20 is within the 5 % threshold');
    assert.equal(first.guard?.disables, 1);
    assert.equal(first.ended, 1);
    assert.deepEqual(endedIds(), ['F000']);
    assert.equal(held.get('F000')?.jobTitle, 'Sairaanhoitaja', 'the current record, with an end date');
    assert.match(first.notInSnapshot ?? '', /1 persons .* 1 of them are ended today/);

    // Same rows in another order: another file, another import id, the same snapshot.
    deliveries.length = 0;
    const again = await finished(await startImport(staff.slice(1).reverse()));
    assert.equal(again.analysis?.missingFromSnapshot, 1);
    assert.equal(again.analysis?.wouldEnd, 0);
    assert.deepEqual(
      { ended: again.ended, alreadyEnded: again.ends?.alreadyEnded },
      { ended: 0, alreadyEnded: 1 },
    );
    assert.equal(deliveries.length, 0);

    // Listed again without an end date: a change (the index holds the ended record), so delivered.
    const back = await finished(await startImport(staff));
    assert.equal(back.delivered, 1);
    assert.equal(held.get('F000')?.endDate, undefined);
  });

  it('a snapshot leaving out half stops for approval counting the ends, and ends each person once', async () => {
    // F000 ended already and F019 was never seen by a person workflow: neither counts.
    held.set('F000', { ...held.get('F000')!, endDate: addDays(today, -1) });
    held.delete('F019');
    const kept = staff.slice(1, 10);
    deliveries.length = 0;
    const importId = await startImport(kept);
    const handle = env.client.workflow.getHandle(importId);
    let pending = null;
    for (let i = 0; i < 100 && !pending; i++) {
      pending = await handle.query(pendingApprovalQuery).catch(() => null);
      if (!pending) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(pending, 'the import waits for approval');
    assert.equal(pending.verdict.disables, 9, 'F010…F018: F000 has ended, F019 holds no record');
    assert.equal(pending.verdict.managedIdentities, 20);
    assert.equal(deliveries.length, 0, 'nobody is ended before approval');

    // The fifth delivery fails as if Temporal were down: the activity retries from its heartbeat.
    calls = 0;
    failOnCall = 5;
    try {
      await handle.executeUpdate(approveUpdate, {
        args: [{ approvedBy: 'cli:ops', expect: { setHash: pending.verdict.setHash } }],
      });
      const result = await finished(importId);
      assert.deepEqual(
        endedIds().sort(),
        staff.slice(10, 19).map((r) => r.id),
        'each ended exactly once',
      );
      // Those ended before the failure read as already ended on the retry.
      assert.equal((result.ended ?? 0) + (result.ends?.alreadyEnded ?? 0), 9 + 1);
      assert.equal(result.ends?.noRecord, 1);
      assert.equal(result.failed, 0);
    } finally {
      failOnCall = undefined;
    }
  });
});
