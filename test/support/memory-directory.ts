import {
  summaryOf,
  type AccountNames,
  type AccountSummary,
  type DirectoryAccount,
  type ManagedAttributes,
  type NewAccount,
} from '../../src/domain/account';
import type {
  Directory,
  GroupMember,
  NameReservation,
  PlanLookup,
  PlanLookupRequest,
} from '../../src/connectors/ldap/directory';
import { DirectoryError } from '../../src/connectors/ldap/errors';

/**
 * An in-memory directory with AD's uniqueness rules, for workflow tests on the time-skipping
 * server. It records every write so tests can assert what happened and how often.
 */
export class MemoryDirectory implements Directory {
  readonly accounts = new Map<string, DirectoryAccount>();
  readonly groups = new Map<string, string>();
  readonly writes: string[] = [];
  /** When set, every call fails as if AD were down. */
  down = false;

  constructor(
    groupNames: string[],
    readonly baseDn = 'DC=kerava,DC=test',
  ) {
    for (const name of groupNames) this.groups.set(name, `CN=${name},OU=Groups,OU=Tunnus,${baseDn}`);
  }

  private check(): void {
    if (this.down) throw new DirectoryError('unavailable', 'directory unreachable (test)', true);
  }

  async findByEmployeeId(employeeId: string): Promise<DirectoryAccount | null> {
    this.check();
    const found = [...this.accounts.values()].find((a) => a.employeeId === employeeId);
    return found ? structuredClone(found) : null;
  }

  async takenNames(candidates: AccountNames[], exceptEmployeeId: string): Promise<Set<string>> {
    this.check();
    const held = new Set<string>();
    for (const a of this.accounts.values()) {
      if (a.employeeId === exceptEmployeeId) continue;
      [
        a.sAMAccountName,
        a.userPrincipalName,
        a.mail,
        ...a.proxyAddresses.map((p) => p.replace(/^smtp:/i, '')),
      ]
        .filter((v): v is string => !!v)
        .forEach((v) => held.add(v.toLowerCase()));
    }
    for (const r of this.reservations.values()) {
      // The reserved sAMAccountName too (the contact's cn in AD), as the LDAP connector checks it.
      [r.name, ...r.addresses].forEach((v) => held.add(v.toLowerCase()));
    }
    return new Set(
      candidates
        .filter((c) =>
          [c.sAMAccountName, c.userPrincipalName, c.mail].some((v) => v && held.has(v.toLowerCase())),
        )
        .map((c) => c.sAMAccountName),
    );
  }

  /** Searches made through lookupForPlan (one per plan), for tests that count them. */
  planLookups = 0;

  async lookupForPlan(request: PlanLookupRequest): Promise<PlanLookup> {
    this.check();
    this.planLookups += 1;
    const account = await this.findByEmployeeId(request.employeeId);
    const manager = request.managerId ? await this.findByEmployeeId(request.managerId) : null;
    if (!request.candidates || account) return { account, manager };
    return { account, manager, taken: await this.takenNames(request.candidates, request.employeeId) };
  }

  async addAccount(account: NewAccount): Promise<{ dn: string }> {
    return { dn: (await this.createAccount(account)).dn };
  }

  async enableIfAsCreated(dn: string): Promise<boolean> {
    this.check();
    const a = this.get(dn);
    if (a.enabled) return false;
    await this.setEnabled(dn, true);
    return true;
  }

  async createAccount(account: NewAccount): Promise<DirectoryAccount> {
    this.check();
    const dn = `CN=${account.cn},${account.ou}`;
    // AD refuses a second sAMAccountName or userPrincipalName (case-insensitively); mail it does not.
    const clash = [...this.accounts.values()].some(
      (a) =>
        a.sAMAccountName.toLowerCase() === account.sAMAccountName.toLowerCase() ||
        a.userPrincipalName.toLowerCase() === account.userPrincipalName.toLowerCase(),
    );
    if (this.accounts.has(dn) || clash)
      throw new DirectoryError('alreadyExists', 'entry already exists', false);
    const created: DirectoryAccount = {
      dn,
      ou: account.ou,
      employeeId: account.employeeId,
      sAMAccountName: account.sAMAccountName,
      userPrincipalName: account.userPrincipalName,
      ...(account.mail ? { mail: account.mail } : {}),
      proxyAddresses: [],
      ...account.attributes,
      enabled: false,
      memberOf: [],
    };
    this.accounts.set(dn, created);
    this.writes.push(`create ${account.employeeId}`);
    return structuredClone(created);
  }

  private get(dn: string): DirectoryAccount {
    const a = this.accounts.get(dn);
    if (!a) throw new DirectoryError('noSuchObject', 'no such object', false);
    return a;
  }

  async updateAttributes(dn: string, attributes: Partial<ManagedAttributes>): Promise<void> {
    this.check();
    const a = this.get(dn);
    for (const [k, v] of Object.entries(attributes)) {
      if (v === undefined) delete (a as unknown as Record<string, unknown>)[k];
      else (a as unknown as Record<string, unknown>)[k] = v;
    }
    this.writes.push(`update ${a.employeeId}`);
  }

