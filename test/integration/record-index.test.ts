import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isActiveIdentity } from '../../src/domain/access-loss';
import type { HrRecord } from '../../src/domain/record';
import type { RecordStore } from '../../src/store/import-staging';
import { openRecordIndex } from '../../src/store/open';
import { isTransientStoreError, openPostgresIndex } from '../../src/store/postgres-index';
import { indexFingerprint, type IndexWrite } from '../../src/store/record-index';
import { openSqliteIndex } from '../../src/store/sqlite-index';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../support/postgres';

// One contract, two backends: the embedded SQLite index and PostgreSQL (a real server, started
// for this file). Every test runs against a fresh store of each kind.

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-index-contract-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const record: HrRecord = {
  employeeId: 'E1001',
  firstNames: 'Anna-Maija',
  lastName: 'Ääpälä',
  jobTitle: 'Sairaanhoitaja',
  jobCode: 'NURSE',
  orgUnit: 'SOTE-300',
  employmentType: 'permanent',
  startDate: '2026-03-01',
};

let pgServer: ThrowawayPostgres;
let databases = 0;
before(async () => (pgServer = await startThrowawayPostgres()));
after(() => pgServer?.stop());

const backends: { name: string; open: () => Promise<{ store: RecordStore; reopen: () => RecordStore }> }[] = [
  {
    name: 'SQLite',
    open: async () => {
      const file = path.join(dir, `index-${++databases}.sqlite`);
      return { store: openSqliteIndex({ file }), reopen: () => openSqliteIndex({ file }) };
    },
  },
  {
    name: 'PostgreSQL',
    open: async () => {
      const url = await pgServer.createDatabase(`index_${++databases}`);
      return {
        store: openPostgresIndex({ connectionString: url }),
        reopen: () => openPostgresIndex({ connectionString: url }),
      };
    },
  },
];

