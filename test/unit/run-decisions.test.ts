import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { DirectoryAccount } from '../../src/domain/account';
import { accountAfterSteps } from '../../src/domain/account-after';
import { catalogueChange, catalogueEntryFor } from '../../src/domain/catalogue';
import { cloudUserChange, cloudUserPatch, type CloudUserFacts } from '../../src/domain/cloud-user';
import { explain } from '../../src/domain/explain';
import type { IdentityRecord } from '../../src/domain/identity';
import {
  leaverLicences,
  licenceChangeByName,
  licenceChangeFor,
  type TenantSku,
} from '../../src/domain/licences';
import { isManagedGroup, managedGroupOf, resolveManagedGroups } from '../../src/domain/managed-groups';
import { parsePolicy, type Policy } from '../../src/domain/policy';

// The decisions the runs make, as the pure functions both the activities and `tunnus plan` /
// `tunnus explain` call (issue 11, item 4). Sample policy: config/policy.yaml.

const policy = parsePolicy(fs.readFileSync(path.resolve(__dirname, '../../config/policy.yaml'), 'utf8'));
const direct: Policy = { ...policy, cloud: { ...policy.cloud, mode: 'direct' } };
const synced: Policy = { ...policy, cloud: { ...policy.cloud, mode: 'synced' } };
const baseDn = 'DC=kerava,DC=test';

const account: DirectoryAccount = {
  dn: 'CN=Aino Testinen,OU=Care,OU=Staff,OU=Tunnus,DC=kerava,DC=test',
  ou: 'OU=Care,OU=Staff,OU=Tunnus,DC=kerava,DC=test',
  employeeId: 'E1',
  sAMAccountName: 'aino.testinen',
  userPrincipalName: 'aino.testinen@kerava.fi',
  mail: 'aino.testinen@kerava.fi',
  proxyAddresses: [],
  givenName: 'Aino',
  sn: 'Testinen',
  displayName: 'Aino Testinen',
  title: 'Sairaanhoitaja',
  department: 'SOTE-110',
  enabled: true,
  memberOf: [],
};

const inSync: CloudUserFacts = {
  accountEnabled: true,
  showInAddressList: null,
  usageLocation: policy.cloud.usageLocation,
  displayName: 'Aino Testinen',
  givenName: 'Aino',
  surname: 'Testinen',
  jobTitle: 'Sairaanhoitaja',
  department: 'SOTE-110',
};

describe('cloud-user decision (ensureCloudUser and the plan)', () => {
  it('a user in step with AD changes nothing', () => {
    assert.deepEqual(cloudUserPatch(cloudUserChange(inSync, account, direct)), {});
  });

  it('direct mode: every field that follows AD is patched, sign-in and address list as requests of their own', () => {
    const user: CloudUserFacts = {
      ...inSync,
      accountEnabled: false,
      showInAddressList: false,
      usageLocation: 'SE',
      jobTitle: 'Old title',
      department: 'OLD-1',
      displayName: 'Aino Old',
      givenName: 'A',
      surname: 'Old',
    };
    const change = cloudUserChange(user, account, direct);
    assert.equal(change.accountEnabled, true);
    assert.equal(change.showInAddressList, true);
    assert.deepEqual(change.fields, {
      usageLocation: policy.cloud.usageLocation,
      displayName: 'Aino Testinen',
      givenName: 'Aino',
      surname: 'Testinen',
      jobTitle: 'Sairaanhoitaja',
      department: 'SOTE-110',
    });
  });

  it('synced mode: only usageLocation (the rest follows AD through directory sync)', () => {
    const user = { ...inSync, usageLocation: null, jobTitle: 'Old title', accountEnabled: false };
    assert.deepEqual(cloudUserPatch(cloudUserChange(user, account, synced)), {
      usageLocation: policy.cloud.usageLocation,
    });
  });

  it('a disabled account is not shown in the address list again; an unset AD attribute is left alone', () => {
    const { title: _title, ...noTitle } = account;
    const user = { ...inSync, showInAddressList: false, jobTitle: 'Kept' };
    assert.deepEqual(cloudUserPatch(cloudUserChange(user, { ...noTitle, enabled: false }, direct)), {
      accountEnabled: false,
    });
  });
});

