import { addDays, helsinkiDate, startOfDay } from './dates';
import type { IdentityRecord } from './identity';
import type { Loss } from './mass-change';
import { phaseAt, scheduleFor } from './plan';
import { entitlementsFor, groupTemplateOf, managedGroups, managedSkus, type Policy } from './policy';

// What counts as a loss of access, for the mass-change guard (src/domain/mass-change.ts): one
// pure classification of a change — previous record and entitlements → new record, under the
// policy — that every path uses: the API and CLI intake, imports, plan apply and policy rollouts
// (src/ops/intake.ts, src/activities/import.ts) and the cleanup (cleanupLosses).

/**
 * The one definition of an active managed identity: its current record has started and not ended
 * (the last working day still counts). Index keys of a teacher's second (education) row are not
 * identities of their own. Dates unknown (entries written before the index kept them) count as
 * active: a smaller denominator would make every change ask.
 */
export function isActiveIdentity(
  entry: { employeeId: string; startDate?: string | null; endDate?: string | null },
  today: string,
): boolean {
  if (entry.employeeId.startsWith('education:')) return false;
  if (entry.startDate && entry.startDate > today) return false;
  return !entry.endDate || entry.endDate >= today;
}

/**
 * Until when a change's effect counts as "within the window": the rolling window ahead of now, and
 * never less than the end of tomorrow (Helsinki), so an end date set to today or tomorrow is a loss
 * whatever time of day it arrives and whatever `lastDayEndsAt` says.
 */
export function guardHorizon(asOf: Date, windowHours: number): Date {
  const window = asOf.getTime() + windowHours * 3_600_000;
  const dayAfterTomorrow = startOfDay(addDays(helsinkiDate(asOf), 2)).getTime();
  return new Date(Math.max(window, dayAfterTomorrow));
}

const hasAccess = (record: IdentityRecord | undefined | null, policy: Policy, t: Date) =>
  !!record && phaseAt(scheduleFor(record, policy), t) === 'active';

export interface ChangeInput {
  identityId: string;
  /** The record the identity holds now (the person workflow's `state.record`); none: new. */
  before: IdentityRecord | undefined | null;
  /** The record after the change; null: the identity is deleted. */
  after: IdentityRecord | null;
  /** The policy the change is planned with. */
  policy: Policy;
  /** The policy `before` was planned with, when the change is a policy rollout. */
  previousPolicy?: Policy;
  asOf: Date;
}

/**
 * Whether a change takes access away, and what: access lost now or before the horizon (an end
 * date, a start date moved ahead, a deletion), or managed groups and licences lost by a role
 * change. A group made from a template (`Class-{schoolCode}-{class}`) swapped for another from the
 * same template is not a loss: the August class rollover moves every pupil from 7A to 8A.
 */
export function classifyChange(input: ChangeInput): Loss | undefined {
  const { identityId, before, after, policy, asOf } = input;
  const previous = input.previousPolicy ?? policy;
  if (!before) return undefined;
  const horizon = guardHorizon(asOf, policy.safety.windowHours);
  const had = entitlementsOf(before, previous);
  const lostAt = (t: Date) => hasAccess(before, previous, t) && !hasAccess(after, policy, t);
  if (lostAt(asOf) || lostAt(horizon)) {
    const deleted = after === null || phaseAt(scheduleFor(after, policy), horizon) === 'deleted';
    return { identityId, kind: deleted ? 'delete' : 'disable', groups: had.groups, skus: had.skus };
  }
  if (!after || !(hasAccess(before, previous, asOf) || hasAccess(before, previous, horizon)))
    return undefined;
  const has = entitlementsOf(after, policy);
  const managed = new Set([...managedGroups(policy), ...managedGroups(previous)]);
  const templatesKept = new Set(has.groups.map((g) => groupTemplateOf(policy, g)).filter(Boolean));
  const groups = had.groups.filter((g) => {
    if (has.groups.includes(g)) return false;
    const template = groupTemplateOf(previous, g);
    return template ? !templatesKept.has(template) : managed.has(g);
  });
  // Licences are removed only while a matching role turns the cloud on (see explain.ts).
  const skus = has.cloud ? had.skus.filter((s) => !has.skus.includes(s)) : [];
  if (groups.length === 0 && skus.length === 0) return undefined;
  return { identityId, kind: 'roleChange', groups, skus };
}

/**
 * The loss an end of access takes when it falls due (the person workflow asks the guard at the end
 * of the last working day for an end that was not yet within the window when it arrived).
 */
export function endLoss(identityId: string, record: IdentityRecord, policy: Policy): Loss {
  const had = entitlementsOf(record, policy);
  return { identityId, kind: 'disable', groups: had.groups, skus: had.skus };
}

/** The groups and managed SKUs a record's roles grant. */
function entitlementsOf(
  record: IdentityRecord,
  policy: Policy,
): { groups: string[]; skus: string[]; cloud: boolean } {
  const e = entitlementsFor(policy, record);
  const managed = new Set(managedSkus(policy));
  return {
    groups: e.groups,
    skus: e.cloud ? e.licences.map((l) => l.sku).filter((s) => managed.has(s)) : [],
    cloud: e.cloud,
  };
}
