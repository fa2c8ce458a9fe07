import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { educationIdentityId, gradeOf, parseEducationRecord } from '../../src/domain/education';
import { parseEducationCsv } from '../../src/domain/education-csv';
import { indexKeyOf, mergeSources, PUPIL_JOB_CODE, type IdentityRecord } from '../../src/domain/identity';
import { planFor } from '../../src/domain/plan';
import {
  entitlementsFor,
  fillGroupTemplate,
  managedGroups,
  matchesGroupTemplate,
  parsePolicy,
  PolicyError,
} from '../../src/domain/policy';
import type { HrRecord } from '../../src/domain/record';

const policy = parsePolicy(fs.readFileSync(path.join(__dirname, '../../config/policy.yaml'), 'utf8'));

const header =
  'student_id;hr_employee_id;first_names;calling_name;last_name;school_code;class;start_date;end_date';
const csv = (...rows: string[]) => [header, ...rows].join('\n') + '\n';

const teacherHr: HrRecord = {
  employeeId: 'E2001',
  firstNames: 'Maija Liisa',
  callingName: 'Liisa',
  lastName: 'Opettaja',
  jobTitle: 'Lehtori',
  jobCode: 'OP01',
  orgUnit: 'KASV-210',
  employmentType: 'permanent',
  startDate: '2024-08-01',
};

describe('education record and CSV', () => {
  it('a pupil row and a staff row parse; the identity is S-{student id} or the HR id', () => {
    const { records, errors } = parseEducationCsv(
      csv(
        '100234;;Ella Sofia;;Öhman;K01;7A;2026-08-12;',
        ';E2001;Maija Liisa;Liisa;Opettaja;K01;;2024-08-01;',
      ),
    );
    assert.deepEqual(errors, []);
    assert.equal(records.length, 2);
    assert.equal(educationIdentityId(records[0]!.record), 'S-100234');
    assert.equal(educationIdentityId(records[1]!.record), 'E2001');
    assert.equal(records[1]!.record.class, undefined, 'staff need no class');
    assert.equal(records[0]!.record.lastName, 'Öhman');
  });

  it('each bad field is reported with its line and snake_case column', () => {
    const { records, errors } = parseEducationCsv(
      csv(
        '100001;;Ella;;Öhman;K01;7A;2026-08-12;', // line 2: fine
        ';;Eino;;Lahti;K01;7A;2026-08-12;', // 3: neither id
        '100003;E9;Aku;;Ankka;K01;7A;2026-08-12;', // 4: both ids
        '100004;;Iines;;Ankka;K 01;7A;2026-02-30;', // 5: school code, date
        '100005;;Hessu;;Hopo;K01;;2026-08-12;', // 6: pupil without class
        '100006;;Roope;;;K01;8B;2026-08-12;2026-08-01', // 7: no last name, end before start
        '100001;;Ella;;Öhman;K01;7A;2026-08-12;', // 8: duplicate of line 2
      ),
    );
    assert.equal(records.length, 1);
    assert.deepEqual(
      errors.map((e) => [e.line, e.field, e.message]),
      [
        [3, 'student_id', 'is required (or hr_employee_id for teaching staff)'],
        [
          4,
          'hr_employee_id',
          'cannot be given together with student_id (a row is a pupil or a staff member)',
        ],
        [5, 'school_code', 'must be letters A-Z, digits, . _ - (starting with a letter or digit)'],
        [5, 'start_date', 'is not a real calendar date'],
        [6, 'class', 'is required for a pupil'],
        [7, 'last_name', 'is required'],
        [7, 'end_date', 'is before start_date'],
        [8, 'student_id', 'duplicates the student_id on line 2'],
      ],
    );
  });

  it('a missing required column fails the file at the header, naming the column', () => {
    const { records, errors } = parseEducationCsv(
      'student_id,first_names,last_name,class,start_date\n1,A,B,7A,2026-08-12\n',
    );
    assert.equal(records.length, 0);
    assert.deepEqual(errors, [
      { line: 1, field: 'school_code', message: 'column is required but missing from the header' },
    ]);
  });

  it('BOM and "," delimiter with quoted fields holding the delimiter', () => {
    // A comma is no part of a name (issue 10: "Virtanen, Matti" is a name in the wrong column),
    // so the quoted delimiter is shown in a row the door refuses, on its own line.
    const text =
      '\uFEFFstudent_id,first_names,last_name,school_code,class,start_date\r\n' +
      '"100009","Anna Maija",Väänänen,K02,"9 B",2026-08-12\r\n' +
      '"100010","Anna, Maija",Väänänen,K02,9 B,2026-08-12\r\n';
    const { records, errors } = parseEducationCsv(text);
    assert.deepEqual(errors, [
      { line: 3, field: 'first_names', message: 'contains "," (U+002C), which is not part of a name' },
    ]);
    assert.equal(records[0]!.record.firstNames, 'Anna Maija');
    assert.equal(records[0]!.record.class, '9 B');
  });

  it('the JSON record names each bad field too', () => {
    const r = parseEducationRecord({
      studentId: 'x y',
      firstNames: '',
      lastName: 'L',
      schoolCode: 'K1',
      startDate: 'x',
    });
    assert.ok(!r.ok);
    // A pupil (studentId given) without a class is named too, though the student id is bad.
    assert.deepEqual([...new Set(r.errors.map((e) => e.field))].sort(), [
      'class',
      'firstNames',
      'startDate',
      'studentId',
    ]);
  });

  it('grade is the leading digits of the class', () => {
    assert.equal(gradeOf('7A'), 7);
    assert.equal(gradeOf('10'), 10);
    assert.equal(gradeOf(' 9 B'), 9);
    assert.equal(gradeOf('Esi'), undefined);
    assert.equal(gradeOf(undefined), undefined);
  });
});

