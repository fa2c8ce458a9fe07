import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createDirectoryActivities } from '../../src/activities/directory';
import { createGuardActivities } from '../../src/activities/guard';
import { classifyChange } from '../../src/domain/access-loss';
import { addDays, helsinkiDate } from '../../src/domain/dates';
import { managedGroups, parsePolicy, type Policy } from '../../src/domain/policy';
import type { HrRecord } from '../../src/domain/record';
import { approveRun, pendingApproval } from '../../src/ops/approve';
import { heldChanges } from '../../src/ops/hold';
import type { RecordStore } from '../../src/store/import-staging';
import { indexDates, indexFingerprint } from '../../src/store/record-index';
import { openSqliteIndex } from '../../src/store/sqlite-index';
import { HOLD_WORKFLOW_ID } from '../../src/workflows/mass-change-hold';
import { personWorkflowId } from '../../src/workflows/messages';
import { MemoryDirectory } from '../support/memory-directory';
import { createHandoverActivities } from '../../src/activities/handover';
import { createReadModelActivities } from '../../src/activities/read-model';
import type { CloudDirectory } from '../../src/connectors/graph/cloud-directory';
import type { NoticeRequest } from '../../src/domain/notice-recipients';
import { FakeCloud, FakeMail, personHarness } from '../support/person-harness';
import { timeSkippingEnv, workflowBundle } from '../support/temporal';

// Ends that arrive long before they fall due pass intake as no loss yet (not within the window).
// When they fall due together — HR wrongly sent end dates a month ahead for a whole ward — the
// person workflows ask the mass-change guard at the end of the last working day: over the
// threshold they wait, visibly, with their accounts enabled, until the held set is approved.

const loadPolicy = (): Policy => {
  const p = parsePolicy(fs.readFileSync(path.join(__dirname, '../../config/policy.yaml'), 'utf8'));
  p.lifecycle.lastDayEndsAt = '16:00';
  p.safety.massChangeThresholdPercent = 5;
  p.safety.windowHours = 24;
  p.safety.groupThresholds = [];
  return p;
};

function nurse(employeeId: string, n: number, extra: Partial<HrRecord> = {}): HrRecord {
  return {
    employeeId,
    firstNames: 'Aino',
    lastName: `Vuoro${String.fromCharCode(97 + (n % 26))}${String.fromCharCode(97 + Math.floor(n / 26))}`,
    jobTitle: 'Sairaanhoitaja',
    jobCode: 'SH01',
    orgUnit: 'SOTE-100',
    employmentType: 'permanent',
    startDate: '2026-01-01',
    ...extra,
  };
}

