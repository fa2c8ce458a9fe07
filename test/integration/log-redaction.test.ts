import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { sha256Hex, type ApiClientConfig } from '../../src/api/auth';
import { MemoryIntake } from '../../src/api/memory-intake';
import { buildApi } from '../../src/api/server';
import { personState } from '../../src/ops/persons';
import { helsinkiDate } from '../../src/domain/dates';
import type { HrRecord } from '../../src/domain/record';
import { REDACTED_PATHS } from '../../src/logger';
import { openSqliteIndex } from '../../src/store/sqlite-index';
import { workflowPollers } from '../support/pollers';
import { hrCsv } from '../support/hr-csv';
import { eventually, startStack, type Stack } from '../support/stack';

// Nothing personal in logs (issue 13 item 6): records with names no log has any reason to hold
// go through every log path — a real worker process against the dev server and Samba (activities
// and workflow logs, at debug), the CLI (a joiner, an import, bad input, --json errors) and the
// HTTP API (good and bad input) — and every byte they write is searched for those names. Ids and
// field names may appear; the names may not.

const repoRoot = path.resolve(__dirname, '../..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-redaction-'));
const run = Date.now().toString(36).slice(-4).toUpperCase();
// Letters no fixture, policy or message uses: any hit is a leak.
const NAMES = {
  first: `Zebulonia${run.toLowerCase()}`,
  last: `Quimbyhollow${run.toLowerCase()}`,
  importFirst: `Xanthippe${run.toLowerCase()}`,
  importLast: `Vorhangfeld${run.toLowerCase()}`,
  badFirst: `Ylvaquartz${run.toLowerCase()}`,
  apiLast: `Wombleridge${run.toLowerCase()}`,
};
const secrets = Object.values(NAMES);
const leaksIn = (text: string) => secrets.filter((n) => text.toLowerCase().includes(n.toLowerCase()));
const tomorrow = helsinkiDate(new Date(Date.now() + 86_400_000));

