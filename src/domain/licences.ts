import { managedSkus, type Policy } from './policy';

// Licence decisions, once: what one assignLicense call must change so the user holds exactly the
// licences the policy grants among those it manages (ensureLicences), and what a leaver gives
// back (retireCloudUser). `tunnus plan` reports the same results. The policy names SKUs by part
// number and disabled plans by service plan name; Graph wants skuId and servicePlanId, resolved
// here from subscribedSkus. Licences outside the managed set (granted by hand) are never removed.

export interface LicenceAssignment {
  skuId: string;
  /** servicePlanIds switched off within the SKU. */
  disabledPlans: string[];
}

/** The parts of a tenant SKU the decisions read (Graph's CloudSku has them all). */
export interface TenantSku {
  skuId: string;
  skuPartNumber: string;
  available: number;
  servicePlans: { servicePlanId: string; servicePlanName: string }[];
}

export interface DesiredLicence {
  /** skuPartNumber, e.g. "SPE_E3". */
  sku: string;
  /** servicePlanName values, e.g. "EXCHANGE_S_ENTERPRISE". */
  disabledPlans: string[];
}

export interface LicenceChange {
  add: LicenceAssignment[];
  /** skuIds. */
  remove: string[];
  /** Part numbers the policy names that the tenant does not subscribe to (policy error). */
  unknownSkus: string[];
  /** "SKU/PLAN" names the SKU does not contain (policy error). */
  unknownPlans: string[];
  /** Part numbers to add for which no seat is free (a wait, not a failure). */
  shortOfSeats: string[];
}

export function planLicenceChange(
  current: LicenceAssignment[],
  desired: DesiredLicence[],
  managedSkus: string[],
  skus: TenantSku[],
): LicenceChange {
  const byPart = new Map(skus.map((s) => [s.skuPartNumber, s]));
  const change: LicenceChange = { add: [], remove: [], unknownSkus: [], unknownPlans: [], shortOfSeats: [] };
  const wanted = new Set<string>();
  for (const d of desired) {
    const sku = byPart.get(d.sku);
    if (!sku) {
      change.unknownSkus.push(d.sku);
      continue;
    }
    wanted.add(sku.skuId);
    const disabled: string[] = [];
    for (const name of d.disabledPlans) {
      const plan = sku.servicePlans.find((p) => p.servicePlanName === name);
      if (plan) disabled.push(plan.servicePlanId);
      else change.unknownPlans.push(`${d.sku}/${name}`);
    }
    const have = current.find((l) => l.skuId === sku.skuId);
    if (!have) {
      if (sku.available < 1) change.shortOfSeats.push(d.sku);
      change.add.push({ skuId: sku.skuId, disabledPlans: disabled.sort() });
    } else if (!sameSet(have.disabledPlans, disabled)) {
      // Re-adding an assigned SKU replaces its disabled plans; it takes no new seat.
      change.add.push({ skuId: sku.skuId, disabledPlans: disabled.sort() });
    }
  }
  const managed = new Set(
    managedSkus.map((p) => byPart.get(p)?.skuId).filter((id): id is string => id !== undefined),
  );
  for (const l of current) if (managed.has(l.skuId) && !wanted.has(l.skuId)) change.remove.push(l.skuId);
  return change;
}

/** The role's licence change for a user under the policy (ensureLicences' decision). */
export function licenceChangeFor(
  current: LicenceAssignment[],
  desired: DesiredLicence[],
  policy: Policy,
  skus: TenantSku[],
): LicenceChange {
  return planLicenceChange(current, desired, managedSkus(policy), skus);
}

/**
 * A leaver's licences: every one the policy manages goes back to the pool; those granted by hand
 * outside the policy stay. The tenant's SKUs, in the user's order.
 */
export function leaverLicences<S extends TenantSku>(
  current: LicenceAssignment[],
  tenantSkus: S[],
  policy: Policy,
): S[] {
  const managed = new Set(managedSkus(policy));
  return current
    .map((l) => tenantSkus.find((s) => s.skuId === l.skuId))
    .filter((s): s is S => s !== undefined && managed.has(s.skuPartNumber));
}

/** A change in part numbers, as the run reports it (ensureLicences' added/removed) and a plan shows it. */
export interface LicenceChangeByName {
  /** Part numbers newly assigned (take a seat). */
  add: string[];
  /** Part numbers removed. */
  remove: string[];
  /** Part numbers already assigned whose disabled plans are replaced. */
  replace: string[];
}

export function licenceChangeByName(
  current: LicenceAssignment[],
  change: Pick<LicenceChange, 'add' | 'remove'>,
  skus: TenantSku[],
): LicenceChangeByName {
  const part = (skuId: string) => skus.find((s) => s.skuId === skuId)?.skuPartNumber ?? skuId;
  const held = new Set(current.map((l) => l.skuId));
  return {
    add: change.add.filter((a) => !held.has(a.skuId)).map((a) => part(a.skuId)),
    remove: change.remove.map(part),
    replace: change.add.filter((a) => held.has(a.skuId)).map((a) => part(a.skuId)),
  };
}

function sameSet(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a.map((x) => x.toLowerCase()));
  return b.every((x) => set.has(x.toLowerCase()));
}
