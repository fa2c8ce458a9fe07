import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { addDays, helsinkiDate, startOfDay, zonedInstant } from '../../src/domain/dates';
import type { CleanupReport } from '../../src/domain/cleanup-report';
import { parseNoticeCatalogue, renderNotice } from '../../src/domain/notices';
import {
  accessEndedNotice,
  accessRetryingNotice,
  cleanupReportNotice,
  leaverReminderNotice,
  noticeTemplates,
  runFailedNotice,
  licenceWaitNotice,
  licenceWaitOverLimit,
  massChangeHeldNotice,
} from '../../src/domain/notice-events';
import {
  beforeRun,
  noticesAfterRun,
  notePending,
  noteSent,
  takeDueNotices,
} from '../../src/domain/person-notices';
import {
  accept,
  initialState,
  nextDue,
  nextRun,
  onRunFailed,
  onRunFinished,
  onRunStarted,
  type PersonState,
} from '../../src/domain/person-state';
import { scheduleFor } from '../../src/domain/plan';
import { parsePolicy, type Policy } from '../../src/domain/policy';
import type { HrRecord } from '../../src/domain/record';

// The notices' due times and events as pure functions: when the leaver reminder is due (and that
// it is due once), what a finished or failed run calls for, and keys that name one event each.

const loadPolicy = (days = 7): Policy => {
  const p = parsePolicy(fs.readFileSync(path.join(__dirname, '../../config/policy.yaml'), 'utf8'));
  p.notifications.leaverReminderDays = days;
  return p;
};
const DAY = 24 * 3600_000;
const HOUR_MS = 3600_000;
const T0 = Date.parse('2027-03-15T10:00:00Z');

const nurse = (extra: Partial<HrRecord> = {}): HrRecord => ({
  employeeId: 'E1',
  firstNames: 'Aino',
  lastName: 'Aalto',
  jobTitle: 'Sairaanhoitaja',
  jobCode: 'SH01',
  orgUnit: 'SOTE-100',
  employmentType: 'permanent',
  startDate: '2020-01-01',
  managerId: 'M9',
  language: 'sv',
  ...extra,
});

/** An active person whose last run planned `record` (as the mover would after it arrived). */
function planned(state: PersonState, record: HrRecord, policy: Policy, now: number): PersonState {
  accept(state, { record, source: 'hr' }, now);
  const kind = nextRun(state, now)!;
  const ref = onRunStarted(state, kind, now);
  onRunFinished(
    state,
    ref,
    {
      phase: 'active',
      schedule: scheduleFor(record, policy),
      account: { employeeId: 'E1', sAMAccountName: 'aino.aalto', userPrincipalName: 'a@x', created: false },
      applied: [],
      appliedVersion: state.version,
    },
    now,
  );
  return state;
}

