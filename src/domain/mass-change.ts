// The mass-change guard: a run (a snapshot import, the leaver cleanup) that would disable or delete
// more than a policy share of the managed identities stops for an operator's approval. A truncated
// HR export or a wrong filter must not switch off half the city overnight. Pure: workflows call it.

export interface MassChange {
  /** Identities Tunnus manages now (the denominator). */
  managedIdentities: number;
  /** Accounts the run would disable. */
  disables: number;
  /** Accounts the run would delete. */
  deletes: number;
  /** policy.safety.massChangeThresholdPercent */
  thresholdPercent: number;
}

export interface GuardCounts extends MassChange {
  /** (disables + deletes) as a percentage of managedIdentities, one decimal. */
  percent: number;
}

export type GuardVerdict =
  ({ verdict: 'ok' } & GuardCounts) | ({ verdict: 'needsApproval'; reason: string } & GuardCounts);

/**
 * ok when the run disables and deletes at most `thresholdPercent` of the managed identities
 * together (a person both disabled and deleted in one run counts twice: the guard errs towards
 * asking). Nothing to disable or delete is always ok; anything against zero managed identities is
 * 100 %.
 */
export function guardVerdict(change: MassChange): GuardVerdict {
  const affected = change.disables + change.deletes;
  const percent =
    affected === 0
      ? 0
      : change.managedIdentities === 0
        ? 100
        : Math.round((affected / change.managedIdentities) * 1000) / 10;
  const counts: GuardCounts = { ...change, percent };
  // Compared exactly, not on the rounded figure: 5.04 % is over a 5 % threshold.
  const over =
    affected > 0 && affected * 100 > change.thresholdPercent * Math.max(change.managedIdentities, 0);
  if (!over) return { verdict: 'ok', ...counts };
  return { verdict: 'needsApproval', reason: describeChange(counts), ...counts };
}

/** "would disable 10 and delete 0 of 100 managed identities (10 %, threshold 5 %)" */
export function describeChange(c: GuardCounts): string {
  return (
    `would disable ${c.disables} and delete ${c.deletes} of ${c.managedIdentities} managed identities ` +
    `(${c.percent} %, threshold ${c.thresholdPercent} %)`
  );
}
