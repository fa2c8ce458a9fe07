import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { recordFingerprint } from '../../src/domain/fingerprint';
import { parseHrRecord, type FieldError, type HrRecord } from '../../src/domain/record';

const valid = {
  employeeId: 'E1001',
  firstNames: 'Anna-Maija Liisa',
  callingName: 'Anna-Maija',
  lastName: 'Ääpälä',
  jobTitle: 'Sairaanhoitaja',
  jobCode: 'NURSE',
  orgUnit: 'SOTE-300',
  employmentType: 'permanent',
  startDate: '2026-03-01',
  endDate: '2026-12-31',
  managerId: 'E0042',
  language: 'fi',
};

function errorsOf(input: unknown): FieldError[] {
  const result = parseHrRecord(input);
  assert.equal(result.ok, false, 'expected the record to be rejected');
  return result.ok ? [] : result.errors;
}

function fieldsOf(input: unknown): string[] {
  return errorsOf(input).map((e) => e.field);
}

describe('parseHrRecord', () => {
  it('a complete record is accepted unchanged', () => {
    const result = parseHrRecord(valid);
    assert.ok(result.ok);
    assert.deepEqual(result.value, valid);
  });

  const required = [
    'employeeId',
    'firstNames',
    'lastName',
    'jobTitle',
    'jobCode',
    'orgUnit',
    'employmentType',
    'startDate',
  ] as const;
  for (const field of required) {
    it(`a record without ${field} is rejected with one error naming ${field}`, () => {
      const { [field]: _omitted, ...rest } = valid;
      assert.deepEqual(fieldsOf(rest), [field]);
    });
  }

  it('required name fields that are blank are "required"', () => {
    const errors = errorsOf({ ...valid, firstNames: '  ', lastName: '' });
    assert.deepEqual(errors, [
      { field: 'firstNames', message: 'is required' },
      { field: 'lastName', message: 'is required' },
    ]);
  });

  it('an employeeId with a space is rejected naming employeeId', () => {
    const errors = errorsOf({ ...valid, employeeId: 'E 1001' });
    assert.deepEqual(
      errors.map((e) => e.field),
      ['employeeId'],
    );
    assert.match(errors[0]!.message, /letters A-Z, digits or -/);
  });

  it('an employeeId longer than 16 characters (AD employeeID) is rejected', () => {
    assert.deepEqual(fieldsOf({ ...valid, employeeId: 'E'.repeat(17) }), ['employeeId']);
  });

  it('2026-02-30 is rejected as not a real calendar date', () => {
    assert.deepEqual(errorsOf({ ...valid, startDate: '2026-02-30' }), [
      { field: 'startDate', message: 'is not a real calendar date' },
    ]);
  });

  it('a date in another format is rejected naming the field', () => {
    const errors = errorsOf({ ...valid, endDate: '31.12.2026' });
    assert.ok(errors.every((e) => e.field === 'endDate'));
    assert.ok(errors.some((e) => e.message === 'must be a date YYYY-MM-DD'));
  });

  it('29 February is accepted in a leap year', () => {
    assert.ok(parseHrRecord({ ...valid, startDate: '2028-02-29', endDate: undefined }).ok);
  });

  it('an endDate before the startDate is rejected naming endDate', () => {
    assert.deepEqual(errorsOf({ ...valid, endDate: '2026-02-28' }), [
      { field: 'endDate', message: 'is before startDate' },
    ]);
  });

  it('an endDate equal to the startDate (one-day job) is accepted', () => {
    assert.ok(parseHrRecord({ ...valid, endDate: valid.startDate }).ok);
  });

  it('an unknown employmentType is rejected listing the allowed values', () => {
    const errors = errorsOf({ ...valid, employmentType: 'intern' });
    assert.deepEqual(
      errors.map((e) => e.field),
      ['employmentType'],
    );
    assert.match(errors[0]!.message, /permanent, fixed_term, hourly, substitute/);
  });

  it('an unknown extra key is rejected naming that key', () => {
    assert.deepEqual(fieldsOf({ ...valid, shoeSize: '42' }), ['shoeSize']);
  });

  it('a manager who is the person themself is rejected naming managerId', () => {
    assert.deepEqual(fieldsOf({ ...valid, managerId: valid.employeeId }), ['managerId']);
  });

  it('an unknown language is rejected naming language', () => {
    assert.deepEqual(fieldsOf({ ...valid, language: 'de' }), ['language']);
  });

  it('empty optional fields are accepted as absent', () => {
    const result = parseHrRecord({ ...valid, callingName: '', endDate: '', managerId: '', language: '' });
    assert.ok(result.ok);
    for (const key of ['callingName', 'endDate', 'managerId', 'language'] as const) {
      assert.equal(key in result.value, false, `${key} should be absent`);
    }
  });

  it('null optional fields are accepted as absent', () => {
    const result = parseHrRecord({ ...valid, callingName: null, endDate: null });
    assert.ok(result.ok);
    assert.equal(result.value.endDate, undefined);
  });

  it('a value that is not an object is rejected', () => {
    assert.equal(parseHrRecord('E1001').ok, false);
    assert.equal(parseHrRecord(null).ok, false);
  });

  it('names are trimmed', () => {
    const result = parseHrRecord({ ...valid, lastName: '  Ääpälä ' });
    assert.ok(result.ok);
    assert.equal(result.value.lastName, 'Ääpälä');
  });
});

describe('recordFingerprint', () => {
  const record = (input: unknown): HrRecord => {
    const result = parseHrRecord(input);
    assert.ok(result.ok);
    return result.value;
  };

  it('is the same for the same content in any key order', () => {
    const reversed = Object.fromEntries(Object.entries(valid).reverse());
    assert.equal(recordFingerprint(record(valid)), recordFingerprint(record(reversed)));
  });

  it('differs when any field differs', () => {
    assert.notEqual(
      recordFingerprint(record(valid)),
      recordFingerprint(record({ ...valid, jobTitle: 'Osastonhoitaja' })),
    );
  });

  it('treats an empty optional field the same as a missing one', () => {
    const { endDate: _omitted, ...withoutEnd } = valid;
    assert.equal(recordFingerprint(record({ ...valid, endDate: '' })), recordFingerprint(record(withoutEnd)));
  });
});