describe('mergeSources: one identity per person', () => {
  const teacherEdu = {
    hrEmployeeId: 'E2001',
    firstNames: 'Maija',
    lastName: 'Kouluope',
    schoolCode: 'K01',
    startDate: '2025-01-01',
  };

  it('HR is authoritative for names, dates and job; education adds the facet', () => {
    const merged = mergeSources({ hr: teacherHr, education: teacherEdu })!;
    assert.equal(merged.lastName, 'Opettaja');
    assert.equal(merged.firstNames, 'Maija Liisa');
    assert.equal(merged.startDate, '2024-08-01');
    assert.equal(merged.jobCode, 'OP01');
    assert.deepEqual(merged.education, { schoolCode: 'K01', role: 'teacher' });
    assert.deepEqual(merged.sources, ['hr', 'education']);
  });

  it('HR alone is exactly the HR record (state from before the education source reads the same)', () => {
    assert.equal(mergeSources({ hr: teacherHr }), teacherHr);
  });

  it('a staff row without its HR record makes no person yet', () => {
    assert.equal(mergeSources({ education: teacherEdu }), undefined);
    assert.equal(mergeSources({}), undefined);
  });

  it('a pupil gets a record derived from the row', () => {
    const pupil = mergeSources({
      education: {
        studentId: '100234',
        firstNames: 'Ella Sofia',
        lastName: 'Öhman',
        schoolCode: 'K01',
        class: '7A',
        startDate: '2026-08-12',
        endDate: '2027-06-01',
      },
    })!;
    assert.equal(pupil.employeeId, 'S-100234');
    assert.equal(pupil.jobCode, PUPIL_JOB_CODE);
    assert.equal(pupil.orgUnit, 'K01');
    assert.equal(pupil.endDate, '2027-06-01');
    assert.deepEqual(pupil.education, { schoolCode: 'K01', class: '7A', role: 'pupil' });
    assert.match(pupil.employeeId, /^[A-Za-z0-9-]{1,32}$/);
  });

  it('a teacher in both sources gets the entitlements of both roles, in the HR role OU', () => {
    const ent = entitlementsFor(policy, mergeSources({ hr: teacherHr, education: teacherEdu })!);
    assert.deepEqual(ent.groups, ['All-Staff', 'Teachers', 'Teachers-K01']);
    assert.deepEqual(ent.roles, ['teacher', 'all-staff', 'teacher-school']);
    assert.equal(ent.ou, 'OU=Education,OU=Staff,OU=Tunnus');
    assert.deepEqual(
      ent.licences.map((l) => l.sku),
      ['M365EDU_A3_FACULTY'],
    );
  });

  it("a teacher's education row has its own index key, so neither import sees the other's hash", () => {
    assert.equal(indexKeyOf('hr', teacherHr), 'E2001');
    assert.equal(indexKeyOf('education', teacherEdu), 'education:E2001');
    assert.equal(
      indexKeyOf('education', { ...teacherEdu, hrEmployeeId: undefined, studentId: '7', class: '1A' }),
      'S-7',
    );
  });
});

