import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { DirectoryAccount } from '../../src/domain/account';
import {
  accept,
  describeWait,
  initialState,
  nextDue,
  nextRun,
  onRunFailed,
  onRunFinished,
  onRunStarted,
  runFacts,
  type PersonState,
} from '../../src/domain/person-state';
import { planFor, scheduleFor } from '../../src/domain/plan';
import { managedGroups, parsePolicy } from '../../src/domain/policy';
import type { HrRecord } from '../../src/domain/record';
import { liftTermination, retryRun, terminate, terminateProblem } from '../../src/domain/termination';

// The operator's actions as pure transitions: terminate ends access now and keeps it ended until
// lifted (no HR record re-enables), lift plans from the records again, retry re-runs what is stuck.

const policy = parsePolicy(fs.readFileSync(path.join(__dirname, '../../config/policy.yaml'), 'utf8'));
const baseDn = 'DC=kerava,DC=test';
const DAY = 86_400_000;
const T0 = Date.parse('2027-03-15T10:00:00Z');
const groupDn = (g: string) => `CN=${g},OU=Groups,OU=Tunnus,${baseDn}`;
const byDn = new Map(managedGroups(policy).map((g) => [groupDn(g), g]));
const op = { operator: 'cli:ops1' };

const nurse = (extra: Partial<HrRecord> = {}): HrRecord => ({
  employeeId: 'E1',
  firstNames: 'Aino',
  lastName: 'Aalto',
  jobTitle: 'Sairaanhoitaja',
  jobCode: 'SH01',
  orgUnit: 'SOTE-100',
  employmentType: 'permanent',
  startDate: '2020-01-01',
  ...extra,
});

const careOu = `OU=Care,OU=Staff,OU=Tunnus,${baseDn}`;
const enabledNurse = (): DirectoryAccount => ({
  dn: `CN=aino.aalto,${careOu}`,
  ou: careOu,
  employeeId: 'E1',
  sAMAccountName: 'aino.aalto',
  userPrincipalName: 'aino.aalto@kerava.test',
  mail: 'aino.aalto@kerava.test',
  proxyAddresses: [],
  givenName: 'Aino',
  sn: 'Aalto',
  displayName: 'Aino Aalto',
  title: 'Sairaanhoitaja',
  department: 'SOTE-100',
  enabled: true,
  memberOf: [groupDn('ERP-Nurse'), groupDn('Care-Staff')],
});

/** An active nurse: a record and a finished joiner. */
function activeNurse(): PersonState {
  const state = initialState('E1');
  accept(state, { record: nurse(), source: 'hr' }, T0 - DAY);
  const ref = onRunStarted(state, 'joiner', T0 - DAY);
  const plan = planFor(
    state.record!,
    policy,
    { baseDn, asOf: new Date(T0 - DAY) },
    {
      account: enabledNurse(),
      managedGroupsByDn: byDn,
    },
  );
  const account = { employeeId: 'E1', sAMAccountName: 'aino.aalto', userPrincipalName: 'x', created: true };
  onRunFinished(
    state,
    ref,
    { phase: plan.phase, schedule: plan.schedule, applied: [], account, appliedVersion: state.version },
    T0 - DAY,
  );
  assert.equal(state.stage, 'active');
  return state;
}

const planNow = (state: PersonState, at: number, account = enabledNurse()) => {
  const { version: _v, ...facts } = runFacts(state);
  return planFor(
    state.record!,
    policy,
    { baseDn, asOf: new Date(at), facts },
    { account, managedGroupsByDn: byDn },
  );
};

