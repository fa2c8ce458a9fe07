import type { IdentityRecord } from './identity';
import { isManagedGroup } from './managed-groups';
import {
  entitlementsFor,
  fillGroupTemplate,
  managedOus,
  managedSkus,
  type Policy,
  type RoleRule,
} from './policy';
import {
  evaluateRule,
  type HrAttribute,
  type Reason,
  type ReasonAttribute,
  type RuleEvaluation,
} from './role-rules';
import { addDays, helsinkiDate } from './dates';
import { phaseAt, scheduleFor, type Phase } from './plan';
import type { HrRecord } from './record';

// "Why does this person have this?" — every group, licence and OU a person holds, with the role
// rule and the HR attributes that grant it, and what they hold that no rule grants. Pure: the CLI
// reads AD and the cloud and passes what it found.

export type { HrAttribute, Reason, ReasonAttribute } from './role-rules';
/** A role rule that grants an item, and the HR attributes that make it match (none: everyone). */
export interface Grant {
  role: string;
  because: Reason[];
}

/** A role rule that names an item but does not apply to the person, and the conditions that fail. */
export interface Miss {
  role: string;
  unmet: Reason[];
}

export type RoleExplanation = RuleEvaluation;

/**
 * granted: held and a rule grants it. missing: a rule grants it, not held (yet). hand-granted:
 * managed by Tunnus, held, no rule grants it. unmanaged: held, outside what Tunnus manages.
 * unknown: granted, but what the person holds could not be read.
 */
export type ItemStatus = 'granted' | 'missing' | 'hand-granted' | 'unmanaged' | 'unknown';

export interface ItemExplanation {
  name: string;
  status: ItemStatus;
  grantedBy: Grant[];
  /** For items not granted: rules that name it and why they do not apply. */
  otherRules: Miss[];
  note?: string;
}

export interface LicenceExplanation extends ItemExplanation {
  /** Service plans the granting rule switches off. */
  disabledPlans?: string[];
}

/** disabled: a leaver's account, where it belongs until deletion. */
export type OuStatus = 'granted' | 'default' | 'differs' | 'disabled' | 'unmanaged' | 'no-account';

export interface OuExplanation {
  /** Relative to the base DN, as the policy writes OUs; null without an account. */
  actual: string | null;
  expected: string;
  status: OuStatus;
  /** The first matching rule that names an OU (the one that decides it); absent: the default OU. */
  grantedBy?: Grant;
  note?: string;
}

export interface Explanation {
  employeeId: string;
  attributes: Record<HrAttribute, string>;
  /** Where the person is in their lifecycle at `asOf`; after the end date no rule grants anything. */
  phase: Phase;
  dates: { start: string; end?: string; deleteOn?: string };
  hasAccount: boolean;
  /** Every role of the policy, matching or not, in policy order. */
  roles: RoleExplanation[];
  ou: OuExplanation;
  groups: ItemExplanation[];
  licences: LicenceExplanation[];
  /** False when the cloud could not be read: held licences are then unknown. */
  licencesRead: boolean;
  counts: Record<ItemStatus, number>;
  /** One line per item held that no rule grants, or granted and not held: what ops look at first. */
  flags: string[];
}

export interface ExplainInput {
  record: HrRecord;
  policy: Policy;
  actual: {
    /** OU of the account as a DN (full or relative to baseDn); null when there is no account. */
    ou: string | null;
    /** Names (sAMAccountName) of the AD groups the account is a direct member of. */
    groups: string[];
    /** SKU part numbers assigned to the cloud user; null when not read. */
    licences: string[] | null;
  };
  /** Stripped from the actual OU so it compares with the policy's relative paths. */
  baseDn?: string;
  /** The instant to explain at (now): dates decide whether the rules grant anything. */
  asOf: Date;
}

const ATTRIBUTE_LABEL: Record<ReasonAttribute, string> = {
  jobCode: 'jobCode',
  orgUnit: 'orgUnit prefix',
  employmentType: 'employmentType',
  source: 'source',
  educationRole: 'education role',
  schoolCode: 'school',
  grade: 'grade',
};

/** Each condition of the rule, met or not, for this person (the plan's own evaluator). */
export function explainRule(rule: RoleRule, record: IdentityRecord): RoleExplanation {
  return evaluateRule(rule, record);
}

/** "jobCode SH01, orgUnit prefix SOTE (SOTE-110)"; a rule without conditions applies to everyone. */
export function describeReasons(reasons: Reason[]): string {
  if (reasons.length === 0) return 'everyone (the rule has no conditions)';
  return reasons
    .map((r) =>
      r.attribute === 'orgUnit' && r.prefix !== undefined
        ? `${ATTRIBUTE_LABEL.orgUnit} ${r.prefix} (${r.value})`
        : `${ATTRIBUTE_LABEL[r.attribute]} ${r.value}`,
    )
    .join(', ');
}