const E3 = 'sku-e3';
const F3 = 'sku-f3';
const skus: TenantSku[] = [
  {
    skuId: E3,
    skuPartNumber: 'SPE_E3',
    available: 5,
    servicePlans: [{ servicePlanId: 'plan-exo', servicePlanName: 'EXCHANGE_S_ENTERPRISE' }],
  },
  { skuId: F3, skuPartNumber: 'SPE_F1', available: 0, servicePlans: [] },
  { skuId: 'sku-hand', skuPartNumber: 'VISIO', available: 9, servicePlans: [] },
];
const licencePolicy: Policy = {
  ...policy,
  roles: [
    ...policy.roles,
    { ...policy.roles[0]!, name: 'x-e3', licences: [{ sku: 'SPE_E3', disabledPlans: [] }] },
    { ...policy.roles[0]!, name: 'x-f1', licences: [{ sku: 'SPE_F1', disabledPlans: [] }] },
  ],
};

describe('licence decisions (ensureLicences, retireCloudUser and the plan)', () => {
  it('adds what the role grants, removes managed ones it does not, keeps hand-granted ones', () => {
    const current = [
      { skuId: F3, disabledPlans: [] },
      { skuId: 'sku-hand', disabledPlans: [] },
    ];
    const change = licenceChangeFor(current, [{ sku: 'SPE_E3', disabledPlans: [] }], licencePolicy, skus);
    assert.deepEqual(change.add, [{ skuId: E3, disabledPlans: [] }]);
    assert.deepEqual(change.remove, [F3]);
    assert.deepEqual(licenceChangeByName(current, change, skus), {
      add: ['SPE_E3'],
      remove: ['SPE_F1'],
      replace: [],
    });
  });

  it('changed disabled plans re-add the held SKU (a replace, no seat); no free seat and unknown names are reported', () => {
    const current = [{ skuId: E3, disabledPlans: [] }];
    const change = licenceChangeFor(
      current,
      [
        { sku: 'SPE_E3', disabledPlans: ['EXCHANGE_S_ENTERPRISE', 'NOPE'] },
        { sku: 'SPE_F1', disabledPlans: [] },
        { sku: 'MISSING', disabledPlans: [] },
      ],
      licencePolicy,
      skus,
    );
    assert.deepEqual(licenceChangeByName(current, change, skus), {
      add: ['SPE_F1'],
      remove: [],
      replace: ['SPE_E3'],
    });
    assert.deepEqual(change.shortOfSeats, ['SPE_F1']);
    assert.deepEqual(change.unknownSkus, ['MISSING']);
    assert.deepEqual(change.unknownPlans, ['SPE_E3/NOPE']);
  });

  it('a leaver gives back every managed licence and keeps hand-granted ones', () => {
    const current = [
      { skuId: 'sku-hand', disabledPlans: [] },
      { skuId: E3, disabledPlans: ['plan-exo'] },
      { skuId: 'sku-gone', disabledPlans: [] },
    ];
    assert.deepEqual(
      leaverLicences(current, skus, licencePolicy).map((s) => s.skuPartNumber),
      ['SPE_E3'],
    );
  });
});

describe('telephony catalogue entry (syncPhone and the plan)', () => {
  it('is built from the AD account, and compared field by field', () => {
    const entry = catalogueEntryFor('E1', account);
    assert.deepEqual(entry, {
      employeeId: 'E1',
      displayName: 'Aino Testinen',
      title: 'Sairaanhoitaja',
      unit: 'SOTE-110',
      email: 'aino.testinen@kerava.fi',
    });
    assert.equal(catalogueChange(null, entry), 'create');
    assert.equal(catalogueChange({ ...entry }, entry), null);
    assert.equal(catalogueChange({ ...entry, title: 'Old' }, entry), 'update');
    const { displayName: _d, title: _t, department: _u, mail: _m, ...bare } = account;
    assert.deepEqual(catalogueEntryFor('E1', bare), {
      employeeId: 'E1',
      displayName: 'aino.testinen',
      title: '',
      unit: '',
      email: 'aino.testinen@kerava.fi',
    });
  });
});

