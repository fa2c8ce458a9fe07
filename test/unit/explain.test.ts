import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  describeReasons,
  describeUnmet,
  explain,
  explainRule,
  type ExplainInput,
} from '../../src/domain/explain';
import { parsePolicy, roleMatches } from '../../src/domain/policy';
import type { HrRecord } from '../../src/domain/record';

// `tunnus explain`: every group, licence and OU with the rule and HR attributes behind it, and
// what the person holds that no rule grants. Uses the sample policy (config/policy.yaml).

const policy = parsePolicy(fs.readFileSync(path.resolve(__dirname, '../../config/policy.yaml'), 'utf8'));
const baseDn = 'DC=kerava,DC=test';
const careOu = 'OU=Care,OU=Staff,OU=Tunnus';

const nurse: HrRecord = {
  employeeId: 'E1001',
  firstNames: 'Aino',
  lastName: 'Testinen',
  jobTitle: 'Sairaanhoitaja',
  jobCode: 'SH01',
  orgUnit: 'SOTE-110',
  employmentType: 'permanent',
  startDate: '2026-01-07',
};

function input(over: Partial<ExplainInput['actual']> = {}, record: HrRecord = nurse): ExplainInput {
  return {
    record,
    policy,
    baseDn,
    asOf: new Date('2026-06-01T09:00:00Z'),
    actual: {
      ou: `${careOu},${baseDn}`,
      groups: ['All-Staff', 'Care-Staff', 'ERP-Nurse'],
      licences: ['SPE_E3'],
      ...over,
    },
  };
}

function item<T extends { name: string }>(items: T[], name: string): T {
  const found = items.find((i) => i.name === name);
  assert.ok(found, `${name} is listed`);
  return found;
}

