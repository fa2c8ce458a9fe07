import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { sha256Hex } from '../../src/api/auth';
import { buildApi, type ApiServer } from '../../src/api/server';
import { parseEnv } from '../../src/config';
import { addDays, helsinkiDate } from '../../src/domain/dates';
import type { IdentityRow } from '../../src/domain/identity-row';
import type { HrRecord } from '../../src/domain/record';
import { createTemporalImports } from '../../src/ops/imports';
import { personState } from '../../src/ops/persons';
import { createTemporalIntake } from '../../src/ops/temporal-intake';
import type { RecordStore } from '../../src/store/import-staging';
import { openRecordIndex } from '../../src/store/open';
import { run as cli } from '../../src/starter';
import { hrCsv } from '../support/hr-csv';
import { eventually, startStack, type Stack } from '../support/stack';

// One intake use-case for every delivery path (src/ops/intake.ts): the same record delivered
// through `PUT /api/v1/persons/{id}`, `POST /api/v1/imports`, `tunnus hire`, `tunnus hr import` and
// `tunnus plan apply` leaves the same record index entry and the same identity read-model row (the
// person workflow writes it); and delivered again through any path it is unchanged and reaches no
// workflow. Real parts: the Temporal dev server, the worker, Samba (the plan reads AD), one store.

const runId = Date.now().toString(36).toUpperCase();
const today = helsinkiDate(new Date());
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-intake-paths-'));
const indexFile = path.join(dir, 'record-index.sqlite');
const token = 'tun_paths_hr_0123456789abcdef01234';

const paths = ['put', 'apiImport', 'hire', 'cliImport', 'planApply'] as const;
type PathName = (typeof paths)[number];
// Start dates well after the pre-hire window: the person workflows wait, AD is not written.
const record = (p: PathName): HrRecord => ({
  employeeId: `IP${runId}-${paths.indexOf(p)}`,
  firstNames: 'Väinö',
  lastName: `Polku${runId}`,
  jobTitle: 'Sairaanhoitaja',
  jobCode: 'SH01',
  orgUnit: 'SOTE-110',
  employmentType: 'permanent',
  startDate: addDays(today, 90),
});
class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

/** The row with what names the person and when things happened taken out: what must be equal. */
function comparable(row: IdentityRow): unknown {
  const { chain: _c, updatedAt: _u, version: _v, ...rest } = row;
  const text = JSON.stringify({ ...rest, runs: rest.runs.map(({ startedAt: _s, endedAt: _e, ...r }) => r) });
  return JSON.parse(text.replaceAll(row.identityId, 'ID')) as unknown;
}