/** "jobCode SH01 is not one of LK01"; what would have to change for the rule to apply. */
export function describeUnmet(reasons: Reason[]): string {
  return reasons
    .map((r) =>
      r.attribute === 'orgUnit'
        ? `orgUnit ${r.value} starts with none of ${r.accepts.join(', ')}`
        : `${r.attribute} ${r.value} is not one of ${r.accepts.join(', ')}`,
    )
    .join('; ');
}

const STATUS_ORDER: ItemStatus[] = ['granted', 'missing', 'unknown', 'hand-granted', 'unmanaged'];

export function explain(input: ExplainInput): Explanation {
  const { record, policy, actual } = input;
  const rules = policy.roles.map((rule) => ({ rule, why: explainRule(rule, record) }));
  const matching = rules.filter((r) => r.why.matches);
  const grant = (r: (typeof rules)[number]): Grant => ({ role: r.rule.name, because: r.why.because });
  const miss = (r: (typeof rules)[number]): Miss => ({ role: r.rule.name, unmet: r.why.unmet });
  const entitlements = entitlementsFor(policy, record);
  const hasAccount = actual.ou !== null;
  const schedule = scheduleFor(record, policy);
  const phase = phaseAt(schedule, input.asOf);
  // After the end date the rules grant nothing: the leaver run takes the managed groups and
  // licences away and moves the account to the disabled OU, where it waits for deletion.
  const left = phase === 'left' || phase === 'deleted';
  const granting = left ? [] : matching;
  const dates = {
    start: record.startDate,
    ...(record.endDate
      ? { end: record.endDate, deleteOn: addDays(record.endDate, entitlements.retentionDays) }
      : {}),
  };
  const leftNote = (what: string) => `the person left on ${record.endDate}: the leaver run removes ${what}`;
  const noAccountNote =
    phase === 'pending'
      ? `no AD account yet: it is created on ${helsinkiDate(new Date(schedule.provisionAt))}`
      : 'no AD account yet';

  // Groups: Tunnus adds what matching rules grant and removes managed groups they do not
  // (named or made from a template: the run's own decision, src/domain/managed-groups.ts).
  const heldGroups = new Set(actual.groups);
  const groupNames = new Set([...(left ? [] : entitlements.groups), ...heldGroups]);
  const groups = [...groupNames].map((name): ItemExplanation => {
    // A rule names a group as written or through a template filled from this person's facet.
    const names = (r: (typeof rules)[number]) =>
      r.rule.groups.some((g) => g === name || fillGroupTemplate(g, record) === name);
    const grantedBy = granting.filter(names).map(grant);
    const otherRules = rules.filter((r) => !r.why.matches && names(r)).map(miss);
    const held = heldGroups.has(name);
    if (grantedBy.length > 0) {
      return held
        ? { name, status: 'granted', grantedBy, otherRules: [] }
        : {
            name,
            status: 'missing',
            grantedBy,
            otherRules: [],
            note: hasAccount ? 'not a member yet; the next run adds it' : noAccountNote,
          };
    }
    if (isManagedGroup(policy, name)) {
      return {
        name,
        status: 'hand-granted',
        grantedBy,
        otherRules,
        note: left
          ? leftNote('managed groups')
          : 'managed by Tunnus but no rule grants it to this person; the next run removes it',
      };
    }
    return { name, status: 'unmanaged', grantedBy, otherRules, note: 'not managed by Tunnus' };
  });

  // Licences: assigned (and managed ones removed) only when a matching rule turns the cloud on,
  // as the joiner does; otherwise Tunnus leaves the person's licences alone.
  const skus = managedSkus(policy);
  const wanted = entitlements.cloud && !left ? entitlements.licences : [];
  const heldLicences = actual.licences === null ? null : new Set(actual.licences);
  const licenceNames = new Set([...wanted.map((l) => l.sku), ...(heldLicences ?? [])]);
  const licences = [...licenceNames].map((sku): LicenceExplanation => {
    const naming = granting.filter((r) => r.rule.licences.some((l) => l.sku === sku));
    const otherRules = rules
      .filter((r) => !r.why.matches && r.rule.licences.some((l) => l.sku === sku))
      .map(miss);
    const want = wanted.find((l) => l.sku === sku);
    if (want) {
      const grantedBy = naming.map(grant);
      const plans = want.disabledPlans.length > 0 ? { disabledPlans: want.disabledPlans } : {};
      if (heldLicences === null) {
        return { name: sku, status: 'unknown', grantedBy, otherRules: [], ...plans, note: 'cloud not read' };
      }
      return heldLicences.has(sku)
        ? { name: sku, status: 'granted', grantedBy, otherRules: [], ...plans }
        : {
            name: sku,
            status: 'missing',
            grantedBy,
            otherRules: [],
            ...plans,
            note: 'not assigned yet (a run may be waiting for a free seat)',
          };
    }
    if (skus.includes(sku) && left) {
      return {
        name: sku,
        status: 'hand-granted',
        grantedBy: [],
        otherRules,
        note: leftNote('managed licences'),
      };
    }
    if (skus.includes(sku)) {
      const fate = entitlements.cloud
        ? 'the next run removes it'
        : 'Tunnus leaves it: no matching role turns the cloud on';
      const why =
        naming.length > 0
          ? `role ${naming.map((r) => r.rule.name).join(', ')} names it, but no matching role turns the cloud on`
          : 'managed by Tunnus but no rule grants it to this person';
      return { name: sku, status: 'hand-granted', grantedBy: [], otherRules, note: `${why}; ${fate}` };
    }
    return { name: sku, status: 'unmanaged', grantedBy: [], otherRules, note: 'not managed by Tunnus' };
  });

  const ou = explainOu(input, left ? [] : rules, left ? policy.ous.disabled : entitlements.ou, phase, dates);
  const byStatus = (a: ItemExplanation, b: ItemExplanation) =>
    STATUS_ORDER.indexOf(a.status) - STATUS_ORDER.indexOf(b.status) || a.name.localeCompare(b.name);
  groups.sort(byStatus);
  licences.sort(byStatus);

  const counts = Object.fromEntries(STATUS_ORDER.map((s) => [s, 0])) as Record<ItemStatus, number>;
  for (const item of [...groups, ...licences]) counts[item.status]++;
  const flags: string[] = [];
  for (const [kind, items] of [
    ['group', groups],
    ['licence', licences],
  ] as const) {
    for (const item of items) {
      if (item.status === 'granted' || item.status === 'unknown') continue;
      const what =
        item.status === 'unmanaged' ? item.note : `${item.status}${item.note ? ` — ${item.note}` : ''}`;
      flags.push(`${kind} ${item.name}: ${what}`);
    }
  }
  if (ou.status === 'differs' || ou.status === 'unmanaged') flags.push(`OU ${ou.actual}: ${ou.note}`);

  return {
    employeeId: record.employeeId,
    attributes: { jobCode: record.jobCode, orgUnit: record.orgUnit, employmentType: record.employmentType },
    phase,
    dates,
    hasAccount,
    roles: rules.map((r) => r.why),
    ou,
    groups,
    licences,
    licencesRead: actual.licences !== null,
    counts,
    flags,
  };
}