describe('ends falling due together are guarded', () => {
  const policy = loadPolicy();
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  let directory: MemoryDirectory;
  let store: RecordStore;
  const taskQueue = `guard-due-ends-${randomUUID()}`;

  before(async () => {
    env = await timeSkippingEnv();
    directory = new MemoryDirectory(managedGroups(policy));
    store = openSqliteIndex({ file: ':memory:' });
    const mail = new FakeMail(async () => Number(await env.currentTimeMs()));
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: {
        ...createDirectoryActivities(directory, policy, { baseDn: directory.baseDn }),
        ...new FakeCloud(directory, policy).activities(),
        // The ledger keeps wall-clock instants: the guard's window is real time here too.
        ...createGuardActivities({ client: env.client, store: () => store, policy }),
        // What every joiner now also runs: the first-day handover, its notice, the read-model row.
        ...createHandoverActivities({
          cloud: mail as unknown as CloudDirectory,
          directory,
          policy,
          ledger: () => mail.ledger,
        }),
        ...createReadModelActivities({ store: () => store, policy }),
        sendNotice: async (req: NoticeRequest) => mail.notice(req),
      },
    });
    running = worker.run();
  });
  after(async () => {
    worker.shutdown();
    await running;
    await env.teardown();
    await store.close();
  });

  const h = () => personHarness(env, taskQueue);
  const today = async () => helsinkiDate(new Date(await h().now()));

  /** `count` active nurses (index and workflows); those in `ending` get `endDate`, each alone. */
  async function ward(prefix: string, count: number, ending: number, endDate: string) {
    const ids = Array.from({ length: count }, (_, i) => `${prefix}${i}`);
    for (const [i, id] of ids.entries()) {
      const record = nurse(id, i);
      await store.put(id, indexFingerprint(record), 'hr', indexDates(record));
    }
    const ends = ids.slice(0, ending);
    await Promise.all(ends.map((id, i) => h().deliver(nurse(id, i))));
    await Promise.all(ends.map((id) => h().idle(id)));
    for (const [i, id] of ends.entries()) {
      const before = nurse(id, i);
      const after = nurse(id, i, { endDate });
      // What intake sees: an end 40 days ahead takes nothing away within the window yet.
      assert.equal(
        classifyChange({ identityId: id, before, after, policy, asOf: new Date(await h().now()) }),
        undefined,
      );
      await h().deliver(after);
      await store.put(id, indexFingerprint(after), 'hr', indexDates(after));
    }
    const states = await Promise.all(ends.map((id) => h().idle(id)));
    for (const s of states) assert.equal(s.stage, 'active');
    return { ids, ends, endAt: new Date(states[0]!.schedule!.endAt!) };
  }

  it('20 ends falling due on one day among 20 nurses: over 5 % they wait, enabled, until approved', async () => {
    const endDate = addDays(await today(), 40);
    const { ends, endAt } = await ward(`GD${Date.now() % 100000}x`, 20, 20, endDate);
    assert.ok(ends.every((id) => directory.account(id)!.enabled));

    await h().skipTo(endAt, 60_000);
    const states = await Promise.all(
      ends.map((id) => h().until(id, (s) => s.stage === 'left' || s.stage === 'held')),
    );
    const left = states.filter((s) => s.stage === 'left');
    const held = states.filter((s) => s.stage === 'held');
    // 1 of 20 is 5 %: at the threshold, not over it; the second would be 10 %.
    assert.equal(left.length, 1, 'only the first end within the threshold proceeds');
    assert.equal(held.length, 19);
    for (const s of held) {
      assert.equal(directory.account(s.employeeId)!.enabled, true, `${s.employeeId} keeps access`);
      assert.equal(s.hold?.kind, 'massChange');
      assert.equal(s.hold?.endDate, endDate);
      assert.match(s.hold.reason, /^held: mass-change guard \(\d+ ends due in the window\)$/);
      assert.ok(!s.runs.some((r) => r.kind === 'leaver'), 'no leaver started');
    }
    assert.equal(directory.account(left[0]!.employeeId)!.enabled, false);
    const handle = env.client.workflow.getHandle(personWorkflowId(held[0]!.employeeId));
    const meta = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    assert.match(
      meta.currentDetails ?? '',
      /^held: mass-change guard \(\d+ ends due in the window\); account still enabled; approve the held set/,
    );
    assert.deepEqual((await handle.describe()).searchAttributes.LifecycleStage, ['held']);
    assert.equal((await store.heldLosses()).length, 19, 'held in the ledger');

    // The held set waits for one approval of exactly these 19.
    let pending = null;
    for (let i = 0; i < 200 && !(pending && pending.verdict.pendingIdentities === 19); i++) {
      pending = await pendingApproval(env.client, HOLD_WORKFLOW_ID).catch(() => null);
      if (!pending || pending.verdict.pendingIdentities !== 19) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(pending?.verdict.pendingIdentities, 19);
    assert.deepEqual(
      (await heldChanges(env.client)).map((c) => c.identityId).sort(),
      held.map((s) => s.employeeId).sort(),
    );
    // Still held a day later: nothing but the approval (or a newer record) releases them.
    await env.sleep(24 * 60 * 60 * 1000);
    for (const s of held) assert.equal((await h().state(s.employeeId)).stage, 'held');

    const approved = await approveRun(env.client, HOLD_WORKFLOW_ID, {
      operator: 'cli:anna',
      setHash: pending.verdict.setHash,
    });
    assert.ok(approved.ok, JSON.stringify(approved));
    const after = await Promise.all(ends.map((id) => h().until(id, (s) => s.stage === 'left')));
    for (const s of after) assert.equal(directory.account(s.employeeId)!.enabled, false);
    const released = after.find((s) => s.employeeId === held[0]!.employeeId)!;
    assert.ok(
      released.timeline.some((t) => t.event === 'end approved' && /by cli:anna$/.test(t.detail ?? '')),
    );
    assert.deepEqual(await store.heldLosses(), [], 'released in the ledger');
  });

  it('control: one end falling due among 20 active nurses is not held', async () => {
    await store.close();
    store = openSqliteIndex({ file: ':memory:' });
    const endDate = addDays(await today(), 40);
    const { ends, endAt } = await ward(`GC${Date.now() % 100000}x`, 20, 1, endDate);
    await h().skipTo(endAt, 60_000);
    const s = await h().until(ends[0]!, (x) => x.stage === 'left' || x.stage === 'held');
    assert.equal(s.stage, 'left');
    assert.equal(directory.account(ends[0]!)!.enabled, false);
    assert.ok(s.timeline.some((t) => t.event === 'end admitted by the mass-change guard'));
    assert.equal((await store.windowLosses(new Date(0).toISOString())).length, 1, 'counted once');
  });
});
