import type { CleanupReport } from './cleanup-report';
import { daysBetween, helsinkiDate } from './dates';
import type { IdentityRecord } from './identity';
import type { NoticeRecipient, NoticeRequest } from './notice-recipients';
import type { NoticeLanguage } from './notices';

// The events Tunnus tells people about (docs/notifications.md), as pure builders of the notice
// requests the `sendNotice` activity (contract A, src/activities/notify.ts) sends once per `key`.
// Payloads carry ids, codes, dates and counts only: the activity resolves names and addresses, so
// no personal data enters workflow history. Each key names one event, so a retried activity, a
// replayed workflow or a restarted worker sends nothing twice.

export type { NoticeLanguage } from './notices';
export type { NoticeRecipient, NoticeRequest } from './notice-recipients';

/** Template ids of the notices built here (each has fi, sv and en text in config/notices.yaml). */
export const noticeTemplates = [
  'leaver-reminder',
  'leaver-access-ended',
  'run-failed',
  'end-of-access-retrying',
  'licence-wait',
  'mass-change-held',
  'cleanup-report',
] as const;
export type NoticeTemplate = (typeof noticeTemplates)[number];

const OPS: NoticeRecipient = { ops: true };

/**
 * A person's manager (managerId); without one (or without a usable address) the activity picks
 * the unit's fallback mailbox. In the record's language (else the policy's default).
 */
function managerOf(record: IdentityRecord): { to: NoticeRecipient; language?: NoticeLanguage } {
  return {
    to: { manager: record.managerId ?? null, unit: record.orgUnit },
    ...(record.language ? { language: record.language } : {}),
  };
}

/** The leaver's last working day is `reminderDays` away (or fewer: an end date entered late). */
export function leaverReminderNotice(record: IdentityRecord, endDate: string, now: number): NoticeRequest {
  return {
    key: `leaver-reminder:${record.employeeId}:${endDate}`,
    template: 'leaver-reminder',
    ...managerOf(record),
    vars: {
      employeeId: record.employeeId,
      endDate,
      daysLeft: Math.max(0, daysBetween(helsinkiDate(new Date(now)), endDate)),
    },
  };
}

/** The leaver run disabled the account: access has ended. One per person and end date. */
export function accessEndedNotice(
  record: IdentityRecord,
  endDate: string,
  disabledAt: string,
  workflowId: string,
): NoticeRequest {
  return {
    key: `leaver-access-ended:${record.employeeId}:${endDate}`,
    template: 'leaver-access-ended',
    ...managerOf(record),
    vars: {
      employeeId: record.employeeId,
      endDate,
      disabledOn: helsinkiDate(new Date(disabledAt)),
      workflowId,
    },
  };
}

/** A run failed and nothing retries it (it waits for a corrected record or an operator). */
export function runFailedNotice(
  employeeId: string,
  run: { workflowId: string; kind: string },
  errorType: string,
): NoticeRequest {
  return {
    key: `run-failed:${run.workflowId}`,
    template: 'run-failed',
    to: OPS,
    vars: {
      employeeId,
      workflowId: run.workflowId,
      kind: run.kind,
      errorType,
      retry: `tunnus retry ${employeeId}`,
    },
  };
}

/**
 * An end of access did not complete and is retried with backoff: one notice per retry episode,
 * named by the run that started it (later attempts of the same episode send nothing).
 */
export function accessRetryingNotice(
  employeeId: string,
  episode: { workflowId: string; kind: string },
  retry: { at: string; reason: string },
  disabled: boolean,
): NoticeRequest {
  return {
    key: `end-of-access-retrying:${episode.workflowId}`,
    template: 'end-of-access-retrying',
    to: OPS,
    vars: {
      employeeId,
      workflowId: episode.workflowId,
      kind: episode.kind,
      reason: retry.reason,
      nextAttemptAt: retry.at,
      accountDisabled: disabled ? 'yes' : 'no',
    },
  };
}

/** A joiner has waited longer than the policy's limit for a licence seat: once per wait. */
export function licenceWaitNotice(
  employeeId: string,
  workflowId: string,
  wait: { since: string; skus: string[] },
  limitMs: number,
  now: number,
): NoticeRequest {
  return {
    key: `licence-wait:${workflowId}:${wait.since}`,
    template: 'licence-wait',
    to: OPS,
    vars: {
      employeeId,
      workflowId,
      skus: wait.skus.join(', '),
      waitingSince: wait.since,
      hoursWaited: Math.floor((now - Date.parse(wait.since)) / 3600_000),
      limitHours: Math.round((limitMs / 3600_000) * 100) / 100,
    },
  };
}

/** Whether a licence wait that began at `since` is over the limit now. */
export const licenceWaitOverLimit = (since: string, limitMs: number | undefined, now: number): boolean =>
  limitMs !== undefined && now - Date.parse(since) >= limitMs;

/** The mass-change guard holds a set of changes for approval: once per held set. */
export function massChangeHeldNotice(
  set: { since: string; workflowId: string },
  counts: { pending: number; disables: number; deletes: number; roleChanges: number; active: number },
): NoticeRequest {
  return {
    key: `mass-change-held:${set.workflowId}:${set.since}`,
    template: 'mass-change-held',
    to: OPS,
    vars: {
      workflowId: set.workflowId,
      heldSince: set.since,
      pendingIdentities: counts.pending,
      disables: counts.disables,
      deletes: counts.deletes,
      roleChanges: counts.roleChanges,
      activeIdentities: counts.active,
      approve: `tunnus approve ${set.workflowId}`,
    },
  };
}

/** The daily cleanup's report: counts and codes only (no names, no accounts). One per run. */
export function cleanupReportNotice(report: CleanupReport, workflowId: string): NoticeRequest {
  const vars: Record<string, string | number> = {
    workflowId,
    runAt: report.runAt,
    mode: report.mode,
    managedIdentities: report.managedIdentities,
    findings: report.findings.length,
    skipped: report.skipped?.length ?? 0,
    monthlySaving: report.monthlySaving,
    // A template variable is never empty (the renderer refuses a missing one).
    licences:
      Object.entries(report.licences)
        .map(([sku, n]) => `${sku} ${n}`)
        .join(', ') || 'none',
  };
  for (const [kind, n] of Object.entries(report.counts)) vars[`found_${kind}`] = n;
  for (const [kind, n] of Object.entries(report.done)) vars[`done_${kind}`] = n;
  return { key: `cleanup-report:${workflowId}:${report.runAt}`, template: 'cleanup-report', to: OPS, vars };
}
