import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ErrorType } from '../../src/domain/error-types';
import { addDays, helsinkiDate, startOfDay } from '../../src/domain/dates';
import type { NoticeRequest } from '../../src/domain/notice-events';
import { parsePolicy, type Policy } from '../../src/domain/policy';
import type { HrRecord } from '../../src/domain/record';
import { MAX_RUN_RECHECKS } from '../../src/workflows/options';
import {
  historyLengths,
  personHarness,
  startLifecycleWorker,
  type ActivityHook,
  type FakeCloud,
} from '../support/person-harness';

// Notices on the time-skipping server, with `sendNotice` replaced at the activity boundary by a
// ledger that answers as contract A's does (sent once per key, 'already-sent' after): the leaver
// reminder fires N days before the last day, once, and moves with the end date; an end date
// inside the window is reminded of at once; the confirmation follows the leaver; a joiner
// waiting for a licence seat past the limit tells ops once over hundreds of re-checks, across
// continue-as-new (a worker restart: test/integration/licence-wait-notice.test.ts).

const HOUR = 3600_000;
const DAY = 24 * HOUR;

const loadPolicy = (): Policy => {
  const p = parsePolicy(fs.readFileSync(path.join(__dirname, '../../config/policy.yaml'), 'utf8'));
  p.lifecycle.lastDayEndsAt = '16:00';
  p.notifications.leaverReminderDays = 7;
  p.notifications.licenceWaitLimitHours = 48;
  p.cloud.licenceRecheckSeconds = 900;
  return p;
};

let seq = 0;
function nurse(employeeId: string, extra: Partial<HrRecord> = {}): HrRecord {
  return {
    employeeId,
    firstNames: 'Aino',
    lastName: `Ilmo${String.fromCharCode(97 + (seq++ % 26))}`,
    jobTitle: 'Sairaanhoitaja',
    jobCode: 'SH01',
    orgUnit: 'SOTE-100',
    employmentType: 'permanent',
    startDate: '2026-01-01',
    managerId: 'M0001',
    language: 'sv',
    ...extra,
  };
}

/** sendNotice at the activity boundary: every call recorded, each key sent once (as the ledger does). */
class NoticeLedger {
  readonly calls: NoticeRequest[] = [];
  readonly sent = new Map<string, NoticeRequest>();
  activity = async (req: NoticeRequest) => {
    this.calls.push(req);
    if (this.sent.has(req.key)) return { status: 'already-sent' as const, to: ['x@kerava.fi'] };
    this.sent.set(req.key, req);
    return { status: 'sent' as const, to: ['x@kerava.fi'] };
  };
  sentFor = (employeeId: string, template: string) =>
    [...this.sent.values()].filter((n) => n.template === template && n.vars.employeeId === employeeId);
  callsFor = (employeeId: string, template: string) =>
    this.calls.filter((n) => n.template === template && n.vars.employeeId === employeeId);
}