  async setEnabled(dn: string, enabled: boolean): Promise<void> {
    this.check();
    const a = this.get(dn);
    a.enabled = enabled;
    this.writes.push(`${enabled ? 'enable' : 'disable'} ${a.employeeId}`);
  }

  /** Passwords set by a handover, by employeeId (tests read them; the real DC checks them by bind). */
  readonly initialPasswords = new Map<string, string>();

  async setInitialPassword(dn: string, password: string): Promise<void> {
    this.check();
    const a = this.get(dn);
    this.initialPasswords.set(a.employeeId, password);
    this.writes.push(`password ${a.employeeId}`);
  }

  async setMailAddresses(dn: string, mail: string, proxyAddresses: string[]): Promise<void> {
    this.check();
    const a = this.get(dn);
    a.mail = mail;
    a.proxyAddresses = [...proxyAddresses];
    this.writes.push(`mail ${a.employeeId}`);
  }

  async setPhoneNumbers(dn: string, phones: { telephoneNumber?: string; mobile?: string }): Promise<void> {
    this.check();
    const a = this.get(dn);
    for (const key of ['telephoneNumber', 'mobile'] as const) {
      if (phones[key]) a[key] = phones[key];
      else delete a[key];
    }
    this.writes.push(`phone ${a.employeeId}`);
  }

  async addToGroup(groupDn: string, memberDn: string): Promise<void> {
    this.check();
    const a = this.get(memberDn);
    if (!a.memberOf.includes(groupDn)) a.memberOf.push(groupDn);
    this.writes.push(`add ${a.employeeId}`);
  }

  async removeFromGroup(groupDn: string, memberDn: string): Promise<void> {
    this.check();
    const a = this.get(memberDn);
    a.memberOf = a.memberOf.filter((g) => g !== groupDn);
    this.writes.push(`remove ${a.employeeId}`);
  }

  async move(dn: string, newParentDn: string): Promise<string> {
    this.check();
    const a = this.get(dn);
    const rdn = dn.split(',')[0]!;
    const next = `${rdn},${newParentDn}`;
    this.accounts.delete(dn);
    a.dn = next;
    a.ou = newParentDn;
    this.accounts.set(next, a);
    this.writes.push(`move ${a.employeeId}`);
    return next;
  }

  async findGroup(name: string): Promise<string | null> {
    this.check();
    return this.groups.get(name) ?? null;
  }

  async findGroups(names: readonly string[]): Promise<Map<string, string>> {
    this.check();
    return new Map(names.flatMap((name) => (this.groups.has(name) ? [[name, this.groups.get(name)!]] : [])));
  }

  async createGroup(name: string, ouDn: string): Promise<string> {
    this.check();
    const existing = this.groups.get(name);
    if (existing) return existing;
    const dn = `CN=${name},${ouDn}`;
    this.groups.set(name, dn);
    this.writes.push(`createGroup ${name}`);
    return dn;
  }

  async deleteEntry(dn: string): Promise<void> {
    this.check();
    const a = this.accounts.get(dn);
    if (a) this.writes.push(`delete ${a.employeeId}`);
    this.accounts.delete(dn);
    this.reservations.delete(dn);
  }

  async listAccounts(): Promise<DirectoryAccount[]> {
    this.check();
    return [...this.accounts.values()].map((a) => structuredClone(a));
  }

  async listAccountSummaries(): Promise<AccountSummary[]> {
    return (await this.listAccounts()).map(summaryOf);
  }

  async listMembers(groupDn: string): Promise<GroupMember[]> {
    this.check();
    return [...this.accounts.values()]
      .filter((a) => a.memberOf.includes(groupDn))
      .map((a) => ({ dn: a.dn, employeeId: a.employeeId, sAMAccountName: a.sAMAccountName }));
  }

  async listGroupMembers(groupDns: readonly string[]): Promise<Map<string, GroupMember[]>> {
    this.check();
    return new Map(await Promise.all(groupDns.map(async (dn) => [dn, await this.listMembers(dn)] as const)));
  }

  /** DN → reservation, as the contact objects in AD. */
  readonly reservations = new Map<string, NameReservation>();

  async reserveNames(r: NameReservation): Promise<void> {
    this.check();
    this.reservations.set(`CN=${r.name},${r.ouDn}`, structuredClone(r));
    this.writes.push(`reserve ${r.name}`);
  }

  async listReservations(ouDn: string): Promise<{ dn: string; until: string }[]> {
    this.check();
    return [...this.reservations]
      .filter(([, r]) => r.ouDn === ouDn)
      .map(([dn, r]) => ({ dn, until: r.until }));
  }

  async close(): Promise<void> {}

  account(employeeId: string): DirectoryAccount | undefined {
    return [...this.accounts.values()].find((a) => a.employeeId === employeeId);
  }
}
