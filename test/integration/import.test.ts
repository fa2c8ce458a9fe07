import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import pino from 'pino';
import { sha256Hex } from '../../src/api/auth';
import { createTemporalImports } from '../../src/ops/imports';
import { importIdFor, type ImportStatus } from '../../src/api/imports';
import { MemoryIntake } from '../../src/api/memory-intake';
import { buildApi } from '../../src/api/server';
import { personState } from '../../src/ops/persons';
import { addDays, helsinkiDate } from '../../src/domain/dates';
import { parseEnv } from '../../src/config';
import { openRecordIndex } from '../../src/store/open';
import type { RecordStore } from '../../src/store/import-staging';
import { run as cli } from '../../src/starter';
import { hrCsv } from '../support/hr-csv';
import { eventually, startStack, type Stack } from '../support/stack';

// Snapshot imports end to end: the CLI and the API start the import workflow on the Temporal dev
// server; the real worker's activities diff against a SQLite index and signal person workflows.

const runId = Date.now().toString(36).toUpperCase();
const today = helsinkiDate(new Date());
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-import-it-'));
const indexFile = path.join(dir, 'record-index.sqlite');

interface Row {
  id: string;
  title?: string;
  start?: string;
  end?: string;
}
// Start dates well after the pre-hire window: person workflows wait, so AD is not the subject here.
const csv = (rows: Row[]) =>
  hrCsv(
    rows.map((r) => ({
      employeeId: r.id,
      firstNames: 'Väinö',
      lastName: `Östman${runId}`,
      jobTitle: r.title ?? 'Lähihoitaja',
      jobCode: 'SH01',
      orgUnit: 'SOTE-110',
      employmentType: 'permanent',
      startDate: r.start ?? addDays(today, 90),
      endDate: r.end,
    })),
  );

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