function explainOu(
  input: ExplainInput,
  rules: { rule: RoleRule; why: RoleExplanation }[],
  expected: string,
  phase: Phase,
  dates: Explanation['dates'],
): OuExplanation {
  const { policy } = input;
  const left = phase === 'left' || phase === 'deleted';
  const deciding = rules.find((r) => r.why.matches && r.rule.ou);
  const grantedBy = deciding
    ? { grantedBy: { role: deciding.rule.name, because: deciding.why.because } }
    : {};
  if (input.actual.ou === null) {
    const note = phase === 'deleted' ? 'deleted after the retention period' : 'no AD account yet';
    return { actual: null, expected, status: 'no-account', ...grantedBy, note };
  }
  const actual = relativeDn(input.actual.ou, input.baseDn);
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  if (same(actual, expected)) {
    if (left) {
      const note = `the person left on ${dates.end}; the account waits here until it is deleted on ${dates.deleteOn}`;
      return { actual, expected, status: 'disabled', note };
    }
    return deciding
      ? { actual, expected, status: 'granted', ...grantedBy }
      : { actual, expected, status: 'default', note: 'the default OU: no matching role names an OU' };
  }
  const inManaged = managedOus(policy).some((o) => same(o, actual));
  return {
    actual,
    expected,
    status: inManaged ? 'differs' : 'unmanaged',
    ...grantedBy,
    note: `${inManaged ? 'not the OU the policy gives' : 'outside the OUs Tunnus manages'}; the next run moves it to ${expected}`,
  };
}

/** "OU=Care,OU=Staff,OU=Tunnus,DC=kerava,DC=test" → "OU=Care,OU=Staff,OU=Tunnus" (DNs compare case-insensitively). */
function relativeDn(dn: string, baseDn: string | undefined): string {
  if (!baseDn) return dn;
  const suffix = `,${baseDn}`;
  return dn.toLowerCase().endsWith(suffix.toLowerCase()) ? dn.slice(0, dn.length - suffix.length) : dn;
}
