import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { CloudDirectory, CloudSku, CloudUser } from '../../src/connectors/graph/cloud-directory';
import type { PhoneDirectory } from '../../src/connectors/phone/phone-directory';
import { helsinkiDate } from '../../src/domain/dates';
import { parsePolicy } from '../../src/domain/policy';
import type { HrRecord } from '../../src/domain/record';
import type { Step } from '../../src/domain/steps';
import {
  collectPlans,
  createPlanner,
  prefetchedCloud,
  prefetchedDirectory,
  readOnlyDirectory,
} from '../../src/simulate/collect';
import { formatSummary, formatTable } from '../../src/simulate/format';
import { actionOf, massChange, summarise, type PersonPlan } from '../../src/simulate/model';
import { findDrift, readSavedPlan, stateDiff, toSaved, writeSavedPlan } from '../../src/simulate/saved';
import { throwawayIdentityKeys } from '../support/throwaway-keys';
import { MemoryDirectory } from '../support/memory-directory';

// The simulation's pure parts and the planner over in-memory connectors: what a plan says, how it
// is summed up and printed, and when a saved plan no longer holds.

const policy = parsePolicy(fs.readFileSync(path.resolve(__dirname, '../../config/policy.yaml'), 'utf8'));
const baseDn = 'DC=kerava,DC=test';
const groups = ['ERP-Nurse', 'ERP-Physician', 'ERP-Social', 'Care-Staff', 'Teachers', 'Office-Staff'];
const allGroups = [...groups, 'Substitutes', 'All-Staff', 'Legacy-Intranet'];

const nurse = (employeeId: string, extra: Partial<HrRecord> = {}): HrRecord => ({
  employeeId,
  firstNames: 'Aino',
  lastName: 'Testinen',
  jobTitle: 'Sairaanhoitaja',
  jobCode: 'SH01',
  orgUnit: 'SOTE-110',
  employmentType: 'permanent',
  startDate: '2020-01-01',
  ...extra,
});

const sku = (part: string, available: number): CloudSku =>
  ({
    skuId: `id-${part}`,
    skuPartNumber: part,
    servicePlans: [],
    enabled: available,
    consumed: 0,
    available,
  }) as unknown as CloudSku;

function fakeCloud(users: Map<string, CloudUser>, skus: CloudSku[]): CloudDirectory {
  return {
    findUserByEmployeeId: async (id: string) => users.get(id) ?? null,
    listSubscribedSkus: async () => skus,
  } as unknown as CloudDirectory;
}

const fakePhone = {
  numbersFor: async () => null,
  getCatalogueEntry: async () => null,
} as unknown as PhoneDirectory;

function planner(dir: MemoryDirectory, users = new Map<string, CloudUser>(), skus = [sku('SPE_E3', 10)]) {
  return createPlanner({ directory: dir, cloud: fakeCloud(users, skus), phone: fakePhone, policy, baseDn });
}

