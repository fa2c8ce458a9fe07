import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { DirectoryAccount } from '../../src/domain/account';
import {
  countByKind,
  evaluateIdentities,
  findCleanup,
  findCleanupAndSkips,
  guardCounts,
  monthlySavingOf,
  reclaimableLicences,
  type CleanupInput,
  type Identity,
} from '../../src/domain/cleanup';
import { addDays, helsinkiDate } from '../../src/domain/dates';
import { parsePolicy } from '../../src/domain/policy';
import type { HrRecord } from '../../src/domain/record';

const policy = parsePolicy(fs.readFileSync(path.join(__dirname, '../../config/policy.yaml'), 'utf8'));
const baseDn = 'DC=kerava,DC=test';
const asOf = new Date('2027-03-15T10:00:00Z');
const today = helsinkiDate(asOf);
const careOu = `OU=Care,OU=Staff,OU=Tunnus,${baseDn}`;
const disabledOu = `OU=Disabled,OU=Tunnus,${baseDn}`;
const groupDn = (g: string) => `CN=${g},OU=Groups,OU=Tunnus,${baseDn}`;

function nurse(employeeId: string, extra: Partial<HrRecord> = {}): HrRecord {
  return {
    employeeId,
    firstNames: 'Aino',
    lastName: 'Aalto',
    jobTitle: 'Sairaanhoitaja',
    jobCode: 'SH01',
    orgUnit: 'SOTE-100',
    employmentType: 'permanent',
    startDate: '2020-01-01',
    ...extra,
  };
}

function account(
  sam: string,
  employeeId: string,
  ou: string,
  enabled: boolean,
  groups: string[] = [],
): DirectoryAccount {
  return {
    dn: `CN=${sam},${ou}`,
    ou,
    employeeId,
    sAMAccountName: sam,
    userPrincipalName: `${sam}@kerava.test`,
    proxyAddresses: [],
    enabled,
    memberOf: groups.map(groupDn),
  };
}

function input(parts: Partial<CleanupInput>): CleanupInput {
  return {
    asOf,
    policy,
    baseDn,
    accounts: [],
    identities: new Map(),
    cloudUsers: [],
    groupMembers: new Map(),
    reservations: [],
    ...parts,
  };
}

const identities = (...records: HrRecord[]) =>
  new Map<string, Identity>(records.map((r) => [r.employeeId, { employeeId: r.employeeId, record: r }]));

