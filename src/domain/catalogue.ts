import type { DirectoryAccount } from './account';

// The telephony catalogue entry a person gets from their AD account, decided once: syncPhone
// writes it, `tunnus plan` compares it with the entry the platform holds.

export interface CatalogueEntry {
  employeeId: string;
  displayName: string;
  title: string;
  unit: string;
  email: string;
}

export type CatalogueSource = Pick<
  DirectoryAccount,
  'sAMAccountName' | 'userPrincipalName' | 'displayName' | 'title' | 'department' | 'mail'
>;

export function catalogueEntryFor(employeeId: string, account: CatalogueSource): CatalogueEntry {
  return {
    employeeId,
    displayName: account.displayName ?? account.sAMAccountName,
    title: account.title ?? '',
    unit: account.department ?? '',
    email: account.mail ?? account.userPrincipalName,
  };
}

/** What writing the wanted entry does to the one the platform holds (null: nothing changes). */
export function catalogueChange(
  held: Omit<CatalogueEntry, 'employeeId'> | null,
  wanted: CatalogueEntry,
): 'create' | 'update' | null {
  if (!held) return 'create';
  const keys = ['displayName', 'title', 'unit', 'email'] as const;
  return keys.every((k) => held[k] === wanted[k]) ? null : 'update';
}
