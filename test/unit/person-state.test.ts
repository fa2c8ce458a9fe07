import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { DirectoryAccount } from '../../src/domain/account';
import { addDays, helsinkiDate, zonedInstant } from '../../src/domain/dates';
import {
  accept,
  confirmEndDate,
  describeWait,
  dueEndRef,
  dueEndToGuard,
  initialState,
  nextDue,
  nextRun,
  onRunFailed,
  onRunFinished,
  onDueEndGuarded,
  onRunStarted,
  releaseGuardHold,
  runFacts,
  RETRY_MAX_MS,
  type PersonState,
  type RunResult,
} from '../../src/domain/person-state';
import { planFor, type Step } from '../../src/domain/plan';
import { managedGroups, parsePolicy } from '../../src/domain/policy';
import type { HrRecord } from '../../src/domain/record';

// HR mistakes through the pure person state and plan: a small model of the run (plan → waits →
// apply, the leaver's disable first and the rest attempted) over an in-memory account, driven
// by the same functions the person workflow calls. Each scenario asserts the safe outcome.

const policy = parsePolicy(fs.readFileSync(path.join(__dirname, '../../config/policy.yaml'), 'utf8'));
const baseDn = 'DC=kerava,DC=test';
const DAY = 24 * 60 * 60 * 1000;
const retention = policy.lifecycle.retentionDays;
const T0 = Date.parse('2027-03-15T10:00:00Z');
const today = helsinkiDate(new Date(T0));
const groupDn = (g: string) => `CN=${g},OU=Groups,OU=Tunnus,${baseDn}`;
const byDn = new Map(managedGroups(policy).map((g) => [groupDn(g), g]));
const disabledOu = `${policy.ous.disabled},${baseDn}`;

function nurse(extra: Partial<HrRecord> = {}): HrRecord {
  return {
    employeeId: 'E1',
    firstNames: 'Aino',
    lastName: 'Aalto',
    jobTitle: 'Sairaanhoitaja',
    jobCode: 'SH01',
    orgUnit: 'SOTE-100',
    employmentType: 'permanent',
    startDate: '2020-01-01',
    ...extra,
  };
}
const physician = (extra: Partial<HrRecord> = {}) =>
  nurse({ jobCode: 'LK01', jobTitle: 'Lääkäri', ...extra });

/** One person, one account, and a clock: the pieces a scenario drives. */
class World {
  state: PersonState = initialState('E1');
  account: DirectoryAccount | null = null;
  now = T0;
  deletedAt?: number;
  /** Step kinds that fail permanently while listed. */
  failing = new Set<Step['kind']>();
  runs: string[] = [];
  /** A run is still waiting for a date years ahead (the model stops there). */
  waiting = false;

  deliver(record: HrRecord): this {
    accept(this.state, { record, source: 'hr' }, this.now);
    return this.settle();
  }
  confirm(endDate: string): { confirmed: boolean } {
    const r = confirmEndDate(this.state, { endDate, operator: 'ops-1' }, this.now);
    this.settle();
    return r;
  }
  /** Runs whatever is due now, until nothing is. */
  settle(): this {
    for (let i = 0; i < 20; i++) {
      const kind = this.waiting ? undefined : nextRun(this.state, this.now);
      if (!kind) return this;
      this.runs.push(kind);
      this.run(kind);
    }
    throw new Error('runs never settle');
  }
  /** Skips time to the instant, running every dated run on the way. */
  skipTo(at: number): this {
    for (let i = 0; i < 200; i++) {
      const due = nextDue(this.state);
      if (!due || due.at > at) break;
      this.now = Math.max(this.now, due.at);
      this.settle();
    }
    this.now = Math.max(this.now, at);
    return this.settle();
  }
  skipDays(days: number): this {
    return this.skipTo(this.now + days * DAY);
  }

