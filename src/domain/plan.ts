import { managedAttributeKeys, type DirectoryAccount, type ManagedAttributes } from './account';
import {
  addDays,
  daysBetween,
  helsinkiDate,
  isRealDate,
  retentionEndsAt,
  scheduledEndDate,
  startOfDay,
  zonedInstant,
} from './dates';
import { managedGroupOf } from './managed-groups';
import { baseLocalPart, displayNameFor, givenNameFor, knownBaseLocalParts } from './naming';
import { entitlementsFor, type Entitlements, type Policy } from './policy';
import { sourcesOf, type IdentityRecord, type RecordSource } from './identity';
import type { Step } from './steps';

export type { Step } from './steps';

// Plan = desired state (record + policy, as of an instant) vs actual state (the directory)
// → an ordered list of steps. Pure: the plan activity gathers the actual state and calls this;
// a simulation prints the same steps without applying them.

/** What the directory should hold for one person at one instant. */
export interface DesiredAccount {
  employeeId: string;
  /** Whether an account should exist at all (not before it is due, not after retention). */
  exists: boolean;
  /** Whether an existing account should be kept even if none exists (left: never create one). */
  createIfMissing: boolean;
  /** The base of the mail local part the current name gives (a surname change moves it). */
  mailBase: string;
  /**
   * Every base an existing address may carry for this name without that being a name change:
   * this rule's and the earlier rule's (which dropped letters such as ł, đ, ŋ).
   */
  knownMailBases: string[];
  /** Full DN of the OU the account belongs in. */
  ouDn: string;
  attributes: ManagedAttributes;
  /** Group names (sAMAccountName) the policy grants. */
  groups: string[];
  enabled: boolean;
}

/** The dates that drive a person's lifecycle, as ISO instants. */
export interface Schedule {
  /** When the account should exist (start date − preHireDays, Helsinki midnight). */
  provisionAt: string;
  /** When the account should be enabled (start date, Helsinki midnight). */
  startAt: string;
  /** When a change HR dated ahead of time takes effect (Helsinki midnight), if it is dated. */
  effectiveAt?: string;
  /** When access ends (the last working day at the policy's time), if HR gave an end date. */
  endAt?: string;
  /**
   * When the manager is reminded of the last working day (Helsinki midnight,
   * `notifications.leaverReminderDays` before it); absent without an end date or with 0 days.
   */
  remindAt?: string;
  /**
   * When the leaver's account and cloud user are deleted: the role's retention counted from the
   * actual disable (PlanFacts.disabledAt). Absent until the account has been disabled, so no
   * record can take a person from active to deleted in one run.
   */
  deleteAt?: string;
}

/** What the person workflow knows beyond the record, and the plan needs. */
export interface PlanFacts {
  /** When the end of access actually disabled the account (the leaver's first step). */
  disabledAt?: string;
  /** An end date further in the past than `lifecycle.lateEndDateMaxDays` an operator confirmed. */
  confirmedEndDate?: string;
  /**
   * An operator ended access at this instant (`tunnus terminate`): access ends then, whatever the
   * record says, until the termination is lifted (src/domain/person-state.ts terminate).
   */
  terminatedAt?: string;
}

/** Why a plan applies nothing and waits for a person instead (visible in state and the Web UI). */
export type PlanHold =
  | { kind: 'lateEndDate'; endDate: string; daysPast: number; reason: string }
  | { kind: 'deleteBlocked'; reason: string };

/**
 * Where a person is in their lifecycle at an instant: before the account is due (pending), an
 * account not yet usable (prehire), working (active), gone but kept (left), past retention (deleted).
 */
export type Phase = 'pending' | 'prehire' | 'active' | 'left' | 'deleted';

export function phaseAt(schedule: Schedule, asOf: Date): Phase {
  const t = asOf.getTime();
  const reached = (iso?: string) => iso !== undefined && t >= Date.parse(iso);
  if (reached(schedule.deleteAt)) return 'deleted';
  if (reached(schedule.endAt)) return 'left';
  if (reached(schedule.startAt)) return 'active';
  if (reached(schedule.provisionAt)) return 'prehire';
  return 'pending';
}

