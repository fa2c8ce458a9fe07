import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { addDays, daysBetween, helsinkiDate, zonedInstant } from '../../src/domain/dates';
import { parsePolicy } from '../../src/domain/policy';
import type { HrRecord } from '../../src/domain/record';
import {
  historyLengths,
  personHarness,
  startLifecycleWorker,
  type ActivityHook,
  type FakeCloud,
} from '../support/person-harness';
import type { MemoryDirectory } from '../support/memory-directory';

// Issue 16, "no accepted record is ever dropped": a changed record (an end date; a new role)
// delivered at the start of EACH activity of a joiner, a mover and a leaver — directory, cloud,
// licences, mailbox, phone — ends exactly as the same record delivered after the run.

const policy = parsePolicy(fs.readFileSync(path.join(__dirname, '../../config/policy.yaml'), 'utf8'));
policy.lifecycle.lastDayEndsAt = '16:00';

let seq = 0;
function nurse(employeeId: string, extra: Partial<HrRecord> = {}): HrRecord {
  return {
    employeeId,
    firstNames: 'Aino',
    lastName: `Välissä${String.fromCharCode(97 + (seq++ % 26))}`,
    jobTitle: 'Sairaanhoitaja',
    jobCode: 'SH01',
    orgUnit: 'SOTE-100',
    employmentType: 'permanent',
    startDate: '2026-01-01',
    ...extra,
  };
}

type Kind = 'joiner' | 'mover' | 'leaver';
type Change = 'end date' | 'new role';

