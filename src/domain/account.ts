// The shape of a directory account as the domain sees it: plain data, no LDAP types.

/** An AD user as read from the directory. Group and OU references are DNs. */
export interface DirectoryAccount {
  dn: string;
  /** Parent container DN (the OU the account lives in). */
  ou: string;
  employeeId: string;
  sAMAccountName: string;
  userPrincipalName: string;
  mail?: string;
  proxyAddresses: string[];
  givenName?: string;
  sn?: string;
  displayName?: string;
  title?: string;
  department?: string;
  /** DN of the manager's account, when set. */
  manager?: string;
  telephoneNumber?: string;
  mobile?: string;
  enabled: boolean;
  /** DNs of the groups the account is a direct member of. */
  memberOf: string[];
}

/**
 * What a population-wide pass needs of each account (the cleanup): where it is, whose it is and
 * whether it is enabled. Listed without the other attributes and `memberOf`, which at 50,000
 * accounts are most of the listing's memory.
 */
export type AccountSummary = Pick<
  DirectoryAccount,
  'dn' | 'ou' | 'employeeId' | 'sAMAccountName' | 'enabled'
>;

/** The summary of a full account: what listAccountSummaries answers for it. */
export function summaryOf({ dn, ou, employeeId, sAMAccountName, enabled }: DirectoryAccount): AccountSummary {
  return { dn, ou, employeeId, sAMAccountName, enabled };
}

/** The attributes Tunnus manages on an account (AD attribute names). */
export interface ManagedAttributes {
  givenName: string;
  sn: string;
  displayName: string;
  title: string;
  department: string;
  /** Manager DN, or undefined when HR names no manager (or the manager has no account yet). */
  manager?: string;
}

/** The managed attribute names, in the order plans list them and the connector writes them. */
export const managedAttributeKeys: (keyof ManagedAttributes)[] = [
  'givenName',
  'sn',
  'displayName',
  'title',
  'department',
  'manager',
];

/** Everything needed to create an account; names are already allocated and unique. */
export interface NewAccount {
  employeeId: string;
  /** Container the account is created in. */
  ou: string;
  /** Relative name; we use the unique local part so moves between OUs never clash. */
  cn: string;
  sAMAccountName: string;
  userPrincipalName: string;
  mail?: string;
  attributes: ManagedAttributes;
  /** Initial password; set at creation (LDAPS only) and never logged or returned. */
  password: string;
}

/** The names an account occupies, as checked for collisions. */
export interface AccountNames {
  sAMAccountName: string;
  userPrincipalName: string;
  mail?: string;
}
