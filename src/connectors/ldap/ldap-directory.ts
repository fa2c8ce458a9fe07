import fs from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import {
  AndFilter,
  Attribute,
  Change,
  Client,
  EqualityFilter,
  type Entry,
  type Filter,
  NotFilter,
  OrFilter,
  type SearchOptions,
} from 'ldapts';
import {
  managedAttributeKeys,
  type AccountNames,
  type AccountSummary,
  type DirectoryAccount,
  type ManagedAttributes,
  type NewAccount,
} from '../../domain/account';
import type { Directory, GroupMember, NameReservation, PlanLookup, PlanLookupRequest } from './directory';
import { classifyLdapError, DirectoryError, LdapCode, ldapResultCode } from './errors';
import { childDn, escapeDnValue, parentDn, parseRdn, splitDn } from './escape';
import {
  HASHED_ADDRESS,
  hashedReservationCn,
  reservedNameHash,
  type ReservationSalt,
} from './reservation-hash';

// The production directory connector: AD (or Samba AD) over LDAPS with ldapts. One Client per
// instance; after a transport failure the client is replaced so the next call reconnects and
// binds again (a DC restart must not leave the connector broken). Logs carry operation names,
// result codes and counts — never names, DNs or passwords.

export interface LdapDirectoryConfig {
  /** `ldaps://host:636`. Passwords can only be set over an encrypted connection. */
  url: string;
  bindDn: string;
  bindPassword: string;
  /** Search base for accounts, groups and name collisions. */
  baseDn: string;
  /** PEM file of the CA that signed the DC's certificate; without it the system CAs are used. */
  caCertPath?: string;
  /** Per-request and connect timeout (default 10 s). */
  timeoutMs?: number;
  /** Page size for searches that can return many entries (default 500). */
  pageSize?: number;
  /**
   * With a salt, name reservations hold salted hashes of the names (src/connectors/ldap/
   * reservation-hash.ts); the collision check finds both those and older plaintext ones.
   */
  reservationSalt?: ReservationSalt;
  /**
   * Whether the schema indexes employeeID: 'detect' (default) reads searchFlags once. An
   * unindexed directory gets the plan's read as two searches (see lookupForPlan).
   */
  employeeIdIndex?: 'detect' | 'indexed' | 'unindexed';
}