describe('managed groups (planPerson, explain and the plan)', () => {
  const groupsOu = `OU=Groups,OU=Tunnus,${baseDn}`;
  it('named groups by their DN, template groups by pattern in the groups OU only', () => {
    const named = new Map([['All-Staff', `CN=All Staff,${groupsOu}`]]);
    const memberOf = [
      `CN=All Staff,${groupsOu}`,
      `CN=Class-K01-7B,${groupsOu}`,
      `CN=Class-K01-7C,OU=Elsewhere,${baseDn}`,
      `CN=Football,${groupsOu}`,
    ];
    const byDn = resolveManagedGroups(policy, baseDn, named, memberOf);
    assert.deepEqual(
      memberOf.map((dn) => managedGroupOf(byDn, dn.toUpperCase()) ?? null),
      ['All-Staff', 'Class-K01-7B', null, null],
    );
    assert.equal(isManagedGroup(policy, 'Class-K01-7B'), true);
    assert.equal(isManagedGroup(policy, 'Pupils-K02'), true);
    assert.equal(isManagedGroup(policy, 'All-Staff'), true);
    assert.equal(isManagedGroup(policy, 'Football'), false);
  });

  it("explain: a pupil's old class group is managed (the run removes it), not 'not managed by Tunnus'", () => {
    const pupil: IdentityRecord = {
      employeeId: 'S-1',
      firstNames: 'Eetu',
      lastName: 'Oppilas',
      jobTitle: 'Oppilas',
      jobCode: 'PUPIL',
      orgUnit: 'K01',
      employmentType: 'fixed_term',
      startDate: '2026-01-07',
      education: { schoolCode: 'K01', class: '7A', role: 'pupil' },
      sources: ['education'],
    };
    const e = explain({
      record: pupil,
      policy,
      baseDn,
      asOf: new Date('2026-06-01T09:00:00Z'),
      actual: { ou: `OU=Pupils,OU=Tunnus,${baseDn}`, groups: ['Class-K01-7B', 'Pupils-K01'], licences: null },
    });
    const status = Object.fromEntries(e.groups.map((g) => [g.name, g.status]));
    assert.equal(status['Class-K01-7B'], 'hand-granted');
    assert.equal(status['Class-K01-7A'], 'missing');
    assert.equal(status['Pupils-K01'], 'granted');
  });
});

describe('the account as the directory steps leave it (what the plan hands the cloud decision)', () => {
  it('applies attribute changes, clears and enable/disable; a new account from its create step', () => {
    const after = accountAfterSteps({ ...account, enabled: false }, [
      { kind: 'setAttributes', attributes: { title: 'Osastonhoitaja' }, clear: ['department'] },
      { kind: 'enableAccount' },
    ])!;
    assert.equal(after.title, 'Osastonhoitaja');
    assert.equal(after.department, undefined);
    assert.equal(after.enabled, true);
    const created = accountAfterSteps(null, [
      {
        kind: 'createAccount',
        ouDn: account.ou,
        attributes: { givenName: 'Aino', sn: 'T', displayName: 'Aino T', title: 'X', department: 'D' },
      },
    ])!;
    assert.deepEqual({ enabled: created.enabled, title: created.title }, { enabled: false, title: 'X' });
    assert.equal(accountAfterSteps(account, [{ kind: 'deleteAccount' }]), null);
    // The plan's projection fed to the run's decision: the retitle shows as a jobTitle patch.
    assert.deepEqual(
      cloudUserPatch(
        cloudUserChange(
          inSync,
          accountAfterSteps(account, [
            { kind: 'setAttributes', attributes: { title: 'Osastonhoitaja' }, clear: [] },
          ]),
          direct,
        ),
      ),
      { jobTitle: 'Osastonhoitaja' },
    );
  });
});
