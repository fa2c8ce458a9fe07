import type { IdentityRow } from './identity-row';
import { isManagedIdentity } from './managed-identity';
import { entitlementsFor, type Policy } from './policy';

// `tunnus licences` from the identity read model: the seats Tunnus holds per SKU are the licences
// the rows' last completed runs left (their entitlements), and a person whose run is under way and
// whose grant names a SKU they hold no seat of yet waits for one (or is about to take one).

export interface SeatCount {
  /** Managed identities holding a seat of the SKU (the rows' entitlements). */
  assigned: number;
  /** Identities with a run under way whose grant names the SKU and who hold none yet. */
  waiting: number;
}

/** Seats in use and wanted per SKU, over any number of rows (call `add` per page). */
export function createSeatCounter(policy: Policy) {
  const counts = new Map<string, SeatCount>();
  const of = (sku: string) => {
    let c = counts.get(sku);
    if (!c) counts.set(sku, (c = { assigned: 0, waiting: 0 }));
    return c;
  };
  return {
    add(rows: Iterable<IdentityRow>): void {
      for (const row of rows) {
        if (!isManagedIdentity(row)) continue;
        const held = new Set(row.entitlements?.licences ?? []);
        for (const sku of held) of(sku).assigned++;
        const running = row.runs.length > 0 && row.runs[row.runs.length - 1]!.endedAt === undefined;
        if (!running || !row.record) continue;
        const grant = entitlementsFor(policy, row.record);
        if (!grant.cloud) continue;
        for (const l of grant.licences) if (!held.has(l.sku)) of(l.sku).waiting++;
      }
    },
    counts(): ReadonlyMap<string, SeatCount> {
      return counts;
    },
  };
}