describe('snapshot import against the Temporal dev server and the real worker', () => {
  let stack: Stack;
  let index: RecordStore;
  let seq = 0;
  const people = (n: number): Row[] =>
    Array.from({ length: n }, (_, i) => ({ id: `IMP${runId}-${String(i).padStart(3, '0')}` }));
  const writeCsv = (rows: Row[]) => {
    const file = path.join(dir, `snapshot-${++seq}.csv`);
    fs.writeFileSync(file, `\ufeff${csv(rows)}`);
    return file;
  };
  const tunnus = async (...argv: string[]) => {
    const out = new Capture();
    const code = await cli(argv, out);
    return { code, out: out.text };
  };
  const received = async (id: string) => (await personState(stack.client, id))?.recordsReceived ?? 0;
  const imports = () =>
    createTemporalImports({ client: stack.client, staging: index, taskQueue: stack.taskQueue });

  before(async () => {
    stack = await startStack();
    // The CLI (in this process) and the worker's import activities open the index the
    // environment names: this file.
    Object.assign(process.env, stack.childEnv(), { TUNNUS_INDEX_FILE: indexFile });
    delete process.env.RECORD_INDEX_URL;
    await stack.startWorker();
    // The worker's store as production opens it (sealed, keyed fingerprints), on the same keys.
    index = openRecordIndex(parseEnv());
  });
  after(async () => {
    await index?.close();
    await stack?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const base = people(20);
  const changed = base.map((r, i) => (i % 10 === 3 ? { ...r, title: 'Sairaanhoitaja' } : r));

  it('tunnus hr import delivers every new person, and on the second run only the changed ones', async () => {
    const first = await tunnus('hr', 'import', writeCsv(base));
    assert.equal(first.code, 0, first.out);
    assert.match(first.out, /delivered {3}20\b/);
    assert.match(first.out, /unchanged {3}0\b/);
    assert.match(
      first.out,
      /20\/20 rows: 20 delivered, 0 unchanged, 0 failed/,
      'plain progress lines off a TTY',
    );
    assert.equal(await index.count(), 20);
    await eventually(
      () => received(base[0]!.id),
      (n) => n === 1,
      30_000,
      'first person has its record',
    );

    const second = await tunnus('hr', 'import', writeCsv(changed));
    assert.equal(second.code, 0, second.out);
    assert.match(second.out, /delivered {3}2\b/);
    assert.match(second.out, /unchanged {3}18\b/);
    // The person workflows say the same: two received a second record, the others did not.
    for (const [i, row] of changed.entries()) {
      const expected = i % 10 === 3 ? 2 : 1;
      await eventually(
        () => received(row.id),
        (n) => n === expected,
        30_000,
        `records of ${row.id}`,
      );
    }
  });

  it('a file with a bad row applies nothing: no workflow, no index change', async () => {
    const rows: Row[] = [...changed, { id: `IMP${runId}-BAD`, start: '2031-02-30' }];
    const file = writeCsv(rows);
    const countBefore = await index.count();
    const result = await tunnus('hr', 'import', file);
    assert.equal(result.code, 1);
    assert.match(result.out, /line 22: start_date is not a real calendar date/);
    assert.match(result.out, /nothing was applied/);
    const wouldBe = importIdFor('hr', fs.readFileSync(file, 'utf8'), false);
    await assert.rejects(stack.client.workflow.getHandle(wouldBe).describe(), WorkflowNotFoundError);
    assert.equal(await index.count(), countBefore);

    // The operator may import the valid rows only: the bad one is listed and left out.
    const accepted = await tunnus('hr', 'import', file, '--accept-valid-rows');
    assert.equal(accepted.code, 0, accepted.out);
    assert.match(accepted.out, /line 22: start_date/);
    assert.match(accepted.out, /1 row\(s\) rejected; importing the 20 valid rows/);
    assert.match(accepted.out, /rows {8}20 \(\+1 rejected by validation\)/);
    assert.match(accepted.out, /delivered {3}0\b/, 'the 20 valid rows are unchanged');
    assert.equal(await index.count(), countBefore);
  });

  it("ending hires who have not started takes no one's access: the mass-change guard lets it through", async () => {
    // These people wait for a start date 90 days ahead: no account is enabled, so no access ends.
    // The guard's own end-to-end test (ends, ERP groups lost, approval) is test/integration/guard.test.ts.
    const ended = changed.map((r, i) =>
      i < 2 ? { ...r, start: addDays(today, -200), end: addDays(today, -1) } : r,
    );
    const result = await tunnus('hr', 'import', writeCsv(ended));
    assert.equal(result.code, 0, result.out);
    assert.match(result.out, /delivered {3}2\b/);
    await eventually(
      () => received(ended[0]!.id),
      (n) => n === 2,
      30_000,
      'the ended hire got the new record',
    );
  });

  it('approve on a run that is not waiting says so', async () => {
    const result = await tunnus('approve', `import-hr-${'0'.repeat(16)}`);
    assert.equal(result.code, 1);
    assert.match(result.out, /no workflow/);
  });

  it('POST /api/v1/imports starts the workflow; GET follows it to its result', async () => {
    const token = 'tok-it-0123456789';
    const app = buildApi({
      intake: new MemoryIntake(),
      index,
      clients: [{ name: 'it', tokenSha256: sha256Hex(token), scopes: ['hr:write', 'ops:read'] }],
      logger: pino({ level: 'silent' }),
      imports: imports(),
    });
    await app.ready();
    try {
      const rows = Array.from({ length: 5 }, (_, i) => ({ id: `API${runId}-${i}` }));
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/imports?source=hr',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv; charset=utf-8' },
        payload: csv(rows),
      });
      assert.equal(res.statusCode, 202, res.body);
      const { importId } = res.json<{ importId: string }>();
      const done = await eventually(
        async () =>
          (
            await app.inject({
              method: 'GET',
              url: `/api/v1/imports/${importId}`,
              headers: { authorization: `Bearer ${token}` },
            })
          ).json<ImportStatus>(),
        (s) => s.status === 'completed',
        30_000,
        'import completed',
      );
      assert.equal(done.progress?.delivered, 5);
      assert.equal(done.progress?.phase, 'completed');
      assert.equal((await index.getMany(rows.map((r) => r.id))).size, 5);
    } finally {
      await app.close();
    }
  });
});
