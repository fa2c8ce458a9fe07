import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Attribute, Change, Client } from 'ldapts';
import { ensureSamba, type SambaHandle } from '../../sandbox/samba';
import { createDirectoryActivities } from '../../src/activities/directory';
import { BOUNDED_ATTEMPTS, ErrorType } from '../../src/domain/error-types';
import { parsePolicy } from '../../src/domain/policy';
import { DirectoryError, type DirectoryErrorKind } from '../../src/connectors/ldap/errors';
import { parseRdn, splitDn } from '../../src/connectors/ldap/escape';
import { createLdapDirectory, type LdapDirectory } from '../../src/connectors/ldap/ldap-directory';
import { summaryOf, type ManagedAttributes, type NewAccount } from '../../src/domain/account';

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

function hasAttribute(err: unknown, attribute: string): boolean {
  assert.ok(err instanceof DirectoryError);
  assert.equal(err.attribute, attribute);
  assert.match(err.message, new RegExp(`attribute ${attribute}`));
  return true;
}

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
        (err) => isDirectoryError('constraint', false, 19)(err) && hasAttribute(err, 'unicodePwd'),
      );
      assert.equal(await dir.findByEmployeeId(id.employeeId), null);
    }
  });

  it('listAccountSummaries lists every account listAccounts lists, with the same dn, owner and enabled flag', async () => {
    const on = await create(newAccount(identity('s')));
    await dir.setEnabled(on.dn, true);
    const off = await create(newAccount(identity('t'), { ou: careOu }));
    const [full, summaries] = await Promise.all([dir.listAccounts(), dir.listAccountSummaries()]);
    const byDn = (a: { dn: string }, b: { dn: string }) => (a.dn < b.dn ? -1 : 1);
    // This run's accounts only: other test files write to the same DC between the two searches.
    const ours = (a: { employeeId: string }) => a.employeeId.startsWith(`IT-${run}-`);
    assert.deepEqual(summaries.filter(ours).sort(byDn), full.filter(ours).map(summaryOf).sort(byDn));
    const mine = summaries.filter((s) => s.employeeId === on.employeeId || s.employeeId === off.employeeId);
    assert.deepEqual(mine.sort(byDn), [summaryOf({ ...on, enabled: true }), summaryOf(off)].sort(byDn));
    // Only what the summary type names: no attribute or memberOf rides along.
    assert.deepEqual(Object.keys(mine[0]!).sort(), ['dn', 'employeeId', 'enabled', 'ou', 'sAMAccountName']);
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

  it('AD refuses a second account with the same sAMAccountName (68) or UPN (19): both are name conflicts naming the attribute', async () => {
    const first = identity('d');
    await create(newAccount(first));
    const second = identity('d');
    await assert.rejects(
      dir.createAccount(newAccount(second, { sAMAccountName: first.sAMAccountName })),
      (err) => isDirectoryError('alreadyExists', false, 68)(err) && hasAttribute(err, 'sAMAccountName'),
    );
    await assert.rejects(
      dir.createAccount(newAccount(second, { userPrincipalName: first.userPrincipalName })),
      (err) => isDirectoryError('alreadyExists', false, 19)(err) && hasAttribute(err, 'userPrincipalName'),
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

  it('findGroups answers several groups in one search as findGroup answers each, whatever the case; LDAP syntax is data', async () => {
    const asked = ['Care-Staff', 'all-staff', `No-Such-Group-${run}`, '*', 'Care-Staff)(cn=*'];
    const found = await dir.findGroups(asked);
    assert.deepEqual([...found.keys()], ['Care-Staff', 'all-staff']);
    assert.equal(found.get('Care-Staff'), await dir.findGroup('Care-Staff'));
    assert.equal(found.get('all-staff'), await dir.findGroup('All-Staff'));
    assert.deepEqual(await dir.findGroups([]), new Map());
    // More names than one search asks at a time: a group named in the second batch is found too.
    const many = [...Array.from({ length: 600 }, (_, i) => `No-Such-Group-${run}-${i}`), 'Care-Staff'];
    assert.deepEqual([...(await dir.findGroups(many)).keys()], ['Care-Staff']);
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

  it('TLS is verified and credentials are checked: a wrong CA is permanent, a refused bind waits (credentials)', async () => {
    const base = { url: samba.url, bindDn: samba.bindDn, baseDn: samba.baseDn, timeoutMs: 5_000 };
    const noCa = createLdapDirectory({ ...base, bindPassword: samba.bindPassword });
    await assert.rejects(noCa.findGroup('All-Staff'), isDirectoryError('invalid', false));
    await noCa.close();
    const wrong = createLdapDirectory({
      ...base,
      bindPassword: 'not-the-password',
      caCertPath: samba.caCertPath,
    });
    // A rotated bind password: every operation would fail alike, so it is retryable (runs wait).
    await assert.rejects(wrong.findGroup('All-Staff'), isDirectoryError('credentials', true, 49));
    await wrong.close();
  });

  it('no right to write one attribute (50 on modify) is permanent and names the field; the bind itself is fine', async () => {
    // A plain user may bind but not write other accounts: Samba's 50 diagnostic names no attribute.
    const id = identity('p');
    const plainDn = `CN=${id.local},${runOu}`;
    await admin.add(plainDn, [
      new Attribute({ type: 'objectClass', values: ['top', 'person', 'organizationalPerson', 'user'] }),
      new Attribute({ type: 'sAMAccountName', values: [id.sAMAccountName] }),
      new Attribute({ type: 'unicodePwd', values: [Buffer.from(`"${strongPassword}"`, 'utf16le')] }),
      new Attribute({ type: 'userAccountControl', values: ['512'] }),
    ]);
    const target = await create(newAccount(identity('t')));
    const plain = createLdapDirectory({
      url: samba.url,
      bindDn: plainDn,
      bindPassword: strongPassword,
      baseDn: samba.baseDn,
      caCertPath: samba.caCertPath,
    });
    try {
      await assert.rejects(
        plain.setEnabled(target.dn, true),
        (err) => isDirectoryError('permission', false, 50)(err) && hasAttribute(err, 'userAccountControl'),
      );
      await assert.rejects(
        plain.updateAttributes(target.dn, { title: 'x' }),
        (err) => isDirectoryError('permission', false, 50)(err) && hasAttribute(err, 'title'),
      );
    } finally {
      await plain.close();
    }
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

describe('directory activities against Samba AD: classification that matches what AD answers', () => {
  const policy = parsePolicy(fs.readFileSync(path.resolve(__dirname, '../../config/policy.yaml'), 'utf8'));
  const activities = () => createDirectoryActivities(dir, policy, { baseDn: samba.baseDn });
  /** Runs an activity as Temporal would on the given attempt; returns its failure or result. */
  const onAttempt = async <T>(attempt: number, body: () => Promise<T>): Promise<T> =>
    new MockActivityEnvironment({ attempt }).run(body);
  const failureOf = async (attempt: number, body: () => Promise<unknown>) => {
    try {
      await onAttempt(attempt, body);
    } catch (err) {
      assert.ok(err instanceof ApplicationFailure, `an ApplicationFailure, got ${String(err)}`);
      return err;
    }
    assert.fail('expected the activity to fail');
  };
  let n = 0;
  /** A joiner's command with a name unique to this run (letters only: the naming rule keeps them). */
  const joiner = (title = 'Sairaanhoitaja', lastName?: string) => {
    n += 1;
    const letters = run.replace(/[0-9]/g, (d) => 'abcdefghij'[Number(d)]!);
    return {
      employeeId: `AC-${run}-${n}`,
      name: { firstNames: 'Aino', lastName: lastName ?? `Kivela${letters}${'abcdefghij'[n % 10]}` },
      ouDn: staffOu,
      attributes: attributes({ title }),
    };
  };
  const track = async (employeeId: string) => {
    const a = await dir.findByEmployeeId(employeeId);
    if (a) created.push(a.dn);
    return a;
  };

  it('a value over the schema limit on create is permanent and names the field, never a lost name race', async () => {
    const cmd = joiner('x'.repeat(200));
    const f = await failureOf(1, () => activities().ensureAccount(cmd));
    assert.equal(f.type, ErrorType.DirectoryConstraint);
    assert.equal(f.nonRetryable, true);
    assert.match(f.message, /attribute title/);
    assert.equal(await track(cmd.employeeId), null, 'nothing created');
  });

  it('LDAP 19 on create (a domain password policy above what Tunnus generates) is permanent naming the field', async () => {
    const before = (await raw(samba.baseDn, 'minPwdLength')) ?? '7';
    await replaceRaw(samba.baseDn, 'minPwdLength', ['30']);
    try {
      const cmd = joiner();
      const f = await failureOf(1, () => activities().ensureAccount(cmd));
      assert.equal(f.type, ErrorType.DirectoryConstraint, 'not NameRaceLost');
      assert.equal(f.nonRetryable, true);
      assert.match(f.message, /LDAP result 19/);
      assert.match(f.message, /attribute unicodePwd/);
      assert.equal(await track(cmd.employeeId), null);
    } finally {
      await replaceRaw(samba.baseDn, 'minPwdLength', [before]);
    }
  });

  it('an account deleted by hand is AccountMissing: retried for a few attempts, then non-retryable', async () => {
    const cmd = joiner();
    await onAttempt(1, () => activities().ensureAccount(cmd));
    const account = (await track(cmd.employeeId))!;
    await admin.del(account.dn);
    const step = () =>
      activities().setAttributes({
        employeeId: cmd.employeeId,
        attributes: { title: 'Osastonhoitaja' },
        clear: [],
      });
    const early = await failureOf(1, step);
    assert.equal(early.type, ErrorType.AccountMissing);
    assert.equal(early.nonRetryable, false, 'replication may still bring it');
    const late = await failureOf(BOUNDED_ATTEMPTS, step);
    assert.equal(late.type, ErrorType.AccountMissing);
    assert.equal(late.nonRetryable, true, 'then a person must decide');
    assert.match(late.message, /gave up after/);
  });

  it('disableAccount changes userAccountControl alone, reads it back, and is success when already disabled', async () => {
    const cmd = joiner();
    await onAttempt(1, () => activities().ensureAccount(cmd));
    const account = (await track(cmd.employeeId))!;
    await replaceRaw(account.dn, 'userAccountControl', [String(512 | 0x10000)]); // enabled, admin flag
    const first = await onAttempt(1, () => activities().disableAccount({ employeeId: cmd.employeeId }));
    assert.deepEqual(first, { status: 'disabled' });
    assert.equal(await raw(account.dn, 'userAccountControl'), String(514 | 0x10000));
    const again = await onAttempt(2, () => activities().disableAccount({ employeeId: cmd.employeeId }));
    assert.deepEqual(again, { status: 'alreadyDisabled' });
  });

  it('the name quarantine holds the sAMAccountName cut to 20 characters, the UPN, mail and every proxy address', async () => {
    // A long surname: the sAMAccountName is the local part cut to 20, the UPN keeps it whole.
    const cmd = joiner('Sairaanhoitaja', `Virtanenkorhonen${run.replace(/[0-9]/g, 'x')}`);
    const ref = await onAttempt(1, () => activities().ensureAccount(cmd));
    assert.equal(ref.sAMAccountName.length, 20);
    assert.ok(ref.userPrincipalName.split('@')[0]!.length > 20);
    const account = (await track(cmd.employeeId))!;
    const sip = `sip:${ref.sAMAccountName}x@kerava.fi`;
    await replaceRaw(account.dn, 'proxyAddresses', [`SMTP:${account.mail}`, `smtp:old.${account.mail}`, sip]);
    const deleted = await onAttempt(1, () => activities().deleteAccount({ employeeId: cmd.employeeId }));
    assert.deepEqual(deleted, { deleted: true });
    const reservationDn = `CN=${ref.sAMAccountName},${policy.ous.retiredNames},${samba.baseDn}`;
    created.push(reservationDn);
    const { searchEntries } = await admin.search(reservationDn, {
      scope: 'base',
      attributes: ['proxyAddresses'],
    });
    const held = ([] as string[])
      .concat(searchEntries[0]?.proxyAddresses as string[])
      .map((p) => p.toLowerCase());
    for (const name of [ref.userPrincipalName, account.mail!, `old.${account.mail}`, sip.slice(4)]) {
      assert.ok(held.includes(`smtp:${name.toLowerCase()}`), `${name} reserved`);
    }
    // A later person whose name cuts to the same 20 characters, with a different UPN and mail,
    // must not get the logon name.
    const later = {
      sAMAccountName: ref.sAMAccountName,
      userPrincipalName: `${ref.sAMAccountName}zz@kerava.test`,
      mail: `${ref.sAMAccountName}zz@kerava.fi`,
    };
    assert.deepEqual([...(await dir.takenNames([later], 'someone-else'))], [ref.sAMAccountName]);
  });

  it('a reservation of the same name already there is extended with these names, not skipped', async () => {
    const name = `q${run}`;
    const ouDn = `${policy.ous.retiredNames},${samba.baseDn}`;
    created.push(`CN=${name},${ouDn}`);
    await dir.reserveNames({ name, ouDn, addresses: [`${name}@kerava.test`], until: '2030-01-01' });
    await dir.reserveNames({ name, ouDn, addresses: [`${name}.b@kerava.fi`], until: '2031-06-01' });
    const list = await dir.listReservations(ouDn);
    assert.equal(list.find((r) => r.dn.toLowerCase().startsWith(`cn=${name},`))?.until, '2031-06-01');
    const taken = await dir.takenNames(
      [
        { sAMAccountName: `${name}x`, userPrincipalName: `${name}@kerava.test`, mail: `${name}x@kerava.fi` },
        {
          sAMAccountName: `${name}y`,
          userPrincipalName: `${name}y@kerava.test`,
          mail: `${name}.b@kerava.fi`,
        },
      ],
      'nobody',
    );
    assert.deepEqual([...taken].sort(), [`${name}x`, `${name}y`]);
  });

  it('a reservation that cannot be written is NameReservationFailed, and the account is not deleted', async () => {
    const cmd = joiner();
    await onAttempt(1, () => activities().ensureAccount(cmd));
    await track(cmd.employeeId);
    const broken = structuredClone(policy);
    broken.ous.retiredNames = `OU=No Such OU ${run},OU=Tunnus`;
    const f = await failureOf(1, () =>
      createDirectoryActivities(dir, broken, { baseDn: samba.baseDn }).deleteAccount({
        employeeId: cmd.employeeId,
      }),
    );
    assert.equal(f.type, ErrorType.NameReservationFailed);
    assert.equal(f.nonRetryable, true);
    assert.ok(await dir.findByEmployeeId(cmd.employeeId), 'the account is still there');
  });

  it('an enabled account is never deleted (deletion only follows an end of access)', async () => {
    const cmd = joiner();
    await onAttempt(1, () => activities().ensureAccount(cmd));
    await onAttempt(1, () => activities().setAccountEnabled({ employeeId: cmd.employeeId, enabled: true }));
    await track(cmd.employeeId);
    const f = await failureOf(1, () => activities().deleteAccount({ employeeId: cmd.employeeId }));
    assert.equal(f.type, ErrorType.AccountStillEnabled);
    assert.ok(await dir.findByEmployeeId(cmd.employeeId));
  });

  it('moving to an OU that does not exist is PolicyTargetMissing (Samba answers 80 "parent does not exist")', async () => {
    const cmd = joiner();
    await onAttempt(1, () => activities().ensureAccount(cmd));
    await track(cmd.employeeId);
    const f = await failureOf(1, () =>
      activities().moveAccount({ employeeId: cmd.employeeId, toOuDn: `OU=Gone ${run},${samba.baseDn}` }),
    );
    assert.equal(f.type, ErrorType.PolicyTargetMissing);
    assert.equal(f.nonRetryable, true);
  });
});
