import { previewVerdict } from '../domain/mass-change';
import type { CloudUserUpdate } from '../domain/cloud-user';
import type { Plan } from '../domain/plan';
import { describeStep, type Step } from '../domain/steps';

// What a simulation produces, and the pure summary over it. The directory part of each person's
// plan is the Plan the real run's `planPerson` activity returns, unchanged; licences, the cloud
// user and telephony are what the run's ensure-activities would change, computed with the same
// pure functions they use.

export type PlanKind = 'record' | 'hr' | 'education' | 'policy';

/** One word per kind of change, for the table and the counts. */
export type Action = 'create' | 'move' | 'update' | 'groups' | 'enable' | 'disable' | 'delete';

export interface LicencePlan {
  /** Part numbers the run would assign. */
  add: string[];
  /** Part numbers the run would remove (managed ones the role no longer grants). */
  remove: string[];
  /** Assigned SKUs whose disabled plans would change. */
  replace: string[];
  /** Part numbers to add with no free seat: the run would wait for a seat. */
  shortOfSeats: string[];
  /** SKUs or SKU/plan names the tenant lacks: the run would fail (policy error). */
  unknown: string[];
}

export interface PhonePlan {
  /** The telephony catalogue entry the run would write. */
  catalogue: 'create' | 'update' | 'remove' | null;
  /** AD phone attributes the run would write (names only). */
  ad: string[];
  /** Cloud user phone fields the run would write (names only). */
  cloud: string[];
}

/** The state a person's plan was computed on; its hash is the saved plan's fingerprint. */
export interface ObservedState {
  account: ObservedAccount | null;
  /** The manager's account DN as read, when the record names a manager. */
  managerDn?: string | null;
  /** The cloud user, when the role has one (absent: the plan did not read the cloud). */
  cloud?: {
    exists: boolean;
    usageLocation: string | null;
    /** The other fields the cloud-user decision reads (absent without a cloud user). */
    fields?: Record<string, string | boolean | null>;
    licences: string[];
  };
}

export interface ObservedAccount {
  dn: string;
  ou: string;
  enabled: boolean;
  attributes: Record<string, string | null>;
  /** memberOf DNs, sorted. */
  groups: string[];
}

export interface PersonPlan {
  employeeId: string;
  /** Exactly what the real run's plan activity returns. */
  plan: Plan;
  /** describeStep of every directory step, in order: what `ProvisionResult.applied` will list. */
  steps: string[];
  actions: Action[];
  groupsAdded: string[];
  groupsRemoved: string[];
  /** What the run does to the cloud user: a leaver's is retired (blocked, licences removed), then deleted. */
  cloudUser: 'create' | 'waitForSync' | 'update' | 'retire' | 'delete' | null;
  /**
   * With cloudUser 'update': exactly the fields ensureCloudUser will write and their values (the
   * run's own decision, src/domain/cloud-user.ts, on the account as the directory steps leave it).
   */
  cloudChange?: CloudUserUpdate;
  licences: LicencePlan | null;
  phone: PhonePlan | null;
  /**
   * The first day (src/domain/first-day.ts): the credential the run hands over ('none' when the
   * policy turns handovers off) and the manager's account-ready notice.
   */
  firstDay?: { credential: 'temporaryAccessPass' | 'initialPassword' | 'none'; notice: 'account-ready' };
  /** Set when the run would wait before applying: the pre-hire date, or the date of a dated change. */
  notBefore?: string;
  /** Things that would make the real run fail or wait (missing group, unknown SKU, no seats). */
  warnings: string[];
  state: ObservedState;
  fingerprint: string;
}

/** The word for a step. Exhaustive: a new step kind is a type error here until it is handled. */
export function actionOf(step: Step): Action {
  const kind = step.kind;
  switch (kind) {
    case 'createAccount':
      return 'create';
    case 'moveAccount':
      return 'move';
    case 'setAttributes':
      return 'update';
    case 'addToGroups':
    case 'removeFromGroups':
      return 'groups';
    case 'changePrimaryMail':
      return 'update';
    case 'enableAccount':
      return 'enable';
    case 'disableAccount':
      return 'disable';
    case 'deleteAccount':
      return 'delete';
    default: {
      const unhandled: never = kind;
      throw new Error(`unknown step kind ${String(unhandled)}`);
    }
  }
}

