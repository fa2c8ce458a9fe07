import type { Policy } from './policy';

// The policy's part of validation at the door (API JSON, HR CSV, education CSV): what a date may
// be, which end dates mean "no end", whether names in other scripts are transliterated, and
// whether the sender may link teaching staff to HR identities. Plain data, so parsing stays pure.

export interface IntakeRules {
  /** Dates before this are refused (a typo in the year, or a placeholder like 0001-01-01). */
  earliestDate: string;
  /** Dates after this are refused, unless an end date is a sentinel. */
  latestDate: string;
  /** End dates that mean "no end" (9999-12-31): the record then has no endDate. */
  endDateSentinels: readonly string[];
  /**
   * Today (YYYY-MM-DD, Helsinki), when the caller knows it: start and effective dates more than
   * startAtMostYearsAhead years after it are refused as likely year typos (2052 for 2025).
   */
  today?: string;
  startAtMostYearsAhead: number;
  /** Names in scripts other than Latin: refused (false) or transliterated by the naming rule. */
  transliterateNonLatin: boolean;
  /**
   * Whether education rows carrying hr_employee_id may be accepted from this sender: such a row
   * gives an HR identity a teacher facet and its groups (policy intake.trustedStaffSources).
   */
  trustStaffRows: boolean;
}

export const defaultIntakeRules: IntakeRules = Object.freeze({
  earliestDate: '1900-01-01',
  latestDate: '2100-12-31',
  endDateSentinels: Object.freeze(['9999-12-31']),
  startAtMostYearsAhead: 5,
  transliterateNonLatin: false,
  trustStaffRows: true,
});

/**
 * Who delivers the rows: an operator importing on the host (`tunnus education import`), or an API
 * client with its name and scopes.
 */
export type IntakeSender =
  { kind: 'operator' } | { kind: 'api'; client: string; scopes: ReadonlySet<string> };

/**
 * Whether the policy trusts the sender to link teaching staff: `education` trusts operator
 * imports of the education snapshot; `api:{client}` one API client by name. A client that holds
 * hr:write is trusted too: it may already change any HR record, which is more than a facet.
 */
export function trustsStaffRows(trusted: readonly string[], sender: IntakeSender): boolean {
  if (sender.kind === 'operator') return trusted.includes('education');
  return sender.scopes.has('hr:write') || trusted.includes(`api:${sender.client}`);
}

/** The rules a policy sets, for one sender, as of `today` (omit it for no look-ahead check). */
export function intakeRulesOf(policy: Policy, sender: IntakeSender, today?: string): IntakeRules {
  const { dates, endDateSentinels, trustedStaffSources } = policy.intake;
  return {
    earliestDate: dates.earliest,
    latestDate: dates.latest,
    endDateSentinels,
    startAtMostYearsAhead: dates.startAtMostYearsAhead,
    transliterateNonLatin: policy.naming.transliterateNonLatin,
    trustStaffRows: trustsStaffRows(trustedStaffSources, sender),
    ...(today !== undefined ? { today } : {}),
  };
}