  /** The run as converge.ts does it, with waits resolved by moving the clock. */
  private run(kind: Parameters<typeof onRunStarted>[1]): void {
    const ref = onRunStarted(this.state, kind, this.now);
    const facts = runFacts(this.state);
    let disabledAt = facts.disabledAt;
    try {
      for (let pass = 0; pass < 20; pass++) {
        const plan = planFor(
          this.state.record!,
          policy,
          {
            baseDn,
            asOf: new Date(this.now),
            facts: {
              ...(disabledAt ? { disabledAt } : {}),
              ...(facts.confirmedEndDate ? { confirmedEndDate: facts.confirmedEndDate } : {}),
            },
          },
          { account: this.account ? structuredClone(this.account) : null, managedGroupsByDn: byDn },
        );
        const base: RunResult = {
          phase: plan.phase,
          schedule: plan.schedule,
          applied: [],
          appliedVersion: facts.version,
        };
        if (plan.hold) return onRunFinished(this.state, ref, { ...base, hold: plan.hold }, this.now);
        const endAt = plan.schedule.endAt ? Date.parse(plan.schedule.endAt) : Infinity;
        const waitUntil = (at: number) => (this.now = Math.max(this.now, Math.min(at, endAt)));
        if (plan.changeAt) {
          // Years ahead: the run keeps waiting (its timer re-armed yearly); the scenario ends here.
          if (Date.parse(plan.changeAt) - this.now > 5 * 365 * DAY) {
            this.waiting = true;
            return;
          }
          waitUntil(Date.parse(plan.changeAt));
          continue;
        }
        if (plan.phase === 'pending') {
          waitUntil(Date.parse(plan.schedule.provisionAt));
          continue;
        }
        if (plan.phase === 'left') {
          const failures: NonNullable<RunResult['failures']> = [];
          const ordered = [...plan.steps].sort(
            (a, b) => Number(b.kind === 'disableAccount') - Number(a.kind === 'disableAccount'),
          );
          assert.deepEqual(ordered, plan.steps, 'the plan puts the disable first');
          let disabledOk = true;
          for (const step of plan.steps) {
            try {
              this.apply(step);
            } catch {
              failures.push({ step: step.kind, type: 'PolicyTargetMissing', message: 'test' });
              if (step.kind === 'disableAccount') disabledOk = false;
            }
          }
          if (disabledOk) disabledAt ??= new Date(this.now).toISOString();
          return onRunFinished(
            this.state,
            ref,
            {
              ...base,
              schedule:
                disabledAt && plan.schedule.endAt
                  ? {
                      ...plan.schedule,
                      deleteAt: new Date(
                        Math.max(Date.parse(disabledAt), endAt) + plan.entitlements.retentionDays * DAY,
                      ).toISOString(),
                    }
                  : plan.schedule,
              ...(disabledAt ? { disabledAt } : {}),
              ...(failures.length > 0 ? { failures } : {}),
            },
            this.now,
          );
        }
        for (const step of plan.steps) this.apply(step);
        if (plan.phase === 'prehire') {
          waitUntil(Date.parse(plan.schedule.startAt));
          continue;
        }
        return onRunFinished(
          this.state,
          ref,
          {
            ...base,
            ...(plan.phase === 'deleted' ? { deleted: true } : {}),
            ...(this.account
              ? {
                  account: {
                    employeeId: 'E1',
                    sAMAccountName: 'aino.aalto',
                    userPrincipalName: 'aino.aalto@kerava.test',
                    created: false,
                  },
                }
              : {}),
          },
          this.now,
        );
      }
      throw new Error('run never finished');
    } catch (err) {
      onRunFailed(
        this.state,
        ref,
        { type: 'PolicyTargetMissing', message: (err as Error).message },
        this.now,
      );
    }
  }

  private apply(step: Step): void {
    if (this.failing.has(step.kind)) throw new Error(`${step.kind} fails`);
    const a = this.account;
    switch (step.kind) {
      case 'createAccount':
        this.account = {
          dn: `CN=aino.aalto,${step.ouDn}`,
          ou: step.ouDn,
          employeeId: 'E1',
          sAMAccountName: 'aino.aalto',
          userPrincipalName: 'aino.aalto@kerava.test',
          mail: 'aino.aalto@kerava.fi',
          proxyAddresses: [],
          ...step.attributes,
          enabled: false,
          memberOf: [],
        };
        return;
      case 'moveAccount':
        a!.ou = step.toOuDn;
        return;
      case 'setAttributes':
        Object.assign(a!, step.attributes);
        return;
      case 'addToGroups':
        a!.memberOf.push(...step.groups.map(groupDn));
        return;
      case 'removeFromGroups':
        a!.memberOf = a!.memberOf.filter((dn) => !step.groups.includes(byDn.get(dn)!));
        return;
      case 'enableAccount':
        a!.enabled = true;
        return;
      case 'disableAccount':
        a!.enabled = false;
        return;
      case 'changePrimaryMail':
        return;
      case 'deleteAccount':
        this.account = null;
        this.deletedAt = this.now;
        return;
    }
  }