/**
 * What the plan's one search learnt about the person's candidate names (issue 12): collision
 * numbers, not names, so history holds no more than the plan's own steps already say.
 */
export interface NameHint {
  /** The base local part the numbers belong to (naming rule 3). */
  base: string;
  /** The search checked the candidates numbered 1..checked. */
  checked: number;
  /** Of those, the numbers another object holds (an account, a contact, a name reservation). */
  taken: number[];
}

export interface Plan {
  employeeId: string;
  asOf: string;
  phase: Phase;
  schedule: Schedule;
  entitlements: Entitlements;
  /** Ordered steps; empty when the directory already matches. */
  steps: Step[];
  /** What follows the directory steps (cloud, licences, mailbox, telephony) and how waits pace. */
  services: ServicePlan;
  /** Whether the account exists and is enabled now (null: no account), as the plan read it. */
  accountEnabled: boolean | null;
  /**
   * Where the account is, as the plan read it: the directory steps write to this DN instead of
   * searching by employeeID again (each falls back to the search when the DN has moved).
   */
  accountDn?: string;
  /**
   * What the plan's one directory search learnt about free names (for a createAccount step):
   * ensureAccount uses it on its first try instead of searching again. Opaque to workflows.
   */
  nameHint?: NameHint;
  /** A dated change (effectiveDate) waits until this instant; never past the end of access. */
  changeAt?: string;
  /** Set when the plan applies nothing and waits for a person (steps are then empty). */
  hold?: PlanHold;
}

export interface ServicePlan {
  cloud: boolean;
  /** Why the person is or is not exported to the cloud (role names; no personal data). */
  cloudReason: string;
  mailbox: boolean;
  licences: { sku: string; disabledPlans: string[] }[];
  telephony: boolean;
  licenceRecheckMs: number;
  provisioningRecheckMs: number;
  /** A licence wait longer than this is reported to ops once (`notifications.licenceWaitLimitHours`). */
  licenceWaitLimitMs?: number;
}

export function servicesFor(
  ent: Entitlements,
  policy: Policy,
  sources: RecordSource[] = ['hr'],
): ServicePlan {
  const phoneSources = policy.telephony.sources ?? ['hr'];
  return {
    cloud: ent.cloud,
    cloudReason: ent.cloud
      ? `exported by role ${ent.cloudRoles.join(', ')}`
      : ent.roles.length > 0
        ? `not exported: no matching role (${ent.roles.join(', ')}) sets cloud`
        : 'not exported: no role matches',
    mailbox: ent.cloud && ent.mailbox,
    licences: ent.cloud ? ent.licences : [],
    telephony: policy.telephony.enabled && sources.some((s) => phoneSources.includes(s)),
    licenceRecheckMs: policy.cloud.licenceRecheckSeconds * 1000,
    provisioningRecheckMs: policy.cloud.provisioningRecheckSeconds * 1000,
    licenceWaitLimitMs: Math.round(policy.notifications.licenceWaitLimitHours * 3600_000),
  };
}

export function scheduleFor(record: IdentityRecord, policy: Policy, facts: PlanFacts = {}): Schedule {
  const endsAt = policy.lifecycle.lastDayEndsAt;
  const retention = entitlementsFor(policy, record).retentionDays;
  const reminderDays = policy.notifications.leaverReminderDays;
  // 9999-12-31 and other far-future end dates mean no end (and never reach calendar arithmetic).
  const endDate = scheduledEndDate(record);
  const hrEndAt = endDate ? zonedInstant(endDate, endsAt).toISOString() : undefined;
  // A termination ends access at its instant, or HR's end if that came first.
  const endAt =
    facts.terminatedAt && !(hrEndAt && Date.parse(hrEndAt) <= Date.parse(facts.terminatedAt))
      ? facts.terminatedAt
      : hrEndAt;
  // A far-future change date stays far off (its wait is re-armed yearly); only a date that is no
  // calendar day at all is ignored.
  const effective =
    record.effectiveDate && isRealDate(record.effectiveDate) ? record.effectiveDate : undefined;
  return {
    provisionAt: startOfDay(addDays(record.startDate, -policy.lifecycle.preHireDays)).toISOString(),
    startAt: startOfDay(record.startDate).toISOString(),
    ...(effective ? { effectiveAt: startOfDay(effective).toISOString() } : {}),
    ...(endAt ? { endAt } : {}),
    ...(endDate && endAt && reminderDays > 0
      ? { remindAt: startOfDay(addDays(endDate, -reminderDays)).toISOString() }
      : {}),
    ...(endAt && facts.disabledAt ? { deleteAt: retentionEndsAt(facts.disabledAt, endAt, retention) } : {}),
  };
}

