import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { addDays, helsinkiDate, startOfDay } from '../../src/domain/dates';
import { ErrorType } from '../../src/domain/error-types';
import { parsePolicy, type Policy } from '../../src/domain/policy';
import type { HrRecord } from '../../src/domain/record';
import { liftPersonTermination, retryPerson, terminatePerson } from '../../src/ops/terminate';
import { openSqliteIndex } from '../../src/store/sqlite-index';
import { personWorkflowId, terminateUpdate } from '../../src/workflows/messages';
import type { MemoryDirectory } from '../support/memory-directory';
import {
  personHarness,
  startLifecycleWorker,
  type ActivityHook,
  type FakeCloud,
} from '../support/person-harness';

// The operator's actions on the time-skipping server: a terminate during a joiner waiting for its
// start date and during a mover waiting for its dated change ends access at once and for good (the
// dates passing later change nothing); a lift plans again; a failed run runs again after a fix.

const loadPolicy = (): Policy =>
  parsePolicy(fs.readFileSync(path.join(__dirname, '../../config/policy.yaml'), 'utf8'));
const DAY = 24 * 60 * 60 * 1000;
const op = 'cli:ops-test';

let seq = 0;
const nurse = (employeeId: string, extra: Partial<HrRecord> = {}): HrRecord => ({
  employeeId,
  firstNames: 'Aino',
  lastName: `Lopetus${String.fromCharCode(97 + (seq++ % 26))}`,
  jobTitle: 'Sairaanhoitaja',
  jobCode: 'SH01',
  orgUnit: 'SOTE-100',
  employmentType: 'permanent',
  startDate: '2026-01-01',
  ...extra,
});