describe('leaver cleanup findings (pure)', () => {
  it('a clean active nurse produces no finding', () => {
    const a = account('aino.aalto', 'E1', careOu, true, ['ERP-Nurse', 'Care-Staff', 'All-Staff']);
    const members = new Map(
      ['ERP-Nurse', 'Care-Staff', 'All-Staff'].map((g) => [
        g,
        [{ dn: a.dn, employeeId: 'E1', sAMAccountName: a.sAMAccountName }],
      ]),
    );
    const findings = findCleanup(
      input({
        accounts: [a],
        identities: identities(nurse('E1')),
        groupMembers: members,
        cloudUsers: [{ id: 'u1', employeeId: 'E1', accountEnabled: true, skus: ['SPE_E3'] }],
      }),
    );
    assert.deepEqual(findings, []);
  });

  it('a leaver disabled longer than retention ago whose account still exists is a pastRetention finding', () => {
    const endDate = addDays(today, -(policy.lifecycle.retentionDays + 2));
    const ended = nurse('E2', { endDate });
    const disabledAt = new Date(Date.parse(`${addDays(endDate, 1)}T00:00:00Z`)).toISOString();
    const findings = findCleanup(
      input({
        accounts: [account('x', 'E2', disabledOu, false)],
        identities: new Map([['E2', { employeeId: 'E2', record: ended, disabledAt }]]),
      }),
    );
    assert.deepEqual(
      findings.map((f) => f.kind),
      ['pastRetention'],
    );
  });

  it('retention counts from the disable: an old end date without a recorded disable deletes nothing', () => {
    const ended = nurse('E2', { endDate: addDays(today, -(policy.lifecycle.retentionDays + 200)) });
    const findings = findCleanup(
      input({ accounts: [account('x', 'E2', disabledOu, false)], identities: identities(ended) }),
    );
    assert.deepEqual(findings, []);
  });

  it('an identity whose dates cannot be evaluated is reported and skipped; the others are still found', () => {
    const broken: HrRecord = { ...nurse('E8'), startDate: 'not-a-date' };
    const orphan = account('z', 'E9', careOu, true);
    const { findings, skipped } = findCleanupAndSkips(
      input({
        accounts: [account('b', 'E8', careOu, true), orphan],
        identities: identities(broken, nurse('E9', { endDate: addDays(today, -5) })),
      }),
    );
    assert.deepEqual(
      skipped.map((s) => s.employeeId),
      ['E8'],
    );
    assert.deepEqual(
      findings.map((f) => [f.kind, 'employeeId' in f ? f.employeeId : undefined]),
      [['orphanAccount', 'E9']],
    );
  });

  it('verdicts evaluated in parts and merged (as the activity does) give the findings of one pass', () => {
    const records = [
      nurse('P1'),
      nurse('P2', { endDate: addDays(today, -3) }), // left: an orphan while enabled
      { ...nurse('P3'), startDate: 'not-a-date' }, // skipped, in the second part
      nurse('P4', { endDate: '2020-06-30' }), // past retention
    ];
    const all = input({
      accounts: [
        account('p1', 'P1', careOu, true),
        account('p2', 'P2', careOu, true),
        account('p3', 'P3', careOu, true),
        account('p4', 'P4', disabledOu, false),
      ],
      identities: identities(...records),
      groupMembers: new Map([['ERP-Physician', [{ dn: 'CN=p1', employeeId: 'P1', sAMAccountName: 'p1' }]]]),
    });
    all.identities.set('P4', { employeeId: 'P4', record: records[3]!, disabledAt: '2020-07-01T00:00:00Z' });
    const whole = findCleanupAndSkips(all);
    const parts = [records.slice(0, 2), records.slice(2)].map((part) =>
      evaluateIdentities(
        part.map((r) => all.identities.get(r.employeeId)!),
        policy,
        baseDn,
        asOf,
      ),
    );
    const merged = {
      verdicts: new Map(parts.flatMap((p) => [...p.verdicts])),
      skipped: parts.flatMap((p) => p.skipped),
    };
    assert.deepEqual(findCleanupAndSkips(all, merged), whole);
    assert.deepEqual(
      whole.findings.map((f) => `${f.kind} ${'employeeId' in f ? f.employeeId : ''}`),
      ['orphanAccount P2', 'pastRetention P4', 'ungrantedMember P1'],
    );
    assert.deepEqual(
      whole.skipped.map((s) => s.employeeId),
      ['P3'],
    );
  });

  it('an end date of 9999-12-31 means no end: an active nurse, no finding', () => {
    const a = account('n', 'E10', careOu, true, ['ERP-Nurse', 'Care-Staff', 'All-Staff']);
    const findings = findCleanup(
      input({ accounts: [a], identities: identities(nurse('E10', { endDate: '9999-12-31' })) }),
    );
    assert.deepEqual(findings, []);
  });

  it('a leaver inside retention is left alone', () => {
    const ended = nurse('E3', { endDate: addDays(today, -10) });
    const findings = findCleanup(
      input({ accounts: [account('y', 'E3', disabledOu, false)], identities: identities(ended) }),
    );
    assert.deepEqual(findings, []);
  });

  it('enabled accounts without an active identity are orphans, with the reason', () => {
    const findings = findCleanup(
      input({
        accounts: [
          account('no.id', '', careOu, true),
          account('unknown', 'E404', careOu, true),
          account('gone', 'E5', careOu, true),
          account('outside', 'E6', `CN=Users,${baseDn}`, true), // not a managed OU
        ],
        identities: identities(nurse('E5', { endDate: addDays(today, -3) })),
      }),
    );
    assert.deepEqual(
      findings.map((f) => (f.kind === 'orphanAccount' ? `${f.account}: ${f.why}` : f.kind)),
      ['no.id: no employeeID', 'unknown: no identity for this employeeID', 'gone: identity is left'],
    );
  });

  it('licences on a disabled or departed person are found; a pre-hire joiner keeps them', () => {
    const future = nurse('E8', { startDate: addDays(today, 7) });
    const findings = findCleanup(
      input({
        accounts: [account('left', 'E7', disabledOu, false), account('new', 'E8', careOu, false)],
        identities: identities(nurse('E7', { endDate: addDays(today, -1) }), future),
        cloudUsers: [
          { id: 'u7', employeeId: 'E7', accountEnabled: false, skus: ['SPE_E3'] },
          { id: 'u8', employeeId: 'E8', accountEnabled: false, skus: ['SPE_E3'] },
          { id: 'u9', employeeId: 'E9', accountEnabled: true, skus: ['SPE_F1', 'POWER_BI_PRO'] },
        ],
      }),
    );
    const licence = findings.filter((f) => f.kind === 'licenceOnLeaver');
    assert.deepEqual(
      licence.map((f) => `${f.employeeId} ${f.skus.join('+')} ${f.why}`),
      ['E7 SPE_E3 identity is left', 'E9 SPE_F1 no AD account'],
      'unmanaged SKUs (POWER_BI_PRO) are never reclaimed',
    );
    assert.deepEqual(reclaimableLicences(findings), { SPE_E3: 1, SPE_F1: 1 });
    assert.equal(monthlySavingOf({ SPE_E3: 2, SPE_F1: 1 }, { SPE_E3: 36.1, SPE_F1: 2.25 }), 74.45);
  });

  it('a hand-added member of a managed group is found; members the policy grants are not', () => {
    const a = account('aino.aalto', 'E10', careOu, true, ['ERP-Nurse', 'ERP-Physician']);
    const admin = { dn: `CN=admin.x,CN=Users,${baseDn}`, sAMAccountName: 'admin.x' };
    const findings = findCleanup(
      input({
        accounts: [a],
        identities: identities(nurse('E10')),
        groupMembers: new Map([
          ['ERP-Nurse', [{ dn: a.dn, employeeId: 'E10', sAMAccountName: 'aino.aalto' }]],
          ['ERP-Physician', [{ dn: a.dn, employeeId: 'E10', sAMAccountName: 'aino.aalto' }, admin]],
        ]),
      }),
    );
    assert.deepEqual(
      findings.map((f) => (f.kind === 'ungrantedMember' ? `${f.account} ${f.group}` : f.kind)),
      ['aino.aalto ERP-Physician', 'admin.x ERP-Physician'],
    );
  });

  it('name reservations past their date are released', () => {
    const findings = findCleanup(
      input({
        reservations: [
          { dn: 'CN=old,OU=Retired Names', until: addDays(today, -1) },
          { dn: 'CN=kept,OU=Retired Names', until: today },
        ],
      }),
    );
    assert.deepEqual(
      findings.map((f) => (f.kind === 'expiredReservation' ? f.dn : f.kind)),
      ['CN=old,OU=Retired Names'],
    );
  });

  it('the guard counts orphans as disables and past-retention accounts as deletes', () => {
    const findings = findCleanup(
      input({
        accounts: [account('o', '', careOu, true), account('p', 'E11', disabledOu, false)],
        identities: new Map([
          [
            'E11',
            {
              employeeId: 'E11',
              record: nurse('E11', { endDate: '2020-06-30' }),
              disabledAt: '2020-07-01T00:00:00Z',
            },
          ],
        ]),
      }),
    );
    assert.deepEqual(guardCounts(findings), { disables: 1, deletes: 1 });
    assert.equal(countByKind(findings).orphanAccount, 1);
    assert.equal(countByKind(findings).licenceOnLeaver, 0);
  });
});
