import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { parseEducationRecord } from '../../src/domain/education';
import { educationIdentityId, identityIdOf, indexKeyOf, mergeSources } from '../../src/domain/identity';
import {
  canonicalIdentityKey,
  hrEmployeeIdProblem,
  identityKeyProblem,
  isPupilKey,
  pupilIdentityKey,
} from '../../src/domain/identity-key';
import { intakeRulesOf, trustsStaffRows } from '../../src/domain/intake-rules';
import { parsePolicy, PolicyError } from '../../src/domain/policy';
import { identityKeySchema, parseHrRecord, type HrRecord } from '../../src/domain/record';
import { personWorkflowId } from '../../src/workflows/messages';

// One canonical identity key everywhere (issue 10): case-folded, trimmed, at most 16 characters,
// HR and pupils in spaces that cannot collide.

const policyText = fs.readFileSync(path.join(__dirname, '../../config/policy.yaml'), 'utf8');

/** The sample policy with its `intake` section replaced. */
const withIntake = (intake: object) => stringifyYaml({ ...(parseYaml(policyText) as object), intake });

const hr: HrRecord = {
  employeeId: 'E1001',
  firstNames: 'Anna',
  lastName: 'Aho',
  jobTitle: 'Lehtori',
  jobCode: 'OP01',
  orgUnit: 'KASV-210',
  employmentType: 'permanent',
  startDate: '2026-08-01',
};

