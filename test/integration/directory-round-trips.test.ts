import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Attribute, Change, Client } from 'ldapts';
import YAML from 'yaml';
import { ensureSamba, sambaDir, type SambaHandle } from '../../sandbox/samba';
import { employeeIdSearchFlags, employeeIdSchemaDn, FATTINDEX, ldbIndexes } from '../../sandbox/schema';
import {
  installLdapCounter,
  ldapCallsNow,
  ldapCallsSince,
  ldapOpsPerJoiner,
  totalOf,
} from '../../bench/ldap-ops';
import {
  createDirectoryActivities,
  type AccountRef,
  type EnsureAccount,
} from '../../src/activities/directory';
import { createLdapDirectory, type LdapDirectory } from '../../src/connectors/ldap/ldap-directory';
import { helsinkiDate } from '../../src/domain/dates';
import { baseLocalPart, candidateNames } from '../../src/domain/naming';
import { parsePolicy, type Policy } from '../../src/domain/policy';
import type { HrRecord } from '../../src/domain/record';
import type { Plan } from '../../src/domain/plan';

// Issue 12 item 1 against the real Samba DC: a joiner's plan reads the directory in one search,
// the create uses what it learnt (one add), the later steps write to the DN (no searches), and
// every shortcut falls back to the search by employeeID when the directory changed under it —
// never a second account for one person.

const run = randomUUID().replaceAll('-', '').slice(0, 8);
const repoRoot = path.resolve(__dirname, '..', '..');
const GROUPS = ['Office-Staff', 'All-Staff'];

let samba: SambaHandle;
let dir: LdapDirectory;
let admin: Client;
let policy: Policy;
let seq = 0;
const createdDns: string[] = [];

/** A joiner starting today in a role with two groups; the names are unique to this run. */
function joiner(tag = ''): HrRecord {
  seq += 1;
  return {
    employeeId: `RT-${run}-${seq}`,
    firstNames: `Rt${run}${tag}`,
    lastName: `Kivi${seq}`,
    jobTitle: 'Toimistosihteeri',
    jobCode: 'HS01',
    orgUnit: 'HALL-010',
    employmentType: 'permanent',
    startDate: helsinkiDate(new Date()),
  };
}

const acts = () => createDirectoryActivities(dir, policy, { baseDn: samba.baseDn });

function ensureCmd(record: HrRecord, plan: Plan): EnsureAccount {
  const step = plan.steps.find((s) => s.kind === 'createAccount');
  assert.ok(step && step.kind === 'createAccount', 'the plan creates the account');
  return {
    employeeId: record.employeeId,
    name: { firstNames: record.firstNames, lastName: record.lastName },
    ouDn: step.ouDn,
    attributes: step.attributes,
    ...(plan.nameHint ? { nameHint: plan.nameHint } : {}),
  };
}

/** Every user object carrying the employeeID (AD does not keep it unique: we must). */
async function accountsOf(employeeId: string) {
  const { searchEntries } = await admin.search(samba.baseDn, {
    scope: 'sub',
    filter: `(&(objectClass=user)(employeeID=${employeeId}))`,
    attributes: ['sAMAccountName', 'userAccountControl', 'memberOf', 'title'],
  });
  return searchEntries;
}

/** Someone else takes the names of candidate n of a base (an account made behind Tunnus's back). */
async function takeName(base: string, n: number, only: 'all' | 'upn' = 'all') {
  const c = candidateNames(base, n, policy.naming);
  const other = `RX${run}${++seq}`; // employeeID holds 16 characters
  const account = await dir.createAccount({
    employeeId: other,
    ou: `OU=Staff,OU=Tunnus,${samba.baseDn}`,
    cn: `${c.cn}-x${seq}`,
    sAMAccountName: only === 'all' ? c.sAMAccountName : `rtx${run}${seq}`.slice(0, 20),
    userPrincipalName: c.userPrincipalName,
    ...(only === 'all' ? { mail: c.mail } : {}),
    attributes: { givenName: 'X', sn: 'Y', displayName: 'X Y', title: 'T', department: 'D' },
    password: 'Kevät-2025-Alku!',
  });
  createdDns.push(account.dn);
  return account;
}