describe('leaver reminder due time', () => {
  const policy = loadPolicy(7);

  it('the plan names the reminder instant: Helsinki midnight N days before the last day; 0 days: none', () => {
    const s = scheduleFor(nurse({ endDate: '2027-04-30' }), policy);
    assert.equal(s.remindAt, startOfDay('2027-04-23').toISOString());
    assert.equal(scheduleFor(nurse({ endDate: '2027-04-30' }), loadPolicy(0)).remindAt, undefined);
    assert.equal(scheduleFor(nurse(), policy).remindAt, undefined, 'no end date, no reminder');
  });

  it('is the next due time of the idle person before the last day, and only with reminders on', () => {
    const state = planned(initialState('E1'), nurse({ endDate: '2027-04-30' }), policy, T0);
    const due = nextDue(state, { reminders: true });
    assert.equal(due?.kind, 'leaverReminder');
    assert.equal(due?.at, Date.parse(startOfDay('2027-04-23').toISOString()));
    // Histories from before notices wait for the last day only (replay).
    assert.equal(nextDue(state)?.kind, 'leaver');
    assert.equal(nextRun(state, due.at + 1000), undefined, 'a reminder starts no run');
  });

  it('is sent once when its instant comes, then the wait is the last day again', () => {
    const state = planned(initialState('E1'), nurse({ endDate: '2027-04-30' }), policy, T0);
    const at = nextDue(state, { reminders: true })!.at;
    assert.deepEqual(takeDueNotices(state, at - 1), [], 'not before its instant');
    const [notice, ...more] = takeDueNotices(state, at);
    assert.equal(more.length, 0);
    assert.deepEqual(notice, {
      key: 'leaver-reminder:E1:2027-04-30',
      template: 'leaver-reminder',
      to: { manager: 'M9', unit: 'SOTE-100' },
      language: 'sv',
      vars: { employeeId: 'E1', endDate: '2027-04-30', daysLeft: 7 },
    });
    assert.deepEqual(takeDueNotices(state, at + DAY), [], 'once');
    assert.equal(nextDue(state, { reminders: true })?.kind, 'leaver');
  });

  it('a moved end date moves the reminder (and a new end date is reminded of again)', () => {
    const state = planned(initialState('E1'), nurse({ endDate: '2027-04-30' }), policy, T0);
    planned(state, nurse({ endDate: '2027-05-31' }), policy, T0 + DAY);
    const due = nextDue(state, { reminders: true })!;
    assert.equal(due.kind, 'leaverReminder');
    assert.equal(due.at, Date.parse(startOfDay('2027-05-24').toISOString()));
    assert.deepEqual(takeDueNotices(state, Date.parse(startOfDay('2027-04-23').toISOString())), []);
    assert.equal(takeDueNotices(state, due.at)[0]?.key, 'leaver-reminder:E1:2027-05-31');
    // Moved earlier again after the reminder: the new date gets its own reminder.
    planned(state, nurse({ endDate: '2027-05-28' }), policy, due.at + 1000);
    assert.equal(takeDueNotices(state, due.at + 2000)[0]?.key, 'leaver-reminder:E1:2027-05-28');
  });

  it('an end date already inside the window is reminded of at once, once; an ended day not at all', () => {
    const today = helsinkiDate(new Date(T0));
    const state = planned(initialState('E1'), nurse({ endDate: addDays(today, 3) }), policy, T0);
    const due = nextDue(state, { reminders: true })!;
    assert.equal(due.kind, 'leaverReminder');
    assert.ok(due.at < T0, 'due already');
    const sent = takeDueNotices(state, T0);
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.vars.daysLeft, 3);
    assert.deepEqual(takeDueNotices(state, T0 + 1000), []);

    const late = planned(initialState('E1'), nurse({ endDate: addDays(today, 1) }), policy, T0);
    const endAt = Date.parse(zonedInstant(addDays(today, 1), policy.lifecycle.lastDayEndsAt).toISOString());
    assert.deepEqual(takeDueNotices(late, endAt), [], 'the last day has ended: the leaver runs instead');
  });

  it('no reminder while held or retrying, nor after the person has left', () => {
    const state = planned(initialState('E1'), nurse({ endDate: '2027-04-30' }), policy, T0);
    state.phase = 'left';
    assert.equal(nextDue(state, { reminders: true })?.kind, undefined);
    state.phase = 'active';
    state.hold = { kind: 'massChange', reason: 'held', since: '', version: 1 };
    assert.deepEqual(takeDueNotices(state, Date.parse('2027-04-29T00:00:00Z')), []);
  });
});