describe('notices on the time-skipping server', () => {
  const policy = loadPolicy();
  let env: TestWorkflowEnvironment;
  let taskQueue: string;
  let stop: () => Promise<void>;
  let hooks: { before?: ActivityHook };
  const ledger = new NoticeLedger();
  /** Employee ids whose licence pool is exhausted. */
  const noSeats = new Set<string>();

  before(async () => {
    const parts: { cloud?: FakeCloud } = {};
    const w = await startLifecycleWorker(policy, 'notices', {
      cloud: true,
      extraActivities: () => ({
        sendNotice: ledger.activity,
        ensureLicences: async (
          input: Parameters<ReturnType<FakeCloud['activities']>['ensureLicences']>[0],
        ) =>
          noSeats.has(input.employeeId)
            ? { status: 'waitingForSeats' as const, skus: input.licences.map((l) => l.sku) }
            : parts.cloud!.activities().ensureLicences(input),
      }),
    });
    parts.cloud = w.cloud;
    ({ env, taskQueue, stop, hooks } = w);
  });
  after(async () => {
    await stop();
  });

  const h = () => personHarness(env, taskQueue);
  const today = async () => helsinkiDate(new Date(await h().now()));
  /** Background notices land shortly after the workflow hands them over: poll a little. */
  const eventually = async (check: () => boolean, what: string) => {
    for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(check(), what);
  };

  it('the leaver reminder: N days before the last day, once; it moves with the end date; then the confirmation', async () => {
    const id = `NR${Date.now() % 100000}`;
    const moved = `${id}m`;
    const endDate = addDays(await today(), 30);
    await h().deliver(nurse(id, { endDate }));
    await h().deliver(nurse(moved, { endDate }));
    await h().idle(id);
    await h().idle(moved);
    // Moved ten days later before its reminder: the reminder moves too.
    const movedEnd = addDays(endDate, 10);
    await h().deliver(nurse(moved, { endDate: movedEnd }));
    const m = await h().idle(moved);
    assert.equal(m.schedule?.remindAt, startOfDay(addDays(movedEnd, -7)).toISOString());

    const s = await h().state(id);
    const remindAt = new Date(s.schedule!.remindAt!);
    assert.equal(remindAt.toISOString(), startOfDay(addDays(endDate, -7)).toISOString());

    await h().skipTo(remindAt, -HOUR);
    assert.equal(ledger.callsFor(id, 'leaver-reminder').length, 0, 'not before its day');

    await h().skipTo(remindAt, HOUR);
    await eventually(() => ledger.sentFor(id, 'leaver-reminder').length === 1, 'reminder sent');
    const [reminder] = ledger.sentFor(id, 'leaver-reminder');
    assert.equal(reminder!.key, `leaver-reminder:${id}:${endDate}`);
    assert.deepEqual(reminder!.to, { manager: 'M0001', unit: 'SOTE-100' });
    assert.equal(reminder!.language, 'sv');
    assert.equal(reminder!.vars.daysLeft, 7);
    assert.equal(
      ledger.callsFor(moved, 'leaver-reminder').length,
      0,
      'the moved end date is not reminded of yet',
    );

    // Days pass; the person wakes for nothing else: still one reminder.
    await h().skipTo(remindAt, 3 * DAY);
    await h().idle(id);
    assert.equal(ledger.callsFor(id, 'leaver-reminder').length, 1, 'once');

    // The last day ends: the leaver runs, then the manager is told access ended.
    const endAt = new Date(s.schedule!.endAt!);
    await h().skipTo(endAt, HOUR);
    await h().until(id, (st) => st.stage === 'left');
    await eventually(() => ledger.sentFor(id, 'leaver-access-ended').length === 1, 'confirmation sent');
    assert.equal(ledger.sentFor(id, 'leaver-access-ended')[0]!.key, `leaver-access-ended:${id}:${endDate}`);
    assert.equal(ledger.callsFor(id, 'leaver-reminder').length, 1, 'still one reminder');

    // The moved one: reminded on its own day, for its own end date.
    await h().skipTo(new Date(m.schedule.remindAt), HOUR);
    await eventually(() => ledger.sentFor(moved, 'leaver-reminder').length === 1, 'moved reminder sent');
    assert.deepEqual(
      ledger.callsFor(moved, 'leaver-reminder').map((n) => n.key),
      [`leaver-reminder:${moved}:${movedEnd}`],
    );
    assert.equal((await h().state(id)).notices?.pending?.length ?? 0, 0, 'nothing left unconfirmed');
  });

  it('an end date entered inside the window is reminded of at once, once', async () => {
    const id = `NW${Date.now() % 100000}`;
    await h().deliver(nurse(id));
    await h().idle(id);
    const endDate = addDays(await today(), 3);
    await h().deliver(nurse(id, { endDate }));
    await h().idle(id);
    await eventually(() => ledger.sentFor(id, 'leaver-reminder').length === 1, 'reminder sent at once');
    assert.equal(ledger.sentFor(id, 'leaver-reminder')[0]!.vars.daysLeft, 3);
    await h().skipTo(new Date((await h().now()) + DAY));
    await h().idle(id);
    assert.equal(ledger.callsFor(id, 'leaver-reminder').length, 1, 'once');
  });

  it('a licence wait over the limit: one ops notice over hundreds of re-checks and continue-as-new', async () => {
    const id = `NL${Date.now() % 100000}`;
    noSeats.add(id);
    await h().deliver(nurse(id));
    const joiner = `joiner-${id}-1`;
    await h().until(id, (s) => /waiting for licence/.test(s.status ?? '') || s.stage === 'joining');
    const handle = env.client.workflow.getHandle(joiner);
    // Wait until the joiner is in its seat wait.
    for (let i = 0; i < 200; i++) {
      const meta = await handle
        .query<{ currentDetails?: string }>('__temporal_workflow_metadata')
        .catch(() => null);
      if (/waiting for licence/.test(meta?.currentDetails ?? '')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const start = await h().now();

    await env.sleep(47 * HOUR);
    assert.equal(ledger.callsFor(id, 'licence-wait').length, 0, 'within the limit: nothing');

    await env.sleep(2 * HOUR);
    await eventually(() => ledger.callsFor(id, 'licence-wait').length === 1, 'one notice past the limit');
    const [notice] = ledger.callsFor(id, 'licence-wait');
    assert.deepEqual(notice!.to, { ops: true });
    assert.equal(notice!.vars.skus, 'SPE_E3');
    assert.equal(notice!.vars.limitHours, 48);
    assert.match(notice!.key, new RegExp(`^licence-wait:${joiner}:`));

    // Another day and a half of re-checks (every 15 min), across continue-as-new.
    await env.sleep(36 * HOUR);
    const runs = await historyLengths(env, joiner);
    const rechecks = ((await h().now()) - start) / (policy.cloud.licenceRecheckSeconds * 1000);
    assert.ok(rechecks > 2 * MAX_RUN_RECHECKS, `${Math.round(rechecks)} re-checks`);
    assert.ok(runs.length >= 2, `the wait continued as new (${runs.length} runs)`);
    assert.equal(ledger.callsFor(id, 'licence-wait').length, 1, 'still one notice (one activity call)');

    // A seat is freed: the joiner completes; the wait (and its notice) are over.
    noSeats.delete(id);
    await env.sleep(HOUR);
    const s = await h().idle(id);
    assert.equal(s.stage, 'active');
    assert.equal(ledger.callsFor(id, 'licence-wait').length, 1);
    console.log(
      `licence wait: ${Math.round(rechecks)} re-checks, ${runs.length} joiner runs (largest history ${Math.max(...runs)} events), ${ledger.callsFor(id, 'licence-wait').length} notice`,
    );
    assert.ok(Math.max(...runs) < 2000, 'histories stay bounded');
  });

  it('ops are told of a failed run once per run, and of an end of access retrying once per episode', async () => {
    const joinerFails = `NF${Date.now() % 100000}`;
    const leaverFails = `${joinerFails}L`;
    await h().deliver(nurse(leaverFails));
    await h().idle(leaverFails);
    hooks.before = (activity, input) => {
      const who = (input as { employeeId?: string }).employeeId;
      const refuse =
        (activity === 'ensureAccount' && who === joinerFails) ||
        (activity === 'moveAccount' && who === leaverFails);
      if (refuse) {
        throw ApplicationFailure.create({
          type: ErrorType.PolicyTargetMissing,
          message: 'the OU does not exist (test)',
          nonRetryable: true,
        });
      }
    };
    try {
      await h().deliver(nurse(joinerFails));
      await h().until(joinerFails, (st) => st.stage === 'failed');
      await eventually(() => ledger.callsFor(joinerFails, 'run-failed').length === 1, 'run-failed sent');
      assert.equal(ledger.callsFor(joinerFails, 'run-failed')[0]!.key, `run-failed:joiner-${joinerFails}-1`);
      assert.deepEqual(ledger.callsFor(joinerFails, 'run-failed')[0]!.to, { ops: true });

      // A leaver whose OU move keeps failing: disabled, retried with backoff for days, told once.
      await h().deliver(nurse(leaverFails, { endDate: addDays(await today(), -1) }));
      const stuck = await h().until(leaverFails, (st) => st.stage === 'failed' && !!st.retry);
      await h().skipTo(new Date((await h().now()) + 2 * DAY));
      const later = await h().until(leaverFails, (st) => (st.retry?.attempt ?? 0) >= 5);
      assert.ok(later.retry!.attempt > stuck.retry!.attempt);
      await eventually(
        () => ledger.callsFor(leaverFails, 'end-of-access-retrying').length === 1,
        'end-of-access-retrying sent',
      );
      const [retrying] = ledger.callsFor(leaverFails, 'end-of-access-retrying');
      assert.equal(retrying!.vars.accountDisabled, 'yes');
      assert.equal(
        ledger.callsFor(leaverFails, 'end-of-access-retrying').length,
        1,
        `once over ${later.retry!.attempt} attempts`,
      );
      assert.equal(
        ledger.callsFor(leaverFails, 'run-failed').length,
        0,
        'a retried end of access is no failed run',
      );
    } finally {
      hooks.before = undefined;
    }
  });
});
