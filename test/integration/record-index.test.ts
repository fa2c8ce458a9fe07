import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { isActiveIdentity } from '../../src/domain/access-loss';
import type { HrRecord } from '../../src/domain/record';
import { isGone, isLive, type RecordStore } from '../../src/store/import-staging';
import { openRecordIndex } from '../../src/store/open';
import { isTransientStoreError, openPostgresIndex } from '../../src/store/postgres-index';
import { indexFingerprint, type IndexWrite } from '../../src/store/record-index';
import { sealRecordStore } from '../../src/store/sealed-store';
import { openSqliteIndex } from '../../src/store/sqlite-index';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../support/postgres';
import { throwawayIdentityKeys } from '../support/throwaway-keys';

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

// The stores as every Tunnus process opens them: personal fields sealed (sealed-store.ts) with a
// real key store; `raw` reads what the database itself holds.
const keys = throwawayIdentityKeys();
after(() => keys.close());
const sealed = (store: RecordStore) => sealRecordStore(store, keys, { ownsKeys: false });

interface Opened {
  store: RecordStore;
  reopen: () => RecordStore;
  /** Every staged record column and index fingerprint, as stored. */
  raw: () => Promise<string>;
}

const backends: { name: string; open: () => Promise<Opened> }[] = [
  {
    name: 'SQLite',
    open: async () => {
      const file = path.join(dir, `index-${++databases}.sqlite`);
      return {
        store: sealed(openSqliteIndex({ file })),
        reopen: () => sealed(openSqliteIndex({ file })),
        raw: async () => {
          const db = new Database(file, { readonly: true });
          try {
            const rows = db
              .prepare(
                'SELECT record AS v FROM import_staging UNION ALL SELECT fingerprint FROM record_index',
              )
              .all() as { v: string }[];
            // The bytes of the file and its WAL too: nothing in clear anywhere on disk.
            const bytes = [file, `${file}-wal`]
              .filter((f) => fs.existsSync(f))
              .map((f) => fs.readFileSync(f).toString('latin1'));
            return [...rows.map((r) => r.v), ...bytes].join('\n');
          } finally {
            db.close();
          }
        },
      };
    },
  },
  {
    name: 'PostgreSQL',
    open: async () => {
      const url = await pgServer.createDatabase(`index_${++databases}`);
      return {
        store: sealed(openPostgresIndex({ connectionString: url })),
        reopen: () => sealed(openPostgresIndex({ connectionString: url })),
        raw: async () => {
          const client = new pg.Client({ connectionString: url });
          await client.connect();
          try {
            const { rows } = await client.query<{ v: string }>(
              'SELECT record AS v FROM import_staging UNION ALL SELECT fingerprint FROM record_index',
            );
            return rows.map((r) => r.v).join('\n');
          } finally {
            await client.end();
          }
        },
      };
    },
  },
];

