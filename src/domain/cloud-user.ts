import type { DirectoryAccount } from './account';
import type { Policy } from './policy';

// What the run changes on an existing cloud user, decided once: ensureCloudUser applies it and
// `tunnus plan` reports it (with the AD account as the run will have left it), so the two agree
// by construction.

/** The parts of a cloud user the decisions read (Graph's CloudUser has them all). */
export interface CloudUserFacts {
  accountEnabled: boolean | null;
  showInAddressList: boolean | null;
  usageLocation: string | null;
  displayName: string | null;
  givenName: string | null;
  surname: string | null;
  jobTitle: string | null;
  department: string | null;
}

/** The fields the run writes on an existing cloud user (a subset of Graph's CloudUserUpdate). */
export interface CloudUserUpdate {
  accountEnabled?: boolean;
  showInAddressList?: boolean | null;
  usageLocation?: string | null;
  displayName?: string;
  givenName?: string | null;
  surname?: string | null;
  jobTitle?: string | null;
  department?: string | null;
}

/** The AD attributes a direct-mode cloud user follows. */
export type CloudUserSource = Pick<
  DirectoryAccount,
  'enabled' | 'displayName' | 'givenName' | 'sn' | 'title' | 'department'
>;

/**
 * An existing cloud user's change, in the three requests the run sends: sign-in state alone
 * (never bundled), the other fields together, the address list alone (best-effort).
 */
export interface CloudUserChange {
  accountEnabled?: boolean;
  fields: Omit<CloudUserUpdate, 'accountEnabled' | 'showInAddressList'>;
  showInAddressList?: boolean | null;
}

/** What differs between a direct-mode cloud user and its AD account (AD is the master). */
export function cloudUserDrift(user: CloudUserFacts, account: CloudUserSource): CloudUserUpdate {
  const change: CloudUserUpdate = {};
  if (user.accountEnabled !== account.enabled) change.accountEnabled = account.enabled;
  if (account.enabled && user.showInAddressList === false) change.showInAddressList = true;
  const text: [keyof CloudUserUpdate & keyof CloudUserFacts, string | undefined][] = [
    ['displayName', account.displayName],
    ['givenName', account.givenName],
    ['surname', account.sn],
    ['jobTitle', account.title],
    ['department', account.department],
  ];
  for (const [key, value] of text) {
    if (value !== undefined && user[key] !== value) (change as Record<string, unknown>)[key] = value;
  }
  return change;
}

/**
 * The change ensureCloudUser makes to an existing cloud user: usageLocation always (licences need
 * it); in direct mode also what follows the AD account (`account`: null in synced mode, or when
 * direct mode finds no account).
 */
export function cloudUserChange(
  user: CloudUserFacts,
  account: CloudUserSource | null,
  policy: Pick<Policy, 'cloud'>,
): CloudUserChange {
  const usageLocation = policy.cloud.usageLocation;
  const { accountEnabled, showInAddressList, ...fields }: CloudUserUpdate = {
    ...(user.usageLocation !== usageLocation ? { usageLocation } : {}),
    ...(account && policy.cloud.mode === 'direct' ? cloudUserDrift(user, account) : {}),
  };
  return {
    ...(accountEnabled !== undefined ? { accountEnabled } : {}),
    fields,
    ...(showInAddressList !== undefined ? { showInAddressList } : {}),
  };
}

/** The change as one update (for plans and comparisons); empty when nothing differs. */
export function cloudUserPatch(change: CloudUserChange): CloudUserUpdate {
  return {
    ...(change.accountEnabled !== undefined ? { accountEnabled: change.accountEnabled } : {}),
    ...change.fields,
    ...(change.showInAddressList !== undefined ? { showInAddressList: change.showInAddressList } : {}),
  };
}
