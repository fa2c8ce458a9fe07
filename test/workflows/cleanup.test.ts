import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { Applied, Collected } from '../../src/activities/cleanup';
import type { Finding } from '../../src/domain/cleanup-report';
import type { Loss } from '../../src/domain/mass-change';
import { parsePolicy } from '../../src/domain/policy';
import { admitApproved, admitLosses } from '../../src/ops/guard';
import type { RecordStore } from '../../src/store/import-staging';
import { openSqliteIndex } from '../../src/store/sqlite-index';
import { approveUpdate, pendingApprovalQuery } from '../../src/workflows/approval';
import { cleanupWorkflow } from '../../src/workflows/cleanup';
import { timeSkippingEnv, workflowBundle } from '../support/temporal';

// The cleanup workflow's control flow with stand-in activities: report vs enforce, and the
// mass-change guard that stops a run disabling too many identities until an operator approves.

const orphans = (n: number): Finding[] =>
  Array.from({ length: n }, (_, i) => ({
    kind: 'orphanAccount' as const,
    account: `orphan${i}`,
    dn: `CN=orphan${i},OU=Staff`,
    why: 'no employeeID',
  }));
const licenceFinding: Finding = {
  kind: 'licenceOnLeaver',
  employeeId: 'E1',
  userId: 'u1',
  skus: ['SPE_E3'],
  why: 'identity is left',
};

describe('cleanup workflow on the time-skipping server', () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  const taskQueue = `cleanup-test-${randomUUID()}`;
  let collected: Collected;
  let applied: Finding[] = [];
  // The guard's real window over an in-memory store of 100 active identities.
  const policy = parsePolicy(
    'naming: { upnDomain: kerava.test, mailDomain: kerava.fi }\nous: { default: OU=Staff, disabled: OU=Disabled }\nroles: [{ name: all }]\n',
  );
  let store: RecordStore;

  before(async () => {
    env = await timeSkippingEnv();
    store = openSqliteIndex({ file: ':memory:' });
    await store.putMany(
      Array.from({ length: 100 }, (_, i) => ({
        employeeId: `E${i}`,
        fingerprint: 'x',
        source: 'hr' as const,
        startDate: '2020-01-01',
      })),
    );
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: {
        collectCleanup: async () => collected,
        admitCleanupLosses: async (cmd: { ref: string; losses: Loss[]; approvedBy?: string }) => {
          if (!cmd.approvedBy) return admitLosses({ store, policy }, cmd.ref, cmd.losses);
          await admitApproved({ store, policy }, cmd.ref, cmd.losses, cmd.approvedBy);
          return { ...(await admitLosses({ store, policy }, cmd.ref, [])), admitted: true };
        },
        applyCleanup: async ({ findings }: { findings: Finding[] }): Promise<Applied> => {
          applied.push(...findings);
          const done: Applied['done'] = {};
          for (const f of findings) done[f.kind] = (done[f.kind] ?? 0) + 1;
          const licences: Record<string, number> = findings.some((f) => f.kind === 'licenceOnLeaver')
            ? { SPE_E3: 1 }
            : {};
          return { done, licences };
        },
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
  beforeEach(() => {
    applied = [];
  });

  const given = (findings: Finding[], mode: 'report' | 'enforce', managedIdentities = 100): Collected => ({
    asOf: new Date().toISOString(),
    findings,
    managedIdentities,
    mode,
    thresholdPercent: 5,
    prices: { SPE_E3: 36 },
  });
  const start = () =>
    env.client.workflow.start(cleanupWorkflow, {
      workflowId: `cleanup-${randomUUID()}`,
      taskQueue,
      args: [{}],
    });

  it('report mode finds and reports, and changes nothing', async () => {
    collected = given([...orphans(2), licenceFinding], 'report');
    const report = await (await start()).result();
    assert.equal(applied.length, 0, 'no fix applied');
    assert.equal(report.counts.orphanAccount, 2);
    assert.equal(report.counts.licenceOnLeaver, 1);
    assert.equal(report.done.orphanAccount, 0);
    assert.deepEqual(report.licences, { SPE_E3: 1 }, 'reclaimable seats reported');
    assert.equal(report.monthlySaving, 36);
  });

  it('enforce mode under the threshold fixes everything without asking', async () => {
    collected = given([...orphans(4), licenceFinding], 'enforce');
    const report = await (await start()).result();
    assert.equal(applied.length, 5);
    assert.equal(report.done.orphanAccount, 4);
    assert.deepEqual(report.licences, { SPE_E3: 1 });
    assert.equal(report.approvedBy, undefined);
  });

  it('a run that would disable 10 % of identities waits for approval, then proceeds', async () => {
    collected = given(orphans(10), 'enforce');
    const handle = await start();
    let pending = null;
    for (let i = 0; i < 100 && !pending; i++) {
      pending = await handle.query(pendingApprovalQuery).catch(() => null);
      if (!pending) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(pending, 'the run waits for approval');
    assert.match(pending.summary, /access from 10 of 100 active identities .*10 disables/);
    await env.sleep('3 days');
    assert.equal(applied.length, 0, 'nothing applied while waiting, however long');

    // The operator is named (cli:{user} or api:{client}), never free text; the set is bound.
    await assert.rejects(
      handle.executeUpdate(approveUpdate, {
        args: [{ approvedBy: 'someone', expect: { setHash: pending.verdict.setHash } }],
      }),
      (err: unknown) =>
        err instanceof WorkflowUpdateFailedError && /must name the operator/.test(String(err.cause?.message)),
    );
    await assert.rejects(
      handle.executeUpdate(approveUpdate, {
        args: [{ approvedBy: 'cli:anna', expect: { setHash: '1-00' } }],
      }),
      (err: unknown) =>
        err instanceof WorkflowUpdateFailedError && /the set moved/.test(String(err.cause?.message)),
    );
    const receipt = await handle.executeUpdate(approveUpdate, {
      args: [{ approvedBy: 'cli:anna', expect: { setHash: pending.verdict.setHash } }],
    });
    assert.equal(receipt.approvedBy, 'cli:anna');
    const report = await handle.result();
    assert.equal(applied.length, 10);
    assert.equal(report.done.orphanAccount, 10);
    assert.equal(report.approvedBy, 'cli:anna');
    // Approved losses are kept as such: they do not make the next change ask.
    const window = await store.windowLosses(new Date(0).toISOString());
    assert.deepEqual(
      window.filter((l) => l.ref === handle.workflowId),
      [],
    );
  });
});