  groups(): string[] {
    return (this.account?.memberOf ?? []).map((dn) => byDn.get(dn)!).sort();
  }
}

/** An active nurse (account enabled, role groups) since 2020. */
function activeNurse(extra: Partial<HrRecord> = {}): World {
  const w = new World().deliver(nurse(extra));
  assert.equal(w.account?.enabled, true, 'set-up: an active nurse');
  return w;
}

/** A nurse whose last day was yesterday, entered today: disabled, left. */
function leftNurse(): World {
  const w = activeNurse();
  w.deliver(nurse({ endDate: addDays(today, -1) }));
  assert.equal(w.state.stage, 'left', 'set-up: left');
  return w;
}

const lastDayEnd = (date: string) => zonedInstant(date, policy.lifecycle.lastDayEndsAt).getTime();

/** The safe outcomes every scenario may assert. */
function assertDisabledNotDeleted(w: World, why: string) {
  assert.ok(w.account, `${why}: the account still exists`);
  assert.equal(w.account.enabled, false, `${why}: disabled`);
  assert.equal(w.deletedAt, undefined, `${why}: not deleted`);
}
function assertDeletedExactlyAfterRetention(w: World) {
  const disabledAt = Date.parse(w.state.disabledAt!);
  assert.equal(w.state.schedule?.deleteAt, new Date(disabledAt + retention * DAY).toISOString());
  w.skipTo(disabledAt + retention * DAY - 60_000);
  assert.ok(w.account, 'kept until retention after the disable is over');
  w.skipTo(disabledAt + retention * DAY);
  assert.equal(w.account, null, 'deleted when it is over');
  assert.equal(w.deletedAt, disabledAt + retention * DAY);
}