describe('canonicalIdentityKey: one form at every edge', () => {
  for (const [raw, key] of [
    ['E1001', 'E1001'],
    ['e1001', 'E1001'],
    [' E1001 ', 'E1001'],
    ['\tE1001\n', 'E1001'],
    ['\u00A0e1001\uFEFF', 'E1001'],
    ['s-1001', 'S-1001'],
    ['ab-12-cd', 'AB-12-CD'],
  ] as const) {
    it(`${JSON.stringify(raw)} → ${key}`, () => {
      assert.equal(canonicalIdentityKey(raw), key);
      assert.equal(canonicalIdentityKey(key), key, 'idempotent');
    });
  }

  it('folds only ASCII, so no other letter turns into an id letter (ı, ß, ſ, full-width)', () => {
    for (const raw of ['e\u0131', 'e\u00df', '\u017f1', '\uFF25\uFF11']) {
      assert.notEqual(identityKeyProblem(canonicalIdentityKey(raw)), undefined, raw);
    }
  });

  it('16 characters are a key; 17 are refused, naming the AD and Graph limit', () => {
    assert.equal(identityKeyProblem('E123456789012345'), undefined);
    assert.match(identityKeyProblem('E1234567890123456')!, /at most 16 characters \(AD employeeID.*got 17/);
  });

  it('the workflow id, the record index key and the record all use the canonical key', () => {
    assert.equal(personWorkflowId('e1001'), 'person-E1001');
    assert.equal(personWorkflowId(' E1001 '), 'person-E1001');
    assert.equal(identityIdOf('hr', { ...hr, employeeId: 'e1001' }), 'E1001');
    assert.equal(indexKeyOf('hr', { ...hr, employeeId: 'e1001' }), 'E1001');
    const parsed = parseHrRecord({ ...hr, employeeId: ' e1001 ' });
    assert.ok(parsed.ok);
    assert.equal(parsed.value.employeeId, 'E1001');
  });

  it('path and argument ids parse to the canonical key (HR or pupil)', () => {
    assert.equal(identityKeySchema.parse('e1001'), 'E1001');
    assert.equal(identityKeySchema.parse('s-1001'), 'S-1001');
    assert.equal(identityKeySchema.safeParse('E1234567890123456').success, false);
  });
});

describe('identity spaces: HR ids and pupils cannot collide', () => {
  it('an HR id in the pupil space (S-1001) is refused at validation, naming employeeId', () => {
    const result = parseHrRecord({ ...hr, employeeId: 'S-1001' });
    assert.ok(!result.ok);
    assert.deepEqual(result.errors, [
      {
        field: 'employeeId',
        message: 'must not start with S- (those ids are pupils from the education system)',
      },
    ]);
    assert.notEqual(hrEmployeeIdProblem('s-1001'.toUpperCase()), undefined);
  });

  it('an HR id that merely starts with S (S1001, SOTE1) is an ordinary HR id', () => {
    assert.equal(hrEmployeeIdProblem('S1001'), undefined);
    assert.equal(hrEmployeeIdProblem('SOTE1'), undefined);
  });

  it('pupils are S-{student id}, canonical, and always in the pupil space', () => {
    assert.equal(pupilIdentityKey('1001'), 'S-1001');
    assert.equal(pupilIdentityKey(' ab1001 '), 'S-AB1001');
    assert.ok(isPupilKey(pupilIdentityKey('E1001')), 'a student id equal to an HR id is another person');
    const row = parseEducationRecord({
      studentId: 'e1001',
      firstNames: 'Ella',
      lastName: 'Öhman',
      schoolCode: 'K01',
      class: '7A',
      startDate: '2026-08-12',
    });
    assert.ok(row.ok);
    assert.equal(educationIdentityId(row.value), 'S-E1001');
    assert.equal(mergeSources({ education: row.value })!.employeeId, 'S-E1001');
  });

  it('a student id longer than 14 is refused: S-{id} must fit in 16', () => {
    const result = parseEducationRecord({
      studentId: '123456789012345',
      firstNames: 'Ella',
      lastName: 'Öhman',
      schoolCode: 'K01',
      class: '7A',
      startDate: '2026-08-12',
    });
    assert.ok(!result.ok);
    assert.equal(result.errors[0]!.field, 'studentId');
    assert.match(result.errors[0]!.message, /at most 14 characters/);
  });

  it("a teacher's row with a lower-case HR id lands in the HR identity", () => {
    const row = parseEducationRecord({
      hrEmployeeId: 'e1001',
      firstNames: 'Anna',
      lastName: 'Aho',
      schoolCode: 'K01',
      startDate: '2026-08-12',
    });
    assert.ok(row.ok);
    assert.equal(educationIdentityId(row.value), 'E1001');
    assert.equal(indexKeyOf('education', row.value), 'education:E1001');
  });
});

describe('who may attach a teacher facet to an HR identity', () => {
  const hrWriter = { kind: 'api' as const, client: 'hr-system', scopes: new Set(['hr:write']) };
  const school = { kind: 'api' as const, client: 'school-system', scopes: new Set(['education:write']) };

  it('by default: operator imports of the education snapshot, and API clients holding hr:write', () => {
    const policy = parsePolicy(policyText);
    assert.deepEqual(policy.intake.trustedStaffSources, ['education']);
    assert.equal(trustsStaffRows(policy.intake.trustedStaffSources, { kind: 'operator' }), true);
    assert.equal(trustsStaffRows(policy.intake.trustedStaffSources, hrWriter), true);
    assert.equal(intakeRulesOf(policy, school).trustStaffRows, false, 'education:write alone is not enough');
  });

  it('the policy can trust one API client by name, or nobody', () => {
    assert.equal(trustsStaffRows(['education', 'api:school-system'], school), true);
    assert.equal(trustsStaffRows([], { kind: 'operator' }), false);
  });

  it('the policy keys are validated with their path', () => {
    assert.throws(
      () => parsePolicy(withIntake({ trustedStaffSources: ['everyone'] })),
      (err: unknown) =>
        err instanceof PolicyError && err.problems.some((p) => p.startsWith('intake.trustedStaffSources.0')),
    );
  });

  it('the policy sets the rest of the door: sentinels, date range, scripts', () => {
    const policy = parsePolicy(
      withIntake({ endDateSentinels: ['9999-12-31', '2099-12-31'], dates: { earliest: '1950-01-01' } }),
    );
    const rules = intakeRulesOf(policy, { kind: 'operator' }, '2026-12-01');
    assert.deepEqual(rules, {
      earliestDate: '1950-01-01',
      latestDate: '2100-12-31',
      endDateSentinels: ['9999-12-31', '2099-12-31'],
      startAtMostYearsAhead: 5,
      transliterateNonLatin: false,
      trustStaffRows: true,
      today: '2026-12-01',
    });
  });
});