describe('terminate', () => {
  it('an active nurse is ended now: a leaver runs, disabling first and removing the ERP group', () => {
    const state = activeNurse();
    const result = terminate(state, { ...op, reason: 'security incident 123' }, T0);
    assert.equal(result.terminated, true);
    assert.equal(nextRun(state, T0), 'leaver');
    assert.equal(runFacts(state).terminatedAt, new Date(T0).toISOString());
    const plan = planNow(state, T0);
    assert.equal(plan.phase, 'left');
    assert.equal(plan.steps[0]?.kind, 'disableAccount');
    const removed = plan.steps.find((s) => s.kind === 'removeFromGroups');
    assert.ok(removed && removed.kind === 'removeFromGroups' && removed.groups.includes('ERP-Nurse'));
    assert.match(state.timeline.at(-1)!.detail!, /by cli:ops1: security incident 123/);
  });

  it('retention counts from the actual disable, not from HR (who has no end date)', () => {
    const disabledAt = new Date(T0 + 5_000).toISOString();
    const schedule = scheduleFor(nurse(), policy, { terminatedAt: new Date(T0).toISOString(), disabledAt });
    assert.equal(schedule.endAt, new Date(T0).toISOString());
    assert.equal(
      Date.parse(schedule.deleteAt!),
      Date.parse(disabledAt) + policy.lifecycle.retentionDays * DAY,
    );
  });

  it('an HR end date before the termination stays the end', () => {
    const schedule = scheduleFor(nurse({ endDate: '2027-03-01' }), policy, {
      terminatedAt: new Date(T0).toISOString(),
    });
    assert.ok(Date.parse(schedule.endAt!) < T0);
  });

  it('a later HR record, changed or not, does not make the person current again', () => {
    const state = activeNurse();
    terminate(state, { ...op, reason: 'dismissal' }, T0);
    const ref = onRunStarted(state, 'leaver', T0);
    onRunFinished(
      state,
      ref,
      {
        phase: 'left',
        schedule: planNow(state, T0).schedule,
        applied: ['disable'],
        disabledAt: new Date(T0).toISOString(),
        appliedVersion: state.version,
      },
      T0,
    );
    assert.equal(state.stage, 'left');
    // Unchanged: a duplicate. Changed (a new title): stored, planned, still ended.
    assert.equal(accept(state, { record: nurse(), source: 'hr' }, T0 + 60_000).reason, 'duplicate');
    accept(state, { record: nurse({ jobTitle: 'Osastonhoitaja' }), source: 'hr' }, T0 + 120_000);
    assert.equal(state.record!.jobTitle, 'Osastonhoitaja');
    assert.equal(nextRun(state, T0 + 120_000), 'mover');
    const disabled = { ...enabledNurse(), enabled: false, memberOf: [] };
    const plan = planNow(state, T0 + 120_000, disabled);
    assert.equal(plan.phase, 'left');
    assert.ok(!plan.steps.some((s) => s.kind === 'enableAccount' || s.kind === 'addToGroups'));
    assert.match(describeWait(state, nextDue(state), T0), /terminated .* by cli:ops1/);
  });

  it('terminating twice keeps the first; the door refuses a missing reason and an unknown operator', () => {
    const state = activeNurse();
    terminate(state, { ...op, reason: 'first' }, T0);
    const again = terminate(state, { operator: 'cli:other', reason: 'second' }, T0 + 1000);
    assert.equal(again.terminated, false);
    assert.equal(state.termination!.reason, 'first');
    assert.match(terminateProblem(state, { ...op, reason: '  ' })!, /^reason/);
    assert.match(terminateProblem(state, { operator: 'Matti Virtanen', reason: 'x' })!, /^operator/);
    assert.match(terminateProblem(initialState('E9'), { ...op, reason: 'x' })!, /no record/);
  });

  it('lift: planned again from the records; HR says they work here, so access comes back', () => {
    const state = activeNurse();
    terminate(state, { ...op, reason: 'mistaken identity' }, T0);
    const ref = onRunStarted(state, 'leaver', T0);
    onRunFinished(
      state,
      ref,
      {
        phase: 'left',
        schedule: planNow(state, T0).schedule,
        applied: [],
        disabledAt: new Date(T0).toISOString(),
        appliedVersion: state.version,
      },
      T0,
    );
    assert.equal(liftTermination(state, op, T0 + DAY).done, true);
    assert.equal(state.termination, undefined);
    assert.equal(nextRun(state, T0 + DAY), 'rehire');
    const disabled = {
      ...enabledNurse(),
      enabled: false,
      memberOf: [],
      ou: `${policy.ous.disabled},${baseDn}`,
    };
    const plan = planNow(state, T0 + DAY, disabled);
    assert.equal(plan.phase, 'active');
    assert.ok(plan.steps.some((s) => s.kind === 'enableAccount'));
    assert.equal(liftTermination(state, op, T0 + DAY).done, false);
  });
});

describe('retry', () => {
  it('an end of access waiting for its backoff runs now', () => {
    const state = activeNurse();
    terminate(state, { ...op, reason: 'x' }, T0);
    const ref = onRunStarted(state, 'leaver', T0);
    onRunFailed(state, ref, { type: 'DirectoryUnavailable', message: 'down' }, T0);
    assert.ok(Date.parse(state.retry!.at) > T0);
    assert.equal(nextRun(state, T0 + 1000), undefined);
    assert.equal(retryRun(state, op, T0 + 1000).done, true);
    assert.equal(nextRun(state, T0 + 1000), 'leaver');
  });

  it('a failed joiner (waiting for a corrected record) runs again with the records held', () => {
    const state = initialState('E2');
    accept(state, { record: nurse({ employeeId: 'E2' }), source: 'hr' }, T0);
    const ref = onRunStarted(state, 'joiner', T0);
    onRunFailed(state, ref, { type: 'PolicyTargetMissing', message: 'no OU' }, T0);
    assert.equal(nextRun(state, T0), undefined);
    const r = retryRun(state, op, T0 + 1000);
    assert.equal(r.done, true);
    assert.equal(nextRun(state, T0 + 1000), 'joiner');
  });

  it('nothing failed or stuck: a no-op that says so; a guard hold is not retried around', () => {
    const state = activeNurse();
    const r = retryRun(state, op, T0);
    assert.equal(r.done, false);
    assert.match(r.message, /nothing failed or stuck: stage active/);
    state.hold = {
      kind: 'massChange',
      reason: 'held',
      endDate: '2027-03-14',
      since: '',
      version: state.version,
    };
    assert.match(retryRun(state, op, T0).message, /tunnus approve mass-change-hold/);
    assert.equal(nextRun(state, T0), undefined);
  });
});