const scenarios: { name: string; run: () => void }[] = [
  {
    name: 'an end date years in the past (2016 for 2026) on an active person is held, nothing is disabled or deleted',
    run: () => {
      const w = activeNurse();
      w.deliver(nurse({ endDate: '2016-02-28' }));
      assert.equal(w.account?.enabled, true, 'not acted on');
      assert.equal(w.state.stage, 'held');
      assert.match(w.state.hold!.reason, /^held: end date \d+ days in the past$/);
      assert.equal(nextDue(w.state), undefined, 'nothing scheduled while held');
      w.skipDays(400);
      assert.equal(w.account?.enabled, true);
      assert.equal(w.deletedAt, undefined);
    },
  },
  {
    name: 'a held past end date, once confirmed, disables today and deletes exactly retentionDays after the disable',
    run: () => {
      const w = activeNurse();
      w.deliver(nurse({ endDate: '2016-02-28' }));
      w.skipDays(2);
      const confirmedAt = w.now;
      assert.equal(w.confirm('2016-02-28').confirmed, true);
      assertDisabledNotDeleted(w, 'after the confirmation');
      assert.equal(w.state.disabledAt, new Date(confirmedAt).toISOString(), 'disabled when confirmed');
      assertDeletedExactlyAfterRetention(w);
    },
  },
  {
    name: 'a confirmation of a different end date than the held one is refused',
    run: () => {
      const w = activeNurse();
      w.deliver(nurse({ endDate: '2016-02-28' }));
      assert.equal(w.confirm('2016-02-29').confirmed, false);
      assert.equal(w.account?.enabled, true);
    },
  },
  {
    name: 'a held typo corrected by HR (2016 → 2026, within the window) runs the leaver at once',
    run: () => {
      const w = activeNurse();
      w.deliver(nurse({ endDate: '2016-03-10' }));
      w.deliver(nurse({ endDate: '2027-03-10' }));
      assertDisabledNotDeleted(w, 'corrected late end date');
      assert.equal(w.state.hold, undefined);
      assert.equal(w.state.stage, 'left');
    },
  },
  {
    name: 'an end date 10 days in the past (late entry) disables now; retention counts from today, not the end date',
    run: () => {
      const w = activeNurse();
      w.deliver(nurse({ endDate: addDays(today, -10) }));
      assertDisabledNotDeleted(w, 'late entry');
      assert.equal(w.state.disabledAt, new Date(T0).toISOString());
      assert.equal(w.state.schedule?.deleteAt, new Date(T0 + retention * DAY).toISOString());
      assertDeletedExactlyAfterRetention(w);
    },
  },
  {
    name: 'an end date exactly lateEndDateMaxDays in the past still runs the leaver; one day more is held',
    run: () => {
      const max = policy.lifecycle.lateEndDateMaxDays;
      const w = activeNurse();
      w.deliver(nurse({ endDate: addDays(today, -max) }));
      assertDisabledNotDeleted(w, 'at the window');
      const v = activeNurse({ employeeId: 'E1' });
      v.deliver(nurse({ endDate: addDays(today, -max - 1) }));
      assert.equal(v.account?.enabled, true);
      assert.equal(v.state.stage, 'held');
    },
  },
  {
    name: 'no path from active to deleted in one run: an end date 2 years past, confirmed, is only disabled',
    run: () => {
      const w = activeNurse();
      w.deliver(nurse({ endDate: addDays(today, -730) }));
      w.confirm(addDays(today, -730));
      assertDisabledNotDeleted(w, 'first run');
      assert.deepEqual(w.runs, ['joiner', 'leaver', 'leaver']);
    },
  },
  {
    name: 'a first record already ended creates no account and deletes nothing',
    run: () => {
      const w = new World().deliver(nurse({ startDate: '2026-01-01', endDate: addDays(today, -5) }));
      assert.equal(w.account, null);
      assert.equal(w.deletedAt, undefined);
    },
  },
  {
    name: 'an end date moved back and forth (+10, removed, +5) runs the leaver once, at +5',
    run: () => {
      const w = activeNurse();
      w.deliver(nurse({ endDate: addDays(today, 10) }));
      w.deliver(nurse());
      w.deliver(nurse({ endDate: addDays(today, 5) }));
      w.skipTo(lastDayEnd(addDays(today, 5)) - 60_000);
      assert.equal(w.account?.enabled, true, 'still working on the last day');
      w.skipTo(lastDayEnd(addDays(today, 5)));
      assertDisabledNotDeleted(w, 'after the +5 last day');
      assert.equal(w.runs.filter((r) => r === 'leaver').length, 1);
    },
  },
  {
    name: 'an end date moved earlier into the past (within the window) runs the leaver now',
    run: () => {
      const w = activeNurse({ endDate: addDays(today, 30) });
      w.deliver(nurse({ endDate: addDays(today, -3) }));
      assertDisabledNotDeleted(w, 'moved back');
    },
  },
  {
    name: 'an end date removed after the leaver ran brings the person back (rehire) and stops the deletion',
    run: () => {
      const w = leftNurse();
      assertDisabledNotDeleted(w, 'left');
      w.deliver(nurse());
      assert.equal(w.account?.enabled, true);
      assert.equal(w.state.disabledAt, undefined, 'retention no longer runs');
      w.skipDays(retention + 10);
      assert.ok(w.account, 'never deleted');
    },
  },
  {
    name: 'an end date moved years further back after the disable neither holds nor deletes early',
    run: () => {
      const w = leftNurse();
      const disabledAt = w.state.disabledAt;
      w.skipDays(10);
      w.deliver(nurse({ endDate: '2019-12-31' }));
      assert.equal(w.state.hold, undefined, 'already disabled: nothing to hold');
      assert.equal(w.state.disabledAt, disabledAt);
      assert.ok(w.account, 'not deleted on the older end date');
      w.skipTo(Date.parse(disabledAt!) + retention * DAY - 60_000);
      assert.ok(w.account);
      w.skipTo(Date.parse(disabledAt!) + retention * DAY);
      assert.equal(w.account, null);
    },
  },
  {
    name: 'a pending dated change with an end date before it: the change is dropped (noted), the leaver runs on the end date',
    run: () => {
      const w = activeNurse();
      w.deliver(physician({ effectiveDate: addDays(today, 61), endDate: addDays(today, 10) }));
      assert.ok(w.state.timeline.some((t) => t.event === 'dated change dropped'));
      assert.equal(w.state.record?.jobCode, 'SH01', 'the role stays');
      assert.ok(w.groups().includes('ERP-Nurse'));
      w.skipTo(lastDayEnd(addDays(today, 10)));
      assertDisabledNotDeleted(w, 'on the end date, not after the 61-day change date');
      assert.equal(w.now < Date.parse(`${addDays(today, 61)}T00:00:00Z`), true);
    },
  },
  {
    name: 'a pending dated change plus an end date already past: leaver now, never waiting for the change',
    run: () => {
      const w = activeNurse();
      w.deliver(physician({ effectiveDate: addDays(today, 30), endDate: addDays(today, -2) }));
      assertDisabledNotDeleted(w, 'at once');
      assert.equal(w.now, T0, 'no wait');
      assert.deepEqual(w.groups(), [], 'no managed group, the physician groups never granted');
    },
  },
  {
    name: 'a dated change before the end date applies on its day, then the leaver at the end',
    run: () => {
      const w = activeNurse();
      w.deliver(physician({ effectiveDate: addDays(today, 5), endDate: addDays(today, 20) }));
      assert.ok(w.groups().includes('ERP-Physician'), 'the run waited for the day and applied the change');
      assert.ok(w.now >= zonedInstant(addDays(today, 5), '00:00').getTime());
      assert.equal(w.account?.enabled, true);
      w.skipTo(lastDayEnd(addDays(today, 20)));
      assertDisabledNotDeleted(w, 'at the end');
    },
  },
  {
    name: 'a pending dated change, then an end date on a separate record before it: the later record wins',
    run: () => {
      const w = activeNurse();
      accept(w.state, { record: physician({ effectiveDate: addDays(today, 40) }), source: 'hr' }, w.now);
      w.deliver(nurse({ endDate: addDays(today, 3) }));
      w.skipTo(lastDayEnd(addDays(today, 3)));
      assertDisabledNotDeleted(w, 'on the end date');
      assert.ok(!w.groups().includes('ERP-Physician'));
    },
  },
  {
    name: 'the sentinel end date 9999-12-31 means no end: active, nothing due, no RangeError',
    run: () => {
      const w = activeNurse({ endDate: '9999-12-31' });
      assert.equal(w.state.stage, 'active');
      assert.equal(w.state.schedule?.endAt, undefined);
      assert.equal(nextDue(w.state), undefined);
    },
  },
  {
    name: 'a far-future end date (2999-01-01) means no end; one within range (2150) is scheduled and representable',
    run: () => {
      const w = activeNurse({ endDate: '2999-01-01' });
      assert.equal(nextDue(w.state), undefined);
      const v = activeNurse({ endDate: '2150-06-30' });
      const due = nextDue(v.state);
      assert.ok(due && Number.isFinite(due.at) && due.kind === 'leaver');
    },
  },
  {
    name: 'an end date a millennium in the past (1016 for 2026) is an end date held for confirmation, never "no end"',
    run: () => {
      const w = activeNurse();
      w.deliver(nurse({ endDate: '1016-03-31' }));
      assert.equal(w.state.stage, 'held');
      assert.equal(w.account?.enabled, true);
    },
  },
  {
    name: 'a change dated 9999-12-31 waits (re-armed within timer limits) and is never applied early',
    run: () => {
      const w = activeNurse();
      w.deliver(physician({ effectiveDate: '9999-12-31' }));
      assert.equal(w.state.stage, 'updating', 'the mover waits for the date');
      assert.ok(w.groups().includes('ERP-Nurse'));
      assert.ok(!w.groups().includes('ERP-Physician'));
    },
  },
  {
    name: 'a leaver whose end date is replaced by the sentinel comes back (no end)',
    run: () => {
      const w = leftNurse();
      w.deliver(nurse({ endDate: '9999-12-31' }));
      assert.equal(w.account?.enabled, true);
      assert.equal(w.state.stage, 'active');
    },
  },
  {
    name: 'an end date before the start date on a new person never enables an account',
    run: () => {
      const w = new World().deliver(nurse({ startDate: addDays(today, 10), endDate: addDays(today, 5) }));
      w.skipDays(30);
      assert.ok(!w.account || !w.account.enabled);
      assert.equal(w.deletedAt, undefined);
    },
  },
  {
    name: 'an end date before a moved start date on an active person disables it',
    run: () => {
      const w = activeNurse();
      w.deliver(nurse({ startDate: addDays(today, 3), endDate: addDays(today, -2) }));
      assertDisabledNotDeleted(w, 'end before start');
    },
  },
  {
    name: 'a leaver whose disable fails still has its groups removed, stays due with backoff and counts no retention',
    run: () => {
      const w = activeNurse();
      w.failing.add('disableAccount');
      w.deliver(nurse({ endDate: addDays(today, -1) }));
      assert.equal(w.account?.enabled, true, 'the failing disable');
      assert.deepEqual(w.groups(), [], 'ERP access removed anyway');
      assert.equal(w.state.disabledAt, undefined);
      assert.equal(w.state.stage, 'failed');
      const due = nextDue(w.state);
      assert.equal(due?.kind, 'leaver');
      w.failing.clear();
      w.skipTo(due.at);
      assertDisabledNotDeleted(w, 'after the retry');
      assert.equal(w.state.retry, undefined);
      assert.equal(w.state.disabledAt, new Date(due.at).toISOString(), 'retention from the real disable');
    },
  },
  {
    name: 'a leaver whose OU move fails permanently ends disabled, stays due, and completes once the OU is back',
    run: () => {
      const w = activeNurse();
      w.failing.add('moveAccount');
      w.deliver(nurse({ endDate: addDays(today, -1) }));
      assertDisabledNotDeleted(w, 'OU move failed');
      assert.deepEqual(w.groups(), []);
      assert.equal(w.state.stage, 'failed');
      assert.match(w.state.lastError!.message, /end of access incomplete: moveAccount/);
      w.skipDays(1);
      assert.ok(w.runs.filter((r) => r === 'leaver').length > 3, 'retried with backoff');
      assert.notEqual(w.account!.ou, disabledOu);
      w.failing.clear();
      w.skipDays(1);
      assert.equal(w.account!.ou, disabledOu);
      assert.equal(w.state.stage, 'left');
    },
  },
  {
    name: 'retries of a stuck leaver back off (1, 2, 4 … minutes) up to 6 hours apart',
    run: () => {
      const w = activeNurse();
      w.failing.add('moveAccount');
      w.deliver(nurse({ endDate: addDays(today, -1) }));
      const gaps: number[] = [];
      for (let i = 0; i < 12; i++) {
        const due = nextDue(w.state)!;
        gaps.push(due.at - w.now);
        w.skipTo(due.at);
      }
      assert.deepEqual(gaps.slice(0, 3), [60_000, 120_000, 240_000]);
      assert.equal(Math.max(...gaps), RETRY_MAX_MS);
    },
  },
  {
    name: 'rehire after a disable that never completed: the retry stops, the person is active again',
    run: () => {
      const w = activeNurse();
      w.failing.add('disableAccount');
      w.deliver(nurse({ endDate: addDays(today, -1) }));
      assert.equal(w.state.stage, 'failed');
      w.failing.clear();
      w.deliver(nurse({ startDate: today }));
      assert.equal(w.account?.enabled, true);
      assert.equal(w.state.retry, undefined);
      assert.equal(w.state.stage, 'active');
      assert.deepEqual(w.groups(), ['All-Staff', 'Care-Staff', 'ERP-Nurse']);
    },
  },
  {
    name: 'rehire within retention after a complete leaver: same account, enabled, the deletion cancelled',
    run: () => {
      const w = leftNurse();
      w.skipDays(20);
      w.deliver(physician({ startDate: helsinkiDate(new Date(w.now)) }));
      assert.equal(w.account?.enabled, true);
      assert.ok(w.groups().includes('ERP-Physician'));
      assert.ok(!w.groups().includes('ERP-Nurse'));
      w.skipDays(retention);
      assert.ok(w.account);
    },
  },
  {
    name: 'a deletion due on an account someone re-enabled is held and retried, never deleted',
    run: () => {
      const w = leftNurse();
      w.account!.enabled = true; // by hand, in AD
      w.skipTo(Date.parse(w.state.schedule!.deleteAt!));
      assert.ok(w.account, 'not deleted');
      assert.equal(w.state.stage, 'held');
      assert.equal(w.state.hold?.kind, 'deleteBlocked');
      assert.equal(nextDue(w.state)?.kind, 'delete', 'checked again later');
    },
  },
  {
    name: 'a leaver that ran days late (worker down) counts retention from its disable',
    run: () => {
      const w = activeNurse({ endDate: addDays(today, 1) });
      // The timer fires 3 days late.
      w.now = lastDayEnd(addDays(today, 1)) + 3 * DAY;
      w.settle();
      assertDisabledNotDeleted(w, 'late leaver');
      assert.equal(w.state.schedule?.deleteAt, new Date(w.now + retention * DAY).toISOString());
    },
  },
  {
    name: 'the same record twice starts no second run',
    run: () => {
      const w = activeNurse();
      w.deliver(nurse());
      assert.deepEqual(w.runs, ['joiner']);
      assert.equal(w.state.duplicatesIgnored, 1);
    },
  },
  {
    name: 'a run that finished with an older record than the latest (end date arrived during it) runs again',
    run: () => {
      const w = new World();
      accept(w.state, { record: nurse(), source: 'hr' }, w.now);
      const ref = onRunStarted(w.state, 'joiner', w.now);
      accept(w.state, { record: nurse({ endDate: addDays(today, -10) }), source: 'hr' }, w.now);
      onRunFinished(
        w.state,
        ref,
        {
          phase: 'active',
          schedule: { provisionAt: '', startAt: '' },
          applied: [],
          appliedVersion: 1,
          account: { employeeId: 'E1', sAMAccountName: 'a', userPrincipalName: 'a@x', created: true },
        },
        w.now,
      );
      assert.equal(nextRun(w.state, w.now), 'leaver', 'the end date is planned, not counted as delivered');
    },
  },
  {
    name: 'a failed joiner whose newer record was signalled to it runs again with that record',
    run: () => {
      const w = new World();
      accept(w.state, { record: nurse(), source: 'hr' }, w.now);
      const ref = onRunStarted(w.state, 'joiner', w.now);
      accept(w.state, { record: physician(), source: 'hr' }, w.now);
      onRunFailed(w.state, ref, { type: 'NameCollision', message: 'x' }, w.now);
      assert.equal(nextRun(w.state, w.now), 'joiner');
    },
  },
  {
    name: 'a failed joiner with no newer record waits for a corrected record (no retry loop)',
    run: () => {
      const w = new World();
      accept(w.state, { record: nurse(), source: 'hr' }, w.now);
      const ref = onRunStarted(w.state, 'joiner', w.now);
      onRunFailed(w.state, ref, { type: 'NameCollision', message: 'x' }, w.now);
      assert.equal(nextRun(w.state, w.now + DAY), undefined);
      assert.equal(w.state.stage, 'failed');
    },
  },
];