/**
 * Until when a change HR dated ahead (effectiveDate) waits: never past the end of access (an end
 * date always wins), and not at all once the end has come.
 */
export function changeWaitsUntil(schedule: Schedule, asOf: Date): string | undefined {
  const { effectiveAt, endAt } = schedule;
  if (!effectiveAt || asOf.getTime() >= Date.parse(effectiveAt)) return undefined;
  if (endAt && Date.parse(endAt) <= Date.parse(effectiveAt)) return undefined;
  return effectiveAt;
}

/**
 * Why the plan must stop for a person: an end date far in the past on an enabled account (more
 * often a typo than a late entry) unless an operator confirmed it; a deletion due on an account
 * that is enabled (someone re-enabled it: never delete a usable account).
 */
export function holdFor(
  record: IdentityRecord,
  policy: Policy,
  phase: Phase,
  facts: PlanFacts,
  account: DirectoryAccount | null,
  asOf: Date,
): PlanHold | undefined {
  if (phase === 'deleted' && account?.enabled) {
    return { kind: 'deleteBlocked', reason: 'held: retention is over but the account is enabled' };
  }
  const endDate = scheduledEndDate(record);
  // A termination is an operator's decision already: nothing to confirm.
  if (facts.terminatedAt) return undefined;
  if ((phase !== 'left' && phase !== 'deleted') || !endDate || !account?.enabled || facts.disabledAt) {
    return undefined;
  }
  const daysPast = daysBetween(endDate, helsinkiDate(asOf));
  if (daysPast <= policy.lifecycle.lateEndDateMaxDays || facts.confirmedEndDate === endDate) return undefined;
  return { kind: 'lateEndDate', endDate, daysPast, reason: `held: end date ${daysPast} days in the past` };
}

export interface DesiredContext {
  baseDn: string;
  /** DN of the manager's account when HR names one and it exists. */
  managerDn?: string;
  asOf: Date;
  facts?: PlanFacts;
}

export function desiredAccount(record: IdentityRecord, policy: Policy, ctx: DesiredContext): DesiredAccount {
  const ent = entitlementsFor(policy, record);
  const phase = phaseAt(scheduleFor(record, policy, ctx.facts), ctx.asOf);
  const left = phase === 'left' || phase === 'deleted';
  return {
    employeeId: record.employeeId,
    exists: phase !== 'deleted',
    createIfMissing: phase === 'prehire' || phase === 'active',
    mailBase: baseLocalPart(record),
    knownMailBases: knownBaseLocalParts(record),
    // A leaver's account waits in the disabled OU without any managed group until deletion.
    ouDn: `${left ? policy.ous.disabled : ent.ou},${ctx.baseDn}`,
    attributes: {
      givenName: givenNameFor(record),
      sn: record.lastName,
      displayName: displayNameFor(record),
      title: ent.title ?? record.jobTitle,
      department: record.orgUnit,
      ...(ctx.managerDn ? { manager: ctx.managerDn } : {}),
    },
    groups: left ? [] : ent.groups,
    enabled: phase === 'active',
  };
}

export interface ActualState {
  account: DirectoryAccount | null;
  /** DN → group name for every group the policy manages (others are never touched). */
  managedGroupsByDn: Map<string, string>;
  /** Which candidate names were free, when the plan's search looked (only without an account). */
  nameHint?: NameHint;
}