describe('simulation', () => {
  it('every step kind maps to an action word', () => {
    const steps: [Step, string][] = [
      [{ kind: 'createAccount', ouDn: 'x', attributes: {} as never }, 'create'],
      [{ kind: 'moveAccount', fromOuDn: 'a', toOuDn: 'b' }, 'move'],
      [{ kind: 'setAttributes', attributes: { title: 't' }, clear: [] }, 'update'],
      [{ kind: 'addToGroups', groups: ['A'] }, 'groups'],
      [{ kind: 'removeFromGroups', groups: ['A'] }, 'groups'],
      [{ kind: 'enableAccount' }, 'enable'],
      [{ kind: 'disableAccount' }, 'disable'],
      [{ kind: 'deleteAccount' }, 'delete'],
    ];
    for (const [step, word] of steps) assert.equal(actionOf(step), word, step.kind);
  });

  it('a new nurse plans create, the role groups, enable, a cloud user and E3, and writes nothing', async () => {
    const dir = new MemoryDirectory(allGroups);
    const [p] = await collectPlans(planner(dir), [nurse('E1')]);
    assert.ok(p);
    assert.deepEqual(p.actions, ['create', 'groups', 'enable']);
    assert.deepEqual(p.groupsAdded, ['All-Staff', 'Care-Staff', 'ERP-Nurse']);
    assert.equal(p.cloudUser, 'create');
    assert.deepEqual(p.licences?.add, ['SPE_E3']);
    assert.equal(p.phone?.catalogue, 'create');
    assert.deepEqual(p.warnings, []);
    assert.deepEqual(dir.writes, [], 'nothing written');
  });

  it('a group the policy names but the directory lacks is a warning, not a silent plan', async () => {
    const dir = new MemoryDirectory(allGroups.filter((g) => g !== 'ERP-Nurse'));
    const [p] = await collectPlans(planner(dir), [nurse('E2')]);
    assert.match(p!.warnings.join(), /ERP-Nurse does not exist/);
  });

  it('when the directory is down the plan fails with the reason, never an empty plan', async () => {
    const dir = new MemoryDirectory(allGroups);
    dir.down = true;
    await assert.rejects(collectPlans(planner(dir), [nurse('E3'), nurse('E4')]), (err: Error) => {
      assert.match(err.message, /cannot plan E[34]: DirectoryUnavailable/);
      return true;
    });
  });

  it('plans from one listing of all accounts equal plans from lookups; two accounts on one id are refused', async () => {
    const dir = new MemoryDirectory(allGroups);
    const records = [nurse('E10'), nurse('E11', { jobCode: 'HS01', orgUnit: 'HALL-010' })];
    await dir.createAccount({
      employeeId: 'E10',
      ou: `OU=Staff,OU=Tunnus,${baseDn}`,
      cn: 'aino.testinen10',
      sAMAccountName: 'aino.testinen10',
      userPrincipalName: 'aino.testinen10@kerava.test',
      attributes: {
        givenName: 'Aino',
        sn: 'Testinen',
        displayName: 'Aino Testinen',
        title: 'x',
        department: 'y',
      },
      password: 'x',
    });
    const direct = await collectPlans(planner(dir), records);
    const listed = createPlanner({
      directory: await prefetchedDirectory(dir),
      cloud: fakeCloud(new Map(), [sku('SPE_E3', 10)]),
      phone: fakePhone,
      policy,
      baseDn,
    });
    const fromListing = await collectPlans(listed, records);
    assert.deepEqual(
      fromListing.map((p) => [p.steps, p.fingerprint]),
      direct.map((p) => [p.steps, p.fingerprint]),
    );
    assert.deepEqual(fromListing[0]!.actions, ['move', 'update', 'groups', 'enable']);

    await dir.createAccount({
      employeeId: 'e10',
      ou: `OU=Staff,OU=Tunnus,${baseDn}`,
      cn: 'other',
      sAMAccountName: 'other',
      userPrincipalName: 'other@kerava.test',
      attributes: { givenName: 'O', sn: 'O', displayName: 'O', title: 'x', department: 'y' },
      password: 'x',
    });
    const twice = await prefetchedDirectory(dir);
    await assert.rejects(twice.findByEmployeeId('E10'), /more than one account carries this employeeID/);
  });

  it('plans from one listing of the cloud users equal plans from lookups; two users on one id are refused', async () => {
    const dir = new MemoryDirectory(allGroups);
    const user = (id: string, employeeId: string, extra: Partial<CloudUser> = {}): CloudUser =>
      ({
        id,
        employeeId,
        userPrincipalName: `${id}@kerava.test`,
        accountEnabled: true,
        displayName: 'Aino Testinen',
        givenName: 'Aino',
        surname: 'Testinen',
        jobTitle: 'old title',
        department: 'SOTE-110',
        usageLocation: null,
        businessPhones: [],
        mobilePhone: null,
        showInAddressList: true,
        assignedLicenses: [],
        ...extra,
      }) as unknown as CloudUser;
    const users = new Map([['E20', user('u20', 'E20')]]);
    const listed = [...users.values()];
    let lookups = 0;
    const cloud = {
      ...fakeCloud(users, [sku('SPE_E3', 10)]),
      findUserByEmployeeId: async (id: string) => (lookups++, users.get(id) ?? null),
      listUsers: async () => listed,
    };
    const records = [nurse('E20'), nurse('E21')];
    const direct = await collectPlans(
      createPlanner({ directory: dir, cloud, phone: fakePhone, policy, baseDn }),
      records,
    );
    assert.equal(lookups, 2);
    const fromListing = await collectPlans(
      createPlanner({
        directory: dir,
        cloud: await prefetchedCloud(cloud),
        phone: fakePhone,
        policy,
        baseDn,
      }),
      records,
    );
    assert.equal(lookups, 2, 'no lookup per person once listed');
    assert.deepEqual(
      fromListing.map((p) => [p.cloudUser, p.cloudChange, p.licences, p.fingerprint]),
      direct.map((p) => [p.cloudUser, p.cloudChange, p.licences, p.fingerprint]),
    );
    assert.equal(fromListing[0]!.cloudUser, 'update', 'the listed user is the one compared');
    assert.equal(fromListing[1]!.cloudUser, 'create');
    listed.push(user('u20b', 'e20'));
    await assert.rejects(
      (await prefetchedCloud(cloud)).findUserByEmployeeId('E20'),
      /more than one cloud user carries the employeeId/,
    );
  });

  it('the read-only view refuses every write', async () => {
    const ro = readOnlyDirectory(new MemoryDirectory(allGroups));
    await assert.rejects(ro.setEnabled('CN=x', true), /simulation must not write \(setEnabled\)/);
    await assert.rejects(ro.addToGroup('CN=g', 'CN=x'), /must not write/);
    assert.equal(await ro.findByEmployeeId('nobody'), null);
  });

  it('the mass-change guard trips above the threshold, not at it', () => {
    const p = (actions: PersonPlan['actions']) => ({ actions }) as PersonPlan;
    const five = Array.from({ length: 5 }, () => p(['disable']));
    assert.equal(massChange(five, 100, 5).trips, false);
    assert.equal(massChange([...five, p(['delete'])], 100, 5).trips, true);
    assert.equal(massChange([p(['groups'])], 0, 5).trips, false);
  });

  it('the table lists only changing persons; the summary counts groups and licences', async () => {
    const dir = new MemoryDirectory(allGroups);
    const persons = await collectPlans(planner(dir), [nurse('E5'), nurse('E6')]);
    const table = formatTable(persons);
    assert.match(
      table,
      /E5 +create, groups, enable, cloud user, first day \(temporaryAccessPass\) +\+All-Staff \+Care-Staff \+ERP-Nurse +\+SPE_E3/,
    );
    const summary = summarise('hr', persons, 40, 5);
    assert.equal(summary.changing, 2);
    assert.deepEqual(summary.groupsAdded, { 'All-Staff': 2, 'Care-Staff': 2, 'ERP-Nurse': 2 });
    assert.deepEqual(summary.licencesAdded, { SPE_E3: 2 });
    assert.match(
      formatSummary(summary),
      /0 disables \+ 0 deletes of 40 managed identities \(0 %, threshold 5 %\) — ok/,
    );
    const unchanged = {
      ...persons[0]!,
      steps: [],
      actions: [],
      groupsAdded: [],
      cloudUser: null,
      licences: null,
      phone: null,
    };
    assert.equal(formatTable([unchanged]), '(no person would change)');
  });

  it('a saved plan drifts when a group changed by hand, and says which', async () => {
    const dir = new MemoryDirectory(allGroups);
    const record = nurse('E7');
    const first = await collectPlans(planner(dir), [record]);
    // Apply the plan by hand in the fake directory: the account now exists.
    const account = await dir.createAccount({
      employeeId: 'E7',
      ou: `OU=Care,OU=Staff,OU=Tunnus,${baseDn}`,
      cn: 'aino.testinen',
      sAMAccountName: 'aino.testinen',
      userPrincipalName: 'aino.testinen@kerava.test',
      attributes:
        first[0]!.plan.steps[0]!.kind === 'createAccount'
          ? first[0]!.plan.steps[0]!.attributes
          : ({} as never),
      password: 'x',
    });
    const saved = toSaved(
      {
        kind: 'hr',
        asOf: new Date().toISOString(),
        taskQueue: 'q',
        policy: { sha256: 'p', file: 'f' },
        records: [record],
        summary: summarise('hr', first, 1, 5),
      },
      await collectPlans(planner(dir), [record]),
    );
    const same = await collectPlans(planner(dir), [record]);
    assert.deepEqual(findDrift(saved, same, new Map([['E7', record]])), []);

    await dir.addToGroup(dir.groups.get('Teachers')!, account.dn);
    const moved = await collectPlans(planner(dir), [record]);
    const drift = findDrift(saved, moved, new Map([['E7', record]]));
    assert.equal(drift.length, 1);
    assert.equal(drift[0]!.employeeId, 'E7');
    assert.match(drift[0]!.what.join('; '), /groups \+Teachers/);
  });

  it('a leaver is planned as the run ends them: disable, disabled OU, groups off, cloud user retired', async () => {
    const dir = new MemoryDirectory(allGroups);
    const account = await dir.createAccount({
      employeeId: 'E8',
      ou: `OU=Care,OU=Staff,OU=Tunnus,${baseDn}`,
      cn: 'aino.testinen8',
      sAMAccountName: 'aino.testinen8',
      userPrincipalName: 'aino.testinen8@kerava.test',
      attributes: {
        givenName: 'Aino',
        sn: 'Testinen',
        displayName: 'Aino Testinen',
        title: 'Sairaanhoitaja',
        department: 'SOTE-110',
      },
      password: 'x',
    });
    await dir.setEnabled(account.dn, true);
    for (const g of ['ERP-Nurse', 'Care-Staff', 'All-Staff'])
      await dir.addToGroup(dir.groups.get(g)!, account.dn);
    const user = {
      id: 'u8',
      usageLocation: 'FI',
      accountEnabled: true,
      assignedLicenses: [{ skuId: 'id-SPE_E3', disabledPlans: [] }],
    };
    const users = new Map([['E8', user as unknown as CloudUser]]);
    dir.writes.length = 0;
    const twoDaysAgo = helsinkiDate(new Date(Date.now() - 2 * 86_400_000));
    const [p] = await collectPlans(planner(dir, users), [nurse('E8', { endDate: twoDaysAgo })]);
    assert.deepEqual([...p!.actions].sort(), ['disable', 'groups', 'move']);
    assert.deepEqual(p!.groupsRemoved, ['All-Staff', 'Care-Staff', 'ERP-Nurse']);
    assert.equal(p!.cloudUser, 'retire');
    assert.deepEqual(p!.licences?.remove, ['SPE_E3']);
    assert.equal(massChange([p!], 10, 5).trips, true, '1 of 10 is over 5 %');
    assert.deepEqual(dir.writes, []);

    // An end date years in the past on an enabled account is more often a typo: the plan is held
    // for an operator, nothing is deleted (or disabled) at once (issue 16).
    const [held] = await collectPlans(planner(dir, users), [nurse('E8', { endDate: '2021-06-30' })]);
    assert.deepEqual(held!.actions, []);
    assert.equal(held!.cloudUser, null);
    assert.ok(held!.warnings.some((w) => /^held: end date \d+ days in the past/.test(w)));
  });

  it('a saved plan reads back as written, and a file that is no plan is refused by name', async () => {
    const dir = new MemoryDirectory(allGroups);
    const record = nurse('E12');
    const persons = await collectPlans(planner(dir), [record]);
    const saved = toSaved(
      {
        kind: 'hr',
        asOf: new Date().toISOString(),
        taskQueue: 'q',
        policy: { sha256: 'p', file: 'f' },
        records: [record],
        summary: summarise('hr', persons, 1, 5),
      },
      persons,
    );
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-plan-')), 'plan.json');
    const keys = throwawayIdentityKeys();
    await writeSavedPlan(file, saved, keys);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600, 'HR records: owner only');
    assert.deepEqual(await readSavedPlan(file, keys), saved);
    fs.writeFileSync(file, JSON.stringify({ format: 'something else' }));
    await assert.rejects(readSavedPlan(file, keys), /is not a saved plan \(format:/);
    await keys.close();
  });

  it('the state diff names what moved without values', () => {
    const base = {
      account: {
        dn: 'CN=a',
        ou: 'OU=X',
        enabled: true,
        attributes: { title: 'A' },
        groups: ['cn=g1,ou=groups'],
      },
    };
    const after = {
      account: {
        dn: 'CN=a',
        ou: 'OU=Y',
        enabled: false,
        attributes: { title: 'B' },
        groups: ['cn=g2,ou=groups'],
      },
    };
    assert.deepEqual(stateDiff(base, after), [
      'OU changed',
      'account disabled',
      'title changed',
      'groups +g2 −g1',
    ]);
  });
});
