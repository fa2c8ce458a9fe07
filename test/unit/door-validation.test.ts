import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEducationCsv } from '../../src/domain/education-csv';
import { hrColumns, parseHrCsv } from '../../src/domain/hr-csv';
import { defaultIntakeRules, type IntakeRules } from '../../src/domain/intake-rules';
import { parseHrRecord, type HrRecord } from '../../src/domain/record';

// The door (issue 10): hostile and real-world values from HR exports, each through the record
// schema (API JSON) and the HR CSV path, refused with its field named or accepted and stored as
// shown.

type Field = keyof HrRecord;
type Outcome = { stored: string | undefined } | { refused: RegExp };
type Case = [why: string, field: Field, value: string, outcome: Outcome];

const base: Record<Field, string> = {
  employeeId: 'E1001',
  firstNames: 'Anna-Maija Liisa',
  callingName: 'Anna-Maija',
  lastName: 'Ääpälä',
  jobTitle: 'Sairaanhoitaja',
  jobCode: 'SH01',
  orgUnit: 'SOTE-110',
  employmentType: 'permanent',
  startDate: '2026-03-01',
  endDate: '2026-12-31',
  effectiveDate: '2026-04-01',
  managerId: 'E0042',
  language: 'fi',
};

const ok = (stored: string | undefined): Outcome => ({ stored });
const refused = (message: RegExp): Outcome => ({ refused: message });
const x = (n: number, ch = 'a') => ch.repeat(n);