for (const backend of backends) {
  describe(`record index contract: ${backend.name}`, () => {
    let store: RecordStore;
    let reopen: () => RecordStore;
    let raw: () => Promise<string>;
    const fresh = async () => {
      await store?.close();
      ({ store, reopen, raw } = await backend.open());
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
      const page = (await index.staged('import-hr-a', 5, 4)).filter(isLive);
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

    it("staged records are sealed with each person's key: the database holds no name, no date", async () => {
      const index = await fresh();
      const people = ['Väinämö', 'Ilmatar', 'Lemminkäinen'].map((firstNames, i) => ({
        line: i + 2,
        record: {
          ...record,
          employeeId: `E8${i}`,
          firstNames,
          lastName: `Kalevalainen${i}`,
          startDate: '2031-04-0' + (i + 1),
        },
      }));
      await index.stage('import-hr-sealed', people);
      await index.putMany(
        await Promise.all(
          people.map(async (p) => ({
            employeeId: p.record.employeeId,
            fingerprint: await index.fingerprint(p.record.employeeId, p.record),
            source: 'hr' as const,
          })),
        ),
      );
      const stored = await raw();
      for (const p of people) {
        assert.doesNotMatch(stored, new RegExp(p.record.firstNames), 'first name in clear');
        assert.doesNotMatch(stored, new RegExp(p.record.lastName), 'last name in clear');
        assert.doesNotMatch(stored, new RegExp(p.record.startDate), 'a date of the record in clear');
      }
      assert.match(stored, /"tk1\.k[^.]+\./, 'staged records are sealed text');
      assert.deepEqual(await index.staged('import-hr-sealed', 0, 10), people, 'read back whole');
      assert.deepEqual(await index.stagedImports().then((l) => l.map((i) => i.stagingId)), [
        'import-hr-sealed',
      ]);
      const [listed] = await index.stagedImports();
      assert.ok(
        listed?.stagedAt && Math.abs(Date.parse(listed.stagedAt) - Date.now()) < 60_000,
        'when staged',
      );
    });

    it("the fingerprint is an HMAC under the person's key: stable, record- and person-specific, no plain hash", async () => {
      const index = await fresh();
      const a = await index.fingerprint('E1001', record);
      assert.equal(
        await index.fingerprint('E1001', { ...record }),
        a,
        'the same record, the same fingerprint',
      );
      assert.notEqual(await index.fingerprint('E1001', { ...record, orgUnit: 'SOTE-301' }), a);
      assert.notEqual(await index.fingerprint('E1002', { ...record, employeeId: 'E1001' }), a, 'another key');
      assert.notEqual(a, indexFingerprint(record), 'not the unkeyed hash anyone could recompute');
      assert.match(a, /^h1\./);
      // The teacher's education row: the identity's own key.
      assert.equal((await index.fingerprint('education:E1001', record)).split('.')[1], a.split('.')[1]);
    });

    it('change detection decrypts nothing: get, getMany and fingerprints never open a sealed value', async () => {
      const index = await fresh();
      await index.put('E1001', await index.fingerprint('E1001', record), 'hr');
      const opened: string[] = [];
      const original = keys.keyById.bind(keys);
      keys.keyById = async (keyId) => (opened.push(keyId), original(keyId));
      try {
        const known = await index.getMany(['E1001']);
        assert.equal(known.get('E1001')?.fingerprint, await index.fingerprint('E1001', record), 'unchanged');
      } finally {
        keys.keyById = original;
      }
      assert.deepEqual(opened, []);
    });

    it("after the person's key is destroyed: staged rows read as gone, the fingerprint matches nothing", async () => {
      const index = await fresh();
      // One key store for both backends: an id of this database's own.
      const id = `E9${databases}01`;
      const doomed = { ...record, employeeId: id, firstNames: 'Kullervo' };
      const kept = { ...record, employeeId: 'E9002' };
      await index.stage('import-hr-shred', [
        { line: 2, record: doomed },
        { line: 3, record: kept },
      ]);
      const before = await index.fingerprint(id, doomed);
      await index.put(id, before, 'hr');
      await keys.destroy(id);
      const rows = await index.staged('import-hr-shred', 0, 10);
      assert.deepEqual(
        rows,
        [
          { line: 2, gone: true },
          { line: 3, record: kept },
        ],
        'same length, no crash',
      );
      assert.ok(isGone(rows[0]!));
      const after = await index.fingerprint(id, doomed);
      assert.notEqual(after, before);
      assert.notEqual(await index.fingerprint(id, doomed), after, 'never "unchanged" again');
      await index.dropStaged('import-hr-shred');
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
    const TUNNUS_KEK = randomBytes(32).toString('base64');
    const viaPg = openRecordIndex({
      RECORD_INDEX_URL: url,
      TUNNUS_INDEX_FILE: path.join(dir, 'unused.sqlite'),
      TUNNUS_KEK,
    });
    await viaPg.put('E1', 'fp', 'hr');
    await viaPg.close();
    const direct = openPostgresIndex({ connectionString: url });
    assert.equal((await direct.get('E1'))?.fingerprint, 'fp', 'the write went to PostgreSQL');
    await direct.close();
    assert.equal(fs.existsSync(path.join(dir, 'unused.sqlite')), false);

    const file = path.join(dir, 'factory.sqlite');
    const viaFile = openRecordIndex({ RECORD_INDEX_URL: undefined, TUNNUS_INDEX_FILE: file, TUNNUS_KEK });
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
