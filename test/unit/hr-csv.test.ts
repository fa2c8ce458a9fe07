import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CsvError, detectDelimiter, parseCsv } from '../../src/domain/csv';
import { formatCsvErrors, parseHrCsv } from '../../src/domain/hr-csv';

const columns = [
  'employee_id',
  'first_names',
  'calling_name',
  'last_name',
  'job_title',
  'job_code',
  'org_unit',
  'employment_type',
  'start_date',
  'end_date',
  'manager_id',
  'language',
];

type Row = Partial<Record<string, string>>;

function person(i: number, overrides: Row = {}): Row {
  return {
    employee_id: `E${1000 + i}`,
    first_names: 'Matti Juhani',
    calling_name: '',
    last_name: 'Virtanen',
    job_title: 'Lähihoitaja',
    job_code: 'CARE1',
    org_unit: 'SOTE-300',
    employment_type: 'permanent',
    start_date: '2026-03-01',
    end_date: '',
    manager_id: '',
    language: 'fi',
    ...overrides,
  };
}

function quote(value: string, delimiter: string): string {
  return /["\r\n]/.test(value) || value.includes(delimiter) ? `"${value.replace(/"/g, '""')}"` : value;
}

function csv(rows: Row[], { delimiter = ';', eol = '\n', header = columns } = {}): string {
  const lines = [header.join(delimiter)];
  for (const row of rows) lines.push(header.map((c) => quote(row[c] ?? '', delimiter)).join(delimiter));
  return lines.join(eol) + eol;
}

describe('parseCsv', () => {
  it('detects ";" and "," from the header, ignoring delimiters inside quotes', () => {
    assert.equal(detectDelimiter('a;b;c\n1,2,3,4,5'), ';');
    assert.equal(detectDelimiter('a,b,c\n1;2;3;4'), ',');
    assert.equal(detectDelimiter('"a;b;c",d'), ',');
    assert.equal(detectDelimiter('only'), ';');
  });

  it('reads quoted delimiters, doubled quotes and embedded line breaks, numbering physical lines', () => {
    const rows = parseCsv('h1;h2\n"a;b";"say ""hei"""\n"two\nlines";x\nlast;"y"\n');
    assert.deepEqual(rows, [
      { line: 1, fields: ['h1', 'h2'] },
      { line: 2, fields: ['a;b', 'say "hei"'] },
      { line: 3, fields: ['two\nlines', 'x'] },
      { line: 5, fields: ['last', 'y'] },
    ]);
  });

  it('treats CRLF like LF and keeps a CRLF inside a quoted field', () => {
    assert.deepEqual(parseCsv('a,b\r\n"1\r\n2",3\r\n4,5'), [
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['1\r\n2', '3'] },
      { line: 4, fields: ['4', '5'] },
    ]);
  });

  it('keeps empty fields, including a trailing one', () => {
    assert.deepEqual(parseCsv('a;b;c\n;;\n1;"";'), [
      { line: 1, fields: ['a', 'b', 'c'] },
      { line: 2, fields: ['', '', ''] },
      { line: 3, fields: ['1', '', ''] },
    ]);
  });

  it('strips a BOM', () => {
    assert.deepEqual(parseCsv('\ufeffa;b\n1;2')[0], { line: 1, fields: ['a', 'b'] });
  });

  it('an unterminated quote is a CsvError on the line where the quote opened', () => {
    assert.throws(
      () => parseCsv('a;b\n1;2\n3;"open\nstill open\n'),
      (err: unknown) => err instanceof CsvError && err.line === 3,
    );
  });

  it('text after a closing quote is a CsvError on its line', () => {
    assert.throws(
      () => parseCsv('a;b\n"x"y;2'),
      (err: unknown) => err instanceof CsvError && err.line === 2,
    );
  });

  it('parses 50,000 rows of 12 fields well under a second', () => {
    const rows: Row[] = [];
    for (let i = 0; i < 50_000; i++) {
      rows.push(person(i, { job_title: i % 7 === 0 ? 'Hoitaja; "vastaava"' : 'Lähihoitaja' }));
    }
    const text = csv(rows);
    const started = performance.now();
    const parsed = parseCsv(text);
    const ms = performance.now() - started;
    assert.equal(parsed.length, 50_001);
    assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
  });
});

describe('parseHrCsv', () => {
  it('reads a ";" file with Finnish characters into records with their lines', () => {
    const text = csv([
      person(1, { first_names: 'Anna-Maija', last_name: 'Ääpälä', job_title: 'Ylilääkäri' }),
      person(2, { first_names: 'Åsa', last_name: 'Söderström', language: 'sv', end_date: '2026-12-31' }),
    ]);
    const { records, errors } = parseHrCsv(text);
    assert.deepEqual(errors, []);
    assert.deepEqual(
      records.map((r) => [r.line, r.record.employeeId, r.record.lastName, r.record.jobTitle]),
      [
        [2, 'E1001', 'Ääpälä', 'Ylilääkäri'],
        [3, 'E1002', 'Söderström', 'Lähihoitaja'],
      ],
    );
    assert.equal(records[1]!.record.endDate, '2026-12-31');
    assert.equal(records[0]!.record.callingName, undefined);
  });

  it('reads a "," file the same as a ";" file', () => {
    const rows = [person(1), person(2, { job_title: 'Opettaja, englanti' })];
    const semi = parseHrCsv(csv(rows));
    const comma = parseHrCsv(csv(rows, { delimiter: ',' }));
    assert.deepEqual(comma, semi);
    assert.equal(comma.records[1]!.record.jobTitle, 'Opettaja, englanti');
  });

  it('reads a file with a BOM and CRLF line ends', () => {
    const { records, errors } = parseHrCsv('\ufeff' + csv([person(1), person(2)], { eol: '\r\n' }));
    assert.deepEqual(errors, []);
    assert.deepEqual(
      records.map((r) => [r.line, r.record.employeeId, r.record.language]),
      [
        [2, 'E1001', 'fi'],
        [3, 'E1002', 'fi'],
      ],
    );
  });

  it('quoted fields with delimiters and line breaks keep the later rows on their true lines', () => {
    // "notes" is a free-text column Tunnus ignores; HR exports put line breaks in such columns.
    const header = [...columns, 'notes'];
    const text = csv(
      [
        person(1, { job_title: 'Rehtori; "vt."', notes: 'sijainen\r\nsyksy 2026' }),
        person(2, { notes: 'kaksi\nrivinvaihtoa\n' }),
        person(3, { start_date: '2026-02-30' }),
        person(4, { job_title: 'Erityisopettaja\nja kouluavustaja' }),
        person(5),
      ],
      { header },
    );
    const { records, errors } = parseHrCsv(text);
    assert.deepEqual(
      records.map((r) => [r.line, r.record.employeeId]),
      [
        [2, 'E1001'],
        [4, 'E1002'],
        [10, 'E1005'],
      ],
    );
    assert.equal(records[0]!.record.jobTitle, 'Rehtori; "vt."');
    // A line break inside a name-like field is a control character, which the record rejects.
    assert.deepEqual(errors, [
      { line: 7, field: 'start_date', message: 'is not a real calendar date' },
      { line: 8, field: 'job_title', message: 'contains a control character (U+000A)' },
    ]);
  });

  it('a repeated employee_id is an error on the later lines only; the first stands', () => {
    const text = csv([person(1), person(2), person(1, { last_name: 'Korhonen' }), person(3), person(1)]);
    const { records, errors } = parseHrCsv(text);
    assert.deepEqual(
      records.map((r) => r.line),
      [2, 3, 5],
    );
    assert.equal(records[0]!.record.lastName, 'Virtanen');
    assert.deepEqual(errors, [
      { line: 4, field: 'employee_id', message: 'duplicates the employee_id on line 2' },
      { line: 6, field: 'employee_id', message: 'duplicates the employee_id on line 2' },
    ]);
  });

  it('ids differing only in case are duplicates (AD matches employeeID case-insensitively)', () => {
    const { errors } = parseHrCsv(csv([person(1, { employee_id: 'e1001' }), person(1)]));
    assert.deepEqual(
      errors.map((e) => [e.line, e.field]),
      [[3, 'employee_id']],
    );
  });

  it('a missing required column is one clear error on line 1 and no records', () => {
    const header = columns.filter((c) => c !== 'last_name');
    const { records, errors } = parseHrCsv(csv([person(1), person(2)], { header }));
    assert.deepEqual(records, []);
    assert.deepEqual(errors, [
      { line: 1, field: 'last_name', message: 'column is required but missing from the header' },
    ]);
    assert.equal(formatCsvErrors(errors), 'line 1: last_name column is required but missing from the header');
  });

  it('optional columns may be left out of the header entirely', () => {
    const header = columns.filter((c) => !['calling_name', 'end_date', 'manager_id', 'language'].includes(c));
    const { records, errors } = parseHrCsv(csv([person(1)], { header }));
    assert.deepEqual(errors, []);
    assert.equal(records.length, 1);
  });

  it('unknown columns are ignored and header names are matched ignoring case and spaces', () => {
    const text =
      'Employee_ID ;first_names;last_name;job_title;job_code;org_unit;employment_type;start_date;shoe_size\n' +
      'E1;Matti;Virtanen;Hoitaja;C1;SOTE;hourly;2026-01-05;44\n';
    const { records, errors } = parseHrCsv(text);
    assert.deepEqual(errors, []);
    assert.equal(records[0]!.record.employeeId, 'E1');
    assert.equal(records[0]!.record.employmentType, 'hourly');
  });

  it('5 bad rows among 1,000 → exactly those 5 lines reported and 995 records', () => {
    const bad: Record<number, Row> = {
      7: { start_date: '2026-13-01' },
      150: { employee_id: 'E 150' },
      333: { employment_type: 'intern' },
      600: { last_name: '' },
      999: { end_date: '2026-01-01' },
    };
    const rows = Array.from({ length: 1000 }, (_, i) => person(i, bad[i] ?? {}));
    const { records, errors } = parseHrCsv(csv(rows));
    assert.equal(records.length, 995);
    // Row i is on line i + 2 (line 1 is the header).
    assert.deepEqual(errors, [
      { line: 9, field: 'start_date', message: 'is not a real calendar date' },
      {
        line: 152,
        field: 'employee_id',
        message: 'must be letters A-Z, digits or - (starting with a letter or digit)',
      },
      {
        line: 335,
        field: 'employment_type',
        message: 'must be one of permanent, fixed_term, hourly, substitute',
      },
      { line: 602, field: 'last_name', message: 'is required' },
      { line: 1001, field: 'end_date', message: 'is before start_date' },
    ]);
    assert.equal(formatCsvErrors(errors).split('\n')[0], 'line 9: start_date is not a real calendar date');
  });

  it('a malformed date is reported once, in the words of the format', () => {
    const { errors } = parseHrCsv(
      csv([person(1), person(2), person(3), person(4), person(5, { start_date: '1.3.2026' })]),
    );
    assert.equal(formatCsvErrors(errors), 'line 6: start_date must be a date YYYY-MM-DD');
  });

  it('an empty required cell is reported as required, one error per field', () => {
    const { errors } = parseHrCsv(csv([person(1, { employee_id: '', start_date: '' })]));
    assert.deepEqual(errors, [
      { line: 2, field: 'employee_id', message: 'is required' },
      { line: 2, field: 'start_date', message: 'is required' },
    ]);
  });

  it('cells are trimmed, so stray spaces around an id or date are not errors', () => {
    const { records, errors } = parseHrCsv(
      csv([person(1, { employee_id: ' E1 ', start_date: '2026-03-01 ' })]),
    );
    assert.deepEqual(errors, []);
    assert.equal(records[0]!.record.employeeId, 'E1');
  });

  it('empty trailing lines and blank rows are ignored', () => {
    const text = csv([person(1)]) + '\n\n;;;;;;;;;;;\n\r\n';
    const { records, errors } = parseHrCsv(text);
    assert.deepEqual(errors, []);
    assert.equal(records.length, 1);
  });

  it('a row with extra non-empty cells is reported and skipped', () => {
    const text = csv([person(1)]) + csv([person(2)]).split('\n')[1] + ';oops\n';
    const { records, errors } = parseHrCsv(text);
    assert.equal(records.length, 1);
    assert.deepEqual(errors, [{ line: 3, field: '', message: 'row has 13 fields but the header has 12' }]);
    assert.equal(formatCsvErrors(errors), 'line 3: row has 13 fields but the header has 12');
  });

  it('an unterminated quote is one error on its line and no records', () => {
    const text = csv([person(1)]) + 'E2;"Matti;Virtanen\n';
    const { records, errors } = parseHrCsv(text);
    assert.deepEqual(records, []);
    assert.deepEqual(errors, [{ line: 3, field: '', message: 'quoted field is not closed' }]);
  });

  it('an empty file is an error asking for a header', () => {
    const { records, errors } = parseHrCsv('\ufeff');
    assert.deepEqual(records, []);
    assert.equal(errors[0]!.line, 1);
    assert.match(errors[0]!.message, /header row is required/);
  });

  it('formatCsvErrors lists errors in line order', () => {
    const text = formatCsvErrors([
      { line: 12, field: 'end_date', message: 'is before start_date' },
      { line: 3, field: 'job_code', message: 'is required' },
    ]);
    assert.equal(text, 'line 3: job_code is required\nline 12: end_date is before start_date');
  });
});
