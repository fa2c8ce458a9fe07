import type { IdentityRow, RowEntitlements } from './identity-row';
import { rowDates } from './identity-row';
import { entitlementsFor, type Policy } from './policy';

// One definition of a managed identity, read from the identity read model: the cleanup, plans,
// the mass-change guard and the API all count and select with these (the SQL in the stores mirrors
// them; test/integration/read-model.test.ts holds them equal).

/**
 * Managed: the person workflow holds a record Tunnus plans with (a staff education row still
 * waiting for HR is not one yet), and retention has not ended with the account deleted.
 */
export function isManagedIdentity(row: Pick<IdentityRow, 'record' | 'phase' | 'stage'>): boolean {
  return row.record !== undefined && row.phase !== 'deleted' && row.stage !== 'deleted';
}

/**
 * Active on `today` (YYYY-MM-DD, Helsinki): managed, started, and not past the last working day.
 * The mass-change guard's denominator.
 */
export function isActiveIdentityRow(
  row: Pick<IdentityRow, 'record' | 'phase' | 'stage'>,
  today: string,
): boolean {
  if (!isManagedIdentity(row)) return false;
  const { startDate, endDate } = rowDates(row);
  if (startDate && startDate > today) return false;
  return !endDate || endDate >= today;
}

/**
 * The grant the last completed run left: the policy's entitlements for the record version it
 * applied, once a run has caught up with the record; until then what the row had before. A person
 * who has left holds nothing (the leaver took it back).
 */
export function rowEntitlements(
  row: IdentityRow,
  policy: Policy,
  previous: IdentityRow | undefined,
): RowEntitlements | undefined {
  const last = row.runs[row.runs.length - 1];
  const caughtUp = last?.outcome === 'completed' && row.handledVersion >= row.recordVersion && !row.hold;
  if (!caughtUp || !row.record) return previous?.entitlements;
  if (row.phase === 'left' || row.phase === 'deleted') {
    return {
      ou: '',
      groups: [],
      licences: [],
      mailbox: false,
      cloud: false,
      roles: [],
      forVersion: row.handledVersion,
    };
  }
  const e = entitlementsFor(policy, row.record);
  return {
    ou: e.ou,
    groups: e.groups,
    licences: e.licences.map((l) => l.sku),
    mailbox: e.mailbox,
    cloud: e.cloud,
    roles: e.roles,
    forVersion: row.handledVersion,
  };
}

/** The row as the store keeps it: with the entitlements of the last run filled in. */
export function completeRow(
  row: IdentityRow,
  policy: Policy,
  previous: IdentityRow | undefined,
): IdentityRow {
  const entitlements = rowEntitlements(row, policy, previous);
  const { entitlements: _given, ...rest } = row;
  return entitlements ? { ...rest, entitlements } : rest;
}