for (const backend of backends) {
  describe(`record index contract: ${backend.name}`, () => {
    let store: RecordStore;
    let reopen: () => RecordStore;
    const fresh = async () => {
      await store?.close();
      ({ store, reopen } = await backend.open());
      return store;
    };
    after(() => store?.close());

    it('put then get returns the entry; an unknown id has none', async () => {
      const index = await fresh();
      await index.put('E1001', 'fp-1', 'hr');
      const entry = await index.get('E1001');
      assert.equal(entry?.fingerprint, 'fp-1');
      assert.equal(entry?.source, 'hr');
      assert.ok(entry && !Number.isNaN(Date.parse(entry.updatedAt)));
      assert.equal(await index.get('E9999'), undefined);
    });

    it('put replaces the previous fingerprint and source of the same person', async () => {
      const index = await fresh();
      await index.put('E1001', 'fp-1', 'hr');
      await index.put('E1001', 'fp-2', 'education');
      const entry = await index.get('E1001');
      assert.deepEqual(
        { ...entry, updatedAt: undefined },
        { employeeId: 'E1001', fingerprint: 'fp-2', source: 'education', updatedAt: undefined },
      );
      assert.equal(await index.count(), 1);
    });

    it('getMany returns entries only for the ids it has; no ids, no entries', async () => {
      const index = await fresh();
      await index.putMany([
        { employeeId: 'E1', fingerprint: 'a', source: 'hr' },
        { employeeId: 'E2', fingerprint: 'b', source: 'hr' },
        { employeeId: 'E3', fingerprint: 'c', source: 'hr' },
      ]);
      const found = await index.getMany(['E1', 'E3', 'E404']);
      assert.deepEqual([...found.keys()].sort(), ['E1', 'E3']);
      assert.equal(found.get('E3')?.fingerprint, 'c');
      assert.equal((await index.getMany([])).size, 0);
    });

    it('putMany upserts: existing ids are replaced, a repeated id keeps its last write', async () => {
      const index = await fresh();
      await index.putMany([
        { employeeId: 'E1', fingerprint: 'old', source: 'hr' },
        { employeeId: 'E2', fingerprint: 'keep', source: 'hr' },
      ]);
      await index.putMany([
        { employeeId: 'E1', fingerprint: 'new', source: 'education' },
        { employeeId: 'E3', fingerprint: 'first', source: 'hr' },
        { employeeId: 'E3', fingerprint: 'second', source: 'hr' },
      ]);
      await index.putMany([]);
      const all = await index.getMany(['E1', 'E2', 'E3']);
      assert.deepEqual([...all.values()].map((e) => [e.employeeId, e.fingerprint, e.source]).sort(), [
        ['E1', 'new', 'education'],
        ['E2', 'keep', 'hr'],
        ['E3', 'second', 'hr'],
      ]);
      assert.equal(await index.count(), 3);
    });

    it('entries survive closing and reopening', async () => {
      const index = await fresh();
      await index.put('E1001', 'fp-1', 'hr');
      await index.close();
      store = reopen();
      assert.equal((await store.get('E1001'))?.fingerprint, 'fp-1');
      await store.check();
    });

    it('all() pages through every entry in code-unit order (upper case before lower, "-" first)', async () => {
      const index = await fresh();
      const ids = ['b-2', 'B1', 'a1', 'A-1', 'Z9', '0001', 'a-1', 'A1'];
      await index.putMany(ids.map((employeeId) => ({ employeeId, fingerprint: 'x', source: 'hr' as const })));
      const seen: string[] = [];
      for await (const e of index.all(3)) seen.push(e.employeeId);
      assert.deepEqual(seen, [...ids].sort());
    });

    it("staging keeps an import's rows in file order, pages them, is idempotent and is dropped", async () => {
      const index = await fresh();
      const rows = Array.from({ length: 2_500 }, (_, i) => ({
        line: i + 2,
        record: { ...record, employeeId: `S${i}`, lastName: i === 7 ? 'Öhman-Åström' : record.lastName },
      }));
      await index.stage('import-hr-a', rows);
      await index.stage('import-hr-a', rows); // a retried upload: still one copy
      await index.stage('import-hr-b', rows.slice(0, 3));
      assert.equal(await index.stagedCount('import-hr-a'), 2_500);
      assert.equal(await index.stagedCount('import-hr-b'), 3);
      const page = await index.staged('import-hr-a', 5, 4);
      assert.deepEqual(
        page.map((r) => [r.line, r.record.employeeId]),
        [
          [7, 'S5'],
          [8, 'S6'],
          [9, 'S7'],
          [10, 'S8'],
        ],
      );
      assert.equal(page[2]!.record.lastName, 'Öhman-Åström');
      assert.deepEqual(page[0]!.record, rows[5]!.record);
      assert.deepEqual(await index.staged('import-hr-a', 2_499, 100), [rows[2_499]]);
      await index.dropStaged('import-hr-a');
      assert.equal(await index.stagedCount('import-hr-a'), 0);
      assert.equal(await index.stagedCount('import-hr-b'), 3, 'other imports are untouched');
      assert.equal(await index.count(), 0, 'staging is not the index');
    });

    it('entries keep their dates; countActive counts exactly what isActiveIdentity says', async () => {
      const index = await fresh();
      const today = '2026-06-15';
      const cases = [
        { employeeId: 'A', startDate: '2020-01-01' },
        { employeeId: 'B', startDate: '2020-01-01', endDate: today },
        { employeeId: 'C', startDate: '2020-01-01', endDate: '2026-06-14' },
        { employeeId: 'D', startDate: '2026-06-16' },
        { employeeId: 'education:A', startDate: '2020-01-01' },
        { employeeId: 'F' },
      ];
      await index.putMany(cases.slice(0, 3).map((c) => ({ ...c, fingerprint: 'x', source: 'hr' as const })));
      for (const c of cases.slice(3)) await index.put(c.employeeId, 'x', 'hr', c);
      assert.equal((await index.get('B'))?.endDate, today);
      assert.equal((await index.get('F'))?.startDate, undefined);
      assert.equal(await index.countActive(today), cases.filter((c) => isActiveIdentity(c, today)).length);
      assert.equal(await index.countActive(today), 3);
    });

    it('the guard ledger: admission is decided on the window and atomic; held rows are released', async () => {
      const index = await fresh();
      const loss = (id: string) => ({ identityId: id, kind: 'disable' as const, groups: ['ERP-Nurse'] });
      const since = new Date(Date.now() - 3_600_000).toISOString();
      // At most three in the window: ten admissions at once, each deciding on what it sees.
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          index.admitLosses({ ref: `r${i}`, losses: [loss(`E${i}`)], since }, (window) => window.length < 3),
        ),
      );
      assert.equal(results.filter(Boolean).length, 3, 'the check and the write are one step');
      const window = await index.windowLosses(since);
      assert.equal(window.length, 3);
      assert.deepEqual(window[0]!.groups, ['ERP-Nurse']);
      assert.equal(window[0]!.status, 'admitted');
      assert.deepEqual(await index.windowLosses(new Date(Date.now() + 60_000).toISOString()), []);
      // Approved losses are kept, not counted in the window.
      assert.equal(
        await index.admitLosses(
          { ref: 'ok', losses: [loss('X1')], since, approvedBy: 'cli:anna' },
          () => false,
        ),
        true,
      );
      assert.equal((await index.windowLosses(since)).length, 3);

      await index.holdLosses('api:hr', [loss('H1'), loss('H2')]);
      await index.holdLosses('api:hr', [{ ...loss('H1'), kind: 'roleChange' }]);
      const held = await index.heldLosses();
      assert.deepEqual(
        held.map((h) => [h.identityId, h.kind]).sort(),
        [
          ['H1', 'roleChange'],
          ['H2', 'disable'],
        ],
        'one held row per identity, the latest',
      );
      assert.deepEqual(
        (await index.heldLosses(['H2'])).map((h) => h.identityId),
        ['H2'],
      );
      await index.releaseHeld(['H1', 'H2'], 'api:ops');
      assert.deepEqual(await index.heldLosses(), []);
      assert.equal((await index.windowLosses(since)).length, 3, 'released as approved, not counted');
    });

    it('50,000 entries: putMany, getMany and a paged scan of all', async () => {
      const index = await fresh();
      const entries: IndexWrite[] = Array.from({ length: 50_000 }, (_, i) => ({
        employeeId: `E${String(i).padStart(6, '0')}`,
        fingerprint: indexFingerprint({ ...record, employeeId: `E${i}` }),
        source: 'hr',
      }));
      let started = performance.now();
      await index.putMany(entries);
      const putMs = performance.now() - started;
      started = performance.now();
      const found = await index.getMany(entries.map((e) => e.employeeId));
      const getMs = performance.now() - started;
      assert.equal(found.size, 50_000);
      assert.equal(found.get('E049999')?.fingerprint, entries[49_999]!.fingerprint);
      let count = 0;
      let previous = '';
      for await (const entry of index.all(1000)) {
        assert.ok(entry.employeeId > previous, 'each once, in order');
        previous = entry.employeeId;
        count++;
      }
      assert.equal(count, 50_000);
      assert.equal(await index.count(), 50_000);
      // Printed, not asserted: timings depend on the machine.
      console.log(
        `${backend.name} index, 50,000 entries: putMany ${putMs.toFixed(0)} ms, getMany ${getMs.toFixed(0)} ms`,
      );
    });
  });
}