/** DNs compare case-insensitively in AD. */
const sameDn = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export function diff(desired: DesiredAccount, actual: ActualState): Step[] {
  const steps: Step[] = [];
  const account = actual.account;
  if (!desired.exists) return account ? [{ kind: 'deleteAccount' }] : [];
  if (!account) {
    // A leaver whose account is already gone (deleted by hand) does not get a new one.
    if (!desired.createIfMissing) return [];
    steps.push({ kind: 'createAccount', ouDn: desired.ouDn, attributes: desired.attributes });
    if (desired.groups.length > 0) steps.push({ kind: 'addToGroups', groups: desired.groups });
    if (desired.enabled) steps.push({ kind: 'enableAccount' });
    return steps;
  }
  // End of access, step one: disabling comes before every step that can fail.
  if (!desired.enabled && account.enabled) steps.push({ kind: 'disableAccount' });
  if (!sameDn(account.ou, desired.ouDn)) {
    steps.push({ kind: 'moveAccount', fromOuDn: account.ou, toOuDn: desired.ouDn });
  }
  const changed: Partial<ManagedAttributes> = {};
  const clear: (keyof ManagedAttributes)[] = [];
  for (const key of managedAttributeKeys) {
    const want = desired.attributes[key];
    const have = account[key];
    if (want === undefined) {
      // An unknown manager (no account yet) is not a reason to clear one that is set.
      if (key !== 'manager' && have !== undefined) clear.push(key);
    } else if (key === 'manager' ? !(have && sameDn(have, want)) : have !== want) {
      changed[key] = want;
    }
  }
  if (Object.keys(changed).length > 0 || clear.length > 0) {
    steps.push({ kind: 'setAttributes', attributes: changed, clear });
  }
  if (account.mail && !desired.knownMailBases.some((base) => mailHasBase(account.mail!, base))) {
    // Name change: a new primary address; the old one stays as an alias (names never change).
    steps.push({ kind: 'changePrimaryMail', mailBase: desired.mailBase });
  }
  const heldManaged = new Set(
    account.memberOf
      .map((dn) => managedGroupOf(actual.managedGroupsByDn, dn))
      .filter((n): n is string => !!n),
  );
  const wanted = new Set(desired.groups);
  const remove = [...heldManaged].filter((g) => !wanted.has(g)).sort();
  const add = [...wanted].filter((g) => !heldManaged.has(g)).sort();
  if (remove.length > 0) steps.push({ kind: 'removeFromGroups', groups: remove });
  if (add.length > 0) steps.push({ kind: 'addToGroups', groups: add });
  if (desired.enabled && !account.enabled) steps.push({ kind: 'enableAccount' });
  return steps;
}

/** The whole plan for one person: what to do now, and the dates that will change it. */
export function planFor(
  record: IdentityRecord,
  policy: Policy,
  ctx: DesiredContext,
  actual: ActualState,
): Plan {
  const entitlements = entitlementsFor(policy, record);
  const facts = ctx.facts ?? {};
  const schedule = scheduleFor(record, policy, facts);
  const phase = phaseAt(schedule, ctx.asOf);
  const hold = holdFor(record, policy, phase, facts, actual.account, ctx.asOf);
  const changeAt = changeWaitsUntil(schedule, ctx.asOf);
  const steps = hold ? [] : diff(desiredAccount(record, policy, ctx), actual);
  const creates = steps.some((s) => s.kind === 'createAccount');
  return {
    employeeId: record.employeeId,
    asOf: ctx.asOf.toISOString(),
    phase,
    schedule,
    entitlements,
    steps,
    services: servicesFor(entitlements, policy, sourcesOf(record)),
    accountEnabled: actual.account ? actual.account.enabled : null,
    ...(actual.account ? { accountDn: actual.account.dn } : {}),
    ...(creates && actual.nameHint ? { nameHint: actual.nameHint } : {}),
    ...(changeAt ? { changeAt } : {}),
    ...(hold ? { hold } : {}),
  };
}

/**
 * Whether an address belongs to a name's base: "anna.virtanen2@kerava.fi" has base
 * "anna.virtanen" (the collision number is not part of the name), and a base that itself ends in
 * digits ("matti.virtanen3", a surname with a digit) matches itself and its numbered variants —
 * never stripped, so such a name never re-plans a mail change on every run.
 */
export function mailHasBase(mail: string, base: string): boolean {
  const at = mail.lastIndexOf('@');
  const local = (at >= 0 ? mail.slice(0, at) : mail).toLowerCase();
  const b = base.toLowerCase();
  return local === b || (local.startsWith(b) && /^\d+$/.test(local.slice(b.length)));
}