const cases: Case[] = [
  // Identity keys: one canonical form, 16 characters, the HR space.
  ['canonical id', 'employeeId', 'E1001', ok('E1001')],
  ['lower-case id is case-folded', 'employeeId', 'e1001', ok('E1001')],
  ['spaces around the id are trimmed', 'employeeId', ' E1001 ', ok('E1001')],
  ['16 characters fit AD employeeID', 'employeeId', 'E123456789012345', ok('E123456789012345')],
  ['17 characters do not', 'employeeId', 'E1234567890123456', refused(/at most 16 characters.*got 17/)],
  ['an HR id in the pupil space', 'employeeId', 'S-1001', refused(/must not start with S-/)],
  ['the pupil space in lower case', 'employeeId', 's-1001', refused(/must not start with S-/)],
  ['a space inside the id', 'employeeId', 'E 1001', refused(/letters A-Z, digits or -/)],
  [
    'a zero-width space after the id',
    'employeeId',
    'E1001\u200B',
    refused(/zero-width character \(U\+200B\)/),
  ],
  ['a Cyrillic Е that looks Latin', 'employeeId', '\u04151001', refused(/letters A-Z/)],
  ['NUL in the id', 'employeeId', 'E10\u000001', refused(/control character \(U\+0000\)/)],
  ['an id starting with -', 'employeeId', '-E1001', refused(/starting with a letter or digit/)],
  ['full-width letters are not folded', 'employeeId', '\uFF45\uFF11001', refused(/letters A-Z/)],
  ['dotless ı is not folded into I', 'employeeId', 'E\u0131', refused(/letters A-Z/)],
  ['the manager id is canonical too', 'managerId', 'e0042', ok('E0042')],
  ['a pupil as manager', 'managerId', 'S-0042', refused(/must not start with S-/)],
  ['no manager', 'managerId', '', ok(undefined)],
  // Hidden characters, in every text field.
  [
    'bidi override (RLO) in a name',
    'firstNames',
    'Anna\u202EMaija',
    refused(/bidirectional control character \(U\+202E\)/),
  ],
  ['bidi isolate (LRI) in a name', 'firstNames', 'Anna\u2066Maija', refused(/bidirectional.*U\+2066/)],
  ['Arabic letter mark', 'lastName', 'Aho\u061C', refused(/bidirectional.*U\+061C/)],
  ['left-to-right mark at the end', 'lastName', 'Aho\u200E', refused(/bidirectional.*U\+200E/)],
  ['zero-width joiner', 'firstNames', 'Anna\u200DMaija', refused(/zero-width.*U\+200D/)],
  ['word joiner', 'lastName', 'Ma\u2060kinen', refused(/zero-width.*U\+2060/)],
  ['BOM inside a name', 'lastName', 'Mäki\uFEFFnen', refused(/zero-width.*U\+FEFF/)],
  [
    'C1 control from a mis-decoded file',
    'lastName',
    'Virtanen\u009C',
    refused(/C1 control character \(U\+009C\)/),
  ],
  ['NEL (C1)', 'firstNames', 'Anna\u0085', refused(/C1 control.*U\+0085/)],
  ['tab inside a name', 'firstNames', 'Anna\tMaija', refused(/control character \(U\+0009\)/)],
  ['line break inside a title', 'jobTitle', 'Hoitaja\nja avustaja', refused(/control character \(U\+000A\)/)],
  ['lone surrogate', 'lastName', 'Vir\uD800tanen', refused(/lone surrogate/)],
  ['private-use character', 'lastName', 'Virtanen\uE000', refused(/private-use character \(U\+E000\)/)],
  ['soft hyphen', 'lastName', 'Vir\u00ADtanen', refused(/invisible formatting character \(U\+00AD\)/)],
  ['line separator', 'jobTitle', 'Hoi\u2028taja', refused(/line or paragraph separator/)],
  ['bidi override in a title', 'jobTitle', 'Hoitaja\u202E', refused(/bidirectional/)],
  ['NUL in a job code', 'jobCode', 'SH01\u0000', refused(/control character \(U\+0000\)/)],
  ['newline in an org unit', 'orgUnit', 'SOTE\n110', refused(/control character/)],
  // Unicode normalised, spaces tidied.
  ['decomposed ä (macOS export) becomes NFC', 'lastName', 'A\u0308a\u0308pa\u0308la\u0308', ok('Ääpälä')],
  ['no-break space becomes a space', 'firstNames', 'Anna\u00A0Maija', ok('Anna Maija')],
  ['runs of spaces become one', 'firstNames', 'Anna   Maija', ok('Anna Maija')],
  // Names: Latin script, letters, lengths AD stores, a usable account name.
  ['Finnish name', 'lastName', 'Hämäläinen-Lindqvist', ok('Hämäläinen-Lindqvist')],
  ['apostrophe in a surname', 'lastName', "O'Brien", ok("O'Brien")],
  ['Polish ł', 'firstNames', 'Łukasz', ok('Łukasz')],
  ['Icelandic þ and ð', 'lastName', 'Þórðardóttir', ok('Þórðardóttir')],
  ['Sámi ŋ', 'firstNames', 'Iŋgá Máret', ok('Iŋgá Máret')],
  ['Vietnamese with stacked marks', 'lastName', 'Nguyễn', ok('Nguyễn')],
  [
    'Cyrillic name',
    'firstNames',
    'Дмитрий',
    refused(/not in the Latin script.*naming\.transliterateNonLatin/),
  ],
  ['Greek name', 'lastName', 'Παπαδόπουλος', refused(/not in the Latin script/)],
  ['Chinese name', 'lastName', '李', refused(/not in the Latin script/)],
  ['Arabic name', 'firstNames', 'محمد', refused(/not in the Latin script/)],
  [
    'Latin with one Cyrillic letter',
    'lastName',
    'Virtаnen',
    refused(/not in the Latin script \("а" \(U\+0430\)\)/),
  ],
  ['"@" in a name', 'firstNames', 'Anna@x', refused(/contains "@" \(U\+0040\), which is not part of a name/)],
  ['a comma: name in the wrong column', 'lastName', 'Virtanen, Matti', refused(/contains ","/)],
  ['emoji', 'lastName', 'Virtanen😀', refused(/which is not part of a name/)],
  ['only an apostrophe', 'lastName', "'", refused(/has no letters/)],
  ['only hyphens', 'lastName', '---', refused(/has no letters/)],
  [
    'a Latin letter the rule cannot spell',
    'lastName',
    'Ꝫa',
    refused(/letter the naming rule cannot spell \(U\+A76A\)/),
  ],
  ['first names over 256', 'firstNames', x(257), refused(/at most 256 characters/)],
  ['surname over 64 (AD sn)', 'lastName', x(65), refused(/at most 64 characters/)],
  [
    'surname of 64 but the account name would be 75',
    'lastName',
    x(64),
    refused(/account name of 75 characters; at most 61/),
  ],
  ['calling name over 64 (AD givenName)', 'callingName', x(65), refused(/at most 64 characters/)],
  ['empty calling name is absent', 'callingName', '', ok(undefined)],
  ['blank calling name is absent', 'callingName', '   ', ok(undefined)],
  ['empty surname', 'lastName', '', refused(/is required/)],
  // Titles: free text within AD title's 128; any script.
  ['title in Finnish', 'jobTitle', 'Ylilääkäri', ok('Ylilääkäri')],
  ['title in another script is free text', 'jobTitle', 'Учитель', ok('Учитель')],
  ['title of 128', 'jobTitle', x(128), ok(x(128))],
  ['title of 129', 'jobTitle', x(129), refused(/at most 128 characters/)],
  // Codes: a safe ASCII set.
  ['job code', 'jobCode', 'SH01', ok('SH01')],
  ['space in a job code', 'jobCode', 'SH 01', refused(/letters A-Z, digits, \. _ -/)],
  ['ä in a job code', 'jobCode', 'SÄHKÖ', refused(/letters A-Z, digits/)],
  ['empty job code', 'jobCode', '', refused(/is required/)],
  ['org unit with a slash', 'orgUnit', 'SOTE/110', refused(/letters A-Z, digits/)],
  ['markup in an org unit', 'orgUnit', '<script>', refused(/letters A-Z, digits/)],
  ['org unit over 64 (AD department)', 'orgUnit', `S${x(64)}`, refused(/at most 64 characters/)],
  // Dates: real, in range, sentinels read as "no end", empty optional cells absent.
  ['30 February', 'startDate', '2026-02-30', refused(/not a real calendar date/)],
  ['29 February in a leap year', 'startDate', '2024-02-29', ok('2024-02-29')],
  ['Finnish date format', 'startDate', '1.3.2026', refused(/must be a date YYYY-MM-DD/)],
  ['month without a leading zero', 'startDate', '2026-3-01', refused(/must be a date YYYY-MM-DD/)],
  ['spaces around a date', 'startDate', ' 2026-03-01 ', ok('2026-03-01')],
  ['year 0202 (typo)', 'startDate', '0202-03-01', refused(/is before 1900-01-01/)],
  ['1899', 'startDate', '1899-12-31', refused(/is before 1900-01-01/)],
  ['year 2205 (typo)', 'startDate', '2205-03-01', refused(/is after 2100-12-31/)],
  ['end date sentinel 9999-12-31 means no end', 'endDate', '9999-12-31', ok(undefined)],
  ['end date 9999-12-30 is no sentinel', 'endDate', '9999-12-30', refused(/is after 2100-12-31/)],
  ['empty end date', 'endDate', '', ok(undefined)],
  ['far but real end date', 'endDate', '2099-12-31', ok('2099-12-31')],
  ['empty effective date is absent', 'effectiveDate', '', ok(undefined)],
  ['effective date', 'effectiveDate', '2026-04-01', ok('2026-04-01')],
  ['employment type not in the list', 'employmentType', 'intern', refused(/must be one of permanent/)],
  ['language not in the list', 'language', 'de', refused(/./)],
];