describe('HR mistakes through the pure person state and plan: each ends safe', () => {
  it(`has at least 25 scenarios (${scenarios.length})`, () => assert.ok(scenarios.length >= 25));
  for (const s of scenarios) it(s.name, s.run);
});

describe('an end falling due asks the mass-change guard unless it was counted at intake', () => {
  const since = new Date(T0 - 400 * DAY).toISOString();
  const endAtOf = (endDate: string) => zonedInstant(endDate, policy.lifecycle.lastDayEndsAt).getTime();
  /** An active person whose record (with `endDate`) arrived at `arrivedAt` and was planned. */
  function active(endDate: string, arrivedAt: number): PersonState {
    const state = initialState('E1');
    accept(state, { record: nurse(), source: 'hr' }, arrivedAt - DAY);
    const ref0 = onRunStarted(state, 'joiner', arrivedAt - DAY);
    const account = { dn: `CN=E1,${baseDn}`, objectGuid: 'g-1' } as unknown as RunResult['account'];
    onRunFinished(
      state,
      ref0,
      {
        phase: 'active',
        schedule: { provisionAt: since, startAt: since },
        applied: [],
        appliedVersion: 1,
        account,
      },
      arrivedAt - DAY,
    );
    accept(state, { record: nurse({ endDate }), source: 'hr' }, arrivedAt);
    const ref = onRunStarted(state, 'mover', arrivedAt);
    const endAt = new Date(endAtOf(endDate)).toISOString();
    onRunFinished(
      state,
      ref,
      {
        phase: 'active',
        schedule: { provisionAt: since, startAt: since, endAt },
        applied: [],
        appliedVersion: state.version,
      },
      arrivedAt,
    );
    return state;
  }

  it('an end that arrived 40 days ahead is asked about when it falls due, not before', () => {
    const endDate = addDays(today, 40);
    const state = active(endDate, T0);
    assert.equal(dueEndToGuard(state, endAtOf(endDate) - 1), undefined, 'not yet due');
    assert.equal(nextRun(state, endAtOf(endDate)), 'leaver');
    assert.equal(dueEndToGuard(state, endAtOf(endDate)), endDate);
    assert.equal(dueEndRef('E1', endDate), `end:E1:${endDate}`);
  });

  it('an end that arrived on the day before or later was counted at intake: not asked again', () => {
    for (const ahead of [0, 1]) {
      const endDate = addDays(today, ahead);
      const state = active(endDate, T0);
      assert.equal(dueEndToGuard(state, endAtOf(endDate)), undefined, `end ${ahead} day(s) ahead`);
    }
    const endDate = addDays(today, 2);
    assert.equal(dueEndToGuard(active(endDate, T0), endAtOf(endDate)), endDate, 'two days ahead was not');
  });

  it('over the threshold: held visibly, no leaver due; the approval releases it once', () => {
    const endDate = addDays(today, 40);
    const state = active(endDate, T0);
    const at = endAtOf(endDate);
    onDueEndGuarded(state, endDate, { admitted: false, affected: 7 }, at);
    assert.equal(state.stage, 'held');
    assert.equal(state.hold?.kind, 'massChange');
    assert.equal(state.hold?.reason, 'held: mass-change guard (7 ends due in the window)');
    assert.equal(nextDue(state), undefined);
    assert.equal(nextRun(state, at + DAY), undefined, 'nothing runs while held');
    assert.match(
      describeWait(state, undefined, at),
      /^held: mass-change guard \(7 ends due in the window\); account still enabled/,
    );
    assert.equal(
      releaseGuardHold(state, { endDate: addDays(endDate, 1), approvedBy: 'cli:anna' }, at),
      false,
    );
    assert.ok(state.hold, 'another end date does not release it');
    assert.equal(releaseGuardHold(state, { endDate, approvedBy: 'cli:anna' }, at + DAY), true);
    assert.equal(state.hold, undefined);
    assert.equal(nextRun(state, at + DAY), 'leaver');
    assert.equal(dueEndToGuard(state, at + DAY), undefined, 'approved: not asked again');
  });

  it('an approval that overtakes the answer of the guard still releases the end', () => {
    const endDate = addDays(today, 40);
    const state = active(endDate, T0);
    assert.equal(releaseGuardHold(state, { endDate, approvedBy: 'cli:anna' }, endAtOf(endDate)), true);
    onDueEndGuarded(state, endDate, { admitted: false, affected: 7 }, endAtOf(endDate));
    assert.equal(state.hold, undefined);
    assert.equal(nextRun(state, endAtOf(endDate)), 'leaver');
    assert.equal(dueEndToGuard(state, endAtOf(endDate)), undefined);
  });

  it('admitted: the leaver runs and the same end is not asked about again', () => {
    const endDate = addDays(today, 40);
    const state = active(endDate, T0);
    onDueEndGuarded(state, endDate, { admitted: true, affected: 1 }, endAtOf(endDate));
    assert.equal(state.hold, undefined);
    assert.equal(nextRun(state, endAtOf(endDate)), 'leaver');
    assert.equal(dueEndToGuard(state, endAtOf(endDate)), undefined);
  });

  it('a newer record replaces the hold; a confirmed or record-started end is not asked about', () => {
    const endDate = addDays(today, 40);
    const state = active(endDate, T0);
    const at = endAtOf(endDate);
    onDueEndGuarded(state, endDate, { admitted: false, affected: 7 }, at);
    // HR corrects the end date: the record is planned (it went through the guard at intake).
    accept(state, { record: nurse({ endDate: addDays(endDate, 30) }), source: 'hr' }, at + 1000);
    assert.equal(nextRun(state, at + 1000), 'mover');
    assert.equal(dueEndToGuard(state, at + 1000), undefined, 'a new record is no due end');
    const ref = onRunStarted(state, 'mover', at + 1000);
    const endAt = new Date(endAtOf(addDays(endDate, 30))).toISOString();
    onRunFinished(
      state,
      ref,
      {
        phase: 'active',
        schedule: { provisionAt: since, startAt: since, endAt },
        applied: [],
        appliedVersion: state.version,
      },
      at + 1000,
    );
    assert.equal(state.hold, undefined, 'the hold is replaced');
    assert.equal(state.stage, 'active');

    const confirmed = active(endDate, T0);
    confirmed.confirmedEndDate = endDate;
    assert.equal(dueEndToGuard(confirmed, at), undefined, 'an operator confirmed this end');
  });
});