describe('education policy: templates, grades, cloud scoping', () => {
  const pupil = (cls: string, school = 'K01'): IdentityRecord =>
    mergeSources({
      education: {
        studentId: `P${cls}`,
        firstNames: 'Ella',
        lastName: 'Öhman',
        schoolCode: school,
        class: cls,
        startDate: '2026-08-12',
      },
    })!;

  it('pupils get school and class groups filled from templates, the pupils OU and retention', () => {
    const ent = entitlementsFor(policy, pupil('7A'));
    assert.deepEqual(ent.groups, ['Class-K01-7A', 'Pupils-K01']);
    assert.equal(ent.ou, 'OU=Pupils,OU=Tunnus');
    assert.equal(ent.retentionDays, 30);
    assert.equal(ent.title, 'Oppilas');
    assert.ok(!ent.groups.includes('All-Staff'), 'staff rules never match pupils');
  });

  it('a class with a space becomes a valid group name', () => {
    assert.equal(fillGroupTemplate('Class-{schoolCode}-{class}', pupil('9 B')), 'Class-K01-9-B');
    assert.equal(
      fillGroupTemplate('Class-{schoolCode}-{class}', {
        ...pupil('1A'),
        education: { schoolCode: 'K1', role: 'teacher' },
      }),
      undefined,
    );
  });

  it('template groups are managed by pattern, literal ones by name', () => {
    assert.ok(matchesGroupTemplate(policy, 'Class-K01-7A'));
    assert.ok(matchesGroupTemplate(policy, 'class-k99-9b'), 'AD names compare case-insensitively');
    assert.ok(matchesGroupTemplate(policy, 'Teachers-K01'));
    assert.ok(!matchesGroupTemplate(policy, 'Teachers'));
    assert.ok(!matchesGroupTemplate(policy, 'Class-K01'));
    assert.ok(!managedGroups(policy).some((g) => g.includes('{')), 'templates are never prepared as groups');
  });

  it('grade matching: below 7 no cloud, 7 and up cloud with the student licence', () => {
    for (const [cls, cloud] of [
      ['1A', false],
      ['6C', false],
      ['7A', true],
      ['9B', true],
      ['Esi', false],
    ] as const) {
      const ent = entitlementsFor(policy, pupil(cls));
      assert.equal(ent.cloud, cloud, `class ${cls}`);
      assert.deepEqual(
        ent.licences.map((l) => l.sku),
        cloud ? ['STANDARDWOFFPACK_STUDENT'] : [],
        `class ${cls}`,
      );
    }
  });

  it('grades min and max, schoolCodes and sources all narrow a rule', () => {
    const p = parsePolicy(
      [
        'naming: { upnDomain: k.test, mailDomain: k.fi }',
        'ous: { default: OU=S, disabled: OU=D }',
        'roles:',
        '  - { name: middle, match: { grades: { min: 3, max: 6 }, schoolCodes: [K02] }, groups: [Middle], cloud: true }',
        '  - { name: anyone, match: { sources: [hr, education] }, groups: [Everyone] }',
      ].join('\n'),
    );
    assert.deepEqual(entitlementsFor(p, pupil('4A', 'K02')).groups, ['Everyone', 'Middle']);
    assert.deepEqual(entitlementsFor(p, pupil('7A', 'K02')).groups, ['Everyone']);
    assert.deepEqual(entitlementsFor(p, pupil('4A', 'K01')).groups, ['Everyone']);
    assert.deepEqual(entitlementsFor(p, teacherHr).groups, ['Everyone']);
  });

  it('the plan says whether and why the person is exported to the cloud', () => {
    const ctx = { baseDn: 'DC=k', asOf: new Date('2026-09-01T12:00:00Z') };
    const actual = { account: null, managedGroupsByDn: new Map<string, string>() };
    const young = planFor(pupil('5A'), policy, ctx, actual).services;
    assert.equal(young.cloud, false);
    assert.equal(young.cloudReason, 'not exported: no matching role (pupil) sets cloud');
    assert.equal(young.telephony, false, 'pupils are not in the phone catalogue');
    const older = planFor(pupil('8A'), policy, ctx, actual).services;
    assert.equal(older.cloud, true);
    assert.equal(older.cloudReason, 'exported by role pupil-cloud');
    assert.equal(planFor(teacherHr, policy, ctx, actual).services.telephony, true);
  });

  it('a template with an unknown placeholder is a policy error naming the path', () => {
    assert.throws(
      () =>
        parsePolicy(
          'naming: { upnDomain: k.test, mailDomain: k.fi }\nous: { default: OU=S, disabled: OU=D }\nroles:\n  - { name: x, groups: ["Grade-{grade}"] }\n',
        ),
      (err: unknown) =>
        err instanceof PolicyError &&
        err.problems.some(
          (p) => p === 'roles.0.groups.0: may only hold the placeholders {schoolCode} and {class}',
        ),
    );
  });
});
