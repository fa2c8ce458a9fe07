import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { LightMyRequestResponse } from 'fastify';
import pino from 'pino';
import { execFileSync } from 'node:child_process';
import {
  ApiClientsError,
  createAuthenticator,
  loadApiClients,
  sha256Hex,
  type ApiClientConfig,
} from '../../src/api/auth';
import { createTemporalIntake } from '../../src/ops/temporal-intake';
import { IntakeUnavailableError } from '../../src/ops/unavailable';
import { MemoryIntake } from '../../src/api/memory-intake';
import { buildApi, type ApiServer } from '../../src/api/server';
import type { HrRecord } from '../../src/domain/record';
import { indexFingerprint, type RecordIndex } from '../../src/store/record-index';
import { openSqliteIndex } from '../../src/store/sqlite-index';
import type { RecordStore } from '../../src/store/import-staging';
import { identityRow } from '../../src/domain/identity-row';
import { accept, initialState } from '../../src/domain/person-state';
import { ensureTemporalDevServer } from '../../sandbox/temporal';
import { TEST_TEMPORAL_PORT } from '../support/stack';

// Contract of the HR intake API against an in-memory intake (no Temporal), plus one test that
// the real Temporal dev server gets the person workflow.

const tokens = { hr: 'tok-hr-0123456789', ops: 'tok-ops-0123456789', both: 'tok-both-0123456789' };
const clients: ApiClientConfig[] = [
  { name: 'hr-system', tokenSha256: sha256Hex(tokens.hr), scopes: ['hr:write'] },
  { name: 'ops-console', tokenSha256: sha256Hex(tokens.ops), scopes: ['ops:read'] },
  { name: 'admin', tokenSha256: sha256Hex(tokens.both), scopes: ['hr:write', 'ops:read'] },
];
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-api-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

let seq = 0;
function recordFor(employeeId = `E${++seq}`): HrRecord {
  return {
    employeeId,
    firstNames: 'Anna-Maija Liisa',
    callingName: 'Anna-Maija',
    lastName: 'Ääpälä',
    jobTitle: 'Sairaanhoitaja',
    jobCode: 'NURSE',
    orgUnit: 'SOTE-300',
    employmentType: 'permanent',
    startDate: '2030-03-01',
    language: 'fi',
  };
}

/** Pino output as parsed lines, for asserting what the access log holds. */
class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  }
}

interface Harness {
  app: ApiServer;
  intake: MemoryIntake;
  index: RecordIndex;
  log: LogCapture;
  put(employeeId: string, body: unknown, token?: string): Promise<LightMyRequestResponse>;
}

async function harness(options: { bodyLimitBytes?: number; indexFile?: string } = {}): Promise<Harness> {
  const intake = new MemoryIntake();
  const index = openSqliteIndex({ file: options.indexFile ?? path.join(dir, `${randomUUID()}.sqlite`) });
  const log = new LogCapture();
  const app = buildApi({
    intake,
    index,
    clients,
    logger: pino({ level: 'info' }, log),
    ...(options.bodyLimitBytes ? { bodyLimitBytes: options.bodyLimitBytes } : {}),
  });
  await app.ready();
  return {
    app,
    intake,
    index,
    log,
    put: (employeeId, body, token = tokens.hr) =>
      app.inject({
        method: 'PUT',
        url: `/api/v1/persons/${employeeId}`,
        headers: bearer(token),
        payload: body as object,
      }),
  };
}

async function close(h: Harness): Promise<void> {
  await h.app.close();
  await h.index.close();
}

