import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Attribute, Change, Client } from 'ldapts';
import { ensureSamba, type SambaHandle } from '../../sandbox/samba';
import { DirectoryError, type DirectoryErrorKind } from '../../src/connectors/ldap/errors';
import { parseRdn, splitDn } from '../../src/connectors/ldap/escape';
import { createLdapDirectory, type LdapDirectory } from '../../src/connectors/ldap/ldap-directory';
import type { ManagedAttributes, NewAccount } from '../../src/domain/account';

// The LDAP connector against a real Samba AD DC: what AD enforces (unique sAMAccountName,
// password policy, userAccountControl) is proven by Samba refusing it, not by our own checks.
// Every test uses employee ids and names unique to this run, so runs and tests do not interfere.

const run = randomUUID().replaceAll('-', '').slice(0, 8);
const strongPassword = 'Kevät-2025-Alku!';

let samba: SambaHandle;
let dir: LdapDirectory;
let admin: Client;
let staffOu: string;
let careOu: string;
/** A per-run OU, so tests can use exact (unsuffixed) hostile names as CNs. */
let runOu: string;
const created: string[] = [];
let seq = 0;

/** A fresh identity: employee id and names unique to this run. */
function identity(tag: string) {
  seq += 1;
  const local = `t${run}${seq}${tag}`.slice(0, 20);
  return {
    employeeId: `IT-${run}-${seq}`,
    local,
    sAMAccountName: local,
    userPrincipalName: `${local}@kerava.test`,
    mail: `${local}@kerava.fi`,
  };
}

function attributes(overrides: Partial<ManagedAttributes> = {}): ManagedAttributes {
  return {
    givenName: 'Aino',
    sn: 'Kivelä',
    displayName: 'Aino Kivelä',
    title: 'Sairaanhoitaja',
    department: 'SOTE',
    ...overrides,
  };
}

function newAccount(id: ReturnType<typeof identity>, overrides: Partial<NewAccount> = {}): NewAccount {
  return {
    employeeId: id.employeeId,
    ou: staffOu,
    cn: id.local,
    sAMAccountName: id.sAMAccountName,
    userPrincipalName: id.userPrincipalName,
    mail: id.mail,
    attributes: attributes(),
    password: strongPassword,
    ...overrides,
  };
}

async function create(account: NewAccount) {
  const result = await dir.createAccount(account);
  created.push(result.dn);
  return result;
}

async function raw(dn: string, attribute: string): Promise<string | undefined> {
  const { searchEntries } = await admin.search(dn, { scope: 'base', attributes: [attribute] });
  const v = searchEntries[0]?.[attribute];
  return Array.isArray(v) ? String(v[0]) : v === undefined ? undefined : String(v);
}

async function replaceRaw(dn: string, type: string, values: string[]): Promise<void> {
  await admin.modify(dn, new Change({ operation: 'replace', modification: new Attribute({ type, values }) }));
}

function isDirectoryError(kind: DirectoryErrorKind, retryable: boolean, ldapCode?: number) {
  return (err: unknown) => {
    assert.ok(err instanceof DirectoryError, `expected a DirectoryError, got ${String(err)}`);
    assert.equal(err.kind, kind);
    assert.equal(err.retryable, retryable);
    if (ldapCode !== undefined) assert.equal(err.ldapCode, ldapCode);
    return true;
  };
}

const sameDn = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

before(async () => {
  samba = await ensureSamba();
  const config = {
    url: samba.url,
    bindDn: samba.bindDn,
    bindPassword: samba.bindPassword,
    baseDn: samba.baseDn,
    caCertPath: samba.caCertPath,
    timeoutMs: 5_000,
  };
  dir = createLdapDirectory(config);
  admin = new Client({
    url: samba.url,
    tlsOptions: { ca: [fs.readFileSync(samba.caCertPath)] },
    timeout: 5_000,
  });
  await admin.bind(samba.bindDn, samba.bindPassword);
  staffOu = `OU=Staff,OU=Tunnus,${samba.baseDn}`;
  careOu = `OU=Care,OU=Staff,OU=Tunnus,${samba.baseDn}`;
  runOu = `OU=it-${run},OU=Tunnus,${samba.baseDn}`;
  await admin.add(runOu, { objectClass: ['top', 'organizationalUnit'] });
});