describe('operator actions (terminate, lift, retry) on the person workflow', () => {
  const policy = loadPolicy();
  let env: TestWorkflowEnvironment;
  let directory: MemoryDirectory;
  let cloud: FakeCloud;
  let hooks: { before?: ActivityHook };
  let taskQueue: string;
  let stop: () => Promise<void>;

  before(async () => {
    ({ env, directory, cloud, hooks, taskQueue, stop } = await startLifecycleWorker(policy, 'ops-actions', {
      cloud: true,
    }));
  });
  after(() => stop());
  const h = () => personHarness(env, taskQueue);
  const today = async () => helsinkiDate(new Date(await h().now()));
  const erp = (id: string) => directory.account(id)!.memberOf.filter((dn) => /^CN=ERP-/.test(dn));
  const terminate = (id: string, reason: string) =>
    env.client.workflow
      .getHandle(personWorkflowId(id))
      .executeUpdate(terminateUpdate, { args: [{ operator: op, reason }] });

  it('terminate during a joiner waiting for its start date: disabled, never enabled, the groups gone', async () => {
    const id = `TJ${Date.now()}`;
    const start = addDays(await today(), 7);
    await h().deliver(nurse(id, { startDate: start }));
    // Inside preHireDays: the account exists, disabled, with the role's groups, waiting for the day.
    await h().until(id, () => (directory.account(id) ? erp(id).length > 0 : false));
    assert.equal(directory.account(id)!.enabled, false);

    const result = await terminate(id, 'offer withdrawn, record follows');
    assert.equal(result.terminated, true);
    const left = await h().idle(id);
    assert.equal(left.stage, 'left');
    assert.deepEqual(erp(id), [], 'ERP groups removed');
    assert.match(directory.account(id)!.ou, /^OU=Disabled/i);
    assert.ok(left.timeline.some((t) => t.event === 'terminated' && t.detail?.includes(op)));

    // The start date passes: nothing enables the account.
    await h().skipTo(startOfDay(start), DAY);
    const after = await h().idle(id);
    assert.equal(after.stage, 'left');
    assert.equal(directory.account(id)!.enabled, false, 'not enabled on the start date');
    assert.equal(cloud.users.get(id)?.enabled ?? false, false);
  });

  it('terminate during a mover waiting for its dated change: disabled now; the change date passes without effect', async () => {
    const id = `TM${Date.now()}`;
    await h().deliver(nurse(id));
    await h().idle(id);
    assert.equal(directory.account(id)!.enabled, true);
    const effective = addDays(await today(), 10);
    await h().deliver(nurse(id, { jobCode: 'LK01', jobTitle: 'Lääkäri', effectiveDate: effective }));
    await h().until(
      id,
      (s) => s.stage === 'updating' && s.runs.some((r) => r.kind === 'mover' && !r.endedAt),
    );

    const before = await h().now();
    await terminate(id, 'security incident 4711');
    const left = await h().until(id, (s) => s.stage === 'left');
    assert.equal(directory.account(id)!.enabled, false);
    assert.deepEqual(erp(id), []);
    assert.ok(cloud.users.get(id)!.enabled === false, 'cloud sign-in blocked');
    assert.ok(Date.parse(left.disabledAt!) - before < DAY, 'disabled at once, not at a date');
    const mover = left.runs.find((r) => r.kind === 'mover')!;
    assert.equal(mover.outcome, 'completed', 'the waiting mover re-planned and ended access');

    await h().skipTo(startOfDay(effective), DAY);
    await h().idle(id);
    assert.equal(directory.account(id)!.enabled, false, 'the dated change does not re-enable');
    assert.deepEqual(erp(id), [], 'nor grant ERP-Physician');

    // Lifted: planned again from the records (the physician's record, now in effect): access back.
    const lifted = await liftPersonTermination(env.client, id, op);
    assert.equal(lifted.status, 'done');
    const back = await h().until(id, (s) => s.stage === 'active');
    assert.equal(directory.account(id)!.enabled, true);
    assert.ok(erp(id).some((dn) => dn.startsWith('CN=ERP-Physician')));
    assert.equal(back.termination, undefined);
  });

  it('a refused terminate (no reason) is answered by the validator and changes nothing', async () => {
    const id = `TR${Date.now()}`;
    await h().deliver(nurse(id));
    await h().idle(id);
    await assert.rejects(terminate(id, '  '), (err: unknown) => {
      assert.ok(err instanceof WorkflowUpdateFailedError);
      assert.match((err.cause as Error).message, /^reason: is required/);
      return true;
    });
    const s = await h().state(id);
    assert.equal(s.termination, undefined);
    assert.equal(directory.account(id)!.enabled, true);
  });

  it('retry: a failed joiner runs again now after the fix; with nothing failed it is a no-op that says so', async () => {
    const id = `RT${Date.now()}`;
    let broken = true;
    hooks.before = (activity, input) => {
      if (broken && activity === 'ensureAccount' && (input as { employeeId: string }).employeeId === id) {
        throw ApplicationFailure.create({
          type: ErrorType.PolicyTargetMissing,
          message: 'the OU named by the policy does not exist in the directory',
          nonRetryable: true,
        });
      }
    };
    try {
      await h().deliver(nurse(id));
      const failed = await h().until(id, (s) => s.stage === 'failed');
      assert.equal(failed.lastError?.type, ErrorType.PolicyTargetMissing);
      assert.equal(directory.account(id), undefined);

      broken = false; // the fix: the OU is there again
      const retried = await retryPerson(env.client, id, op);
      assert.equal(retried.status, 'done');
      const active = await h().until(id, (s) => s.stage === 'active');
      assert.equal(directory.account(id)!.enabled, true);
      assert.ok(active.timeline.some((t) => t.event === 'retry requested' && t.detail?.includes(op)));

      const noop = await retryPerson(env.client, id, op);
      assert.equal(noop.status, 'noop');
      assert.match(noop.message, /nothing failed or stuck: stage active/);
      const unknown = await retryPerson(env.client, `NO${id}`, op);
      assert.equal(unknown.status, 'not_found');
    } finally {
      delete hooks.before;
    }
  });

  it('the guard: up to safety.terminationsPerWindow terminates take effect whatever the window holds; one more stops until approved', async () => {
    // A real ledger (SQLite): the window the other paths count in.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-ops-guard-'));
    const store = openSqliteIndex({ file: path.join(dir, 'index.sqlite') });
    const guarded = { ...policy, safety: { ...policy.safety, terminationsPerWindow: 3 } };
    try {
      const ids = [1, 2, 3, 4].map((n) => `TG${n}${Date.now()}`.slice(0, 16));
      for (const id of ids) await h().deliver(nurse(id));
      for (const id of ids) await h().idle(id);
      const deps = { client: env.client, store, policy: guarded, now: () => new Date() };
      // The window already holds more disables than the mass-change threshold allows (an import's):
      // a single operator's terminate still goes through.
      await store.admitLosses(
        {
          ref: 'import-hr-earlier',
          losses: Array.from({ length: 50 }, (_, i) => ({
            identityId: `X${i}`,
            kind: 'disable' as const,
            groups: [],
          })),
          since: new Date(0).toISOString(),
        },
        () => true,
      );
      for (const id of ids.slice(0, 3)) {
        const r = await terminatePerson(deps, { employeeId: id, reason: 'scripted test', operator: op });
        assert.equal(r.status, 'terminated', JSON.stringify(r));
      }
      const fourth = await terminatePerson(deps, {
        employeeId: ids[3]!,
        reason: 'scripted test',
        operator: op,
      });
      assert.equal(fourth.status, 'held');
      assert.match(fourth.message, /4 terminations within 24 h \(safety.terminationsPerWindow 3\)/);
      const untouched = await h().state(ids[3]!);
      assert.equal(untouched.termination, undefined, 'nothing was done');
      assert.equal(directory.account(ids[3]!)!.enabled, true);

      const approved = await terminatePerson(deps, {
        employeeId: ids[3]!,
        reason: 'scripted test',
        operator: op,
        approveMass: true,
      });
      assert.equal(approved.status, 'terminated');
      await h().until(ids[3]!, (s) => s.stage === 'left');
      assert.equal(directory.account(ids[3]!)!.enabled, false);
      for (const id of ids.slice(0, 3)) assert.equal(directory.account(id)!.enabled, false);
    } finally {
      await store.close();
    }
  });
});