describe('openRecordIndex', () => {
  it('opens PostgreSQL for a postgres:// URL and the SQLite file otherwise', async () => {
    const url = await pgServer.createDatabase('factory');
    const viaPg = openRecordIndex({
      RECORD_INDEX_URL: url,
      TUNNUS_INDEX_FILE: path.join(dir, 'unused.sqlite'),
    });
    await viaPg.put('E1', 'fp', 'hr');
    await viaPg.close();
    const direct = openPostgresIndex({ connectionString: url });
    assert.equal((await direct.get('E1'))?.fingerprint, 'fp', 'the write went to PostgreSQL');
    await direct.close();
    assert.equal(fs.existsSync(path.join(dir, 'unused.sqlite')), false);

    const file = path.join(dir, 'factory.sqlite');
    const viaFile = openRecordIndex({ RECORD_INDEX_URL: undefined, TUNNUS_INDEX_FILE: file });
    await viaFile.put('E2', 'fp', 'hr');
    await viaFile.close();
    assert.ok(fs.existsSync(file));
  });

  it('an unreachable PostgreSQL fails check() with an error classified as transient', async () => {
    const index = openPostgresIndex({ connectionString: 'postgres://postgres@127.0.0.1:1/none' });
    const err = await index.check().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err, 'check() rejects');
    assert.equal(isTransientStoreError(err), true);
    assert.equal(isTransientStoreError(new Error('syntax error at or near "SELEC"')), false);
    await index.close();
  });
});