describe('PUT /api/v1/persons/{employeeId}', () => {
  let h: Harness;
  before(async () => (h = await harness()));
  after(() => close(h));

  it('a valid record is accepted with 202 and the person workflow id, and delivered once', async () => {
    const record = recordFor();
    const res = await h.put(record.employeeId, record);
    assert.equal(res.statusCode, 202);
    assert.deepEqual(res.json(), { workflowId: `person-${record.employeeId}`, status: 'accepted' });
    const delivered = h.intake.deliveries.filter((d) => d.record.employeeId === record.employeeId);
    assert.deepEqual(delivered, [{ record, source: 'hr' }]);
    assert.equal((await h.index.get(record.employeeId))?.fingerprint, indexFingerprint(record));
  });

  it('the same record twice: the second is unchanged and delivers nothing', async () => {
    const record = recordFor();
    assert.equal((await h.put(record.employeeId, record)).json<{ status: string }>().status, 'accepted');
    const again = await h.put(record.employeeId, { ...record });
    assert.equal(again.statusCode, 202);
    assert.deepEqual(again.json(), { workflowId: `person-${record.employeeId}`, status: 'unchanged' });
    // Key order does not matter either.
    const reordered = Object.fromEntries(Object.entries(record).reverse());
    assert.equal((await h.put(record.employeeId, reordered)).json<{ status: string }>().status, 'unchanged');
    assert.equal(h.intake.deliveries.filter((d) => d.record.employeeId === record.employeeId).length, 1);
  });

  it('a changed record is delivered again, and its fingerprint replaces the old one', async () => {
    const record = recordFor();
    await h.put(record.employeeId, record);
    const moved = { ...record, orgUnit: 'SOTE-310', jobCode: 'HEADNURSE' };
    const res = await h.put(record.employeeId, moved);
    assert.equal(res.statusCode, 202);
    assert.equal(res.json<{ status: string }>().status, 'accepted');
    const delivered = h.intake.deliveries.filter((d) => d.record.employeeId === record.employeeId);
    assert.deepEqual(
      delivered.map((d) => d.record.orgUnit),
      ['SOTE-300', 'SOTE-310'],
    );
    assert.equal((await h.index.get(record.employeeId))?.fingerprint, indexFingerprint(moved));
  });

  it('optional fields sent as "" count as absent: same record, unchanged', async () => {
    const record = recordFor();
    await h.put(record.employeeId, record);
    const res = await h.put(record.employeeId, { ...record, endDate: '', managerId: null });
    assert.equal(res.json<{ status: string }>().status, 'unchanged');
  });

  const invalid: [string, (r: HrRecord) => Record<string, unknown>, string][] = [
    ['a missing lastName', ({ lastName: _, ...r }) => r, 'lastName'],
    ['an empty firstNames', (r) => ({ ...r, firstNames: '  ' }), 'firstNames'],
    ['a jobTitle that is a number', (r) => ({ ...r, jobTitle: 42 }), 'jobTitle'],
    ['an unknown employmentType', (r) => ({ ...r, employmentType: 'intern' }), 'employmentType'],
    ['a startDate not in YYYY-MM-DD', (r) => ({ ...r, startDate: '1.3.2030' }), 'startDate'],
    ['a startDate that is not a real date', (r) => ({ ...r, startDate: '2030-02-30' }), 'startDate'],
    ['an endDate before the startDate', (r) => ({ ...r, endDate: '2030-01-01' }), 'endDate'],
    ['a managerId with a space', (r) => ({ ...r, managerId: 'E 1' }), 'managerId'],
    ['the person as their own manager', (r) => ({ ...r, managerId: r.employeeId }), 'managerId'],
    ['an unknown language', (r) => ({ ...r, language: 'de' }), 'language'],
  ];
  for (const [what, mutate, field] of invalid) {
    it(`${what} → 400 invalid_record naming ${field}, nothing delivered`, async () => {
      const record = recordFor();
      const res = await h.put(record.employeeId, mutate(record));
      assert.equal(res.statusCode, 400);
      const body = res.json<{ error: string; fields: { field: string; message: string }[] }>();
      assert.equal(body.error, 'invalid_record');
      assert.deepEqual(
        body.fields.map((f) => f.field),
        [field],
      );
      assert.ok(body.fields[0]!.message.length > 0);
      assert.equal(h.intake.deliveries.filter((d) => d.record.employeeId === record.employeeId).length, 0);
      assert.equal(await h.index.get(record.employeeId), undefined);
    });
  }

  it('several bad fields → each is named once', async () => {
    const { lastName: _, ...record } = recordFor();
    const res = await h.put(record.employeeId, { ...record, startDate: 'soon', employmentType: 'x' });
    assert.equal(res.statusCode, 400);
    const fields = res.json<{ fields: { field: string }[] }>().fields.map((f) => f.field);
    assert.deepEqual(fields.sort(), ['employmentType', 'lastName', 'startDate']);
  });

  it('unknown extra fields → 400 naming each', async () => {
    const record = recordFor();
    const res = await h.put(record.employeeId, { ...record, nickname: 'Ami', ssn: '010101-123A' });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(res.json(), {
      error: 'invalid_record',
      fields: [
        { field: 'nickname', message: 'is not a field of the HR record' },
        { field: 'ssn', message: 'is not a field of the HR record' },
      ],
    });
  });

  it('a body that is not an object, not JSON, or not JSON-typed is a 4xx', async () => {
    const record = recordFor();
    const array = await h.put(record.employeeId, [record]);
    assert.equal(array.statusCode, 400);
    assert.equal(array.json<{ error: string }>().error, 'invalid_record');
    const broken = await h.app.inject({
      method: 'PUT',
      url: `/api/v1/persons/${record.employeeId}`,
      headers: { ...bearer(tokens.hr), 'content-type': 'application/json' },
      payload: '{"employeeId":',
    });
    assert.equal(broken.statusCode, 400);
    assert.equal(broken.json<{ error: string }>().error, 'invalid_json');
    const text = await h.app.inject({
      method: 'PUT',
      url: `/api/v1/persons/${record.employeeId}`,
      headers: { ...bearer(tokens.hr), 'content-type': 'text/plain' },
      payload: 'hello',
    });
    assert.equal(text.statusCode, 415);
  });

  it('an invalid employee id in the path → 400 invalid_path', async () => {
    const res = await h.put('not%20an%20id', recordFor());
    assert.equal(res.statusCode, 400);
    assert.deepEqual(res.json<{ error: string; fields: { field: string }[] }>().error, 'invalid_path');
    assert.equal(res.json<{ fields: { field: string }[] }>().fields[0]!.field, 'employeeId');
  });

  it('path and body ids differ → 409, nothing delivered', async () => {
    const record = recordFor();
    const res = await h.put('E-OTHER', record);
    assert.equal(res.statusCode, 409);
    assert.equal(res.json<{ error: string }>().error, 'id_mismatch');
    assert.equal(h.intake.deliveries.filter((d) => d.record.employeeId === record.employeeId).length, 0);
  });

  it('missing token → 401 with a Bearer challenge', async () => {
    const record = recordFor();
    const res = await h.app.inject({
      method: 'PUT',
      url: `/api/v1/persons/${record.employeeId}`,
      payload: record,
    });
    assert.equal(res.statusCode, 401);
    assert.match(String(res.headers['www-authenticate']), /^Bearer /);
    assert.equal(res.json<{ error: string }>().error, 'unauthorized');
  });

  it('wrong token, or a token in the wrong scheme → 401', async () => {
    const record = recordFor();
    assert.equal((await h.put(record.employeeId, record, 'not-a-token')).statusCode, 401);
    const basic = await h.app.inject({
      method: 'PUT',
      url: `/api/v1/persons/${record.employeeId}`,
      headers: { authorization: `Basic ${tokens.hr}` },
      payload: record,
    });
    assert.equal(basic.statusCode, 401);
    assert.equal(h.intake.deliveries.filter((d) => d.record.employeeId === record.employeeId).length, 0);
  });

  it('a token without hr:write → 403 naming the scope', async () => {
    const record = recordFor();
    const res = await h.put(record.employeeId, record, tokens.ops);
    assert.equal(res.statusCode, 403);
    assert.match(String(res.headers['www-authenticate']), /insufficient_scope.*hr:write/);
    assert.equal(h.intake.deliveries.filter((d) => d.record.employeeId === record.employeeId).length, 0);
  });

  it('Temporal unavailable → 503 with Retry-After; the record is not marked known', async () => {
    const record = recordFor();
    h.intake.failWith = new IntakeUnavailableError('Temporal signal failed');
    try {
      const res = await h.put(record.employeeId, record);
      assert.equal(res.statusCode, 503);
      assert.equal(res.headers['retry-after'], '5');
    } finally {
      h.intake.failWith = undefined;
    }
    assert.equal(await h.index.get(record.employeeId), undefined);
    assert.equal((await h.put(record.employeeId, record)).json<{ status: string }>().status, 'accepted');
  });

  it('an unexpected intake error → 500 without details', async () => {
    const record = recordFor();
    h.intake.failWith = new Error('boom');
    try {
      const res = await h.put(record.employeeId, record);
      assert.equal(res.statusCode, 500);
      assert.deepEqual(res.json(), { error: 'internal' });
    } finally {
      h.intake.failWith = undefined;
    }
  });

  it('two different records for one person at once: the index ends on the one delivered last', async () => {
    const record = recordFor();
    const deliver = h.intake.deliver.bind(h.intake);
    // The first delivery is slow: without per-person ordering the second would overtake it.
    let first = true;
    h.intake.deliver = async (r, s) => {
      if (first) {
        first = false;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return deliver(r, s);
    };
    try {
      const a = { ...record, jobTitle: 'A' };
      const b = { ...record, jobTitle: 'B' };
      await Promise.all([h.put(record.employeeId, a), h.put(record.employeeId, b)]);
      const delivered = h.intake.deliveries.filter((d) => d.record.employeeId === record.employeeId);
      assert.deepEqual(
        delivered.map((d) => d.record.jobTitle),
        ['A', 'B'],
      );
      assert.equal((await h.index.get(record.employeeId))?.fingerprint, indexFingerprint(b));
    } finally {
      h.intake.deliver = deliver;
    }
  });
});

describe('record index across restarts', () => {
  it('after the API restarts on the same index file, a known record is still unchanged', async () => {
    const indexFile = path.join(dir, 'restart.sqlite');
    const record = recordFor();
    const first = await harness({ indexFile });
    assert.equal((await first.put(record.employeeId, record)).json<{ status: string }>().status, 'accepted');
    await close(first);
    const second = await harness({ indexFile });
    assert.equal(
      (await second.put(record.employeeId, record)).json<{ status: string }>().status,
      'unchanged',
    );
    assert.equal(second.intake.deliveries.length, 0);
    await close(second);
  });
});

describe('GET /api/v1/persons/{employeeId}', () => {
  let h: Harness;
  before(async () => (h = await harness()));
  after(() => close(h));
  const get = (employeeId: string, token = tokens.ops) =>
    h.app.inject({ method: 'GET', url: `/api/v1/persons/${employeeId}`, headers: bearer(token) });

  it('a known person → 200 with the state, no names', async () => {
    const record = recordFor();
    await h.put(record.employeeId, record);
    const state = h.intake.states.get(record.employeeId)!;
    state.stage = 'active';
    state.account = {
      employeeId: record.employeeId,
      sAMAccountName: 'anna-maija.aapala',
      userPrincipalName: 'anna-maija.aapala@kerava.test',
      created: true,
    };
    state.schedule = { provisionAt: '2030-02-15T22:00:00.000Z', startAt: '2030-02-28T22:00:00.000Z' };
    state.runs.push({
      workflowId: `joiner-${record.employeeId}-1`,
      kind: 'joiner',
      startedAt: '2026-01-01T00:00:00Z',
    });
    state.record = record;

    const res = await get(record.employeeId);
    assert.equal(res.statusCode, 200);
    const body = res.json<Record<string, unknown>>();
    assert.equal(body.employeeId, record.employeeId);
    assert.equal(body.workflowId, `person-${record.employeeId}`);
    assert.equal(body.stage, 'active');
    assert.deepEqual(body.account, {
      sAMAccountName: 'anna-maija.aapala',
      userPrincipalName: 'anna-maija.aapala@kerava.test',
    });
    assert.deepEqual(body.pending, [
      { event: 'provision', at: '2030-02-15T22:00:00.000Z' },
      { event: 'start', at: '2030-02-28T22:00:00.000Z' },
    ]);
    assert.equal((body.runs as unknown[]).length, 1);
    assert.equal((body.lastAccepted as { source: string }).source, 'hr');
    assert.doesNotMatch(res.body, /Ääpälä|Liisa/, 'the record (names) is not part of the view');
  });

  it('a person with an identity read model row → 200 from the row, without asking the workflow', async () => {
    const record = recordFor();
    const state = initialState(record.employeeId);
    accept(state, { record, source: 'hr' }, Date.now());
    state.stage = 'left';
    state.schedule = { provisionAt: '2020-01-01T00:00:00.000Z', startAt: '2020-01-02T00:00:00.000Z' };
    state.account = {
      employeeId: record.employeeId,
      sAMAccountName: 'row.only',
      userPrincipalName: 'row.only@x',
      created: false,
    };
    const row = identityRow(state, {
      chain: '2026-01-01T00:00:00.000Z',
      version: 3,
      at: new Date().toISOString(),
    });
    await (h.index as RecordStore).identities.write(row);
    assert.equal(h.intake.states.get(record.employeeId), undefined, 'no workflow state to fall back on');
    const res = await get(record.employeeId);
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json<Record<string, unknown>>();
    assert.equal(body.stage, 'left');
    assert.equal(body.recordVersion, 1);
    assert.deepEqual(body.account, { sAMAccountName: 'row.only', userPrincipalName: 'row.only@x' });
    assert.doesNotMatch(res.body, /Ääpälä|Liisa/, 'the record (names) is not part of the view');
  });

  it('an unknown person → 404', async () => {
    const res = await get('E-NOBODY');
    assert.equal(res.statusCode, 404);
    assert.deepEqual(res.json(), { error: 'not_found' });
  });

  it('a token without ops:read → 403; no token → 401', async () => {
    assert.equal((await get('E1', tokens.hr)).statusCode, 403);
    const anonymous = await h.app.inject({ method: 'GET', url: '/api/v1/persons/E1' });
    assert.equal(anonymous.statusCode, 401);
  });
});

describe('health, readiness, OpenAPI, limits and the access log (real HTTP on loopback)', () => {
  let h: Harness;
  let base: string;
  before(async () => {
    h = await harness({ bodyLimitBytes: 4096 });
    base = await h.app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(() => close(h));

  it('/health is 200 without a token', async () => {
    const res = await fetch(`${base}/health`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
  });

  it('/ready is 200 when Temporal and the index answer, 503 naming Temporal when it does not', async () => {
    const ok = await fetch(`${base}/ready`);
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { status: 'ready', checks: { temporal: 'ok', index: 'ok' } });
    h.intake.failWith = new Error('connection refused');
    try {
      const down = await fetch(`${base}/ready`);
      assert.equal(down.status, 503);
      assert.deepEqual(await down.json(), {
        status: 'not_ready',
        checks: { temporal: 'unavailable', index: 'ok' },
      });
    } finally {
      h.intake.failWith = undefined;
    }
  });

  it('/api/v1/openapi.json is an OpenAPI document with the person paths and bearer security', async () => {
    const res = await fetch(`${base}/api/v1/openapi.json`);
    assert.equal(res.status, 200);
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<string, Record<string, { requestBody?: unknown; responses: Record<string, unknown> }>>;
      components: { securitySchemes: Record<string, unknown> };
    };
    assert.match(doc.openapi, /^3\./);
    const person = doc.paths['/api/v1/persons/{employeeId}'];
    assert.ok(person?.put && person.get, 'PUT and GET of a person are documented');
    assert.ok(person.put.requestBody, 'the record schema is documented');
    assert.ok(person.put.responses['202'] && person.put.responses['400'] && person.put.responses['409']);
    assert.ok(doc.paths['/health'] && doc.paths['/ready']);
    assert.deepEqual(Object.keys(doc.components.securitySchemes), ['bearer']);
  });

  it('a body over the limit → 413, nothing delivered', async () => {
    const record = { ...recordFor(), jobTitle: 'x'.repeat(200) };
    const res = await fetch(`${base}/api/v1/persons/${record.employeeId}`, {
      method: 'PUT',
      headers: { ...bearer(tokens.hr), 'content-type': 'application/json' },
      body: JSON.stringify({ ...record, padding: 'y'.repeat(5000) }),
    });
    assert.equal(res.status, 413);
    assert.equal(((await res.json()) as { error: string }).error, 'payload_too_large');
    assert.equal(h.intake.deliveries.filter((d) => d.record.employeeId === record.employeeId).length, 0);
  });

  it('access log lines name method, route, status and duration, never names or tokens', async () => {
    const record = { ...recordFor(), firstNames: 'Zacharias Ilmari', lastName: 'Vöyrinkangas' };
    const send = (token: string, body: unknown) =>
      fetch(`${base}/api/v1/persons/${record.employeeId}?note=Vöyrinkangas`, {
        method: 'PUT',
        headers: { ...bearer(token), 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    assert.equal((await send(tokens.hr, record)).status, 202);
    assert.equal((await send(tokens.hr, { ...record, startDate: 'x' })).status, 400);
    assert.equal((await send('guessed-token-value', record)).status, 401);
    await fetch(`${base}/api/v1/persons/${record.employeeId}`, { headers: bearer(tokens.ops) });

    const lines = h.log.lines.filter((l) => l.includes(record.employeeId));
    assert.ok(lines.length >= 4, `expected access log lines, got ${lines.length}`);
    for (const line of h.log.lines) {
      for (const secret of [
        'Zacharias',
        'Ilmari',
        'Vöyrinkangas',
        'V\\u00f6yrinkangas',
        tokens.hr,
        tokens.ops,
        'guessed-token-value',
        'Bearer',
      ]) {
        assert.ok(!line.includes(secret), `log line contains ${secret}: ${line}`);
      }
    }
    const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.deepEqual(
      {
        method: entry.method,
        route: entry.route,
        employeeId: entry.employeeId,
        status: entry.status,
        client: entry.client,
      },
      {
        method: 'PUT',
        route: '/api/v1/persons/:employeeId',
        employeeId: record.employeeId,
        status: 202,
        client: 'hr-system',
      },
    );
    assert.equal(typeof entry.ms, 'number');
  });
});

describe('API client configuration', () => {
  const entry = { name: 'hr-system', tokenSha256: sha256Hex('t'), scopes: ['hr:write'] };

  it('clients come from API_CLIENTS and API_CLIENTS_FILE together', () => {
    const file = path.join(dir, 'clients.json');
    fs.writeFileSync(
      file,
      JSON.stringify([{ ...entry, name: 'ops', tokenSha256: sha256Hex('u'), scopes: ['ops:read'] }]),
    );
    const loaded = loadApiClients({ API_CLIENTS: JSON.stringify([entry]), API_CLIENTS_FILE: file });
    assert.deepEqual(
      loaded.map((c) => c.name),
      ['hr-system', 'ops'],
    );
  });

  it('each problem is named by its path: bad hash, unknown scope, repeated name, not JSON', () => {
    const problems = (value: unknown) => {
      try {
        loadApiClients({ API_CLIENTS: typeof value === 'string' ? value : JSON.stringify(value) });
      } catch (err) {
        assert.ok(err instanceof ApiClientsError);
        return err.problems;
      }
      assert.fail('expected the configuration to be rejected');
    };
    assert.deepEqual(
      problems([
        { ...entry, tokenSha256: 'plaintext-token' },
        { ...entry, name: 'b', tokenSha256: sha256Hex('v'), scopes: ['hr:delete'] },
      ]),
      [
        'API_CLIENTS[0][tokenSha256]: must be the SHA-256 of the token as 64 lower-case hex digits',
        'API_CLIENTS[1][scopes][0]: must be one of hr:write, education:write, ops:read, ops:approve, ops:write',
      ],
    );
    assert.deepEqual(problems([entry, { ...entry, scopes: ['ops:read'] }]), [
      'API_CLIENTS[1][name]: is repeated',
      'API_CLIENTS[1][tokenSha256]: is shared with another client',
    ]);
    assert.deepEqual(problems('{not json'), ['API_CLIENTS: is not valid JSON']);
  });

  it('the token CLI prints a token whose config line authenticates it with those scopes', () => {
    const out = execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        path.resolve(__dirname, '../../src/api/token.ts'),
        'payroll',
        'hr:write',
        'ops:read',
      ],
      { encoding: 'utf8' },
    );
    const [, tokenLine, , configLine] = out.split('\n');
    const token = tokenLine!.trim();
    const config = JSON.parse(configLine!.trim()) as ApiClientConfig;
    assert.equal(config.name, 'payroll');
    assert.ok(!out.includes(`"${token}"`), 'the config line holds the hash, not the token');
    const client = createAuthenticator(loadApiClients({ API_CLIENTS: JSON.stringify([config]) }))(
      `Bearer ${token}`,
    );
    assert.deepEqual([...(client?.scopes ?? [])], ['hr:write', 'ops:read']);
  });
});

describe('against the real Temporal dev server', () => {
  it('PUT starts the person workflow; a repeat is unchanged; readiness sees Temporal', async () => {
    const temporal = await ensureTemporalDevServer({
      port: TEST_TEMPORAL_PORT,
      uiPort: TEST_TEMPORAL_PORT + 1000,
    });
    const connection = await Connection.connect({ address: temporal.address });
    const client = new Client({ connection });
    // No worker on this queue: the workflow is started and waits; that is all this test needs.
    const intake = createTemporalIntake({ client, taskQueue: `api-it-${randomUUID()}` });
    const index = openSqliteIndex({ file: path.join(dir, 'temporal.sqlite') });
    const app = buildApi({ intake, index, clients, logger: pino({ level: 'silent' }) });
    const record = recordFor(`API-${Date.now().toString(36).toUpperCase()}`);
    try {
      const res = await app.inject({
        method: 'PUT',
        url: `/api/v1/persons/${record.employeeId}`,
        headers: bearer(tokens.hr),
        payload: record,
      });
      assert.equal(res.statusCode, 202, res.body);
      const { workflowId, status } = res.json<{ workflowId: string; status: string }>();
      assert.equal(status, 'accepted');
      assert.equal(workflowId, `person-${record.employeeId}`);
      const description = await client.workflow.getHandle(workflowId).describe();
      assert.equal(description.type, 'personWorkflow');
      assert.equal(description.status.name, 'RUNNING');

      const again = await app.inject({
        method: 'PUT',
        url: `/api/v1/persons/${record.employeeId}`,
        headers: bearer(tokens.hr),
        payload: record,
      });
      assert.equal(again.json<{ status: string }>().status, 'unchanged');

      const ready = await app.inject({ method: 'GET', url: '/ready' });
      assert.equal(ready.statusCode, 200, ready.body);
      await client.workflow.getHandle(workflowId).terminate('api integration test done');
    } finally {
      await app.close();
      await index.close();
      await connection.close();
    }
  });
});
