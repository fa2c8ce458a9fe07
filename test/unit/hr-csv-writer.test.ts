import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseHrCsv } from '../../src/domain/hr-csv';
import type { HrRecord } from '../../src/domain/record';
import { HR_EXPORT_COLUMNS, hrCsv } from '../support/hr-csv';

// The tests' HR CSV writer (test/support/hr-csv.ts) writes what the importer reads back.

const records: HrRecord[] = [
  {
    employeeId: 'E1001',
    firstNames: 'Anna-Maija Liisa',
    callingName: 'Anna-Maija',
    lastName: 'von Wright',
    jobTitle: 'Sairaanhoitaja; "vuorotyö"',
    jobCode: 'SH01',
    orgUnit: 'SOTE-110',
    employmentType: 'permanent',
    startDate: '2030-03-01',
    endDate: '2031-02-28',
  },
  {
    employeeId: 'E1002',
    firstNames: 'Väinö',
    lastName: 'Östman',
    jobTitle: 'Lähihoitaja',
    jobCode: 'SH01',
    orgUnit: 'SOTE-110',
    employmentType: 'fixed_term',
    startDate: '2030-04-01',
  },
];

describe('hrCsv (test support)', () => {
  it('writes the export: header, CRLF rows and a CRLF after the last; quotes a cell with ; or "', () => {
    assert.equal(
      hrCsv(records.slice(0, 1)),
      `${HR_EXPORT_COLUMNS.join(';')}\r\n` +
        'E1001;Anna-Maija Liisa;von Wright;"Sairaanhoitaja; ""vuorotyö""";SH01;SOTE-110;permanent;2030-03-01;2031-02-28\r\n',
    );
  });

  it('reads back as the same records, with the columns, line end and last line end asked for', () => {
    const columns = [
      ...HR_EXPORT_COLUMNS.slice(0, 2),
      'calling_name',
      ...HR_EXPORT_COLUMNS.slice(2),
    ] as const;
    for (const eol of ['\r\n', '\n'] as const) {
      for (const finalEol of [true, false]) {
        const text = hrCsv(records, { columns, eol, finalEol });
        assert.equal(text.endsWith(eol), finalEol);
        const { records: read, errors } = parseHrCsv(text);
        assert.deepEqual(errors, []);
        assert.deepEqual(
          read.map((r) => r.record),
          records,
        );
      }
    }
  });

  it('leaves out the columns not asked for', () => {
    const { records: read } = parseHrCsv(hrCsv(records, { columns: HR_EXPORT_COLUMNS.slice(0, -1) }));
    assert.equal(read[0]!.record.endDate, undefined);
    assert.equal(read[0]!.record.callingName, undefined);
  });
});