let stack: Stack;
let worker: ChildProcess;
let workerOut = '';
before(async () => {
  stack = await startStack();
  worker = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src/worker.ts')], {
    env: { ...stack.childEnv(), LOG_LEVEL: 'debug' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  worker.stdout!.setEncoding('utf8').on('data', (c: string) => (workerOut += c));
  worker.stderr!.setEncoding('utf8').on('data', (c: string) => (workerOut += c));
  await eventually(
    async () => (await workflowPollers(stack.client.workflowService, stack.taskQueue)).length,
    (n) => n > 0,
    90_000,
    'child worker polling',
  );
});
after(async () => {
  worker?.kill('SIGTERM');
  await stack?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}
function tunnus(args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin/tunnus.js'), ...args], {
      env: { ...stack.childEnv(), LOG_LEVEL: 'debug' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const record = (
  employeeId: string,
  firstNames: string,
  lastName: string,
  extra: Partial<HrRecord> = {},
): HrRecord => ({
  employeeId,
  firstNames,
  lastName,
  jobTitle: 'Sairaanhoitaja',
  jobCode: 'SH01',
  orgUnit: 'SOTE-110',
  employmentType: 'permanent',
  startDate: tomorrow,
  ...extra,
});
const file = (name: string, text: string) => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
};

describe('no personal data in logs', () => {
  it('worker, CLI and import: a joiner, an import and bad input leave no name in any output', async () => {
    const joinerId = `R${run}1`;
    const outputs: { what: string; text: string }[] = [];

    const hire = await tunnus([
      'hire',
      file('joiner.json', JSON.stringify(record(joinerId, NAMES.first, NAMES.last))),
    ]);
    assert.equal(hire.code, 0, hire.stderr);
    // The result on stdout is the state the operator asked for; what goes to stderr is log.
    outputs.push({ what: 'hire stderr', text: hire.stderr });

    // Bad input: an impossible date beside a name. The error names the field, not the value.
    const bad = record(`R${run}2`, NAMES.badFirst, NAMES.last, { startDate: '2026-02-30' });
    const refused = await tunnus(['hire', file('bad.json', JSON.stringify(bad))]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /startDate/);
    outputs.push({ what: 'bad hire', text: refused.stdout + refused.stderr });

    // An import with a valid row and a bad one (accepted valid rows): rejected rows are listed.
    const csv = hrCsv([
      record(`R${run}3`, NAMES.importFirst, NAMES.importLast, { jobTitle: 'Lähihoitaja' }),
      record(`R${run}4`, NAMES.badFirst, NAMES.importLast, {
        jobTitle: 'Lähihoitaja',
        startDate: '2026-13-01',
      }),
    ]);
    const imported = await tunnus(['hr', 'import', file('hr.csv', csv), '--accept-valid-rows']);
    assert.equal(imported.code, 0, imported.stderr);
    outputs.push({ what: 'import', text: imported.stdout + imported.stderr });
    // The same file without --accept-valid-rows is refused whole; a plan of it, with --json.
    const refusedImport = await tunnus(['hr', 'import', file('hr-bad.csv', csv)]);
    assert.notEqual(refusedImport.code, 0);
    assert.match(refusedImport.stderr, /start_date|startDate/);
    outputs.push({ what: 'import refused', text: refusedImport.stdout + refusedImport.stderr });
    const refusedPlan = await tunnus(['plan', '--hr', file('plan-bad.csv', csv), '--json']);
    assert.notEqual(refusedPlan.code, 0);
    outputs.push({ what: 'plan --json error', text: refusedPlan.stdout + refusedPlan.stderr });
    // An unknown person asked for with --json: the error as JSON.
    const unknown = await tunnus(['person', 'show', `R${run}0`, '--json']);
    outputs.push({ what: 'person show --json', text: unknown.stdout + unknown.stderr });

    // The worker has run the joiner (pre-hire: the account exists) and the import's person.
    await eventually(
      async () => [await personState(stack.client, joinerId), await personState(stack.client, `R${run}3`)],
      ([a, b]) => a?.record?.lastName === NAMES.last && b !== null,
      120_000,
      'both persons known to their workflows',
    );
    await eventually(
      () => stack.directory.findByEmployeeId(joinerId),
      (account) => account !== null,
      120_000,
      'the joiner account in AD',
    );
    // Control: the names did go through the system, and the search finds them where they belong
    // (the state the operator asked for), so "none found" above is not a search that cannot hit.
    const shown = await tunnus(['person', 'show', joinerId, '--json']);
    assert.ok(leaksIn(shown.stdout).includes(NAMES.last), 'control: person show prints the name');
    outputs.push({ what: 'worker (activities and workflows, debug)', text: workerOut });
    assert.ok(workerOut.length > 0, 'the worker wrote logs');

    for (const o of outputs) assert.deepEqual(leaksIn(o.text), [], `${o.what} holds a name:\n${o.text}`);
  });

  it('API: good and bad input leave no name in the request and error logs', async () => {
    const lines: string[] = [];
    const capture = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const token = 'redaction-test-token-0123456789abcdef';
    const clients: ApiClientConfig[] = [
      { name: 'hr', tokenSha256: sha256Hex(token), scopes: ['hr:write', 'ops:read'] },
    ];
    const index = openSqliteIndex({ file: path.join(dir, 'api.sqlite') });
    const app = buildApi({
      intake: new MemoryIntake(),
      index,
      clients,
      logger: pino({ level: 'debug', redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, capture),
    });
    await app.ready();
    const put = (id: string, body: object) =>
      app.inject({
        method: 'PUT',
        url: `/api/v1/persons/${id}`,
        headers: { authorization: `Bearer ${token}` },
        payload: body,
      });
    const ok = await put(`R${run}5`, record(`R${run}5`, NAMES.first, NAMES.apiLast));
    assert.ok(ok.statusCode < 300, ok.body);
    const bad = await put(
      `R${run}6`,
      record(`R${run}6`, NAMES.badFirst, NAMES.apiLast, { startDate: 'tomorrow' }),
    );
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /startDate/);
    const mismatch = await put(`R${run}7`, record(`R${run}8`, NAMES.first, NAMES.apiLast));
    assert.ok(mismatch.statusCode >= 400);
    const garbage = await app.inject({
      method: 'PUT',
      url: `/api/v1/persons/R${run}9`,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: `{"firstNames": "${NAMES.badFirst}", "lastName": `,
    });
    assert.equal(garbage.statusCode, 400);
    await app.close();
    await index.close();
    const text = lines.join('');
    assert.ok(text.length > 0, 'the API logged its requests');
    assert.deepEqual(leaksIn(text), [], `the API log holds a name:\n${text}`);
    // Validation errors name the field, not the value, in the response too.
    assert.deepEqual(leaksIn(bad.body + mismatch.body + garbage.body), [], 'an error response echoes a name');
  });
});