/** The subset of a pino logger the connector uses (pino's `log.info(fields, message)` style). */
export interface DirectoryLogger {
  debug(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

/** The Directory as ldapts implements it. */
export type LdapDirectory = Directory;

/** Marks a name reservation's end date in the contact's description (machine-readable). */
const RESERVED_UNTIL = /reserved until (\d{4}-\d{2}-\d{2})/;

/** A reserved address as stored: hashed (`x-tunnus:<hash>`) with a salt, else the address. */
const hashedValue = (salt: Buffer, address: string) => `${HASHED_ADDRESS}${reservedNameHash(salt, address)}`;
const proxyOf = (a: string) => (a.startsWith(HASHED_ADDRESS) ? a : `smtp:${a}`);

// userAccountControl bits (MS-ADTS 2.2.16).
const UF_ACCOUNTDISABLE = 0x2;
const UF_NORMAL_ACCOUNT = 0x200;
/** groupType: a global security group (AD's default for role groups). */
const GROUP_TYPE_GLOBAL_SECURITY = '-2147483646';
/** What createAccount writes: a normal account, disabled. */
const UF_AS_CREATED = UF_NORMAL_ACCOUNT | UF_ACCOUNTDISABLE;

const ACCOUNT_ATTRIBUTES = [
  'employeeID',
  'sAMAccountName',
  'userPrincipalName',
  'mail',
  'proxyAddresses',
  'givenName',
  'sn',
  'displayName',
  'title',
  'department',
  'manager',
  'telephoneNumber',
  'mobile',
  'userAccountControl',
  'pwdLastSet',
  'memberOf',
];

/** The attributes of an AccountSummary. */
const SUMMARY_ATTRIBUTES = ['employeeID', 'sAMAccountName', 'userAccountControl'];

const silent: DirectoryLogger = { debug() {}, info() {}, warn() {}, error() {} };

const eq = (attribute: string, value: string): Filter => new EqualityFilter({ attribute, value });

/** Accounts are users that are not computers (computer objects are users in AD's schema). */
const personFilter = (): Filter =>
  new AndFilter({
    filters: [eq('objectClass', 'user'), new NotFilter({ filter: eq('objectClass', 'computer') })],
  });

/** What the name check reads of each object that holds a candidate name. */
const NAME_ATTRIBUTES = [
  'sAMAccountName',
  'userPrincipalName',
  'mail',
  'proxyAddresses',
  'cn',
  'objectClass',
];

/**
 * The filter finding every object that holds one of the candidates' names: each name against
 * every attribute that can hold it. A name reservation (a contact) holds the deleted account's
 * sAMAccountName as its cn: contacts cannot carry a sAMAccountName, and a name cut to 20
 * characters is in no address. With a salt, hashed reservations too (hash → the name it stands for).
 */
function nameSearch(
  candidates: AccountNames[],
  key: Buffer | undefined,
): { filter: Filter; hashed: Map<string, string> } | undefined {
  const wanted = new Set<string>();
  for (const c of candidates) {
    for (const v of [c.sAMAccountName, c.userPrincipalName, c.mail]) if (v) wanted.add(v.toLowerCase());
  }
  if (wanted.size === 0) return undefined;
  const logonNames = new Set(candidates.map((c) => c.sAMAccountName.toLowerCase()).filter(Boolean));
  const hashed = new Map<string, string>();
  if (key) {
    for (const v of logonNames) hashed.set(hashedReservationCn(key, v), v);
    for (const v of wanted) hashed.set(`${HASHED_ADDRESS}${reservedNameHash(key, v)}`, v);
  }
  const filter = new OrFilter({
    filters: [
      ...[...wanted].flatMap((v) => [
        eq('sAMAccountName', v),
        eq('userPrincipalName', v),
        eq('mail', v),
        eq('proxyAddresses', `smtp:${v}`),
      ]),
      ...[...logonNames].map((v) => new AndFilter({ filters: [eq('objectClass', 'contact'), eq('cn', v)] })),
      ...[...hashed.keys()].map((h) =>
        h.startsWith(HASHED_ADDRESS)
          ? eq('proxyAddresses', h)
          : new AndFilter({ filters: [eq('objectClass', 'contact'), eq('cn', h)] }),
      ),
    ],
  });
  return { filter, hashed };
}

/** Which candidates (by sAMAccountName) the entries hold, decided from the values themselves. */
function takenAmong(candidates: AccountNames[], entries: Entry[], hashed: Map<string, string>): Set<string> {
  // AD matches these case-insensitively; so does this.
  const held = new Set<string>();
  for (const e of entries) {
    if (many(e, 'objectClass').some((c) => c.toLowerCase() === 'contact')) {
      const cn = one(e, 'cn');
      if (cn) held.add(hashed.get(cn.toLowerCase()) ?? cn.toLowerCase());
      for (const p of many(e, 'proxyAddresses')) {
        const name = hashed.get(p.toLowerCase());
        if (name) held.add(name);
      }
    }
    for (const v of [one(e, 'sAMAccountName'), one(e, 'userPrincipalName'), one(e, 'mail')]) {
      if (v) held.add(v.toLowerCase());
    }
    for (const p of many(e, 'proxyAddresses')) {
      const m = /^smtp:(.*)$/i.exec(p);
      if (m?.[1]) held.add(m[1].toLowerCase());
    }
  }
  const taken = new Set<string>();
  for (const c of candidates) {
    if ([c.sAMAccountName, c.userPrincipalName, c.mail].some((v) => v && held.has(v.toLowerCase()))) {
      taken.add(c.sAMAccountName);
    }
  }
  return taken;
}

/** Entries of two searches once each (the person's own account may hold its candidate names). */
function uniqueByDn(entries: Entry[]): Entry[] {
  const seen = new Set<string>();
  return entries.filter((e) => !seen.has(e.dn.toLowerCase()) && seen.add(e.dn.toLowerCase()));
}

/** The add of a new account: disabled, with its password and "must change at next logon". */
function newAccountAttributes(account: NewAccount): Attribute[] {
  const attrs: Attribute[] = [
    new Attribute({ type: 'objectClass', values: ['top', 'person', 'organizationalPerson', 'user'] }),
    new Attribute({ type: 'sAMAccountName', values: [account.sAMAccountName] }),
    new Attribute({ type: 'userPrincipalName', values: [account.userPrincipalName] }),
    new Attribute({ type: 'employeeID', values: [account.employeeId] }),
    // AD takes the password only as a quoted UTF-16LE string, and only over an encrypted connection.
    new Attribute({ type: 'unicodePwd', values: [Buffer.from(`"${account.password}"`, 'utf16le')] }),
    new Attribute({ type: 'userAccountControl', values: [String(UF_AS_CREATED)] }),
    // 0 = "must change password at next logon".
    new Attribute({ type: 'pwdLastSet', values: ['0'] }),
  ];
  if (account.mail) attrs.push(new Attribute({ type: 'mail', values: [account.mail] }));
  for (const key of managedAttributeKeys) {
    const value = account.attributes[key];
    // AD refuses empty strings; an empty value means "not set".
    if (value) attrs.push(new Attribute({ type: key, values: [value] }));
  }
  return attrs;
}

export function createLdapDirectory(
  config: LdapDirectoryConfig,
  log: DirectoryLogger = silent,
): LdapDirectory {
  const timeout = config.timeoutMs ?? 10_000;
  const pageSize = config.pageSize ?? 500;
  const tlsOptions: ConnectionOptions = {
    ...(config.caCertPath ? { ca: [fs.readFileSync(config.caCertPath)] } : {}),
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
  };
  const newClient = () => new Client({ url: config.url, timeout, connectTimeout: timeout, tlsOptions });

  let salt: Promise<Buffer | undefined> | undefined;
  const saltOf = () =>
    (salt ??= Promise.resolve(
      typeof config.reservationSalt === 'function' ? config.reservationSalt() : config.reservationSalt,
    ));

  let client = newClient();
  let binding: Promise<void> | undefined;
  let closed = false;

  async function session(): Promise<Client> {
    if (closed) throw new DirectoryError('invalid', 'directory connector is closed', false);
    const current = client;
    if (current.isConnected && current.isBound) return current;
    // Concurrent calls share one bind instead of racing several on the same socket.
    if (!binding) {
      const pending: Promise<void> = current.bind(config.bindDn, config.bindPassword).finally(() => {
        if (binding === pending) binding = undefined;
      });
      binding = pending;
    }
    await binding;
    return current;
  }

  /** Drops a client whose connection failed, so the next call starts from a fresh socket. */
  function reset(failed: Client): void {
    if (client !== failed) return;
    client = newClient();
    binding = undefined;
    failed.unbind().catch(() => undefined);
  }

  /**
   * Runs one operation with classification and logging. Reads (`retryRead`) are repeated once
   * on a fresh connection when the old one turned out dead; writes never are (a write whose
   * answer was lost may have happened, and the caller's find-first logic decides).
   */
  async function op<T>(
    name: string,
    fn: (c: Client) => Promise<T>,
    retryRead = false,
    /** The attributes a write changes: named in a refusal whose diagnostic names none (Samba's 50). */
    writes?: readonly string[],
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      // The client this call uses, fixed before binding: a failure must reset this one only,
      // never a fresh client another call is binding meanwhile (that left calls hanging).
      const used: Client = client;
      try {
        try {
          await session();
        } catch (err) {
          // 49/50 here are about Tunnus's own bind account, not the operation.
          throw classifyLdapError(err, `${name} (bind)`, 'bind');
        }
        return await fn(used);
      } catch (err) {
        const e = naming(classifyLdapError(err, name), writes);
        if (e.kind === 'unavailable') reset(used);
        if (e.kind === 'credentials') {
          log.error(
            { op: name, kind: e.kind, ldapCode: e.ldapCode, alert: 'CredentialsRejected' },
            'the directory refused the bind account: check LDAP_BIND_DN and LDAP_BIND_PASSWORD',
          );
          throw e;
        }
        if (e.kind === 'unavailable' && retryRead && attempt === 1) {
          log.debug({ op: name, kind: e.kind }, 'ldap read failed; retrying on a new connection');
          continue;
        }
        log.warn(
          { op: name, kind: e.kind, ldapCode: e.ldapCode, retryable: e.retryable },
          'ldap operation failed',
        );
        throw e;
      }
    }
  }

  async function searchAll(c: Client, base: string, options: SearchOptions): Promise<Entry[]> {
    const { searchEntries } = await c.search(base, { scope: 'sub', paged: { pageSize }, ...options });
    return searchEntries;
  }

  /** Every user account under the base DN, each entry mapped as its page arrives. */
  async function listPersons<T>(name: string, attributes: string[], map: (entry: Entry) => T): Promise<T[]> {
    const listed = await op(
      name,
      (c) => searchMapped(c, config.baseDn, { filter: personFilter(), attributes }, map),
      true,
    );
    log.debug({ op: name, count: listed.length }, 'accounts listed');
    return listed;
  }

  /**
   * A paged listing with each entry mapped as its page arrives: a page's raw entries are garbage
   * before the next page is read. Held whole until the last page, the raw entries of a 50,000-
   * account listing took ~440 MB of RSS for 53 MB of mapped accounts.
   */
  async function searchMapped<T>(
    c: Client,
    base: string,
    options: SearchOptions,
    map: (entry: Entry) => T,
  ): Promise<T[]> {
    const out: T[] = [];
    for await (const page of c.searchPaginated(base, { scope: 'sub', paged: { pageSize }, ...options })) {
      for (const entry of page.searchEntries) out.push(map(entry));
    }
    return out;
  }

  async function readAccount(c: Client, dn: string): Promise<Entry> {
    const { searchEntries } = await c.search(dn, { scope: 'base', attributes: ACCOUNT_ATTRIBUTES });
    const entry = searchEntries[0];
    if (!entry) throw new DirectoryError('noSuchObject', 'read failed: entry not found', false);
    return entry;
  }

  async function replace(c: Client, dn: string, type: string, values: string[] | Buffer[]): Promise<void> {
    await c.modify(dn, new Change({ operation: 'replace', modification: new Attribute({ type, values }) }));
  }

  /** A name reservation's addresses (lower case, without the smtp: prefix) and end date. */
  async function readReservation(c: Client, dn: string): Promise<{ addresses: Set<string>; until?: string }> {
    const { searchEntries } = await c.search(dn, {
      scope: 'base',
      attributes: ['proxyAddresses', 'description'],
    });
    const entry = searchEntries[0];
    if (!entry) throw new DirectoryError('noSuchObject', 'reserveNames: reservation not found', false);
    // Plain (`smtp:`) and hashed (`x-tunnus:`) values, each as the reservation writes it.
    const addresses = new Set(
      many(entry, 'proxyAddresses').map((p) =>
        p.toLowerCase().startsWith(HASHED_ADDRESS) ? p.toLowerCase() : p.replace(/^smtp:/i, '').toLowerCase(),
      ),
    );
    const until = RESERVED_UNTIL.exec(one(entry, 'description') ?? '')?.[1];
    return { addresses, ...(until ? { until } : {}) };
  }

  async function isMember(c: Client, groupDn: string, memberDn: string): Promise<boolean> {
    const { searchEntries } = await c.search(groupDn, {
      scope: 'base',
      filter: eq('member', memberDn),
      attributes: ['1.1'],
    });
    return searchEntries.length > 0;
  }

  /**
   * Whether the schema indexes employeeID (searchFlags bit 0, docs/directory-schema.md): read once
   * per connector. Unknown (the read failed) counts as not indexed, which is correct either way,
   * and is asked again next time.
   */
  let indexed: Promise<boolean> | undefined;
  function employeeIdIndexed(): Promise<boolean> {
    if (config.employeeIdIndex && config.employeeIdIndex !== 'detect') {
      return Promise.resolve(config.employeeIdIndex === 'indexed');
    }
    indexed ??= op(
      'employeeIdIndexed',
      async (c) => {
        const root = await c.search('', { scope: 'base', attributes: ['schemaNamingContext'] });
        const schemaNc = root.searchEntries[0]
          ? one(root.searchEntries[0], 'schemaNamingContext')
          : undefined;
        if (!schemaNc) return false;
        const { searchEntries } = await c.search(schemaNc, {
          scope: 'one',
          filter: new AndFilter({
            filters: [eq('objectClass', 'attributeSchema'), eq('lDAPDisplayName', 'employeeID')],
          }),
          attributes: ['searchFlags'],
        });
        const flags = Number((searchEntries[0] && one(searchEntries[0], 'searchFlags')) ?? 0);
        log.info({ op: 'employeeIdIndexed', indexed: (flags & 1) === 1 }, 'employeeID index checked');
        return (flags & 1) === 1;
      },
      true,
    ).catch(() => {
      indexed = undefined;
      return false;
    });
    return indexed;
  }

  return {
    async findByEmployeeId(employeeId) {
      requireValue(employeeId, 'employeeId');
      return op(
        'findByEmployeeId',
        async (c) => {
          const { searchEntries } = await c.search(config.baseDn, {
            scope: 'sub',
            filter: new AndFilter({ filters: [personFilter(), eq('employeeID', employeeId)] }),
            attributes: ACCOUNT_ATTRIBUTES,
            sizeLimit: 2,
          });
          if (searchEntries.length > 1) {
            throw new DirectoryError(
              'duplicateIdentity',
              'findByEmployeeId: more than one account carries this employeeID',
              false,
            );
          }
          const entry = searchEntries[0];
          return entry ? toAccount(entry) : null;
        },
        true,
      );
    },

    async takenNames(candidates: AccountNames[], exceptEmployeeId: string) {
      const search = nameSearch(candidates, await saltOf());
      if (!search) return new Set<string>();
      const filter = new AndFilter({
        filters: [search.filter, new NotFilter({ filter: eq('employeeID', exceptEmployeeId) })],
      });
      const entries = await op(
        'takenNames',
        (c) => searchAll(c, config.baseDn, { filter, attributes: NAME_ATTRIBUTES }),
        true,
      );
      const taken = takenAmong(candidates, entries, search.hashed);
      log.debug({ op: 'takenNames', candidates: candidates.length, taken: taken.size }, 'name check');
      return taken;
    },

    async lookupForPlan(request: PlanLookupRequest): Promise<PlanLookup> {
      requireValue(request.employeeId, 'employeeId');
      const ofId = (id: string) => new AndFilter({ filters: [personFilter(), eq('employeeID', id)] });
      const names = request.candidates ? nameSearch(request.candidates, await saltOf()) : undefined;
      // One search: the person, the manager and every holder of a candidate name. Which entry is
      // which is decided from its values below (employeeID matches case-insensitively, as in AD).
      const ids = [ofId(request.employeeId), ...(request.managerId ? [ofId(request.managerId)] : [])];
      const attributes = [...new Set([...ACCOUNT_ATTRIBUTES, ...NAME_ATTRIBUTES])];
      const search = (filters: Filter[]) =>
        op(
          'lookupForPlan',
          (c) => searchAll(c, config.baseDn, { filter: new OrFilter({ filters }), attributes }),
          true,
        );
      // Without an index on employeeID the DC evaluates an OR with it on every object: the whole
      // name filter too (measured on Samba with 5,000 users: 1.1 s against 0.16 s for the
      // employeeID terms alone). There the names get a search of their own, on indexed attributes.
      const entries =
        !names || (await employeeIdIndexed())
          ? await search([...ids, ...(names ? [names.filter] : [])])
          : uniqueByDn([...(await search(ids)), ...(await search([names.filter]))]);
      const isAccountOf = (e: Entry, id: string) => {
        const classes = many(e, 'objectClass').map((c) => c.toLowerCase());
        return (
          (one(e, 'employeeID') ?? '').toLowerCase() === id.toLowerCase() &&
          classes.includes('user') &&
          !classes.includes('computer')
        );
      };
      const accountOf = (id: string | undefined): DirectoryAccount | null => {
        if (!id) return null;
        const found = entries.filter((e) => isAccountOf(e, id));
        if (found.length > 1) {
          throw new DirectoryError(
            'duplicateIdentity',
            'lookupForPlan: more than one account carries this employeeID',
            false,
          );
        }
        return found[0] ? toAccount(found[0]) : null;
      };
      const account = accountOf(request.employeeId);
      const manager = accountOf(request.managerId);
      if (!names || account) return { account, manager };
      // As takenNames: any object but the identity's own holds a name (its own has none yet).
      const self = request.employeeId.toLowerCase();
      const others = entries.filter((e) => (one(e, 'employeeID') ?? '').toLowerCase() !== self);
      const taken = takenAmong(request.candidates!, others, names.hashed);
      log.debug({ op: 'lookupForPlan', entries: entries.length, taken: taken.size }, 'plan lookup');
      return { account, manager, taken };
    },

    async createAccount(account: NewAccount) {
      requireValue(account.employeeId, 'employeeId');
      const dn = childDn('CN', account.cn, account.ou);
      const attrs = newAccountAttributes(account);
      return op('createAccount', async (c) => {
        await c.add(dn, attrs);
        // Samba and AD both accept all of the above in the add. Directories that apply
        // pwdLastSet or the disable bit differently get them fixed here, so the result is the same.
        let entry = await readAccount(c, dn);
        const uac = Number(one(entry, 'userAccountControl') ?? 0);
        let fixed = false;
        if ((uac & UF_ACCOUNTDISABLE) === 0) {
          await replace(c, entry.dn, 'userAccountControl', [String(uac | UF_ACCOUNTDISABLE)]);
          fixed = true;
        }
        if (one(entry, 'pwdLastSet') !== '0') {
          await replace(c, entry.dn, 'pwdLastSet', ['0']);
          fixed = true;
        }
        if (fixed) entry = await readAccount(c, entry.dn);
        log.info({ op: 'createAccount', fixedAfterAdd: fixed }, 'account created');
        return toAccount(entry);
      });
    },

    async addAccount(account: NewAccount) {
      requireValue(account.employeeId, 'employeeId');
      const dn = childDn('CN', account.cn, account.ou);
      const attrs = newAccountAttributes(account);
      await op('addAccount', (c) => c.add(dn, attrs));
      log.info({ op: 'addAccount' }, 'account created');
      return { dn };
    },

    async updateAttributes(dn: string, attributes: Partial<ManagedAttributes>) {
      const changes: Change[] = [];
      for (const key of managedAttributeKeys) {
        if (!Object.prototype.hasOwnProperty.call(attributes, key)) continue;
        const value = attributes[key];
        // Replace with no values clears the attribute (and is not an error when it is absent).
        const values = value ? [value] : [];
        changes.push(
          new Change({ operation: 'replace', modification: new Attribute({ type: key, values }) }),
        );
      }
      if (changes.length === 0) return;
      await op('updateAttributes', (c) => c.modify(dn, changes), false, Object.keys(attributes));
      log.debug({ op: 'updateAttributes', attributes: changes.length }, 'attributes replaced');
    },

    async setMailAddresses(dn: string, mail: string, proxyAddresses: string[]) {
      await op(
        'setMailAddresses',
        async (c) => {
          await c.modify(dn, [
            new Change({
              operation: 'replace',
              modification: new Attribute({ type: 'mail', values: [mail] }),
            }),
            new Change({
              operation: 'replace',
              modification: new Attribute({ type: 'proxyAddresses', values: proxyAddresses }),
            }),
          ]);
        },
        false,
        ['mail', 'proxyAddresses'],
      );
      log.debug({ op: 'setMailAddresses', addresses: proxyAddresses.length }, 'mail addresses replaced');
    },

    async setPhoneNumbers(dn: string, phones: { telephoneNumber?: string; mobile?: string }) {
      await op(
        'setPhoneNumbers',
        (c) =>
          c.modify(
            dn,
            (['telephoneNumber', 'mobile'] as const).map(
              (type) =>
                new Change({
                  operation: 'replace',
                  modification: new Attribute({ type, values: phones[type] ? [phones[type]] : [] }),
                }),
            ),
          ),
        false,
        ['telephoneNumber', 'mobile'],
      );
      log.debug({ op: 'setPhoneNumbers' }, 'phone numbers replaced');
    },

    async setEnabled(dn: string, enabled: boolean) {
      await op(
        'setEnabled',
        async (c) => {
          const { searchEntries } = await c.search(dn, { scope: 'base', attributes: ['userAccountControl'] });
          const raw = searchEntries[0] ? one(searchEntries[0], 'userAccountControl') : undefined;
          if (raw === undefined)
            throw new DirectoryError('noSuchObject', 'setEnabled failed: no account', false);
          const uac = Number(raw);
          // Only the disable bit changes; every other flag an admin set is kept.
          const next = enabled ? uac & ~UF_ACCOUNTDISABLE : uac | UF_ACCOUNTDISABLE;
          if (next !== uac) await replace(c, dn, 'userAccountControl', [String(next)]);
        },
        false,
        ['userAccountControl'],
      );
    },

    async enableIfAsCreated(dn: string) {
      return op(
        'enableIfAsCreated',
        async (c) => {
          try {
            // Delete the exact value and add the new one in one modify: atomic, so it succeeds only
            // if the account still reads as created (a compare-and-swap); no read needed first.
            await c.modify(dn, [
              new Change({
                operation: 'delete',
                modification: new Attribute({ type: 'userAccountControl', values: [String(UF_AS_CREATED)] }),
              }),
              new Change({
                operation: 'add',
                modification: new Attribute({
                  type: 'userAccountControl',
                  values: [String(UF_AS_CREATED & ~UF_ACCOUNTDISABLE)],
                }),
              }),
            ]);
            return true;
          } catch (err) {
            // 16: the value is not there (enabled already, or other flags set): read and flip instead.
            if (ldapResultCode(err) === LdapCode.noSuchAttribute) return false;
            throw err;
          }
        },
        false,
        ['userAccountControl'],
      );
    },

    async setInitialPassword(dn: string, password: string) {
      await op(
        'setInitialPassword',
        async (c) => {
          await c.modify(dn, [
            // AD takes the password only as a quoted UTF-16LE string, over an encrypted connection;
            // a replace is the administrator's reset (no old password needed).
            new Change({
              operation: 'replace',
              modification: new Attribute({
                type: 'unicodePwd',
                values: [Buffer.from(`"${password}"`, 'utf16le')],
              }),
            }),
            // 0 = "must change password at next logon": the person chooses their own at first sign-in.
            new Change({
              operation: 'replace',
              modification: new Attribute({ type: 'pwdLastSet', values: ['0'] }),
            }),
          ]);
          const { searchEntries } = await c.search(dn, { scope: 'base', attributes: ['pwdLastSet'] });
          const after = searchEntries[0] ? one(searchEntries[0], 'pwdLastSet') : undefined;
          if (after !== '0') {
            throw new DirectoryError('unavailable', 'setInitialPassword: pwdLastSet does not read 0', true);
          }
        },
        false,
        ['unicodePwd', 'pwdLastSet'],
      );
      log.info({ op: 'setInitialPassword' }, 'initial password set, must change at next logon');
    },

    async addToGroup(groupDn: string, memberDn: string) {
      await op('addToGroup', async (c) => {
        try {
          await c.modify(
            groupDn,
            new Change({
              operation: 'add',
              modification: new Attribute({ type: 'member', values: [memberDn] }),
            }),
          );
        } catch (err) {
          // Samba and AD answer 68 (RFC servers 20) for an existing member. Confirm rather than
          // assume, so a different refusal with the same code is not reported as success.
          const code = ldapResultCode(err);
          const dup = code === LdapCode.entryAlreadyExists || code === LdapCode.attributeOrValueExists;
          if (!(dup && (await isMember(c, groupDn, memberDn)))) throw err;
        }
      });
    },

    async removeFromGroup(groupDn: string, memberDn: string) {
      await op('removeFromGroup', async (c) => {
        try {
          await c.modify(
            groupDn,
            new Change({
              operation: 'delete',
              modification: new Attribute({ type: 'member', values: [memberDn] }),
            }),
          );
        } catch (err) {
          // Samba answers 53 ("already deleted") for a non-member, RFC servers 16 (no such value).
          const code = ldapResultCode(err);
          const absent = code === LdapCode.unwillingToPerform || code === LdapCode.noSuchAttribute;
          if (!(absent && !(await isMember(c, groupDn, memberDn)))) throw err;
        }
      });
    },

    async move(dn: string, newParentDn: string) {
      return op('move', async (c) => {
        const { rdn, parent } = splitDn(dn);
        if (parent.toLowerCase() === newParentDn.trim().toLowerCase()) return dn;
        // Re-escape the RDN in our form: ldapts splits the new DN at the first comma that does not
        // follow a backslash, which misreads a server-written `\\,` (a value ending in `\`).
        const { type, value } = parseRdn(rdn);
        const newRdn = `${type}=${escapeDnValue(value)}`;
        await c.modifyDN(dn, `${newRdn},${newParentDn}`);
        // Return the DN as the server writes it, so callers compare like with like.
        const { searchEntries } = await c.search(`${newRdn},${newParentDn}`, {
          scope: 'base',
          attributes: ['1.1'],
        });
        log.debug({ op: 'move' }, 'entry moved');
        return searchEntries[0]?.dn ?? `${newRdn},${newParentDn}`;
      });
    },

    async findGroup(name: string) {
      requireValue(name, 'group name');
      return op(
        'findGroup',
        async (c) => {
          const { searchEntries } = await c.search(config.baseDn, {
            scope: 'sub',
            filter: new AndFilter({ filters: [eq('objectClass', 'group'), eq('sAMAccountName', name)] }),
            attributes: ['1.1'],
            sizeLimit: 2,
          });
          return searchEntries[0]?.dn ?? null;
        },
        true,
      );
    },

    async findGroups(names: readonly string[]) {
      names.forEach((name) => requireValue(name, 'group name'));
      const found = new Map<string, string>();
      if (names.length === 0) return found;
      // Not paged: a search answers at most as many groups as it names, kept under AD's page
      // limit (MaxPageSize 1,000) by asking 500 names at a time. Samba's paged-results control
      // costs ten times the search itself (measured: 12 against 1.2 ms of DC CPU for 9 names).
      const unique = [...new Set(names)];
      const chunks = Array.from({ length: Math.ceil(unique.length / 500) }, (_, i) =>
        unique.slice(i * 500, i * 500 + 500),
      );
      const entries = await op(
        'findGroups',
        async (c) => {
          const found: Entry[] = [];
          for (const chunk of chunks) {
            const { searchEntries } = await c.search(config.baseDn, {
              scope: 'sub',
              filter: new AndFilter({
                filters: [
                  eq('objectClass', 'group'),
                  new OrFilter({ filters: chunk.map((name) => eq('sAMAccountName', name)) }),
                ],
              }),
              attributes: ['sAMAccountName'],
            });
            found.push(...searchEntries);
          }
          return found;
        },
        true,
      );
      const byName = new Map(entries.map((e) => [(one(e, 'sAMAccountName') ?? '').toLowerCase(), e.dn]));
      for (const name of names) {
        const dn = byName.get(name.toLowerCase());
        if (dn) found.set(name, dn);
      }
      return found;
    },

    async createGroup(name: string, ouDn: string) {
      requireValue(name, 'group name');
      const dn = childDn('CN', name, ouDn);
      return op('createGroup', async (c) => {
        try {
          await c.add(dn, [
            new Attribute({ type: 'objectClass', values: ['top', 'group'] }),
            new Attribute({ type: 'sAMAccountName', values: [name] }),
            new Attribute({ type: 'groupType', values: [GROUP_TYPE_GLOBAL_SECURITY] }),
            new Attribute({ type: 'description', values: ['Tunnus: made from a policy group template'] }),
          ]);
          log.info({ op: 'createGroup' }, 'group created');
          return dn;
        } catch (err) {
          // Another worker created it first (same DN), or it exists elsewhere under the same
          // sAMAccountName (AD answers a constraint violation): either way, use that group.
          const code = ldapResultCode(err);
          if (code !== LdapCode.entryAlreadyExists && code !== LdapCode.constraintViolation) throw err;
          const { searchEntries } = await c.search(config.baseDn, {
            scope: 'sub',
            filter: new AndFilter({ filters: [eq('objectClass', 'group'), eq('sAMAccountName', name)] }),
            attributes: ['1.1'],
            sizeLimit: 2,
          });
          if (!searchEntries[0]) throw err;
          return searchEntries[0].dn;
        }
      });
    },

    async deleteEntry(dn: string) {
      await op('deleteEntry', async (c) => {
        try {
          await c.del(dn);
        } catch (err) {
          if (ldapResultCode(err) !== LdapCode.noSuchObject) throw err;
        }
      });
    },

    listAccounts: () => listPersons('listAccounts', ACCOUNT_ATTRIBUTES, toAccount),

    listAccountSummaries: () => listPersons('listAccountSummaries', SUMMARY_ATTRIBUTES, toSummary),

    async listMembers(groupDn: string): Promise<GroupMember[]> {
      requireValue(groupDn, 'group DN');
      // memberOf on the members (not `member` on the group): AD returns big groups' member
      // attribute in ranges, while a paged search over memberOf has no such limit.
      const entries = await op(
        'listMembers',
        (c) =>
          searchAll(c, config.baseDn, {
            filter: eq('memberOf', groupDn),
            attributes: ['employeeID', 'sAMAccountName'],
          }),
        true,
      );
      return entries.map(toMember);
    },

    async listGroupMembers(groupDns: readonly string[]) {
      const members = new Map<string, GroupMember[]>(groupDns.map((dn) => [dn, []]));
      if (groupDns.length === 0) return members;
      // DNs compare case-insensitively; memberOf holds them as the directory spells them.
      const asked = new Map(groupDns.map((dn) => [dn.toLowerCase(), dn]));
      // Each entry as its page arrives: the member and which of the asked groups it is in.
      const entries = await op(
        'listGroupMembers',
        (c) =>
          searchMapped(
            c,
            config.baseDn,
            {
              filter: new OrFilter({ filters: groupDns.map((dn) => eq('memberOf', dn)) }),
              attributes: ['employeeID', 'sAMAccountName', 'memberOf'],
            },
            (e) => ({
              member: toMember(e),
              groups: [e.memberOf ?? []].flat().flatMap((g) => asked.get(String(g).toLowerCase()) ?? []),
            }),
          ),
        true,
      );
      for (const { member, groups } of entries) for (const dn of groups) members.get(dn)!.push(member);
      log.debug(
        { op: 'listGroupMembers', groups: groupDns.length, entries: entries.length },
        'members listed',
      );
      return members;
    },

    async reserveNames(r: NameReservation) {
      requireValue(r.name, 'reserved name');
      const key = await saltOf();
      const dn = childDn('CN', key ? hashedReservationCn(key, r.name) : r.name, r.ouDn);
      const addresses = [
        ...new Set(r.addresses.map((a) => a.toLowerCase()).map((a) => (key ? hashedValue(key, a) : a))),
      ];
      const description = (until: string) => `Tunnus: name of a deleted account, reserved until ${until}`;
      await op('reserveNames', async (c) => {
        try {
          await c.add(dn, [
            new Attribute({
              type: 'objectClass',
              values: ['top', 'person', 'organizationalPerson', 'contact'],
            }),
            new Attribute({ type: 'description', values: [description(r.until)] }),
            ...(addresses.length > 0
              ? [new Attribute({ type: 'proxyAddresses', values: addresses.map(proxyOf) })]
              : []),
          ]);
        } catch (err) {
          if (ldapResultCode(err) !== LdapCode.entryAlreadyExists) throw err;
          // A reservation of the same name is there (a retry, or an earlier holder of the name whose
          // reservation was not released yet): it must end up holding these names too, at least
          // as long. Skipping it would leave this account's addresses free.
          const existing = await readReservation(c, dn);
          const missing = addresses.filter((a) => !existing.addresses.has(a));
          const changes: Change[] = [];
          if (missing.length > 0) {
            changes.push(
              new Change({
                operation: 'add',
                modification: new Attribute({
                  type: 'proxyAddresses',
                  values: missing.map(proxyOf),
                }),
              }),
            );
          }
          if (!existing.until || existing.until < r.until) {
            changes.push(
              new Change({
                operation: 'replace',
                modification: new Attribute({ type: 'description', values: [description(r.until)] }),
              }),
            );
          }
          if (changes.length > 0) await c.modify(dn, changes);
        }
        // Read back: a reservation is only as good as what the collision check will find.
        const stored = await readReservation(c, dn);
        const absent = addresses.filter((a) => !stored.addresses.has(a));
        if (absent.length > 0 || !stored.until || stored.until < r.until) {
          throw new DirectoryError(
            'unavailable',
            `reserveNames: reservation reads back incomplete (${absent.length} addresses missing)`,
            true,
          );
        }
      });
      log.info({ op: 'reserveNames', addresses: addresses.length }, 'names reserved');
    },

    async listReservations(ouDn: string) {
      const entries = await op(
        'listReservations',
        (c) => searchAll(c, ouDn, { filter: eq('objectClass', 'contact'), attributes: ['description'] }),
        true,
      );
      return entries.flatMap((e) => {
        const until = RESERVED_UNTIL.exec(one(e, 'description') ?? '')?.[1];
        return until ? [{ dn: e.dn, until }] : [];
      });
    },

    async close() {
      closed = true;
      await client.unbind().catch(() => undefined);
    },
  };
}

/**
 * A permission or constraint refusal of a write names the field: the server's own attribute if
 * its diagnostic gave one, else the attributes the write changed (Samba's 50 names none).
 */
function naming(e: DirectoryError, writes?: readonly string[]): DirectoryError {
  if (e.attribute || !writes?.length || (e.kind !== 'permission' && e.kind !== 'constraint')) return e;
  const attribute = writes.join(', ');
  return new DirectoryError(
    e.kind,
    e.message.replace(/\)$/, `, attribute ${attribute})`),
    e.retryable,
    e.ldapCode,
    attribute,
  );
}

