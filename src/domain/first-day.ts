import type { IdentityRecord } from './identity';
import type { NoticeRecipient, NoticeRequest } from './notice-recipients';

// The first day's notice to the manager, built in the workflow (this module imports types only,
// so the workflow bundle stays small and deterministic). The payload is ids and dates: the notice
// activity reads the username, e-mail address and name from the directory by employeeId.

/**
 * The first day's rule, for the run (converge) and the plan alike: a run whose plan is active
 * and which enables the account hands over the credential and tells the manager. (The run also
 * requires a joiner or rehire; a plan cannot tell a rehire from a lifted termination by the
 * directory alone, so it reports the handover for both.)
 */
export function firstDayDue(phase: string, enablesAccount: boolean): boolean {
  return phase === 'active' && enablesAccount;
}

/** One account-ready notice per person and start date (a rehire has a new start date). */
export const readyNoticeKey = (employeeId: string, startDate: string) => `ready:${employeeId}:${startDate}`;

/** The manager when the record names one, the school's contact for a pupil, else the unit. */
export function readyNoticeRecipient(record: IdentityRecord): NoticeRecipient {
  if (record.managerId) return { manager: record.managerId, unit: record.orgUnit };
  if (record.education?.schoolCode) return { school: record.education.schoolCode, unit: record.orgUnit };
  return { manager: null, unit: record.orgUnit };
}

/** "The account is ready": username, e-mail address, start date, and that the credential follows. */
export function accountReadyNotice(record: IdentityRecord): NoticeRequest {
  return {
    key: readyNoticeKey(record.employeeId, record.startDate),
    template: 'account-ready',
    to: readyNoticeRecipient(record),
    ...(record.language ? { language: record.language } : {}),
    vars: { employeeId: record.employeeId, startDate: record.startDate },
  };
}