describe('a record delivered during any activity of a run is planned, never dropped', () => {
  let env: TestWorkflowEnvironment;
  let directory: MemoryDirectory;
  let cloud: FakeCloud;
  let hooks: { before?: ActivityHook };
  let taskQueue: string;
  let stop: () => Promise<void>;
  const touched: string[] = [];

  before(async () => {
    ({ env, directory, cloud, taskQueue, hooks, stop } = await startLifecycleWorker(policy, 'during-run', {
      cloud: true,
    }));
  });
  after(async () => {
    // The figure for the closing note: the largest history any of these workflows reached.
    let largest = 0;
    try {
      for (const id of touched) {
        const s = await harness().state(id);
        for (const wf of [`person-${id}`, ...s.runs.map((r) => r.workflowId)]) {
          largest = Math.max(largest, ...(await historyLengths(env, wf).catch(() => [0])));
        }
      }
      console.log(`largest history in record-during-run: ${largest} events`);
    } finally {
      hooks.before = undefined;
      await stop();
    }
  });

  const harness = () => personHarness(env, taskQueue);
  const today = async () => helsinkiDate(new Date(await harness().now()));

  /** What a person ends with: directory, cloud, catalogue and the state's phase and dates. */
  const outcome = async (id: string, setUpAt: number) => {
    const s = await harness().idle(id);
    const a = directory.account(id);
    const u = cloud.users.get(id);
    return {
      account: a
        ? {
            enabled: a.enabled,
            ou: a.ou,
            title: a.title,
            groups: a.memberOf.map((dn) => dn.split(',')[0]).sort(),
          }
        : null,
      // No cloud user and a retired one are the same access: none (a record ending access before
      // the cloud user exists means it is never created).
      cloud:
        u && (u.enabled || u.inAddressList || u.licences.length > 0)
          ? { enabled: u.enabled, inAddressList: u.inAddressList, licences: u.licences }
          : 'no access',
      catalogue: cloud.catalogue.has(id),
      stage: s.stage,
      phase: s.phase,
      // Each case runs on its own day: the last working day as calendar days from the set-up
      // day (endAt is the end of that day, so 1 ms before it is still the day), in Helsinki
      // time: the same whatever the hour the case was set up at.
      endsInDays: s.schedule?.endAt
        ? daysBetween(
            helsinkiDate(new Date(setUpAt)),
            helsinkiDate(new Date(Date.parse(s.schedule.endAt) - 1)),
          )
        : null,
      disabled: !!s.disabledAt,
      deletionScheduled: !!s.schedule?.deleteAt,
      stuck: !!s.retry || !!s.hold,
    };
  };

  /**
   * Brings a person to the start of the run under test and returns how to start it. The joiner
   * starts with the first record; the mover with a changed unit; the leaver when the last day ends.
   */
  const setUp = async (id: string, kind: Kind) => {
    const day = await today();
    const first = nurse(id, kind === 'leaver' ? { endDate: addDays(day, 1) } : {});
    const h = harness();
    const at = await h.now();
    if (kind === 'joiner') return { at, base: first, start: () => h.deliver(first) };
    await h.deliver(first);
    await h.idle(id);
    if (kind === 'mover') {
      const moved = { ...first, orgUnit: 'SOTE-200' };
      return { at, base: moved, start: () => h.deliver(moved) };
    }
    return {
      at,
      base: first,
      start: () => h.skipTo(zonedInstant(addDays(day, 1), policy.lifecycle.lastDayEndsAt)),
    };
  };

  const changed = async (base: HrRecord, kind: Kind, change: Change): Promise<HrRecord> => {
    const day = await today();
    if (change === 'new role') return { ...base, jobCode: 'LK01', jobTitle: 'Lääkäri' };
    // An end date: entered late for a joiner or mover; moved ahead (a correction) for a leaver.
    return { ...base, endDate: kind === 'leaver' ? addDays(base.endDate!, 30) : addDays(day, -1) };
  };

  // The person's own read-model write is not the run's: one before the child starts would
  // deliver the record before the run, not during it.
  const ofTheRun = (activity: string) => activity !== 'recordIdentity';

  /** The activities the run calls for this person, counted from `start` until idle. */
  const countActivities = async (id: string, start: () => Promise<unknown>) => {
    let n = 0;
    hooks.before = (activity, input) => {
      if (employeeIdOf(input) === id && ofTheRun(activity)) n++;
    };
    await start();
    await harness().idle(id);
    hooks.before = undefined;
    return n;
  };

  for (const kind of ['joiner', 'mover', 'leaver'] as const) {
    for (const change of ['end date', 'new role'] as const) {
      it(`${kind}: ${change === 'end date' ? 'an end date' : 'a new role'} during each of its activities ends as if delivered after the run`, async () => {
        // Reference: the run, then the record.
        const refId = `R${kind[0]}${change[0]}${Date.now()}`;
        touched.push(refId);
        const ref = await setUp(refId, kind);
        const activities = await countActivities(refId, ref.start);
        assert.ok(activities >= 3, `the ${kind} calls activities (${activities})`);
        await harness().deliver(await changed(ref.base, kind, change));
        const expected = await outcome(refId, ref.at);

        for (let at = 1; at <= activities; at++) {
          const id = `D${kind[0]}${change[0]}${at}x${Date.now()}`;
          touched.push(id);
          const run = await setUp(id, kind);
          const record = await changed(run.base, kind, change);
          let seen = 0;
          let during = '';
          hooks.before = async (activity, input) => {
            if (employeeIdOf(input) !== id || !ofTheRun(activity) || ++seen !== at) return;
            during = activity;
            const before = (await harness().state(id)).version;
            await harness().deliver(record);
            // Let the person forward it to the running child before this activity goes on.
            await harness().until(id, (s) => s.version > before);
            await new Promise((r) => setTimeout(r, 200));
          };
          await run.start();
          const got = await outcome(id, run.at);
          hooks.before = undefined;
          assert.ok(during, `activity ${at} of the ${kind} was reached`);
          try {
            assert.deepEqual(
              got,
              expected,
              `${change} delivered during activity ${at} (${during}) of the ${kind}`,
            );
          } catch (err) {
            console.error(JSON.stringify({ at, during, got, expected }, null, 1));
            throw err;
          }
        }
      });
    }
  }
});

function employeeIdOf(input: unknown): string | undefined {
  const i = input as { employeeId?: string; record?: { employeeId?: string } } | undefined;
  return i?.employeeId ?? i?.record?.employeeId;
}
