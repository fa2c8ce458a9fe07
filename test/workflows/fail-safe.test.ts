import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { addDays, helsinkiDate } from '../../src/domain/dates';
import { ErrorType } from '../../src/domain/error-types';
import { parsePolicy, type Policy } from '../../src/domain/policy';
import type { HrRecord } from '../../src/domain/record';
import { confirmHeldEndDate } from '../../src/ops/confirm-end';
import { personWorkflowId } from '../../src/workflows/messages';
import { MAX_RUN_HISTORY_EVENTS } from '../../src/workflows/options';
import type { MemoryDirectory } from '../support/memory-directory';
import {
  historyLengths,
  personHarness,
  startLifecycleWorker,
  type ActivityHook,
  type FakeCloud,
} from '../support/person-harness';

// Issue 16 on the time-skipping server: a past end date ends access today and deletes exactly
// retentionDays after the disable; a leaver whose OU move fails permanently still disables and
// stays due until it can finish; a 5-day wait for directory sync continues-as-new and completes.

const loadPolicy = (): Policy => {
  const p = parsePolicy(fs.readFileSync(path.join(__dirname, '../../config/policy.yaml'), 'utf8'));
  p.lifecycle.lastDayEndsAt = '16:00';
  return p;
};
const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

let seq = 0;
function nurse(employeeId: string, extra: Partial<HrRecord> = {}): HrRecord {
  return {
    employeeId,
    firstNames: 'Aino',
    lastName: `Turva${String.fromCharCode(97 + (seq++ % 26))}`,
    jobTitle: 'Sairaanhoitaja',
    jobCode: 'SH01',
    orgUnit: 'SOTE-100',
    employmentType: 'permanent',
    startDate: '2026-01-01',
    ...extra,
  };
}

const largest: Record<string, number> = {};
async function recordLargest(env: TestWorkflowEnvironment, label: string, ids: string[]) {
  for (const wf of ids) {
    largest[label] = Math.max(largest[label] ?? 0, ...(await historyLengths(env, wf)));
  }
}