after(async () => {
  // Children first; the run OU last. Best effort: a failed test may have left less behind.
  for (const dn of created.reverse()) await dir.deleteEntry(dn).catch(() => undefined);
  const { searchEntries } = await admin.search(runOu, { scope: 'one', attributes: ['1.1'] }).catch(() => ({
    searchEntries: [],
  }));
  for (const e of searchEntries) await admin.del(e.dn).catch(() => undefined);
  await admin.del(runOu).catch(() => undefined);
  await admin.unbind();
  await dir.close();
});

describe('LDAP directory against Samba AD', () => {
  it('creates a disabled account with every attribute and "must change password"; finds it by employeeID', async () => {
    const boss = await create(newAccount(identity('m')));
    const id = identity('a');
    const made = await create(
      newAccount(id, { attributes: attributes({ manager: boss.dn, title: 'Osastonhoitaja' }) }),
    );
    const found = await dir.findByEmployeeId(id.employeeId);
    assert.ok(found);
    assert.deepEqual(found, made);
    assert.equal(found.dn, `CN=${id.local},${staffOu}`);
    assert.equal(found.ou, staffOu);
    assert.equal(found.employeeId, id.employeeId);
    assert.equal(found.sAMAccountName, id.sAMAccountName);
    assert.equal(found.userPrincipalName, id.userPrincipalName);
    assert.equal(found.mail, id.mail);
    assert.equal(found.givenName, 'Aino');
    assert.equal(found.sn, 'Kivelä');
    assert.equal(found.displayName, 'Aino Kivelä');
    assert.equal(found.title, 'Osastonhoitaja');
    assert.equal(found.department, 'SOTE');
    assert.ok(found.manager && sameDn(found.manager, boss.dn));
    assert.equal(found.enabled, false);
    assert.deepEqual(found.memberOf, []);
    assert.deepEqual(found.proxyAddresses, []);
    // What AD stored: NORMAL_ACCOUNT | ACCOUNTDISABLE, and pwdLastSet 0 (change at next logon).
    assert.equal(await raw(found.dn, 'userAccountControl'), '514');
    assert.equal(await raw(found.dn, 'pwdLastSet'), '0');
    assert.equal(await dir.findByEmployeeId(`IT-${run}-none`), null);
  });

  it('sets the initial password in the add: once enabled, the account binds with it and not with another', async () => {
    const id = identity('p');
    const account = await create(newAccount(id));
    await dir.setEnabled(account.dn, true);
    await replaceRaw(account.dn, 'pwdLastSet', ['-1']); // lift "must change" so a bind can prove the password
    const user = new Client({ url: samba.url, tlsOptions: { ca: [fs.readFileSync(samba.caCertPath)] } });
    try {
      await user.bind(id.userPrincipalName, strongPassword);
      await user.unbind();
      await assert.rejects(user.bind(id.userPrincipalName, 'Wrong-Passw0rd!'), (err: unknown) => {
        assert.equal((err as { code?: number }).code, 49);
        return true;
      });
    } finally {
      await user.unbind().catch(() => undefined);
    }
  });

  it('a password that breaks AD policy is refused by Samba as a non-retryable constraint, and nothing is created', async () => {
    for (const weak of ['abc', 'alllowercaseletters']) {
      const id = identity('w');
      await assert.rejects(
        dir.createAccount(newAccount(id, { password: weak })),
        isDirectoryError('constraint', false, 19),
      );
      assert.equal(await dir.findByEmployeeId(id.employeeId), null);
    }
  });

  it('enable and disable flip only the ACCOUNTDISABLE bit and keep flags an admin set', async () => {
    const account = await create(newAccount(identity('e')));
    // An admin marked the password as never expiring (0x10000) by hand.
    await replaceRaw(account.dn, 'userAccountControl', [String(514 | 0x10000)]);
    await dir.setEnabled(account.dn, true);
    assert.equal(await raw(account.dn, 'userAccountControl'), String(512 | 0x10000));
    assert.equal((await dir.findByEmployeeId(account.employeeId))?.enabled, true);
    await dir.setEnabled(account.dn, true);
    assert.equal(await raw(account.dn, 'userAccountControl'), String(512 | 0x10000));
    await dir.setEnabled(account.dn, false);
    assert.equal(await raw(account.dn, 'userAccountControl'), String(514 | 0x10000));
    assert.equal((await dir.findByEmployeeId(account.employeeId))?.enabled, false);
  });

  it('AD refuses a second account with the same sAMAccountName (68) or UPN (19), and both are classified', async () => {
    const first = identity('d');
    await create(newAccount(first));
    const second = identity('d');
    await assert.rejects(
      dir.createAccount(newAccount(second, { sAMAccountName: first.sAMAccountName })),
      isDirectoryError('alreadyExists', false, 68),
    );
    await assert.rejects(
      dir.createAccount(newAccount(second, { userPrincipalName: first.userPrincipalName })),
      isDirectoryError('constraint', false, 19),
    );
    assert.equal(await dir.findByEmployeeId(second.employeeId), null);
    // The same DN again (a retried create) is "already exists" too.
    await assert.rejects(
      dir.createAccount(newAccount(identity('d'), { cn: first.local })),
      isDirectoryError('alreadyExists', false, 68),
    );
  });

  it('takenNames finds collisions on sAMAccountName, UPN, mail and a proxyAddresses alias, ignoring the identity itself', async () => {
    const holder = identity('h');
    const account = await create(newAccount(holder));
    const alias = `alias.${run}@kerava.fi`;
    await replaceRaw(account.dn, 'proxyAddresses', [`SMTP:${holder.mail}`, `smtp:${alias}`]);
    // A contact (not a user) holding an address blocks it too.
    const contactMail = `contact.${run}@kerava.fi`;
    const contactDn = `CN=contact-${run},${runOu}`;
    await admin.add(contactDn, {
      objectClass: ['top', 'person', 'organizationalPerson', 'contact'],
      mail: contactMail,
    });

    const fresh = (tag: string) => {
      const n = identity(tag);
      return { sAMAccountName: n.sAMAccountName, userPrincipalName: n.userPrincipalName, mail: n.mail };
    };
    const bySam = { ...fresh('s'), sAMAccountName: holder.sAMAccountName.toUpperCase() };
    const byUpn = { ...fresh('u'), userPrincipalName: holder.userPrincipalName };
    const byMail = { ...fresh('x'), mail: holder.mail };
    const byAlias = { ...fresh('y'), mail: alias.toUpperCase() };
    const byContact = { ...fresh('c'), mail: contactMail };
    const upnIsSomeonesMail = { ...fresh('z'), userPrincipalName: holder.mail };
    const free = fresh('f');
    const candidates = [bySam, byUpn, byMail, byAlias, byContact, upnIsSomeonesMail, free];

    const taken = await dir.takenNames(candidates, `IT-${run}-someone-else`);
    assert.deepEqual(
      [...taken].sort(),
      [bySam, byUpn, byMail, byAlias, byContact, upnIsSomeonesMail].map((c) => c.sAMAccountName).sort(),
    );
    // The identity's own account does not block its own names (a retry or a rehire).
    const own = await dir.takenNames([bySam, byUpn, byMail, byAlias, free], holder.employeeId);
    assert.deepEqual([...own], []);
    assert.deepEqual([...(await dir.takenNames([], holder.employeeId))], []);
  });

  it('two accounts with one employeeID are a duplicate identity, not a guess', async () => {
    const id = identity('2');
    await create(newAccount(id));
    const twin = identity('2');
    await create(newAccount(twin, { employeeId: id.employeeId }));
    await assert.rejects(dir.findByEmployeeId(id.employeeId), isDirectoryError('duplicateIdentity', false));
  });

  it('group membership: add and remove are idempotent; an unknown group is noSuchObject', async () => {
    const account = await create(newAccount(identity('g')));
    const group = await dir.findGroup('Care-Staff');
    assert.ok(group, 'policy group Care-Staff exists');
    assert.equal(await dir.findGroup(`No-Such-Group-${run}`), null);

    await dir.addToGroup(group, account.dn);
    await dir.addToGroup(group, account.dn);
    let now = await dir.findByEmployeeId(account.employeeId);
    assert.deepEqual(
      now?.memberOf.map((g) => g.toLowerCase()),
      [group.toLowerCase()],
    );

    await dir.removeFromGroup(group, account.dn);
    await dir.removeFromGroup(group, account.dn);
    now = await dir.findByEmployeeId(account.employeeId);
    assert.deepEqual(now?.memberOf, []);

    await assert.rejects(
      dir.addToGroup(`CN=No-Such-Group-${run},OU=Groups,OU=Tunnus,${samba.baseDn}`, account.dn),
      isDirectoryError('noSuchObject', false, 32),
    );
  });

  it('updateAttributes replaces given attributes, clears undefined ones and leaves the rest', async () => {
    const account = await create(newAccount(identity('u')));
    await dir.updateAttributes(account.dn, { title: 'Ylilääkäri', department: undefined });
    const now = await dir.findByEmployeeId(account.employeeId);
    assert.equal(now?.title, 'Ylilääkäri');
    assert.equal(now?.department, undefined);
    assert.equal(now?.displayName, 'Aino Kivelä');
    await dir.updateAttributes(account.dn, { department: undefined }); // clearing an absent value is fine
  });

  it('moves an account to another OU and reports the new DN; a move to the same OU changes nothing', async () => {
    const account = await create(newAccount(identity('v')));
    const moved = await dir.move(account.dn, careOu);
    created.push(moved);
    assert.equal(moved, `${splitDn(account.dn).rdn},${careOu}`);
    const found = await dir.findByEmployeeId(account.employeeId);
    assert.equal(found?.dn, moved);
    assert.equal(found?.ou, careOu);
    assert.equal(await dir.move(moved, careOu), moved);
  });

  it('names that look like LDAP syntax round-trip as data through create, find, update, groups and move', async () => {
    const group = await dir.findGroup('All-Staff');
    assert.ok(group);
    for (const name of ['*)(cn=*', 'Smith, John+', "O'Brien #1", '#Ä\\x', 'trail\\', ' spaced ']) {
      const id = identity('n');
      const account = await create(
        newAccount(id, {
          ou: runOu,
          cn: name,
          attributes: attributes({ givenName: name, sn: name, displayName: name }),
        }),
      );
      assert.deepEqual(parseRdn(splitDn(account.dn).rdn), { type: 'CN', value: name }, name);
      assert.ok(sameDn(account.ou, runOu), name);
      const found = await dir.findByEmployeeId(id.employeeId);
      assert.equal(found?.displayName, name);
      assert.equal(found?.sn, name);
      await dir.updateAttributes(account.dn, { title: name });
      await dir.setEnabled(account.dn, true);
      await dir.addToGroup(group, account.dn);
      const moved = await dir.move(account.dn, staffOu);
      created.push(moved);
      assert.deepEqual(parseRdn(splitDn(moved).rdn), { type: 'CN', value: name }, name);
      const after = await dir.findByEmployeeId(id.employeeId);
      assert.equal(after?.dn, moved, name);
      assert.equal(after?.title, name);
      assert.equal(after?.enabled, true);
      assert.ok(
        after?.memberOf.some((g) => sameDn(g, group)),
        name,
      );
      await dir.removeFromGroup(group, moved);
    }
    // A filter metacharacter in a lookup value is data: "*" matches no employeeID literally "*".
    assert.equal(await dir.findByEmployeeId('*'), null);
    assert.deepEqual(
      [...(await dir.takenNames([{ sAMAccountName: '*', userPrincipalName: '*', mail: '*' }], 'nobody'))],
      [],
    );
  });

  it('TLS is verified and credentials are checked: both fail as non-retryable errors', async () => {
    const base = { url: samba.url, bindDn: samba.bindDn, baseDn: samba.baseDn, timeoutMs: 5_000 };
    const noCa = createLdapDirectory({ ...base, bindPassword: samba.bindPassword });
    await assert.rejects(noCa.findGroup('All-Staff'), isDirectoryError('invalid', false));
    await noCa.close();
    const wrong = createLdapDirectory({
      ...base,
      bindPassword: 'not-the-password',
      caCertPath: samba.caCertPath,
    });
    await assert.rejects(wrong.findGroup('All-Staff'), isDirectoryError('permission', false, 49));
    await wrong.close();
  });

  it('when the DC is down calls fail as retryable "unavailable"; after it returns the same instance works again', async () => {
    const account = await create(newAccount(identity('o')));
    await dir.findByEmployeeId(account.employeeId); // the connection is open and bound
    await samba.stop();
    try {
      await assert.rejects(dir.findByEmployeeId(account.employeeId), isDirectoryError('unavailable', true));
      await assert.rejects(dir.setEnabled(account.dn, true), isDirectoryError('unavailable', true));
    } finally {
      await samba.start();
    }
    await dir.setEnabled(account.dn, true);
    assert.equal((await dir.findByEmployeeId(account.employeeId))?.enabled, true);
    // The admin client used for checks lost its connection too; bind it again for cleanup.
    await admin.bind(samba.bindDn, samba.bindPassword);
  });
});
