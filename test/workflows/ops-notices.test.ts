import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { Collected } from '../../src/activities/cleanup';
import { createGuardActivities } from '../../src/activities/guard';
import type { Finding } from '../../src/domain/cleanup-report';
import type { NoticeRequest } from '../../src/domain/notice-events';
import { parsePolicy } from '../../src/domain/policy';
import type { HrRecord } from '../../src/domain/record';
import { heldChanges, holdChange } from '../../src/ops/hold';
import type { RecordStore } from '../../src/store/import-staging';
import { openSqliteIndex } from '../../src/store/sqlite-index';
import { cleanupWorkflow } from '../../src/workflows/cleanup';
import { HOLD_WORKFLOW_ID, type HeldChange } from '../../src/workflows/mass-change-hold';
import { timeSkippingEnv, workflowBundle } from '../support/temporal';

// The ops notices of the held set and the daily cleanup on the time-skipping server, with
// `sendNotice` at the activity boundary: one notice per held set (not per change joining it),
// and the cleanup's report once per run, counts and codes only.

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

describe('ops notices of the held set and the cleanup', () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  let store: RecordStore;
  const taskQueue = `ops-notices-${randomUUID()}`;
  const calls: NoticeRequest[] = [];
  let collected: Collected;

  before(async () => {
    env = await timeSkippingEnv();
    store = openSqliteIndex({ file: ':memory:' });
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: {
        ...createGuardActivities({ client: env.client, store: () => store, deliver: async () => undefined }),
        collectCleanup: async () => collected,
        sendNotice: async (req: NoticeRequest) => {
          calls.push(req);
          return { status: 'sent', to: ['tunnus-ops@kerava.fi'] };
        },
      },
    });
    running = worker.run();
  });
  after(async () => {
    await env.client.workflow
      .getHandle(HOLD_WORKFLOW_ID)
      .terminate('test over')
      .catch(() => undefined);
    worker.shutdown();
    await running;
    await env.teardown();
    await store.close();
  });

  const waitFor = async (check: () => boolean, what: string) => {
    for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(check(), what);
  };

  it('a held set tells ops once, however many changes join it', async () => {
    for (const id of ['E1', 'E2', 'E3']) {
      await store.holdLosses('api:hr-system', [change(id).loss]);
      await holdChange(env.client, change(id), taskQueue);
    }
    for (let i = 0; i < 200 && (await heldChanges(env.client)).length < 3; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await waitFor(() => calls.some((c) => c.template === 'mass-change-held'), 'held-set notice sent');
    await env.sleep(60 * 60_000);
    const held = calls.filter((c) => c.template === 'mass-change-held');
    assert.equal(held.length, 1, 'one per set');
    assert.deepEqual(held[0]!.to, { ops: true });
    assert.match(held[0]!.key, /^mass-change-held:mass-change-hold:\d{4}-\d\d-\d\dT/);
    assert.equal(held[0]!.vars.approve, 'tunnus approve mass-change-hold');
    assert.ok(Number(held[0]!.vars.pendingIdentities) >= 1);
  });

  it("the cleanup's report goes to ops once per run: counts and codes, no accounts", async () => {
    const findings: Finding[] = [
      { kind: 'orphanAccount', account: 'matti.orpo', dn: 'CN=matti.orpo,OU=Staff', why: 'no employeeID' },
      { kind: 'licenceOnLeaver', employeeId: 'E9', userId: 'u9', skus: ['SPE_E3'], why: 'left' },
    ];
    collected = {
      asOf: new Date().toISOString(),
      findings,
      managedIdentities: 100,
      mode: 'report',
      thresholdPercent: 5,
      prices: { SPE_E3: 36 },
    };
    const workflowId = `cleanup-${randomUUID()}`;
    const report = await env.client.workflow.execute(cleanupWorkflow, { workflowId, taskQueue, args: [{}] });
    const sent = calls.filter((c) => c.template === 'cleanup-report');
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.key, `cleanup-report:${workflowId}:${report.runAt}`);
    assert.deepEqual(sent[0]!.to, { ops: true });
    assert.equal(sent[0]!.vars.findings, 2);
    assert.equal(sent[0]!.vars.found_orphanAccount, 1);
    assert.equal(sent[0]!.vars.licences, 'SPE_E3 1');
    assert.equal(sent[0]!.vars.monthlySaving, 36);
    assert.doesNotMatch(JSON.stringify(sent[0]), /matti|orpo|E9|u9/, 'no accounts or ids of findings');
  });
});