/** Groups a plan's steps add and remove, from the steps themselves. */
export function groupChanges(steps: Step[]): { added: string[]; removed: string[] } {
  const added: string[] = [];
  const removed: string[] = [];
  for (const step of steps) {
    if (step.kind === 'addToGroups') added.push(...step.groups);
    if (step.kind === 'removeFromGroups') removed.push(...step.groups);
  }
  return { added, removed };
}

export function describeSteps(steps: Step[]): string[] {
  return steps.map(describeStep);
}

/** Whether the run would change anything for the person. */
export function changes(p: PersonPlan): boolean {
  return (
    p.steps.length > 0 ||
    (p.cloudUser !== null && p.cloudUser !== 'waitForSync') ||
    (p.licences !== null &&
      p.licences.add.length + p.licences.remove.length + p.licences.replace.length > 0) ||
    (p.phone !== null && (p.phone.catalogue !== null || p.phone.ad.length + p.phone.cloud.length > 0))
  );
}

export interface MassChange {
  /** Persons the plan would disable or delete. */
  disables: number;
  deletes: number;
  /** Managed identities the percentage is taken of. */
  managed: number;
  thresholdPercent: number;
  /** (disables + deletes) as a percentage of the managed identities. */
  percent: number;
  /** True when the real run's mass-change guard would stop this for approval. */
  trips: boolean;
}

/** The same verdict the import and cleanup runs reach (src/domain/mass-change.ts). */
export function massChange(persons: PersonPlan[], managed: number, thresholdPercent: number): MassChange {
  const disables = persons.filter((p) => p.actions.includes('disable')).length;
  const deletes = persons.filter((p) => p.actions.includes('delete')).length;
  const v = previewVerdict({ managedIdentities: managed, disables, deletes, thresholdPercent });
  return {
    disables,
    deletes,
    managed,
    thresholdPercent,
    percent: v.percent,
    trips: v.verdict === 'needsApproval',
  };
}

export interface PlanSummary {
  kind: PlanKind;
  persons: number;
  changing: number;
  unchanged: number;
  /** Persons per action. */
  actions: Record<Action, number>;
  groupsAdded: Record<string, number>;
  groupsRemoved: Record<string, number>;
  licencesAdded: Record<string, number>;
  licencesRemoved: Record<string, number>;
  cloudUsersCreated: number;
  phoneChanges: number;
  /** Persons whose run would wait until a later date before applying. */
  deferred: number;
  warnings: number;
  massChange: MassChange;
}

export function summarise(
  kind: PlanKind,
  persons: PersonPlan[],
  managed: number,
  thresholdPercent: number,
): PlanSummary {
  const actions: Record<Action, number> = {
    create: 0,
    move: 0,
    update: 0,
    groups: 0,
    enable: 0,
    disable: 0,
    delete: 0,
  };
  const groupsAdded: Record<string, number> = {};
  const groupsRemoved: Record<string, number> = {};
  const licencesAdded: Record<string, number> = {};
  const licencesRemoved: Record<string, number> = {};
  const bump = (m: Record<string, number>, k: string) => (m[k] = (m[k] ?? 0) + 1);
  let changing = 0;
  for (const p of persons) {
    if (changes(p)) changing++;
    for (const a of new Set(p.actions)) actions[a]++;
    p.groupsAdded.forEach((g) => bump(groupsAdded, g));
    p.groupsRemoved.forEach((g) => bump(groupsRemoved, g));
    p.licences?.add.forEach((s) => bump(licencesAdded, s));
    p.licences?.remove.forEach((s) => bump(licencesRemoved, s));
  }
  return {
    kind,
    persons: persons.length,
    changing,
    unchanged: persons.length - changing,
    actions,
    groupsAdded,
    groupsRemoved,
    licencesAdded,
    licencesRemoved,
    cloudUsersCreated: persons.filter((p) => p.cloudUser === 'create').length,
    phoneChanges: persons.filter(
      (p) => p.phone && (p.phone.catalogue || p.phone.ad.length + p.phone.cloud.length > 0),
    ).length,
    deferred: persons.filter((p) => p.notBefore).length,
    warnings: persons.reduce((n, p) => n + p.warnings.length, 0),
    massChange: massChange(persons, managed, thresholdPercent),
  };
}