describe('the end of access is fail-safe (direct cloud)', () => {
  const policy = loadPolicy();
  const retentionDays = policy.lifecycle.retentionDays;
  let env: TestWorkflowEnvironment;
  let directory: MemoryDirectory;
  let cloud: FakeCloud;
  let hooks: { before?: ActivityHook };
  let taskQueue: string;
  let stop: () => Promise<void>;

  before(async () => {
    ({ env, directory, cloud, hooks, taskQueue, stop } = await startLifecycleWorker(policy, 'fail-safe', {
      cloud: true,
    }));
  });
  after(() => stop());
  const h = () => personHarness(env, taskQueue);
  const today = async () => helsinkiDate(new Date(await h().now()));
  const managedHeld = (id: string) =>
    directory.account(id)!.memberOf.filter((dn) => /^CN=(ERP-|Care-|All-Staff)/.test(dn));

  it('a past end date on an active person disables today and deletes exactly retentionDays after the disable', async () => {
    const id = `PE${Date.now()}`;
    await h().deliver(nurse(id));
    await h().idle(id);
    const enteredAt = await h().now();
    await h().deliver(nurse(id, { endDate: addDays(await today(), -10) }));
    const left = await h().idle(id);
    assert.equal(left.stage, 'left');
    assert.equal(directory.account(id)!.enabled, false, 'disabled today');
    assert.equal(cloud.users.get(id)!.enabled, false, 'cloud sign-in blocked');
    assert.ok(cloud.users.get(id)!.sessionsRevoked > 0, 'sessions revoked');
    const disabledAt = Date.parse(left.disabledAt!);
    assert.ok(
      disabledAt >= enteredAt && disabledAt - enteredAt < HOUR,
      'the disable is now, not the end date',
    );
    const deleteAt = disabledAt + retentionDays * DAY;
    assert.equal(left.schedule?.deleteAt, new Date(deleteAt).toISOString());

    await h().skipTo(new Date(deleteAt), -HOUR);
    assert.ok(directory.account(id), 'kept until retentionDays after the disable');
    assert.ok(cloud.users.get(id), 'cloud user kept too');
    await h().skipTo(new Date(deleteAt), 60_000);
    const deleted = await h().until(id, (s) => s.stage === 'deleted');
    assert.equal(directory.account(id), undefined, 'deleted');
    assert.equal(cloud.users.get(id), undefined, 'cloud user deleted');
    const deleteRun = deleted.runs.find((r) => r.kind === 'delete')!;
    assert.ok(Date.parse(deleteRun.startedAt) >= deleteAt, 'not before');
    await recordLargest(env, 'fail-safe', [personWorkflowId(id), ...deleted.runs.map((r) => r.workflowId)]);
  });

  it('an end date far in the past on an active person is held visibly until an operator confirms it', async () => {
    const id = `HE${Date.now()}`;
    await h().deliver(nurse(id, { startDate: '2015-01-01' }));
    await h().idle(id);
    await h().deliver(nurse(id, { startDate: '2015-01-01', endDate: '2016-02-29' }));
    const held = await h().until(id, (s) => s.stage === 'held');
    assert.equal(directory.account(id)!.enabled, true, 'a likely typo is not acted on');
    assert.equal(cloud.users.get(id)!.enabled, true);
    const handle = env.client.workflow.getHandle(personWorkflowId(id));
    const meta = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    assert.match(
      meta.currentDetails ?? '',
      /^held: end date \d+ days in the past; confirm with the confirmEndDate update/,
    );
    assert.deepEqual((await handle.describe()).searchAttributes.LifecycleStage, ['held']);
    assert.equal(held.hold?.endDate, '2016-02-29');

    // Through the use-case `tunnus person confirm-end` calls (src/ops/confirm-end.ts).
    const refused = await confirmHeldEndDate(env.client, id, '2016-02-28', 'cli:ops-1');
    assert.deepEqual(refused, { ok: false, reason: 'refused', message: 'the held end date is 2016-02-29' });
    const confirmed = await confirmHeldEndDate(env.client, id, '2016-02-29', 'cli:ops-1');
    assert.equal(confirmed.ok, true);
    const unknown = await confirmHeldEndDate(env.client, `NO${id}`, '2016-02-29', 'cli:ops-1');
    assert.equal(unknown.ok ? 'ok' : unknown.reason, 'not_found');
    const left = await h().until(id, (s) => s.stage === 'left');
    assert.equal(directory.account(id)!.enabled, false);
    assert.ok(directory.account(id), 'disabled, not deleted');
    assert.ok(left.timeline.some((t) => t.event === 'end date confirmed' && t.detail?.includes('cli:ops-1')));
  });

  it('a leaver whose OU move fails permanently ends with a disabled account, stays due, and finishes once the OU is back', async () => {
    const id = `OU${Date.now()}`;
    await h().deliver(nurse(id));
    await h().idle(id);
    let ouMissing = true;
    hooks.before = (activity, input) => {
      if (activity === 'moveAccount' && (input as { employeeId: string }).employeeId === id && ouMissing) {
        throw ApplicationFailure.create({
          type: ErrorType.PolicyTargetMissing,
          message: 'the disabled OU does not exist (test)',
          nonRetryable: true,
        });
      }
    };
    try {
      await h().deliver(nurse(id, { endDate: addDays(await today(), -1) }));
      const stuck = await h().until(id, (s) => s.stage === 'failed' && !!s.retry);
      const account = directory.account(id)!;
      assert.equal(account.enabled, false, 'disabled although the move failed');
      assert.deepEqual(managedHeld(id), [], 'managed groups (ERP access) removed anyway');
      assert.equal(cloud.users.get(id)!.enabled, false, 'cloud sign-in blocked');
      assert.notEqual(account.ou, `${policy.ous.disabled},${directory.baseDn}`);
      assert.equal(stuck.retry?.kind, 'leaver', 'the leaver stays due');
      assert.match(stuck.lastError!.message, /end of access incomplete: move account/);
      assert.ok(stuck.disabledAt, 'retention counts from the disable that did happen');

      // Visible: the Web UI's current details and the LifecycleStage search attribute.
      const handle = env.client.workflow.getHandle(personWorkflowId(id));
      const meta = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
      assert.match(
        meta.currentDetails ?? '',
        /failed: end of access incomplete: move account.*account disabled; retrying leaver/,
      );
      const described = await handle.describe();
      assert.deepEqual(described.searchAttributes.LifecycleStage, ['failed']);

      // Retried with backoff while the OU is missing: still disabled, still due.
      await h().skipTo(new Date((await h().now()) + 30 * 60_000), 0);
      const retried = await h().until(id, (s) => s.runs.filter((r) => r.kind === 'leaver').length >= 3);
      assert.ok(retried.retry, 'still due');
      assert.equal(directory.account(id)!.enabled, false);

      ouMissing = false;
      await h().skipTo(new Date(Date.parse(retried.retry.at)), 60_000);
      const done = await h().until(id, (s) => s.stage === 'left' && !s.retry);
      assert.equal(directory.account(id)!.ou, `${policy.ous.disabled},${directory.baseDn}`);
      assert.equal(done.lastError, undefined);
      assert.equal(done.disabledAt, stuck.disabledAt, 'retention still counts from the first disable');
      await recordLargest(env, 'fail-safe', [personWorkflowId(id), ...done.runs.map((r) => r.workflowId)]);
    } finally {
      hooks.before = undefined;
    }
  });
});

