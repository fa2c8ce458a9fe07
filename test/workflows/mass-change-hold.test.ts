import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createGuardActivities } from '../../src/activities/guard';
import type { SourceRecord } from '../../src/domain/identity';
import { parsePolicy } from '../../src/domain/policy';
import type { HrRecord } from '../../src/domain/record';
import { approveRun, pendingApproval } from '../../src/ops/approve';
import { heldChanges, holdChange } from '../../src/ops/hold';
import type { RecordStore } from '../../src/store/import-staging';
import { openSqliteIndex } from '../../src/store/sqlite-index';
import { approveUpdate } from '../../src/workflows/approval';
import { HOLD_WORKFLOW_ID, type HeldChange } from '../../src/workflows/mass-change-hold';
import { timeSkippingEnv, workflowBundle } from '../support/temporal';

// The held set (`mass-change-hold`) on the time-skipping server: single deliveries the guard
// stopped wait visibly; the approval names the operator and covers exactly the set it saw; a set
// that grew since is refused and asked again; approved records are delivered and indexed.

const policy = parsePolicy(
  'naming: { upnDomain: kerava.test, mailDomain: kerava.fi }\nous: { default: OU=Staff, disabled: OU=Disabled }\nroles: [{ name: all }]\n',
);
const record = (id: string): HrRecord => ({
  employeeId: id,
  firstNames: 'Aino',
  lastName: 'Testinen',
  jobTitle: 'Sihteeri',
  jobCode: 'TO01',
  orgUnit: 'HALL-1',
  employmentType: 'permanent',
  startDate: '2020-01-01',
  endDate: '2026-01-01',
});
const change = (id: string): HeldChange => ({
  identityId: id,
  source: 'hr',
  record: record(id),
  loss: { identityId: id, kind: 'disable', groups: [], skus: [] },
  ref: 'api:hr-system',
  activeIdentities: 100,
  safety: policy.safety,
});

describe('the held set on the time-skipping server', () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  let store: RecordStore;
  const taskQueue = `hold-test-${randomUUID()}`;
  const delivered: SourceRecord[] = [];

  before(async () => {
    env = await timeSkippingEnv();
    store = openSqliteIndex({ file: ':memory:' });
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: createGuardActivities({
        client: env.client,
        store: () => store,
        deliver: async (r) => void delivered.push(r),
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

  it('waits visibly; an approval for a set that grew is refused; the set approved is delivered', async () => {
    for (const id of ['E1', 'E2']) {
      await store.holdLosses('api:hr-system', [change(id).loss]);
      await holdChange(env.client, change(id), taskQueue);
    }
    let pending = null;
    for (let i = 0; i < 100 && !(pending && pending.verdict.pendingIdentities === 2); i++) {
      pending = await pendingApproval(env.client, HOLD_WORKFLOW_ID).catch(() => null);
      if (!pending) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(pending, 'the held set waits for approval');
    assert.match(pending.summary, /holds 2 change\(s\) that take access away: 2 disables/);
    assert.deepEqual(
      (await heldChanges(env.client)).map((h) => h.identityId),
      ['E1', 'E2'],
    );
    const seen = pending.verdict.setHash;

    // A third arrives after the operator looked: their approval no longer covers the set.
    await store.holdLosses('api:hr-system', [change('E3').loss]);
    await holdChange(env.client, change('E3'), taskQueue);
    for (let i = 0; i < 100 && (await heldChanges(env.client)).length < 3; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const refused = await approveRun(env.client, HOLD_WORKFLOW_ID, {
      operator: 'api:ops-console',
      setHash: seen,
    });
    assert.ok(refused && !refused.ok && refused.reason === 'refused');
    assert.match(refused.message, /the set moved: held set holds 3 change/);
    await assert.rejects(
      env.client.workflow.getHandle(HOLD_WORKFLOW_ID).executeUpdate(approveUpdate, {
        args: [{ approvedBy: 'anyone at all', expect: { setHash: seen } }],
      }),
      (err: unknown) => err instanceof WorkflowUpdateFailedError,
    );
    assert.equal(delivered.length, 0, 'nothing delivered before an approval');

    const approved = await approveRun(env.client, HOLD_WORKFLOW_ID, { operator: 'cli:anna' });
    assert.ok(approved.ok);
    assert.equal(approved.receipt.approvedBy, 'cli:anna');
    for (let i = 0; i < 100 && delivered.length < 3; i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(delivered.map((r) => (r as HrRecord).employeeId).sort(), ['E1', 'E2', 'E3']);
    for (let i = 0; i < 100 && (await store.heldLosses()).length > 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(await store.heldLosses(), [], 'released in the ledger');
    assert.equal((await store.get('E1'))?.endDate, '2026-01-01', 'indexed as delivered');
    assert.deepEqual(await heldChanges(env.client), []);
  });
});