describe('notices after a run', () => {
  const policy = loadPolicy(7);
  const endDate = '2027-04-30';

  it('the leaver that disabled the account confirms to the manager, once per end date', () => {
    const state = planned(initialState('E1'), nurse({ endDate }), policy, T0);
    const ref = onRunStarted(state, 'leaver', T0 + 50 * DAY);
    const before = beforeRun(state);
    const disabledAt = new Date(T0 + 50 * DAY).toISOString();
    onRunFinished(
      state,
      ref,
      { phase: 'left', schedule: scheduleFor(nurse({ endDate }), policy), applied: ['disable'], disabledAt },
      T0 + 50 * DAY,
    );
    const notices = noticesAfterRun(state, ref, before);
    assert.deepEqual(
      notices.map((n) => [n.key, n.template, n.to]),
      [[`leaver-access-ended:E1:${endDate}`, 'leaver-access-ended', { manager: 'M9', unit: 'SOTE-100' }]],
    );
    // A later run of the same person (already disabled) confirms nothing again.
    const again = onRunStarted(state, 'mover', T0 + 51 * DAY);
    const before2 = beforeRun(state);
    onRunFinished(
      state,
      again,
      { phase: 'left', schedule: state.schedule!, applied: [], disabledAt },
      T0 + 51 * DAY,
    );
    assert.deepEqual(noticesAfterRun(state, again, before2), []);
  });

  it('a failing end of access tells ops once per retry episode, not per attempt', () => {
    const state = planned(initialState('E1'), nurse({ endDate }), policy, T0);
    const keys: string[] = [];
    let now = T0 + 50 * DAY;
    for (let i = 0; i < 5; i++) {
      const ref = onRunStarted(state, 'leaver', now);
      const before = beforeRun(state);
      onRunFailed(state, ref, { type: 'Unclassified', message: 'x' }, now);
      keys.push(...noticesAfterRun(state, ref, before).map((n) => n.key));
      now = Date.parse(state.retry!.at);
    }
    assert.deepEqual(keys, ['end-of-access-retrying:leaver-E1-2']);
  });

  it('a failed joiner (nothing retries it) tells ops, keyed by the run', () => {
    const state = initialState('E2');
    accept(state, { record: nurse({ employeeId: 'E2' }), source: 'hr' }, T0);
    const ref = onRunStarted(state, 'joiner', T0);
    const before = beforeRun(state);
    onRunFailed(state, ref, { type: 'DirectoryConstraint', message: 'title' }, T0);
    const [n] = noticesAfterRun(state, ref, before);
    assert.equal(n?.key, 'run-failed:joiner-E2-1');
    assert.deepEqual(n?.to, { ops: true });
    assert.equal(n?.vars.errorType, 'DirectoryConstraint');
    assert.equal(n?.language, undefined, 'ops notices in the ops mailbox language');
  });

  it('pending notices are carried until confirmed, each key once', () => {
    const state = initialState('E1');
    const n = { key: 'k1', template: 'run-failed', to: { ops: true as const }, vars: {} };
    assert.equal(notePending(state, n), true);
    assert.equal(notePending(state, n), false);
    noteSent(state, 'k1');
    assert.deepEqual(state.notices?.pending, []);
  });
});

describe('ops notices', () => {
  it('licence wait: over the limit from its start, one key per wait', () => {
    const since = new Date(T0).toISOString();
    assert.equal(licenceWaitOverLimit(since, 48 * 3600_000, T0 + 47 * 3600_000), false);
    assert.equal(licenceWaitOverLimit(since, 48 * 3600_000, T0 + 48 * 3600_000), true);
    assert.equal(licenceWaitOverLimit(since, undefined, T0 + 1000 * DAY), false);
    const n = licenceWaitNotice(
      'E1',
      'joiner-E1-1',
      { since, skus: ['SPE_E3'] },
      48 * 3600_000,
      T0 + 50 * 3600_000,
    );
    assert.equal(n.key, `licence-wait:joiner-E1-1:${since}`);
    assert.deepEqual(n.vars, {
      employeeId: 'E1',
      workflowId: 'joiner-E1-1',
      skus: 'SPE_E3',
      waitingSince: since,
      hoursWaited: 50,
      limitHours: 48,
    });
  });

  it('mass-change hold and cleanup report: counts and codes, no names or accounts', () => {
    const held = massChangeHeldNotice(
      { since: '2027-03-15T10:00:00.000Z', workflowId: 'mass-change-hold' },
      { pending: 19, disables: 19, deletes: 0, roleChanges: 0, active: 20 },
    );
    assert.equal(held.key, 'mass-change-held:mass-change-hold:2027-03-15T10:00:00.000Z');
    const report: CleanupReport = {
      runAt: '2027-03-15T00:00:00.000Z',
      mode: 'report',
      managedIdentities: 10,
      counts: {
        pastRetention: 1,
        licenceOnLeaver: 2,
        orphanAccount: 0,
        ungrantedMember: 0,
        expiredReservation: 0,
      },
      done: {
        pastRetention: 0,
        licenceOnLeaver: 0,
        orphanAccount: 0,
        ungrantedMember: 0,
        expiredReservation: 0,
      },
      licences: { SPE_E3: 2 },
      monthlySaving: 72,
      findings: [
        { kind: 'pastRetention', employeeId: 'E7', account: 'matti.virtanen', deleteAt: 'x' },
        { kind: 'licenceOnLeaver', employeeId: 'E8', userId: 'u', skus: ['SPE_E3'], why: 'left' },
        { kind: 'licenceOnLeaver', employeeId: 'E9', userId: 'u', skus: ['SPE_E3'], why: 'left' },
      ],
    };
    const n = cleanupReportNotice(report, 'leaver-cleanup-1');
    assert.equal(n.key, 'cleanup-report:leaver-cleanup-1:2027-03-15T00:00:00.000Z');
    assert.equal(n.vars.findings, 3);
    assert.equal(n.vars.found_licenceOnLeaver, 2);
    assert.equal(n.vars.licences, 'SPE_E3 2');
    assert.doesNotMatch(JSON.stringify(n), /matti|E7|E8/, 'no accounts or ids of findings');
  });
});