describe('a person stuck for weeks keeps a bounded history', () => {
  const policy = loadPolicy();
  policy.roles.forEach((role) => (role.cloud = false));
  policy.telephony.enabled = false;
  let env: TestWorkflowEnvironment;
  let directory: MemoryDirectory;
  let hooks: { before?: ActivityHook };
  let taskQueue: string;
  let stop: () => Promise<void>;

  before(async () => {
    ({ env, directory, hooks, taskQueue, stop } = await startLifecycleWorker(policy, 'stuck', {
      cloud: false,
    }));
  });
  after(() => stop());
  const h = () => personHarness(env, taskQueue);

  it('a leaver failing for 40 days retries every 6 hours, stays disabled, and the person continues-as-new', async () => {
    const id = `ST${Date.now()}`;
    await h().deliver(nurse(id));
    await h().idle(id);
    hooks.before = (activity, input) => {
      if (activity === 'moveAccount' && (input as { employeeId: string }).employeeId === id) {
        throw ApplicationFailure.create({
          type: ErrorType.DirectoryPermission,
          message: 'no right to move (test)',
          nonRetryable: true,
        });
      }
    };
    try {
      await h().deliver(nurse(id, { endDate: addDays(helsinkiDate(new Date(await h().now())), -1) }));
      await h().until(id, (s) => !!s.retry);
      await h().skipTo(new Date((await h().now()) + 40 * DAY), 0);
      const s = await h().until(id, (x) => !!x.retry && x.retry.attempt > 100);
      assert.equal(directory.account(id)!.enabled, false, 'disabled all along');
      assert.equal(s.stage, 'failed');
      const person = await historyLengths(env, personWorkflowId(id));
      assert.ok(person.length >= 2, `the person continued as new (${person.length} runs)`);
      largest['stuck person'] = Math.max(...person);
      console.log(
        `stuck person: ${person.length} runs, largest ${Math.max(...person)} events, ${s.retry!.attempt} retries`,
      );
    } finally {
      hooks.before = undefined;
    }
  });
});

describe('a long wait for directory sync is bounded (synced cloud)', () => {
  const policy = loadPolicy();
  policy.cloud.mode = 'synced';
  // Every 5 minutes for 5 days: 1,440 checks, far beyond one run's bound (MAX_RUN_RECHECKS).
  policy.cloud.provisioningRecheckSeconds = 300;
  let env: TestWorkflowEnvironment;
  let directory: MemoryDirectory;
  let cloud: FakeCloud;
  let taskQueue: string;
  let stop: () => Promise<void>;

  before(async () => {
    ({ env, directory, cloud, taskQueue, stop } = await startLifecycleWorker(policy, 'sync-wait', {
      cloud: true,
    }));
  });
  after(async () => {
    await stop();
    for (const [label, n] of Object.entries(largest)) console.log(`largest history (${label}): ${n} events`);
  });
  const h = () => personHarness(env, taskQueue);

  it('a joiner waiting 5 days for directory sync continues-as-new and completes', async () => {
    const id = `SY${Date.now()}`;
    cloud.syncAt = (await h().now()) + 5 * DAY;
    await h().deliver(nurse(id));
    await h().until(id, (s) => s.stage === 'joining');
    await h().skipTo(new Date(cloud.syncAt), 10 * 60_000);
    const done = await h().until(id, (s) => s.stage === 'active');
    assert.equal(directory.account(id)!.enabled, true);
    assert.ok(cloud.users.get(id), 'the synced cloud user was found');
    assert.deepEqual(cloud.users.get(id)!.licences, ['SPE_E3'], 'licences after the wait');
    const joiner = done.runs.find((r) => r.kind === 'joiner')!.workflowId;
    const runs = await historyLengths(env, joiner);
    assert.ok(runs.length >= 10, `continued as new (${runs.length} runs)`);
    assert.ok(
      Math.max(...runs) < MAX_RUN_HISTORY_EVENTS + 50,
      `each run's history is bounded (${Math.max(...runs)} events)`,
    );
    await recordLargest(env, 'sync-wait', [personWorkflowId(id), joiner]);
    console.log(
      `sync-wait: ${runs.length} runs of the joiner (continue-as-new), largest ${Math.max(...runs)} events`,
    );
  });
});