before(async () => {
  samba = await ensureSamba();
  policy = parsePolicy(fs.readFileSync(path.join(repoRoot, 'config', 'policy.yaml'), 'utf8'));
  dir = createLdapDirectory({
    url: samba.url,
    bindDn: samba.bindDn,
    bindPassword: samba.bindPassword,
    baseDn: samba.baseDn,
    caCertPath: samba.caCertPath,
    timeoutMs: 10_000,
  });
  admin = new Client({ url: samba.url, tlsOptions: { ca: [fs.readFileSync(samba.caCertPath)] } });
  await admin.bind(samba.bindDn, samba.bindPassword);
  installLdapCounter();
});

after(async () => {
  const { searchEntries } = await admin
    .search(samba.baseDn, { scope: 'sub', filter: `(employeeID=RT-${run}-*)`, attributes: ['1.1'] })
    .catch(() => ({ searchEntries: [] }));
  for (const e of searchEntries) await admin.del(e.dn).catch(() => undefined);
  for (const dn of createdDns) await admin.del(dn).catch(() => undefined);
  await admin.unbind();
  await dir.close();
});

describe('directory round trips (issue 12): one search to plan, writes by DN', () => {
  it('the sandbox schema indexes employeeID: searchFlags bit 0 set, and LDB indexes it (@INDEXLIST)', async () => {
    assert.equal((await employeeIdSearchFlags(sambaDir(), samba.baseDn)) & FATTINDEX, FATTINDEX);
    assert.equal(await ldbIndexes(sambaDir(), 'employeeID'), true);
    // What an LDAP client sees in the schema partition, too.
    const { searchEntries } = await admin.search(employeeIdSchemaDn(samba.baseDn), {
      scope: 'base',
      attributes: ['searchFlags'],
    });
    assert.equal(Number(searchEntries[0]?.searchFlags) & FATTINDEX, FATTINDEX);
  });

  it('a joiner with a warm worker costs at most 5 LDAP operations: 1 search + create + 2 group adds + enable', async () => {
    let i = 0;
    const records = new Map<string, HrRecord>();
    const ops = await ldapOpsPerJoiner({
      directory: dir,
      baseDn: samba.baseDn,
      policy,
      tag: `RT${run}`,
      record: (employeeId) => {
        const r = { ...joiner(`w${i++}`), employeeId };
        records.set(employeeId, r);
        return r;
      },
    });
    assert.ok(totalOf(ops.total) <= 5, `ops ${JSON.stringify(ops.total)}`);
    assert.deepEqual(
      { search: ops.total.search, add: ops.total.add, modify: ops.total.modify },
      { search: 1, add: 1, modify: 3 },
    );
    assert.deepEqual(ops.byActivity, {
      planPerson: 1,
      ensureAccount: 1,
      addToGroups: 2,
      setAccountEnabled: 1,
    });
    assert.equal(ops.hintUsed, true);
    // And the result is right: one account, enabled, in both groups.
    const [account, ...more] = await accountsOf(`CRT${run}-1`);
    assert.ok(account);
    assert.equal(more.length, 0);
    assert.equal(String(account.userAccountControl), '512');
    const memberOf = ([] as unknown[]).concat(account.memberOf).map(String).join('\n');
    for (const g of GROUPS) assert.match(memberOf, new RegExp(`CN=${g},`));
    // The plan's DN for an existing account: a second plan carries it, and no hint.
    const again = await acts().planPerson({
      record: records.get(`CRT${run}-1`)!,
      asOf: new Date().toISOString(),
    });
    assert.equal(again.accountDn?.toLowerCase(), account.dn.toLowerCase());
    assert.equal(again.nameHint, undefined);
    assert.deepEqual(again.steps, []);
  });

  it('the first day on top: a one-time AD password is a second password write (find, replace, read back); a pass is none', async () => {
    // The joiner bench's AD-only policy: no cloud user, so the credential is a one-time AD password.
    const doc = YAML.parse(fs.readFileSync(path.join(repoRoot, 'config', 'policy.yaml'), 'utf8')) as {
      roles?: Record<string, unknown>[];
    };
    for (const role of doc.roles ?? []) Object.assign(role, { cloud: false, mailbox: false, licences: [] });
    let i = 0;
    const adOnly = await ldapOpsPerJoiner({
      directory: dir,
      baseDn: samba.baseDn,
      policy: parsePolicy(YAML.stringify(doc)),
      tag: `RTF${run}`,
      record: (employeeId) => ({ ...joiner(`f${i++}`), employeeId }),
    });
    assert.equal(adOnly.firstDay.credential, 'initialPassword');
    assert.deepEqual(adOnly.firstDay.byActivity, { handOverCredential: 3, sendNotice: 1 });
    assert.deepEqual(
      { search: adOnly.firstDay.total.search, modify: adOnly.firstDay.total.modify },
      { search: 3, modify: 1 },
    );
    // The password the handover set is the one that counts: must change at the first logon.
    const [account] = await admin
      .search(samba.baseDn, {
        scope: 'sub',
        filter: `(employeeID=CRTF${run}-1)`,
        attributes: ['pwdLastSet', 'userAccountControl'],
      })
      .then((r) => r.searchEntries);
    assert.equal(String(account?.pwdLastSet), '0');
    assert.equal(String(account?.userAccountControl), '512');
    // With a cloud user the credential is a Temporary Access Pass: no AD write on the first day.
    const withCloud = await ldapOpsPerJoiner({
      directory: dir,
      baseDn: samba.baseDn,
      policy,
      tag: `RTC${run}`,
      record: (employeeId) => ({ ...joiner(`c${i++}`), employeeId }),
    });
    assert.equal(withCloud.firstDay.credential, 'temporaryAccessPass');
    assert.deepEqual(withCloud.firstDay.byActivity, { handOverCredential: 1, sendNotice: 1 });
    assert.equal(withCloud.firstDay.total.modify, 0);
  });

  it('where employeeID is not indexed the plan reads in two searches (ids, then names) with the same answer', async () => {
    const unindexed = createLdapDirectory({
      url: samba.url,
      bindDn: samba.bindDn,
      bindPassword: samba.bindPassword,
      baseDn: samba.baseDn,
      caCertPath: samba.caCertPath,
      employeeIdIndex: 'unindexed',
    });
    try {
      const boss = joiner('q');
      const bossPlan = await acts().planPerson({ record: boss, asOf: new Date().toISOString() });
      await acts().ensureAccount(ensureCmd(boss, bossPlan));
      const record = { ...joiner('p'), managerId: boss.employeeId };
      await takeName(baseLocalPart(record), 1);
      const plain = createDirectoryActivities(unindexed, policy, { baseDn: samba.baseDn });
      await plain.planPerson({ record: boss, asOf: new Date().toISOString() }); // warm: group DNs
      const before = ldapCallsNow();
      const two = await plain.planPerson({ record, asOf: new Date().toISOString() });
      assert.equal(ldapCallsSince(before).search, 2);
      const one = await acts().planPerson({ record, asOf: two.asOf });
      assert.deepEqual(two, one);
      assert.deepEqual(two.nameHint?.taken, [1]);
    } finally {
      await unindexed.close();
    }
  });

  it('the hint from the plan picks the smallest free name in one add, skipping names others hold', async () => {
    const record = joiner('h');
    const base = baseLocalPart(record);
    await takeName(base, 1);
    const a = acts();
    const plan = await a.planPerson({ record, asOf: new Date().toISOString() });
    assert.deepEqual(plan.nameHint, { base, checked: 10, taken: [1] });
    const before = ldapCallsNow();
    const ref = await a.ensureAccount(ensureCmd(record, plan));
    const used = ldapCallsSince(before);
    assert.deepEqual({ search: used.search, add: used.add }, { search: 0, add: 1 });
    assert.equal(ref.sAMAccountName, candidateNames(base, 2, policy.naming).sAMAccountName);
    assert.equal(ref.created, true);
    assert.ok(ref.dn);
    const [account] = await accountsOf(record.employeeId);
    assert.equal(account?.dn.toLowerCase(), ref.dn.toLowerCase());
    // Created as createAccount creates: disabled, must change the password at first sign-in.
    const { searchEntries } = await admin.search(ref.dn, {
      scope: 'base',
      attributes: ['userAccountControl', 'pwdLastSet'],
    });
    assert.equal(String(searchEntries[0]?.userAccountControl), '514');
    assert.equal(String(searchEntries[0]?.pwdLastSet), '0');
  });

  it('a stale hint (the name taken between plan and create) gives the next free name and one account', async () => {
    for (const only of ['all', 'upn'] as const) {
      const record = joiner(only === 'all' ? 's' : 'u');
      const base = baseLocalPart(record);
      const a = acts();
      const plan = await a.planPerson({ record, asOf: new Date().toISOString() });
      assert.deepEqual(plan.nameHint?.taken, []);
      // Someone takes the hinted name: all of it, or only the UPN (AD refuses a duplicate UPN too).
      await takeName(base, 1, only);
      const ref = await a.ensureAccount(ensureCmd(record, plan));
      assert.equal(ref.sAMAccountName, candidateNames(base, 2, policy.naming).sAMAccountName, only);
      assert.equal(ref.created, true);
      assert.equal((await accountsOf(record.employeeId)).length, 1, only);
    }
  });

  it('ensureAccount replayed as a first attempt after it succeeded returns the same account, never a second', async () => {
    const record = joiner('r');
    const plan = await acts().planPerson({ record, asOf: new Date().toISOString() });
    const cmd = ensureCmd(record, plan);
    assert.ok(cmd.nameHint);
    const worker = acts();
    const first = await worker.ensureAccount(cmd);
    assert.equal(first.created, true);
    // A local activity re-run after a worker crash: another worker (fresh memory), attempt 1 again.
    const replayed = await acts().ensureAccount(cmd);
    assert.equal(replayed.sAMAccountName, first.sAMAccountName);
    assert.equal(replayed.dn?.toLowerCase(), first.dn?.toLowerCase());
    assert.equal(replayed.created, false);
    // The same worker again: it remembers giving this person the name, and looks the account up.
    const again = await worker.ensureAccount(cmd);
    assert.equal(again.sAMAccountName, first.sAMAccountName);
    assert.equal(again.created, false);
    assert.equal((await accountsOf(record.employeeId)).length, 1);
  });

  it('on a later attempt the hint is not used: the full path searches first (an earlier try may have created it)', async () => {
    const record = joiner('l');
    const plan = await acts().planPerson({ record, asOf: new Date().toISOString() });
    const cmd = ensureCmd(record, plan);
    const second = new MockActivityEnvironment({ attempt: 2 });
    const before = ldapCallsNow();
    const ref: AccountRef = await second.run(() => acts().ensureAccount(cmd));
    const used = ldapCallsSince(before);
    assert.equal(ref.created, true);
    // findByEmployeeId, takenNames, add, read back: today's path, unchanged.
    assert.deepEqual({ search: used.search, add: used.add }, { search: 3, add: 1 });
    const retried: AccountRef = await second.run(() => acts().ensureAccount(cmd));
    assert.equal(retried.created, false);
    assert.equal(retried.sAMAccountName, ref.sAMAccountName);
    assert.equal((await accountsOf(record.employeeId)).length, 1);
  });

  it('same-name joiners in one worker, planned together, take consecutive names without losing races', async () => {
    const a = acts();
    const first = joiner('n');
    const second = { ...joiner('n'), firstNames: first.firstNames, lastName: first.lastName };
    const [p1, p2] = await Promise.all(
      [first, second].map((record) => a.planPerson({ record, asOf: new Date().toISOString() })),
    );
    assert.deepEqual(p1?.nameHint, p2?.nameHint);
    const before = ldapCallsNow();
    const [r1, r2] = await Promise.all([
      a.ensureAccount(ensureCmd(first, p1 as Plan)),
      a.ensureAccount(ensureCmd(second, p2 as Plan)),
    ]);
    const used = ldapCallsSince(before);
    const base = baseLocalPart(first);
    assert.deepEqual(
      [r1.sAMAccountName, r2.sAMAccountName].sort(),
      [1, 2].map((n) => candidateNames(base, n, policy.naming).sAMAccountName).sort(),
    );
    // Two adds and no search: the second skipped the name the first had just taken.
    assert.deepEqual({ search: used.search, add: used.add }, { search: 0, add: 2 });
  });

  it('a stale DN (the account moved after the plan) still gets every step: the step finds it by employeeID', async () => {
    const record = joiner('m');
    const a = acts();
    const plan = await a.planPerson({ record, asOf: new Date().toISOString() });
    const ref = await a.ensureAccount(ensureCmd(record, plan));
    const oldDn = ref.dn!;
    // Someone moves the account to another OU between the create and the next steps.
    const moved = await dir.move(oldDn, `OU=Care,OU=Staff,OU=Tunnus,${samba.baseDn}`);
    assert.notEqual(moved.toLowerCase(), oldDn.toLowerCase());
    await a.addToGroups({ employeeId: record.employeeId, groups: GROUPS, dn: oldDn });
    await a.setAttributes({
      employeeId: record.employeeId,
      attributes: { title: 'Arkistosihteeri' },
      clear: [],
      dn: oldDn,
    });
    await a.setAccountEnabled({ employeeId: record.employeeId, enabled: true, dn: oldDn });
    const moveBack = await a.moveAccount({
      employeeId: record.employeeId,
      toOuDn: `OU=Office,OU=Staff,OU=Tunnus,${samba.baseDn}`,
      dn: oldDn,
    });
    assert.equal(moveBack.dn.toLowerCase(), oldDn.toLowerCase());
    const [account, ...more] = await accountsOf(record.employeeId);
    assert.equal(more.length, 0);
    assert.equal(String(account?.userAccountControl), '512');
    assert.equal(String(account?.title), 'Arkistosihteeri');
    const memberOf = ([] as unknown[]).concat(account?.memberOf).map(String).join('\n');
    for (const g of GROUPS) assert.match(memberOf, new RegExp(`CN=${g},`));
  });

  it('enable by DN keeps flags an admin set: the one-modify swap refuses them, the read-and-flip path runs', async () => {
    const record = joiner('f');
    const a = acts();
    const plan = await a.planPerson({ record, asOf: new Date().toISOString() });
    const ref = await a.ensureAccount(ensureCmd(record, plan));
    await admin.modify(
      ref.dn!,
      new Change({
        operation: 'replace',
        modification: new Attribute({ type: 'userAccountControl', values: [String(514 | 0x10000)] }),
      }),
    );
    assert.equal(await dir.enableIfAsCreated(ref.dn!), false);
    await a.setAccountEnabled({ employeeId: record.employeeId, enabled: true, dn: ref.dn! });
    const [account] = await accountsOf(record.employeeId);
    assert.equal(String(account?.userAccountControl), String(512 | 0x10000));
  });

  it('the plan reads the manager in the same search and carries their DN', async () => {
    const boss = joiner('b');
    const a = acts();
    const bossPlan = await a.planPerson({ record: boss, asOf: new Date().toISOString() });
    const bossRef = await a.ensureAccount(ensureCmd(boss, bossPlan));
    const record = { ...joiner('e'), managerId: boss.employeeId };
    const before = ldapCallsNow();
    const plan = await a.planPerson({ record, asOf: new Date().toISOString() });
    assert.equal(ldapCallsSince(before).search, 1);
    const step = plan.steps.find((s) => s.kind === 'createAccount');
    assert.ok(step && step.kind === 'createAccount');
    assert.equal(step.attributes.manager?.toLowerCase(), bossRef.dn?.toLowerCase());
  });
});
