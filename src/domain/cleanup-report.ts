// The cleanup's findings and report: plain types and arithmetic, kept apart from the policy and
// plan code so the cleanup workflow can use them without bundling the policy parser.

export type FindingKind =
  'pastRetention' | 'licenceOnLeaver' | 'orphanAccount' | 'ungrantedMember' | 'expiredReservation';

export const findingKinds: FindingKind[] = [
  'pastRetention',
  'licenceOnLeaver',
  'orphanAccount',
  'ungrantedMember',
  'expiredReservation',
];

/**
 * `account` and `dn` are sealed (src/activities/cleanup-seal.ts) in a report that Temporal holds;
 * `ref` is the stable pseudonym of an account with no identity (the guard counts it by that).
 */
export type Finding =
  | { kind: 'pastRetention'; employeeId: string; account: string; deleteAt: string }
  | { kind: 'licenceOnLeaver'; employeeId: string; userId: string; skus: string[]; why: string }
  | { kind: 'orphanAccount'; employeeId?: string; account: string; dn: string; why: string; ref?: string }
  | { kind: 'ungrantedMember'; employeeId?: string; account: string; dn: string; group: string; ref?: string }
  | { kind: 'expiredReservation'; dn: string; until: string };

/** Disables and deletes the findings would cause, for the mass-change guard. */
export function guardCounts(findings: Finding[]): { disables: number; deletes: number } {
  return {
    disables: findings.filter((f) => f.kind === 'orphanAccount').length,
    deletes: findings.filter((f) => f.kind === 'pastRetention').length,
  };
}

export interface CleanupReport {
  runAt: string;
  mode: 'report' | 'enforce';
  managedIdentities: number;
  /** Findings per kind (every kind present, zero when none). */
  counts: Record<FindingKind, number>;
  /** What was done per kind (enforce), or nothing (report). */
  done: Record<FindingKind, number>;
  /** Seats taken back per SKU (enforce) or that could be (report). */
  licences: Record<string, number>;
  /** Monthly saving of those seats at the policy's prices (EUR). */
  monthlySaving: number;
  findings: Finding[];
  /** Identities left out because their data could not be evaluated (ids and reasons only). */
  skipped?: { employeeId: string; why: string }[];
  /** Set when the mass-change guard stopped the run and an operator approved it. */
  approvedBy?: string;
  /** Findings left alone because they no longer held when re-checked right before the fix. */
  stale?: Partial<Record<FindingKind, number>>;
}

/** Seats per SKU that the licence findings would free. */
export function reclaimableLicences(findings: Finding[]): Record<string, number> {
  const licences: Record<string, number> = {};
  for (const f of findings) {
    if (f.kind === 'licenceOnLeaver') for (const s of f.skus) licences[s] = (licences[s] ?? 0) + 1;
  }
  return licences;
}

/** What the seats cost a month at the policy's prices (EUR, cents rounded). */
export function monthlySavingOf(licences: Record<string, number>, prices: Record<string, number>): number {
  const total = Object.entries(licences).reduce((sum, [sku, n]) => sum + n * (prices[sku] ?? 0), 0);
  return Math.round(total * 100) / 100;
}

export function countByKind(findings: Finding[]): Record<FindingKind, number> {
  const counts = Object.fromEntries(findingKinds.map((k) => [k, 0])) as Record<FindingKind, number>;
  for (const f of findings) counts[f.kind]++;
  return counts;
}
