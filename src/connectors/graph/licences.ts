import type { CloudSku, LicenceAssignment } from './cloud-directory';

// Pure: what one assignLicense call must change so the user holds exactly the licences the policy
// grants, among those the policy manages. The policy names SKUs by part number and disabled plans
// by service plan name; Graph wants skuId and servicePlanId, resolved here from subscribedSkus.
// Licences outside the managed set (granted by hand) are never removed.

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
  skus: CloudSku[],
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

function sameSet(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a.map((x) => x.toLowerCase()));
  return b.every((x) => set.has(x.toLowerCase()));
}