const snake = Object.fromEntries(
  Object.entries(hrColumns).map(([column, field]) => [field, column]),
) as Record<Field, string>;
const columns = Object.keys(hrColumns);

function csvQuote(value: string): string {
  return /[";\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function csvOf(record: Record<string, string>): string {
  const header = columns.join(';');
  const row = columns.map((c) => csvQuote(record[hrColumns[c as keyof typeof hrColumns]] ?? '')).join(';');
  return `${header}\n${row}\n`;
}

function check(outcome: Outcome, field: Field, result: ReturnType<typeof parseHrRecord>, path: string) {
  if ('stored' in outcome) {
    assert.ok(result.ok, `${path}: expected acceptance, got ${JSON.stringify(!result.ok && result.errors)}`);
    assert.equal(result.value[field], outcome.stored, `${path}: stored value`);
  } else {
    assert.ok(!result.ok, `${path}: expected refusal`);
    const mine = result.errors.filter((e) => e.field === field);
    assert.ok(mine.length > 0, `${path}: no error names ${field}: ${JSON.stringify(result.errors)}`);
    assert.match(mine[0]!.message, outcome.refused, path);
  }
}

describe('the door: hostile and real-world values, through the record schema and the HR CSV', () => {
  it(`the table holds at least 60 values (${cases.length})`, () => {
    assert.ok(cases.length >= 60);
  });

  for (const [why, field, value, outcome] of cases) {
    const shown = 'stored' in outcome ? `accepted as ${JSON.stringify(outcome.stored)}` : 'refused';
    it(`${why}: ${field} ${JSON.stringify(value).slice(0, 40)} → ${shown}`, () => {
      const input = { ...base, [field]: value };
      // The id and manager may not coincide; the calling name, when tested, stands alone.
      check(outcome, field, parseHrRecord(input), 'JSON');

      const csv = parseHrCsv(csvOf(input));
      if ('stored' in outcome) {
        assert.deepEqual(csv.errors, [], 'CSV: no errors');
        assert.equal(csv.records[0]!.record[field], outcome.stored, 'CSV: stored value');
      } else {
        const mine = csv.errors.filter((e) => e.field === snake[field]);
        assert.ok(mine.length > 0, `CSV: no error names ${snake[field]}: ${JSON.stringify(csv.errors)}`);
        assert.equal(mine[0]!.line, 2);
        assert.match(mine[0]!.message, outcome.refused, 'CSV');
      }
    });
  }
});

describe('the door: structure of JSON and CSV input', () => {
  it('a CSV column named constructor, __proto__, toString or hasOwnProperty is an ignored column', () => {
    const header = [...columns, 'constructor', '__proto__', 'toString', 'hasOwnProperty'].join(';');
    const row = columns.map((c) => base[hrColumns[c as keyof typeof hrColumns]]).join(';');
    const { records, errors } = parseHrCsv(`${header}\n${row};x;y;z;w\n`);
    assert.deepEqual(errors, []);
    assert.equal(records.length, 1);
    assert.equal(Object.getPrototypeOf(records[0]!.record), Object.prototype, 'an ordinary record');
    assert.equal((records[0]!.record as Record<string, unknown>).constructor, Object);
  });

  it('a JSON key __proto__ is an unknown field, not the prototype', () => {
    const input = JSON.parse(
      `{"__proto__": {"jobCode": "ADMIN"}, ${JSON.stringify(base).slice(1)}`,
    ) as unknown;
    const result = parseHrRecord(input);
    assert.ok(!result.ok);
    assert.deepEqual(
      result.errors.map((e) => e.field),
      ['__proto__'],
    );
    assert.equal(({} as Record<string, unknown>).jobCode, undefined, 'Object.prototype untouched');
  });

  it('a JSON key constructor is an unknown field', () => {
    const result = parseHrRecord({ ...base, constructor: 'x' });
    assert.ok(!result.ok);
    assert.deepEqual(
      result.errors.map((e) => e.field),
      ['constructor'],
    );
  });

  it('a number where text belongs "must be text", naming the field', () => {
    const result = parseHrRecord({ ...base, jobTitle: 42 });
    assert.ok(!result.ok);
    assert.deepEqual(result.errors, [{ field: 'jobTitle', message: 'must be text' }]);
  });

  it('an end date sentinel of the policy (2099-12-31 added) means no end, in JSON and CSV', () => {
    const rules: IntakeRules = { ...defaultIntakeRules, endDateSentinels: ['9999-12-31', '2099-12-31'] };
    const json = parseHrRecord({ ...base, endDate: '2099-12-31' }, rules);
    assert.ok(json.ok);
    assert.equal('endDate' in json.value, false);
    const csv = parseHrCsv(csvOf({ ...base, endDate: '2099-12-31' }), rules);
    assert.equal(csv.records[0]!.record.endDate, undefined);
  });

  it('a start more than the policy allows ahead of today is refused as a year typo', () => {
    const rules: IntakeRules = { ...defaultIntakeRules, today: '2025-06-01', startAtMostYearsAhead: 2 };
    const typo = parseHrRecord({ ...base, startDate: '2052-06-01', endDate: '' }, rules);
    assert.ok(!typo.ok);
    assert.deepEqual(typo.errors, [
      { field: 'startDate', message: 'is more than 2 years ahead (after 2027-06-01; a typo in the year?)' },
    ]);
    assert.ok(parseHrRecord({ ...base, startDate: '2027-06-01', endDate: '' }, rules).ok);
  });

  it('a policy that transliterates other scripts accepts a Cyrillic name', () => {
    const rules: IntakeRules = { ...defaultIntakeRules, transliterateNonLatin: true };
    const result = parseHrRecord({ ...base, firstNames: 'Дмитрий', callingName: '' }, rules);
    assert.ok(result.ok);
    assert.equal(result.value.firstNames, 'Дмитрий');
  });

  it('a configured date range replaces the default one', () => {
    const rules: IntakeRules = { ...defaultIntakeRules, earliestDate: '1950-01-01' };
    const result = parseHrRecord({ ...base, startDate: '1949-12-31', endDate: '' }, rules);
    assert.ok(!result.ok);
    assert.match(result.errors[0]!.message, /before 1950-01-01/);
  });
});

describe('the door: education CSV', () => {
  const header =
    'student_id;hr_employee_id;first_names;calling_name;last_name;school_code;class;start_date;end_date';
  const parse = (row: string, rules?: IntakeRules) => parseEducationCsv(`${header}\n${row}\n`, rules);

  const eduCases: [why: string, row: string, column: string, message: RegExp][] = [
    [
      'bidi override in a pupil name',
      '1001;;El\u202Ela;;Öhman;K01;7A;2026-08-12;',
      'first_names',
      /bidirectional/,
    ],
    ['Cyrillic pupil name', '1001;;Элла;;Öhman;K01;7A;2026-08-12;', 'first_names', /not in the Latin script/],
    [
      'student id too long for S-{id} in 16',
      '123456789012345;;Ella;;Öhman;K01;7A;2026-08-12;',
      'student_id',
      /at most 14/,
    ],
    [
      'a staff row with a pupil-space id',
      ';S-1001;Maija;;Opettaja;K01;;2026-08-12;',
      'hr_employee_id',
      /must not start with S-/,
    ],
    [
      'NUL in a school code',
      '1001;;Ella;;Öhman;K0\u00001;7A;2026-08-12;',
      'school_code',
      /control character/,
    ],
    ['zero-width space in a class', '1001;;Ella;;Öhman;K01;7\u200BA;2026-08-12;', 'class', /zero-width/],
    ['year typo in a start date', '1001;;Ella;;Öhman;K01;7A;2206-08-12;', 'start_date', /after 2100-12-31/],
  ];
  for (const [why, row, column, message] of eduCases) {
    it(`${why} → refused naming ${column}`, () => {
      const { records, errors } = parse(row);
      assert.equal(records.length, 0);
      const mine = errors.filter((e) => e.field === column);
      assert.ok(mine.length > 0, JSON.stringify(errors));
      assert.match(mine[0]!.message, message);
    });
  }

  it('a pupil row: lower-case student id, NFC name, sentinel end date → S-{ID}, no end', () => {
    const { records, errors } = parse('ab1001;;E\u0301lla;;O\u0308hman;K01;7A;2026-08-12;9999-12-31');
    assert.deepEqual(errors, []);
    assert.equal(records[0]!.record.studentId, 'AB1001');
    assert.equal(records[0]!.record.firstNames, 'Élla');
    assert.equal(records[0]!.record.endDate, undefined);
  });

  it('a pupil start more than the policy allows ahead of today is refused as a year typo', () => {
    const rules: IntakeRules = { ...defaultIntakeRules, today: '2026-06-01' };
    const { errors } = parse('1001;;Ella;;Öhman;K01;7A;2062-08-12;', rules);
    assert.deepEqual(
      errors.map((e) => [e.field, e.message]),
      [['start_date', 'is more than 5 years ahead (after 2031-06-01; a typo in the year?)']],
    );
  });

  it('a staff row from a sender the policy does not trust is refused naming hr_employee_id', () => {
    const rules: IntakeRules = { ...defaultIntakeRules, trustStaffRows: false };
    const { records, errors } = parse(';E2001;Maija;;Opettaja;K01;;2026-08-12;', rules);
    assert.equal(records.length, 0);
    assert.deepEqual(
      errors.map((e) => [e.field, e.message]),
      [
        [
          'hr_employee_id',
          'may not be linked to an HR identity by this sender (policy intake.trustedStaffSources)',
        ],
      ],
    );
    // Pupils from the same sender are fine.
    assert.equal(parse('1001;;Ella;;Öhman;K01;7A;2026-08-12;', rules).records.length, 1);
  });
});
