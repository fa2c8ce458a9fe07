import { helsinkiDate, scheduledEndDate } from './dates';
import {
  accessEndedNotice,
  accessRetryingNotice,
  leaverReminderNotice,
  runFailedNotice,
  type NoticeRequest,
} from './notice-events';
import type { PersonState, RetryDue, RunRef } from './person-state';

// What the person workflow tells people, decided from its state (pure; the workflow sends what
// these return through `sendNotice`, behind patched('notices')). See docs/notifications.md.

export interface PersonNotices {
  /** The end date the manager was reminded of; a moved end date is reminded of again. */
  reminded?: string;
  /**
   * Notices handed to `sendNotice` and not yet confirmed: a run after continue-as-new sends them
   * again (same key, so the ledger sends each once).
   */
  pending?: NoticeRequest[];
}

/** At most this many unconfirmed notices are carried (the oldest go first). */
export const MAX_PENDING_NOTICES = 20;

/**
 * The manager's reminder of a leaver's last working day, if one is still to be sent: the last
 * completed run's schedule names the instant (`remindAt`, the policy's days before the day), for
 * the end date on the record. None while held, retrying, or once access has ended.
 */
export function leaverReminderDue(
  state: PersonState,
): { at: number; endAt: number; endDate: string } | undefined {
  if (state.hold || state.retry) return undefined;
  if (state.phase !== 'prehire' && state.phase !== 'active') return undefined;
  const s = state.schedule;
  const endDate = state.record && scheduledEndDate(state.record);
  if (!s?.remindAt || !s.endAt || !endDate || state.notices?.reminded === endDate) return undefined;
  const at = Date.parse(s.remindAt);
  const endAt = Date.parse(s.endAt);
  if (!Number.isFinite(at) || !Number.isFinite(endAt)) return undefined;
  return { at, endAt, endDate };
}

/**
 * The notices due now when the person is idle, marked in the state as sent: the leaver reminder
 * once its instant has come and the last day has not ended (an end date entered inside the window
 * is reminded of at once, once).
 */
export function takeDueNotices(state: PersonState, now: number): NoticeRequest[] {
  const reminder = leaverReminderDue(state);
  if (!reminder || now < reminder.at || now >= reminder.endAt) return [];
  (state.notices ??= {}).reminded = reminder.endDate;
  return [leaverReminderNotice(state.record!, reminder.endDate, now)];
}

/** What the state held before a run's result was applied (for what changed). */
export interface BeforeRun {
  disabledAt?: string;
  retry?: RetryDue;
}

export const beforeRun = (state: PersonState): BeforeRun => ({
  ...(state.disabledAt ? { disabledAt: state.disabledAt } : {}),
  ...(state.retry ? { retry: { ...state.retry } } : {}),
});

/**
 * The notices a finished or failed run calls for (after onRunFinished / onRunFailed):
 * - access newly ended (the account disabled by this run): the manager's confirmation;
 * - an end of access that now retries with backoff: ops, once per retry episode (its first run);
 * - any other failed run (waits for a corrected record or `tunnus retry`): ops, once per run.
 */
export function noticesAfterRun(state: PersonState, ref: RunRef, before: BeforeRun): NoticeRequest[] {
  const notices: NoticeRequest[] = [];
  if (state.record && state.disabledAt && !before.disabledAt && state.phase === 'left') {
    const endDate = scheduledEndDate(state.record) ?? helsinkiDate(new Date(state.disabledAt));
    notices.push(accessEndedNotice(state.record, endDate, state.disabledAt, ref.workflowId));
  }
  const retry = state.retry;
  // retryLater starts every episode at attempt 1 (a clean run ends it).
  if (retry?.attempt === 1) {
    notices.push(accessRetryingNotice(state.employeeId, ref, retry, !!state.disabledAt));
  } else if (ref.outcome === 'failed' && !retry) {
    notices.push(runFailedNotice(state.employeeId, ref, state.lastError?.type ?? 'Unknown'));
  }
  return notices;
}

/** Remembers a notice as handed over (until confirmed); a key already pending is not added twice. */
export function notePending(state: PersonState, notice: NoticeRequest): boolean {
  const pending = ((state.notices ??= {}).pending ??= []);
  if (pending.some((p) => p.key === notice.key)) return false;
  pending.push(notice);
  if (pending.length > MAX_PENDING_NOTICES) pending.splice(0, pending.length - MAX_PENDING_NOTICES);
  return true;
}

/** The notice was sent (or had been): no longer carried. */
export function noteSent(state: PersonState, key: string): void {
  const pending = state.notices?.pending;
  if (!pending) return;
  const i = pending.findIndex((p) => p.key === key);
  if (i >= 0) pending.splice(i, 1);
}
