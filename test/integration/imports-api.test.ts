import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { sha256Hex, type ApiClientConfig } from '../../src/api/auth';
import type { ImportRunner, ImportStatus, PreparedImport } from '../../src/api/imports';
import { MemoryIntake } from '../../src/api/memory-intake';
import { buildApi, type ApiServer } from '../../src/api/server';
import { loadPolicy } from '../../src/config';
import { openSqliteIndex } from '../../src/store/sqlite-index';
import type { RecordStore } from '../../src/store/import-staging';
import { HR_EXPORT_COLUMNS, hrCsv } from '../support/hr-csv';

// Contract of POST/GET /api/v1/imports against a recording import runner (no Temporal): auth and
// scopes per source, body limits, validation before anything starts, 202, progress.

const tokens = {
  hr: 'tok-hr-0123456789',
  edu: 'tok-edu-0123456789',
  ops: 'tok-ops-0123456789',
};
const clients: ApiClientConfig[] = [
  { name: 'hr-system', tokenSha256: sha256Hex(tokens.hr), scopes: ['hr:write'] },
  { name: 'school-system', tokenSha256: sha256Hex(tokens.edu), scopes: ['education:write'] },
  { name: 'ops-console', tokenSha256: sha256Hex(tokens.ops), scopes: ['ops:read'] },
];

const columns = [...HR_EXPORT_COLUMNS.slice(0, 2), 'calling_name', ...HR_EXPORT_COLUMNS.slice(2)] as const;
/** n HR rows; the rows `bad` picks have an impossible start date. */
const csvOf = (n: number, bad: (i: number) => boolean = () => false) =>
  hrCsv(
    Array.from({ length: n }, (_, i) => ({
      employeeId: `E${100000 + i}`,
      firstNames: 'Anna-Maija Liisa',
      callingName: 'Anna-Maija',
      lastName: 'Ääpälä',
      jobTitle: 'Sairaanhoitaja',
      jobCode: 'SH01',
      orgUnit: 'SOTE-110',
      employmentType: 'permanent',
      startDate: bad(i) ? '2030-02-30' : '2030-03-01',
    })),
    { columns, eol: '\n' },
  );

class RecordingRunner implements ImportRunner {
  readonly started: Extract<PreparedImport, { ok: true }>[] = [];
  readonly statuses = new Map<string, ImportStatus>();
  async start(prepared: Extract<PreparedImport, { ok: true }>) {
    const alreadyRunning = this.statuses.has(prepared.importId);
    if (!alreadyRunning) {
      this.started.push(prepared);
      this.statuses.set(prepared.importId, {
        importId: prepared.importId,
        status: 'running',
        details: '**Delivering** 0/…',
        progress: {
          importId: prepared.importId,
          source: prepared.source,
          phase: 'delivering',
          total: prepared.rows.length,
          rejectedRows: prepared.rejectedRows,
          processed: 0,
          unchanged: 0,
          delivered: 0,
          failed: 0,
          failures: [],
          startedAt: new Date().toISOString(),
        },
      });
    }
    return { importId: prepared.importId, alreadyRunning };
  }
  async status(importId: string) {
    return this.statuses.get(importId) ?? null;
  }
}