describe('explain', () => {
  it('a nurse with exactly what the policy grants: every item granted, with its role and attributes', () => {
    const e = explain(input());
    assert.deepEqual(
      e.groups.map((g) => [g.name, g.status, g.grantedBy.map((x) => x.role)]),
      [
        ['All-Staff', 'granted', ['all-staff']],
        ['Care-Staff', 'granted', ['nurse']],
        ['ERP-Nurse', 'granted', ['nurse']],
      ],
    );
    const erp = item(e.groups, 'ERP-Nurse');
    assert.deepEqual(erp.grantedBy[0]!.because, [
      { attribute: 'jobCode', value: 'SH01', accepts: ['SH01', 'SH02'] },
      { attribute: 'orgUnit', value: 'SOTE-110', accepts: ['SOTE'], prefix: 'SOTE' },
    ]);
    assert.equal(describeReasons(erp.grantedBy[0]!.because), 'jobCode SH01, orgUnit prefix SOTE (SOTE-110)');
    assert.equal(
      describeReasons(item(e.groups, 'All-Staff').grantedBy[0]!.because),
      'everyone (the rule has no conditions)',
    );
    assert.deepEqual(
      e.licences.map((l) => [l.name, l.status, l.grantedBy.map((x) => x.role)]),
      [['SPE_E3', 'granted', ['nurse']]],
    );
    assert.deepEqual(e.ou, {
      actual: careOu,
      expected: careOu,
      status: 'granted',
      grantedBy: e.ou.grantedBy,
    });
    assert.equal(e.ou.grantedBy?.role, 'nurse');
    assert.deepEqual(e.flags, []);
    assert.equal(e.counts.granted, 4);
  });

  it('a nurse hand-added to ERP-Physician: flagged hand-granted, with the physician rule and why it does not apply', () => {
    const e = explain(input({ groups: ['All-Staff', 'Care-Staff', 'ERP-Nurse', 'ERP-Physician'] }));
    const physician = item(e.groups, 'ERP-Physician');
    assert.equal(physician.status, 'hand-granted');
    assert.deepEqual(physician.grantedBy, []);
    assert.deepEqual(physician.otherRules, [
      { role: 'physician', unmet: [{ attribute: 'jobCode', value: 'SH01', accepts: ['LK01'] }] },
    ]);
    assert.equal(describeUnmet(physician.otherRules[0]!.unmet), 'jobCode SH01 is not one of LK01');
    assert.match(physician.note ?? '', /next run removes it/);
    assert.equal(e.counts['hand-granted'], 1);
    assert.deepEqual(e.flags, [
      'group ERP-Physician: hand-granted — managed by Tunnus but no rule grants it to this person; the next run removes it',
    ]);
  });

  it('groups and licences outside the policy are listed as not managed by Tunnus', () => {
    const e = explain(
      input({
        groups: ['All-Staff', 'Care-Staff', 'ERP-Nurse', 'Intranet-Editors'],
        licences: ['SPE_E3', 'VISIOCLIENT'],
      }),
    );
    assert.equal(item(e.groups, 'Intranet-Editors').status, 'unmanaged');
    assert.equal(item(e.groups, 'Intranet-Editors').note, 'not managed by Tunnus');
    assert.equal(item(e.licences, 'VISIOCLIENT').status, 'unmanaged');
    assert.equal(e.counts.unmanaged, 2);
    // Sorted: what rules grant first, then what nobody granted.
    assert.deepEqual(
      e.groups.map((g) => g.status),
      ['granted', 'granted', 'granted', 'unmanaged'],
    );
  });

  it('a managed group no rule names at all (managedGroups) is hand-granted', () => {
    const e = explain(input({ groups: ['All-Staff', 'Care-Staff', 'ERP-Nurse', 'Legacy-Intranet'] }));
    const legacy = item(e.groups, 'Legacy-Intranet');
    assert.equal(legacy.status, 'hand-granted');
    assert.deepEqual(legacy.otherRules, []);
  });

  it('a managed licence the role does not grant is hand-granted', () => {
    const e = explain(input({ licences: ['SPE_E3', 'M365EDU_A3_FACULTY'] }));
    const faculty = item(e.licences, 'M365EDU_A3_FACULTY');
    assert.equal(faculty.status, 'hand-granted');
    assert.deepEqual(
      faculty.otherRules.map((m) => [m.role, describeUnmet(m.unmet)]),
      [['teacher', 'jobCode SH01 is not one of OP01, OP02; orgUnit SOTE-110 starts with none of KASV']],
    );
  });

  it('what a rule grants but the person lacks is missing', () => {
    const e = explain(input({ groups: ['All-Staff'], licences: [] }));
    assert.deepEqual(
      e.groups.filter((g) => g.status === 'missing').map((g) => g.name),
      ['Care-Staff', 'ERP-Nurse'],
    );
    assert.equal(item(e.licences, 'SPE_E3').status, 'missing');
    assert.equal(e.flags.length, 3);
  });

  it('without an AD account everything granted is missing and the OU says so', () => {
    const e = explain(input({ ou: null, groups: [], licences: null }));
    assert.equal(e.hasAccount, false);
    assert.equal(e.ou.status, 'no-account');
    assert.equal(e.ou.expected, careOu);
    assert.ok(e.groups.every((g) => g.status === 'missing' && g.note === 'no AD account yet'));
    assert.equal(item(e.licences, 'SPE_E3').status, 'unknown', 'licences not read are not claimed missing');
    assert.equal(e.licencesRead, false);
  });

  it('an hourly substitute gets the hourly rule; its licence is not assigned without a cloud role', () => {
    const sub: HrRecord = { ...nurse, jobCode: 'XX99', employmentType: 'substitute' };
    const e = explain(
      input({ ou: `OU=Staff,OU=Tunnus,${baseDn}`, groups: ['All-Staff', 'Substitutes'], licences: [] }, sub),
    );
    const substitutes = item(e.groups, 'Substitutes');
    assert.equal(substitutes.status, 'granted');
    assert.equal(
      describeReasons(substitutes.grantedBy[0]!.because),
      'orgUnit prefix SOTE (SOTE-110), employmentType substitute',
    );
    assert.deepEqual(e.licences, [], 'SPE_F1 is named, but hourly-care turns no cloud on');
    assert.equal(e.ou.status, 'default');
    const held = explain(
      input({ ou: `OU=Staff,OU=Tunnus,${baseDn}`, groups: [], licences: ['SPE_F1'] }, sub),
    );
    assert.equal(item(held.licences, 'SPE_F1').status, 'hand-granted');
    assert.match(item(held.licences, 'SPE_F1').note ?? '', /hourly-care names it.*Tunnus leaves it/);
  });

  it('an account in another managed OU differs (the next run moves it); one outside is unmanaged', () => {
    const office = explain(input({ ou: `OU=Office,OU=Staff,OU=Tunnus,${baseDn}` }));
    assert.equal(office.ou.status, 'differs');
    assert.match(office.flags.at(-1) ?? '', /^OU OU=Office,OU=Staff,OU=Tunnus: .*moves it to OU=Care/);
    const elsewhere = explain(input({ ou: `CN=Users,${baseDn}` }));
    assert.equal(elsewhere.ou.status, 'unmanaged');
    const care = explain(input({ ou: `ou=care,ou=staff,ou=tunnus,${baseDn.toLowerCase()}` }));
    assert.equal(care.ou.status, 'granted', 'DNs compare case-insensitively');
    const disabled = explain(input({ ou: `OU=Disabled,OU=Tunnus,${baseDn}` }));
    assert.equal(disabled.ou.status, 'differs', 'a working person does not belong in the disabled OU');
  });

  it('after the end date no rule grants anything: what is still held is flagged for the leaver run', () => {
    const leaver: HrRecord = { ...nurse, endDate: '2026-05-29' };
    const e = explain(input({}, leaver));
    assert.equal(e.phase, 'left');
    assert.deepEqual(e.dates, { start: '2026-01-07', end: '2026-05-29', deleteOn: '2026-08-27' });
    assert.deepEqual(
      e.groups.map((g) => [g.name, g.status, g.grantedBy.length]),
      [
        ['All-Staff', 'hand-granted', 0],
        ['Care-Staff', 'hand-granted', 0],
        ['ERP-Nurse', 'hand-granted', 0],
      ],
    );
    assert.equal(
      item(e.groups, 'ERP-Nurse').note,
      'the person left on 2026-05-29: the leaver run removes managed groups',
    );
    assert.equal(item(e.licences, 'SPE_E3').status, 'hand-granted');
    assert.equal(e.ou.status, 'differs', 'still in the care OU');
    assert.equal(e.ou.expected, 'OU=Disabled,OU=Tunnus');

    // Once the leaver run is done: disabled OU, no managed groups or licences, nothing to flag.
    const done = explain(input({ ou: `OU=Disabled,OU=Tunnus,${baseDn}`, groups: [], licences: [] }, leaver));
    assert.equal(done.ou.status, 'disabled');
    assert.match(done.ou.note ?? '', /until it is deleted on 2026-08-27/);
    assert.deepEqual(done.groups, []);
    assert.deepEqual(done.flags, []);
  });

  it('before the account is due, granted items are missing and the note says when it is created', () => {
    const future: HrRecord = { ...nurse, startDate: '2026-09-01' };
    const e = explain(input({ ou: null, groups: [], licences: [] }, future));
    assert.equal(e.phase, 'pending');
    assert.equal(item(e.groups, 'ERP-Nurse').status, 'missing');
    assert.equal(item(e.groups, 'ERP-Nurse').note, 'no AD account yet: it is created on 2026-08-18');
  });

  it('explainRule agrees with roleMatches for every role and a spread of records', () => {
    const records: HrRecord[] = [
      nurse,
      { ...nurse, jobCode: 'LK01' },
      { ...nurse, orgUnit: 'KASV-2', jobCode: 'OP01' },
      { ...nurse, orgUnit: 'HALL-1', employmentType: 'hourly' },
      { ...nurse, jobCode: 'ZZ', orgUnit: 'SOTE', employmentType: 'hourly' },
    ];
    for (const record of records) {
      for (const rule of policy.roles) {
        const why = explainRule(rule, record);
        assert.equal(
          why.matches,
          roleMatches(rule, record),
          `${rule.name} for ${record.jobCode}/${record.orgUnit}`,
        );
        assert.equal(why.matches, why.unmet.length === 0);
      }
    }
  });
});