describe('every notice built here renders from config/notices.yaml', () => {
  const catalogue = parseNoticeCatalogue(
    fs.readFileSync(path.join(__dirname, '../../config/notices.yaml'), 'utf8'),
  );
  const record = nurse({ endDate: '2027-04-30' });
  const report: CleanupReport = {
    runAt: '2027-03-15T00:00:00.000Z',
    mode: 'report',
    managedIdentities: 0,
    counts: {
      pastRetention: 0,
      licenceOnLeaver: 0,
      orphanAccount: 0,
      ungrantedMember: 0,
      expiredReservation: 0,
    },
    done: {
      pastRetention: 0,
      licenceOnLeaver: 0,
      orphanAccount: 0,
      ungrantedMember: 0,
      expiredReservation: 0,
    },
    licences: {},
    monthlySaving: 0,
    findings: [],
  };
  const notices = [
    leaverReminderNotice(record, '2027-04-30', T0),
    accessEndedNotice(record, '2027-04-30', new Date(T0).toISOString(), 'leaver-E1-3'),
    runFailedNotice('E1', { workflowId: 'joiner-E1-1', kind: 'joiner' }, 'DirectoryConstraint'),
    accessRetryingNotice('E1', { workflowId: 'leaver-E1-2', kind: 'leaver' }, { at: 'x', reason: 'y' }, true),
    licenceWaitNotice(
      'E1',
      'joiner-E1-1',
      { since: new Date(T0).toISOString(), skus: ['SPE_E3'] },
      HOUR_MS,
      T0,
    ),
    massChangeHeldNotice(
      { since: new Date(T0).toISOString(), workflowId: 'mass-change-hold' },
      { pending: 1, disables: 1, deletes: 0, roleChanges: 0, active: 5 },
    ),
    cleanupReportNotice(report, 'leaver-cleanup-1'),
  ];

  it('one notice per template, each in fi, sv and en with every variable given', () => {
    assert.deepEqual(notices.map((n) => n.template).sort(), [...noticeTemplates].sort());
    for (const n of notices) {
      for (const language of ['fi', 'sv', 'en'] as const) {
        // The activity adds displayName from the directory (never in history).
        const text = renderNotice(catalogue, {
          template: n.template,
          language,
          vars: { ...n.vars, displayName: 'N N' },
        });
        assert.equal(text.language, language, n.template);
        assert.doesNotMatch(
          text.subject + text.body,
          /\{[a-zA-Z]+\}/,
          `${n.template} ${language}: all filled`,
        );
      }
    }
  });
});