class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  }
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-imports-api-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('POST/GET /api/v1/imports', () => {
  let app: ApiServer;
  let small: ApiServer;
  let runner: RecordingRunner;
  let index: RecordStore;
  const log = new LogCapture();

  before(async () => {
    runner = new RecordingRunner();
    index = openSqliteIndex({ file: path.join(dir, 'index.sqlite') });
    const deps = { intake: new MemoryIntake(), index, clients, imports: runner };
    app = buildApi({ ...deps, logger: pino({ level: 'info' }, log) });
    small = buildApi({ ...deps, logger: pino({ level: 'silent' }), importBodyLimitBytes: 1024 });
    await app.ready();
    await small.ready();
  });
  after(async () => {
    await app.close();
    await small.close();
    await index.close();
  });

  const post = (body: string, query = 'source=hr', token: string | null = tokens.hr, server = app) =>
    server.inject({
      method: 'POST',
      url: `/api/v1/imports?${query}`,
      headers: { 'content-type': 'text/csv', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      payload: body,
    });
  const get = (id: string, token: string = tokens.ops) =>
    app.inject({
      method: 'GET',
      url: `/api/v1/imports/${id}`,
      headers: { authorization: `Bearer ${token}` },
    });

  it('a valid snapshot: 202 with the import id and a Location; the runner gets every row', async () => {
    const res = await post(csvOf(10));
    assert.equal(res.statusCode, 202);
    const body = res.json<{ importId: string; status: string; rows: number; rejectedRows: number }>();
    assert.match(body.importId, /^import-hr-[0-9a-f]{16}$/);
    assert.deepEqual(
      { ...body, importId: undefined },
      {
        importId: undefined,
        status: 'started',
        rows: 10,
        rejectedRows: 0,
        errors: [],
      },
    );
    assert.equal(res.headers.location, `/api/v1/imports/${body.importId}`);
    const started = runner.started.find((s) => s.importId === body.importId);
    assert.equal(started?.rows.length, 10);
    assert.equal(started?.rows[0]?.record.lastName, 'Ääpälä', 'Finnish characters arrive intact');
  });

  it('the same upload again answers already_running with the same id and starts nothing new', async () => {
    const text = csvOf(3);
    const first = (await post(text)).json<{ importId: string }>();
    const before = runner.started.length;
    const again = await post(text);
    assert.equal(again.statusCode, 202);
    assert.deepEqual(again.json<{ importId: string; status: string }>().importId, first.importId);
    assert.equal(again.json<{ status: string }>().status, 'already_running');
    assert.equal(runner.started.length, before);
  });

  it('5 bad rows in 1,000: 400 naming each line and column, and nothing starts', async () => {
    const before = runner.started.length;
    const bad = new Set([3, 250, 500, 777, 999]);
    const res = await post(csvOf(1000, (i) => bad.has(i)));
    assert.equal(res.statusCode, 400);
    const body = res.json<{ error: string; errorCount: number; errors: { line: number; field: string }[] }>();
    assert.equal(body.error, 'invalid_csv');
    assert.equal(body.errorCount, 5);
    // Data row i is on line i + 2 (the header is line 1).
    assert.deepEqual(
      body.errors.map((e) => [e.line, e.field]),
      [...bad].map((i) => [i + 2, 'start_date']),
    );
    assert.equal(runner.started.length, before);
  });

  it('with acceptValidRows=true the 995 valid rows are imported and the 5 bad ones listed', async () => {
    const bad = new Set([0, 1, 2, 3, 4]);
    const res = await post(
      csvOf(1000, (i) => bad.has(i)),
      'source=hr&acceptValidRows=true',
    );
    assert.equal(res.statusCode, 202);
    const body = res.json<{ importId: string; rows: number; rejectedRows: number; errors: unknown[] }>();
    assert.equal(body.rows, 995);
    assert.equal(body.rejectedRows, 5);
    assert.equal(body.errors.length, 5);
    assert.equal(runner.started.find((s) => s.importId === body.importId)?.rows.length, 995);
  });

  it('a missing required column: one clear error on line 1, nothing starts', async () => {
    const before = runner.started.length;
    const text = csvOf(5).replace(';last_name', '');
    const res = await post(text, 'source=hr&acceptValidRows=true');
    assert.equal(res.statusCode, 400);
    const body = res.json<{ errors: { line: number; field: string; message: string }[] }>();
    assert.deepEqual(body.errors, [
      { line: 1, field: 'last_name', message: 'column is required but missing from the header' },
    ]);
    assert.equal(runner.started.length, before);
  });

  it('no token or a wrong one: 401; a token without the source scope: 403', async () => {
    assert.equal((await post(csvOf(1), 'source=hr', null)).statusCode, 401);
    assert.equal((await post(csvOf(1), 'source=hr', 'tok-wrong-0123456789')).statusCode, 401);
    const ops = await post(csvOf(1), 'source=hr', tokens.ops);
    assert.equal(ops.statusCode, 403);
    assert.match(ops.json<{ message: string }>().message, /hr:write/);
    assert.equal((await post(csvOf(1), 'source=hr', tokens.edu)).statusCode, 403);
    assert.equal((await post(csvOf(1), 'source=education', tokens.hr)).statusCode, 403);
  });

  it('education with education:write: an education CSV starts an import; an HR-shaped one is 400', async () => {
    const edu =
      'student_id;hr_employee_id;first_names;calling_name;last_name;school_code;class;start_date;end_date\n' +
      '100234;;Ella Sofia;;Öhman;K01;;2030-08-12;\n' +
      ';E100001;Anna-Maija;;Ääpälä;K01;;2030-08-12;\n';
    const bad = await post(edu, 'source=education', tokens.edu);
    assert.equal(bad.statusCode, 400, 'the pupil row has no class (a teacher needs none)');
    // A client with only education:write may not link a staff row to an HR identity (issue 10) …
    assert.deepEqual(bad.json<{ errors: unknown[] }>().errors, [
      { line: 2, field: 'class', message: 'is required for a pupil' },
      {
        line: 3,
        field: 'hr_employee_id',
        message: 'may not be linked to an HR identity by this sender (policy intake.trustedStaffSources)',
      },
    ]);
    // … unless the policy trusts that client by name.
    const policy = loadPolicy(path.join(__dirname, '../../config/policy.yaml'));
    policy.intake.trustedStaffSources = ['education', 'api:school-system'];
    const trusting = buildApi({
      intake: new MemoryIntake(),
      index,
      clients,
      imports: runner,
      policy,
      logger: pino({ level: 'silent' }),
    });
    const fixed = await post(
      edu.replace('Öhman;K01;;', 'Öhman;K01;7A;'),
      'source=education',
      tokens.edu,
      trusting,
    );
    await trusting.close();
    assert.equal(fixed.statusCode, 202);
    assert.equal(fixed.json<{ rows: number }>().rows, 2);
    assert.match(fixed.json<{ importId: string }>().importId, /^import-education-[0-9a-f]{16}$/);
    const hrShaped = await post(csvOf(1), 'source=education', tokens.edu);
    assert.equal(hrShaped.statusCode, 400);
    assert.ok(
      hrShaped.json<{ errors: { field: string }[] }>().errors.some((e) => e.field === 'school_code'),
      'names the missing education column',
    );
  });

  it('an unknown or missing source is 400 naming the field', async () => {
    for (const query of ['source=payroll', '']) {
      const res = await post(csvOf(1), query);
      assert.equal(res.statusCode, 400);
      assert.equal(res.json<{ fields: { field: string }[] }>().fields[0]?.field, 'source');
    }
  });

  it('a body over the limit is 413; JSON instead of CSV is 415', async () => {
    const res = await post(csvOf(20), 'source=hr', tokens.hr, small);
    assert.equal(res.statusCode, 413);
    assert.match(res.json<{ message: string }>().message, /1024 bytes/);
    const json = await app.inject({
      method: 'POST',
      url: '/api/v1/imports?source=hr',
      headers: { authorization: `Bearer ${tokens.hr}`, 'content-type': 'application/json' },
      payload: { rows: [] },
    });
    assert.equal(json.statusCode, 415);
    assert.match(json.json<{ message: string }>().message, /text\/csv/);
  });

  it('the default limit takes a 50,000-row snapshot', async () => {
    const text = csvOf(50_000);
    assert.ok(text.length > 4_000_000, `${text.length} bytes`);
    const res = await post(text);
    assert.equal(res.statusCode, 202);
    assert.equal(res.json<{ rows: number }>().rows, 50_000);
  });

  it('GET: progress with ops:read; 403 without it; 404 for an unknown import; 400 for a malformed id', async () => {
    const { importId } = (await post(csvOf(4))).json<{ importId: string }>();
    runner.statuses.get(importId)!.progress!.processed = 4;
    runner.statuses.get(importId)!.progress!.delivered = 3;
    runner.statuses.get(importId)!.progress!.unchanged = 1;
    const res = await get(importId);
    assert.equal(res.statusCode, 200);
    const body = res.json<ImportStatus>();
    assert.equal(body.status, 'running');
    assert.deepEqual(
      [body.progress?.total, body.progress?.processed, body.progress?.delivered, body.progress?.unchanged],
      [4, 4, 3, 1],
    );
    assert.equal((await get(importId, tokens.hr)).statusCode, 403);
    assert.equal((await get('import-hr-0000000000000000')).statusCode, 404);
    assert.equal((await get('not-an-import')).statusCode, 400);
  });

  it('the access log holds routes, statuses and clients, never names or CSV content', () => {
    const text = log.lines.join('\n');
    assert.match(text, /"route":"\/api\/v1\/imports"/);
    assert.match(text, /"client":"hr-system"/);
    assert.doesNotMatch(text, /Ääpälä|Anna-Maija|Sairaanhoitaja/);
  });

  it('the OpenAPI document describes both import routes', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json<{
      paths: Record<string, unknown>;
    }>();
    assert.ok(doc.paths['/api/v1/imports']);
    assert.ok(doc.paths['/api/v1/imports/{importId}']);
  });
});