function requireValue(value: string, what: string): void {
  if (!value) throw new DirectoryError('invalid', `${what} must not be empty`, false);
}

function toMember(entry: Entry): GroupMember {
  const employeeId = one(entry, 'employeeID');
  const sam = one(entry, 'sAMAccountName');
  return { dn: entry.dn, ...(employeeId ? { employeeId } : {}), ...(sam ? { sAMAccountName: sam } : {}) };
}

function toSummary(entry: Entry): AccountSummary {
  return {
    dn: entry.dn,
    ou: parentDn(entry.dn),
    employeeId: one(entry, 'employeeID') ?? '',
    sAMAccountName: one(entry, 'sAMAccountName') ?? '',
    enabled: (Number(one(entry, 'userAccountControl') ?? 0) & UF_ACCOUNTDISABLE) === 0,
  };
}

function toAccount(entry: Entry): DirectoryAccount {
  const uac = Number(one(entry, 'userAccountControl') ?? 0);
  const optional = (attr: string, key: keyof DirectoryAccount) => {
    const v = one(entry, attr);
    return v !== undefined ? { [key]: v } : {};
  };
  return {
    dn: entry.dn,
    ou: parentDn(entry.dn),
    employeeId: one(entry, 'employeeID') ?? '',
    sAMAccountName: one(entry, 'sAMAccountName') ?? '',
    userPrincipalName: one(entry, 'userPrincipalName') ?? '',
    ...optional('mail', 'mail'),
    proxyAddresses: many(entry, 'proxyAddresses'),
    ...optional('givenName', 'givenName'),
    ...optional('sn', 'sn'),
    ...optional('displayName', 'displayName'),
    ...optional('title', 'title'),
    ...optional('department', 'department'),
    ...optional('manager', 'manager'),
    ...optional('telephoneNumber', 'telephoneNumber'),
    ...optional('mobile', 'mobile'),
    enabled: (uac & UF_ACCOUNTDISABLE) === 0,
    memberOf: many(entry, 'memberOf'),
  };
}

/** All values of an attribute, looked up case-insensitively (servers echo their own casing). */
function many(entry: Entry, attribute: string): string[] {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
  if (key === undefined || key === 'dn') return [];
  const raw = entry[key];
  const list = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  return list.map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : v));
}

function one(entry: Entry, attribute: string): string | undefined {
  return many(entry, attribute)[0];
}