describe('one intake use-case: every delivery path updates the index and the read model alike', () => {
  let stack: Stack;
  let store: RecordStore;
  let app: ApiServer;
  let seq = 0;
  const file = (name: string, text: string) => {
    const f = path.join(dir, `${++seq}-${name}`);
    fs.writeFileSync(f, text);
    return f;
  };
  const tunnus = async (...argv: string[]) => {
    const out = new Capture();
    const code = await cli(argv, out);
    return { code, out: out.text };
  };
  const put = (r: HrRecord) =>
    app.inject({
      method: 'PUT',
      url: `/api/v1/persons/${r.employeeId}`,
      headers: { authorization: `Bearer ${token}` },
      payload: r,
    });
  const postImport = (csv: string) =>
    app.inject({
      method: 'POST',
      url: '/api/v1/imports?source=hr',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' },
      payload: csv,
    });
  const importFinished = (importId: string) =>
    eventually(
      () =>
        createTemporalImports({ client: stack.client, staging: store, taskQueue: stack.taskQueue }).status(
          importId,
        ),
      (s) => s?.status === 'completed',
      60_000,
      `import ${importId}`,
    );

  /** Through each path, the way that path's caller would. */
  const deliverBy: Record<PathName, (records: HrRecord[]) => Promise<void>> = {
    async put(records) {
      for (const r of records) assert.equal((await put(r)).statusCode < 300, true);
    },
    async apiImport(records) {
      const res = await postImport(hrCsv(records));
      assert.equal(res.statusCode, 202, res.body);
      await importFinished(res.json<{ importId: string }>().importId);
    },
    async hire(records) {
      for (const r of records) {
        const { code, out } = await tunnus('hire', file('hire.json', JSON.stringify(r)));
        assert.equal(code, 0, out);
      }
    },
    async cliImport(records) {
      const { code, out } = await tunnus('hr', 'import', file('snapshot.csv', hrCsv(records)));
      assert.equal(code, 0, out);
    },
    async planApply(records) {
      const plan = path.join(dir, `${++seq}-plan.json`);
      const made = await tunnus('plan', '--hr', file('plan.csv', hrCsv(records)), '--save', plan);
      assert.equal(made.code, 0, made.out);
      const applied = await tunnus('plan', 'apply', plan);
      assert.equal(applied.code, 0, applied.out);
    },
  };

  before(async () => {
    stack = await startStack();
    // The API and the CLI (here) and the worker's activities share this record store.
    Object.assign(process.env, stack.childEnv(), { TUNNUS_INDEX_FILE: indexFile });
    delete process.env.RECORD_INDEX_URL;
    await stack.startWorker();
    store = openRecordIndex(parseEnv());
    app = buildApi({
      intake: createTemporalIntake({ client: stack.client, taskQueue: stack.taskQueue }),
      index: store,
      policy: stack.policy,
      imports: createTemporalImports({ client: stack.client, staging: store, taskQueue: stack.taskQueue }),
      clients: [{ name: 'hr-system', tokenSha256: sha256Hex(token), scopes: ['hr:write'] }],
      logger: pino({ level: 'silent' }),
    });
    await app.ready();
  });
  after(async () => {
    await app?.close();
    await store?.close();
    await stack?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const rows = new Map<PathName, IdentityRow>();

  it('the same record through each path: the same index entry and the same read-model row', async () => {
    for (const p of paths) await deliverBy[p]([record(p)]);
    for (const p of paths) {
      const r = record(p);
      // The index: keyed fingerprint of this very record (under the person's key), source, dates.
      const entry = await store.get(r.employeeId);
      assert.ok(entry, `${p}: indexed`);
      assert.deepEqual(
        {
          fingerprint: entry.fingerprint,
          source: entry.source,
          startDate: entry.startDate,
          endDate: entry.endDate,
        },
        {
          fingerprint: await store.fingerprint(r.employeeId, r),
          source: 'hr',
          startDate: r.startDate,
          endDate: undefined,
        },
        p,
      );
    }
    // The rows, once every person waits for its dates (its joiner started, the row written): equal
    // but for the id and the instants. Read until they settle; a difference left is shown.
    const read = async () => {
      for (const p of paths) {
        const row = await store.identities.get(record(p).employeeId);
        if (row) rows.set(p, row);
      }
      return paths.map((p) => rows.get(p));
    };
    const settled = (all: (IdentityRow | undefined)[]) =>
      all.every((x) => !!x && x.recordsReceived === 1 && x.runs.length > 0) &&
      all.every((x) => JSON.stringify(comparable(x!)) === JSON.stringify(comparable(all[0]!)));
    await eventually(read, settled, 60_000, 'the five rows alike').catch(() => undefined);
    const [first, ...others] = paths;
    for (const p of paths) assert.deepEqual(rows.get(p)?.record, record(p), `${p}: the row holds the record`);
    for (const p of others) {
      assert.deepEqual(comparable(rows.get(p)!), comparable(rows.get(first)!), `${p} row = ${first} row`);
    }
  });

  it('delivered again through every path, each record is unchanged and reaches no workflow', async () => {
    const all = paths.map(record);
    const versions = new Map<PathName, number | undefined>();
    for (const p of paths) versions.set(p, (await store.identities.get(record(p).employeeId))?.version);
    // Each person was delivered by one path; now every path delivers every person's record again.
    const puts = await Promise.all(all.map((r) => put(r)));
    assert.deepEqual(
      puts.map((res) => res.json<{ status: string }>().status),
      all.map(() => 'unchanged'),
    );
    for (const r of all) {
      const { code, out } = await tunnus('hire', file('again.json', JSON.stringify(r)));
      assert.equal(code, 0, out);
      assert.match(out, /^unchanged: /m, out);
    }
    const cliImport = await tunnus('hr', 'import', file('again.csv', hrCsv(all)));
    assert.equal(cliImport.code, 0, cliImport.out);
    assert.match(cliImport.out, /delivered {3}0\b/);
    assert.match(cliImport.out, new RegExp(`unchanged {3}${all.length}\\b`));
    const apiImport = await postImport(hrCsv([...all].reverse()));
    assert.equal(apiImport.statusCode, 202, apiImport.body);
    const done = await importFinished(apiImport.json<{ importId: string }>().importId);
    assert.deepEqual([done?.progress?.delivered, done?.progress?.unchanged], [0, all.length]);
    const plan = path.join(dir, 'again-plan.json');
    assert.equal((await tunnus('plan', '--hr', file('again-plan.csv', hrCsv(all)), '--save', plan)).code, 0);
    const applied = await tunnus('plan', 'apply', plan);
    assert.equal(applied.code, 0, applied.out);
    assert.match(applied.out, new RegExp(`0 records delivered, ${all.length} unchanged`));

    // Nothing reached a person workflow: one record each, no duplicate dropped, the rows as before.
    for (const p of paths) {
      const s = await personState(stack.client, record(p).employeeId);
      assert.deepEqual([s?.recordsReceived, s?.duplicatesIgnored], [1, 0], p);
      const row = await store.identities.get(record(p).employeeId);
      assert.equal(row?.version, versions.get(p), `${p}: no new row written`);
    }
  });
});
