import type {
  AccountNames,
  AccountSummary,
  DirectoryAccount,
  ManagedAttributes,
  NewAccount,
} from '../../domain/account';

export interface GroupMember {
  dn: string;
  employeeId?: string;
  sAMAccountName?: string;
}

/** What a plan asks of the directory: read in one search (issue 12). */
export interface PlanLookupRequest {
  employeeId: string;
  /** HR's manager id: the manager's account DN is read in the same search. */
  managerId?: string;
  /**
   * Name candidates to check as takenNames does, for a plan that may create the account. Only
   * answered when the person has no account (an existing account keeps its names).
   */
  candidates?: AccountNames[];
}

export interface PlanLookup {
  account: DirectoryAccount | null;
  manager: DirectoryAccount | null;
  /** Candidates (by sAMAccountName) another object holds; absent when not asked or the account exists. */
  taken?: Set<string>;
}

export interface NameReservation {
  /** The retired sAMAccountName: the contact's name. */
  name: string;
  ouDn: string;
  /** Every address the account answered to (UPN, mail, aliases). */
  addresses: string[];
  /** YYYY-MM-DD: the names may be reused after this day. */
  until: string;
}

/**
 * The directory as Tunnus uses it. The ldapts implementation talks to AD (or Samba AD) over
 * LDAPS; tests may pass an in-memory fake. Every method throws a DirectoryError (see errors.ts)
 * whose `kind` says whether retrying can help.
 */
export interface Directory {
  /** The account whose employeeID equals the id, or null. Throws if more than one matches. */
  findByEmployeeId(employeeId: string): Promise<DirectoryAccount | null>;
  /**
   * Which of the given names are already held by an object other than the identity's own
   * account: sAMAccountName, userPrincipalName, mail and proxyAddresses (smtp:/SMTP:) are checked.
   * Returns the taken candidates (by their sAMAccountName) so the caller can pick the next n.
   */
  takenNames(candidates: AccountNames[], exceptEmployeeId: string): Promise<Set<string>>;
  /**
   * One search for a plan: the account by employeeID, the manager's by employeeID and — when
   * candidates are given and the account does not exist — which candidates are taken (the same
   * checks as takenNames). Throws duplicateIdentity as findByEmployeeId does.
   */
  lookupForPlan(request: PlanLookupRequest): Promise<PlanLookup>;
  /** Creates a disabled user with the password set and "must change at next logon". */
  createAccount(account: NewAccount): Promise<DirectoryAccount>;
  /**
   * The same add as createAccount, alone: no read-back (one LDAP operation). AD and Samba store
   * the add's userAccountControl (disabled) and pwdLastSet 0 as given, and an add is atomic.
   * Throws alreadyExists when the DN, sAMAccountName or userPrincipalName is taken.
   */
  addAccount(account: NewAccount): Promise<{ dn: string }>;
  /** Replaces the managed attributes; a key whose value is undefined is cleared. */
  updateAttributes(dn: string, attributes: Partial<ManagedAttributes>): Promise<void>;
  setEnabled(dn: string, enabled: boolean): Promise<void>;
  /**
   * Enables an account whose userAccountControl is exactly what createAccount wrote (a normal
   * account, disabled) in one atomic modify (delete that value, add the enabled one). False when
   * it holds anything else (already enabled, flags an admin set): the caller then reads and
   * flips the bit. Throws noSuchObject when nothing is at the DN.
   */
  enableIfAsCreated(dn: string): Promise<boolean>;
  /**
   * An administrator's password reset: sets the password and "must change at next logon"
   * (pwdLastSet 0) in one modify, and reads pwdLastSet back. The password is never logged.
   */
  setInitialPassword(dn: string, password: string): Promise<void>;
  /** Replaces mail and proxyAddresses (the primary address as `SMTP:`, aliases as `smtp:`). */
  setMailAddresses(dn: string, mail: string, proxyAddresses: string[]): Promise<void>;
  /** Replaces telephoneNumber and mobile; an undefined value clears the attribute. */
  setPhoneNumbers(dn: string, phones: { telephoneNumber?: string; mobile?: string }): Promise<void>;
  /** Idempotent: adding an existing member or removing a non-member is not an error. */
  addToGroup(groupDn: string, memberDn: string): Promise<void>;
  removeFromGroup(groupDn: string, memberDn: string): Promise<void>;
  /** Moves the object under a new parent, keeping its RDN; returns the new DN. */
  move(dn: string, newParentDn: string): Promise<string>;
  /** The DN of a group by its sAMAccountName (cn), or null. */
  findGroup(name: string): Promise<string | null>;
  /**
   * The DNs of several groups by sAMAccountName in one search: asked name → DN, for those that
   * exist (a name matches whatever its case in the directory, as findGroup does).
   */
  findGroups(names: readonly string[]): Promise<Map<string, string>>;
  /**
   * Creates a global security group `CN={name}` under the OU and returns its DN. Idempotent: a
   * group of that name already there is returned, not an error.
   */
  createGroup(name: string, ouDn: string): Promise<string>;
  /** Deletes a leaf entry (an account, a name reservation); one already gone is not an error. */
  deleteEntry(dn: string): Promise<void>;
  /** Every user account under the base DN (paged), for reconciliation. */
  listAccounts(): Promise<DirectoryAccount[]>;
  /** Every user account under the base DN (paged), its summary only: for passes over everyone. */
  listAccountSummaries(): Promise<AccountSummary[]>;
  /** Direct members of a group, wherever they live (a hand-added admin account counts too). */
  listMembers(groupDn: string): Promise<GroupMember[]>;
  /**
   * Direct members of several groups in one paged search (one pass over the directory instead of
   * one per group): group DN → its members, as listMembers answers each; every asked DN is a key.
   */
  listGroupMembers(groupDns: readonly string[]): Promise<Map<string, GroupMember[]>>;
  /**
   * Keeps the names of a deleted account from being handed out again until a date: a contact
   * `CN={name}` under `ouDn` holding the old addresses, which the name-collision check sees (the
   * cn as a sAMAccountName, the addresses as any name). Idempotent; a reservation of the same
   * name already there is extended to hold these addresses until at least this date. Reads the
   * result back and throws unless it holds every address: never a silent skip.
   */
  reserveNames(reservation: NameReservation): Promise<void>;
  /** Reservations under an OU with the date each ends. */
  listReservations(ouDn: string): Promise<{ dn: string; until: string }[]>;
  /** Releases the connection. */
  close(): Promise<void>;
}
