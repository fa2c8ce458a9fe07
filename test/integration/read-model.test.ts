import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { identityRow, type IdentityRow } from '../../src/domain/identity-row';
import { isActiveIdentityRow, isManagedIdentity } from '../../src/domain/managed-identity';
import {
  accept,
  initialState,
  onRunFinished,
  onRunStarted,
  type PersonState,
} from '../../src/domain/person-state';
import type { HrRecord } from '../../src/domain/record';
import type { RecordStore } from '../../src/store/import-staging';
import { openPostgresIndex } from '../../src/store/postgres-index';
import { allRows, type FieldSealer } from '../../src/store/read-model';
import { openSqliteIndex } from '../../src/store/sqlite-index';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../support/postgres';

// Contract C on both backends: the identity read model in the record index's database (SQLite
// file; a real PostgreSQL server started for this file). Every test gets a fresh store.

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-read-model-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const CHAIN = '2026-01-01T00:00:00.000Z';
const t0 = Date.parse('2026-02-01T08:00:00Z');

const hr = (id: string, over: Partial<HrRecord> = {}): HrRecord => ({
  employeeId: id,
  firstNames: 'Anna-Maija',
  lastName: 'Ääpälä',
  jobTitle: 'Sairaanhoitaja',
  jobCode: 'NURSE',
  orgUnit: 'SOTE-300',
  employmentType: 'permanent',
  startDate: '2026-03-01',
  ...over,
});

/** A person state after its record arrived, stamped as the workflow stamps its writes. */
function stateOf(id: string, record = hr(id)): PersonState {
  const state = initialState(id);
  accept(state, { record, source: 'hr' }, t0);
  return state;
}
const row = (state: PersonState, version: number, chain = CHAIN): IdentityRow =>
  identityRow(state, { chain, version, at: new Date(t0 + version * 1000).toISOString() });

/** A sealer that marks what it sealed, and knows one identity whose key is destroyed. */
const markingSealer = (destroyed = new Set<string>()): FieldSealer => ({
  seal: async (id, text) => `sealed:${id}:${Buffer.from(text).toString('base64')}`,
  open: async (sealed) => {
    const [, id, body] = sealed.split(':');
    if (destroyed.has(id!)) throw Object.assign(new Error('key destroyed'), { name: 'KeyDestroyed' });
    return Buffer.from(body!, 'base64').toString();
  },
});

let pgServer: ThrowawayPostgres;
let databases = 0;
before(async () => (pgServer = await startThrowawayPostgres()));
after(() => pgServer?.stop());

const backends: {
  name: string;
  open: (
    sealer?: FieldSealer,
  ) => Promise<{ store: RecordStore; rawPersonal: (id: string) => Promise<string> }>;
}[] = [
  {
    name: 'SQLite',
    open: async (sealer) => {
      const file = path.join(dir, `rm-${++databases}.sqlite`);
      const store = openSqliteIndex({ file, ...(sealer ? { sealer } : {}) });
      return {
        store,
        rawPersonal: async (id) => {
          const db = new Database(file, { readonly: true });
          try {
            return (
              db.prepare('SELECT personal FROM identity_read_model WHERE identity_id = ?').get(id) as {
                personal: string;
              }
            ).personal;
          } finally {
            db.close();
          }
        },
      };
    },
  },
  {
    name: 'PostgreSQL',
    open: async (sealer) => {
      const url = await pgServer.createDatabase(`rm_${++databases}`);
      const store = openPostgresIndex({ connectionString: url, ...(sealer ? { sealer } : {}) });
      return {
        store,
        rawPersonal: async (id) => {
          const pg = (await import('pg')).default;
          const c = new pg.Client({ connectionString: url });
          await c.connect();
          try {
            const { rows } = await c.query<{ personal: string }>(
              'SELECT personal FROM identity_read_model WHERE identity_id = $1',
              [id],
            );
            return rows[0]!.personal;
          } finally {
            await c.end();
          }
        },
      };
    },
  },
];

for (const backend of backends) {
  describe(`identity read model contract: ${backend.name}`, () => {
    let store: RecordStore | undefined;
    const fresh = async (sealer?: FieldSealer) => {
      await store?.close();
      const opened = await backend.open(sealer);
      store = opened.store;
      return opened;
    };
    after(() => store?.close());

    it('a written row reads back equal; an unknown identity has none', async () => {
      const { store: s } = await fresh();
      const written = row(stateOf('E1001'), 1);
      assert.equal(await s.identities.write(written), 'written');
      assert.deepEqual(await s.identities.get('E1001'), written);
      assert.equal(await s.identities.get('E9999'), undefined);
    });

    it('ordered by version: an older version never overwrites a newer one, whatever arrives first', async () => {
      const { store: s } = await fresh();
      const state = stateOf('E1001');
      const v1 = row(state, 1);
      const run = onRunStarted(state, 'joiner', t0 + 5000);
      const v2 = row(state, 2);
      onRunFinished(
        state,
        run,
        {
          phase: 'prehire',
          schedule: { provisionAt: '2026-02-15T22:00:00.000Z', startAt: '2026-02-28T22:00:00.000Z' },
          applied: ['create account'],
          appliedVersion: 1,
          account: {
            employeeId: 'E1001',
            sAMAccountName: 'anna-maija.aapala',
            userPrincipalName: 'a@x',
            created: true,
          },
        },
        t0 + 9000,
      );
      const v3 = row(state, 3);
      assert.equal(await s.identities.write(v3), 'written');
      assert.equal(await s.identities.write(v1), 'stale');
      assert.equal(await s.identities.write(v2), 'stale');
      const stored = await s.identities.get('E1001');
      assert.equal(stored?.version, 3);
      assert.equal(stored?.phase, 'prehire');
      assert.equal(stored?.stage, 'active'); // an account exists (stageAfter)
      assert.equal(stored?.account?.sAMAccountName, 'anna-maija.aapala');
      assert.equal(stored?.runs.at(-1)?.outcome, 'completed');
    });

    it('a restarted workflow (a later chain) wins even with a lower version; an earlier chain never', async () => {
      const { store: s } = await fresh();
      const state = stateOf('E1001');
      await s.identities.write(row(state, 40));
      const later = '2026-06-01T00:00:00.000Z';
      assert.equal(
        await s.identities.write(row(stateOf('E1001', hr('E1001', { jobCode: 'DOCTOR' })), 1, later)),
        'written',
      );
      assert.equal(await s.identities.write(row(state, 41)), 'stale');
      const stored = await s.identities.get('E1001');
      assert.equal(stored?.chain, later);
      assert.equal(stored?.record?.jobCode, 'DOCTOR');
    });

    it('writes are idempotent: the same row again changes nothing, and a rewrite of the same version repairs', async () => {
      const { store: s } = await fresh();
      const good = row(stateOf('E1001'), 7);
      await s.identities.write(good);
      assert.equal(await s.identities.write(good), 'written');
      assert.deepEqual(await s.identities.get('E1001'), good);
      // A hand edit at the same version (what `tunnus index rebuild` repairs).
      await s.identities.write({ ...good, stage: 'deleted' });
      assert.equal((await s.identities.get('E1001'))?.stage, 'deleted');
      await s.identities.write(good);
      assert.deepEqual(await s.identities.get('E1001'), good);
    });

    it('pages in identity-id order without gaps or repeats, filtered by phase when asked', async () => {
      const { store: s } = await fresh();
      const ids = Array.from({ length: 37 }, (_, i) => `E${String(2000 + ((i * 7) % 37)).padStart(4, '0')}`);
      for (const [i, id] of ids.entries()) {
        const state = stateOf(id);
        if (i % 3 === 0) state.phase = 'active';
        await s.identities.write(row(state, 1));
      }
      const seen: string[] = [];
      for await (const r of allRows(s.identities, { pageSize: 10 })) seen.push(r.identityId);
      assert.deepEqual(seen, [...ids].sort());
      const first = await s.identities.page({ limit: 5 });
      const next = await s.identities.page({ after: first.at(-1)!.identityId, limit: 5 });
      assert.deepEqual(
        [...first, ...next].map((r) => r.identityId),
        [...ids].sort().slice(0, 10),
      );
      const active = await s.identities.page({ limit: 100, phases: ['active'] });
      assert.equal(active.length, ids.filter((_, i) => i % 3 === 0).length);
      assert.ok(active.every((r) => r.phase === 'active'));
    });

    it('countManaged and countActive count exactly what isManagedIdentity and isActiveIdentityRow say', async () => {
      const { store: s } = await fresh();
      const today = '2026-05-10';
      const cases: PersonState[] = [];
      const add = (id: string, over: Partial<HrRecord>, tweak?: (st: PersonState) => void) => {
        const st = stateOf(id, hr(id, over));
        tweak?.(st);
        cases.push(st);
      };
      add('E1', {});
      add('E2', { startDate: '2026-06-01' }); // not started
      add('E3', { endDate: '2026-05-09' }); // ended yesterday
      add('E4', { endDate: '2026-05-10' }); // last day today
      add('E5', { endDate: '9999-12-31' }); // no end
      add('E6', {}, (st) => {
        st.phase = 'deleted';
        st.stage = 'deleted';
      });
      // A staff education row waiting for HR: no record to plan with, not managed.
      const waiting = initialState('E7');
      accept(
        waiting,
        {
          source: 'education',
          record: {
            hrEmployeeId: 'E7',
            firstNames: 'Ville',
            lastName: 'Opettaja',
            schoolCode: 'K01',
            startDate: '2026-01-01',
          },
        },
        t0,
      );
      cases.push(waiting);
      for (const st of cases) await s.identities.write(row(st, 1));
      const rows = [...(await s.identities.getMany(cases.map((c) => c.employeeId))).values()];
      assert.equal(rows.length, cases.length);
      assert.equal(await s.identities.countManaged(), rows.filter(isManagedIdentity).length);
      assert.equal(await s.identities.countManaged(), 5);
      assert.equal(
        await s.identities.countActive(today),
        rows.filter((r) => isActiveIdentityRow(r, today)).length,
      );
      assert.equal(await s.identities.countActive(today), 3);
      // The guard's denominator: the read model's, plus index entries it has no row of yet.
      await s.put('E8', 'fp', 'hr', { startDate: '2026-01-01' });
      await s.put('E3', 'fp', 'hr', { startDate: '2026-01-01' }); // a row says ended: not counted twice
      assert.equal(await s.countActive(today), 4);
    });

    it('remove forgets the identity', async () => {
      const { store: s } = await fresh();
      await s.identities.write(row(stateOf('E1001'), 1));
      await s.identities.remove('E1001');
      await s.identities.remove('E1001'); // absent: no error
      assert.equal(await s.identities.get('E1001'), undefined);
      assert.equal(await s.identities.countManaged(), 0);
    });

    it('records are sealed at rest; once the key is destroyed the row reads without them', async () => {
      const destroyed = new Set<string>();
      const { store: s, rawPersonal } = await fresh(markingSealer(destroyed));
      const written = row(stateOf('E1001'), 1);
      await s.identities.write(written);
      const raw = await rawPersonal('E1001');
      assert.match(raw, /^sealed:E1001:/);
      assert.doesNotMatch(raw, /Ääpälä|Anna/);
      assert.deepEqual(await s.identities.get('E1001'), written);
      destroyed.add('E1001');
      const shredded = await s.identities.get('E1001');
      assert.deepEqual(shredded?.records, {});
      assert.equal(shredded?.record, undefined);
      assert.equal(shredded?.stage, written.stage);
    });

    it('a rebuild from the final states equals the model the live writes left', async () => {
      // Live: every state change written in order (some twice, as retried activities are).
      const { store: live } = await fresh();
      const finals: IdentityRow[] = [];
      for (let p = 0; p < 12; p++) {
        const id = `E${3000 + p}`;
        const state = stateOf(id);
        let version = 0;
        await live.identities.write(row(state, ++version));
        const ref = onRunStarted(state, 'joiner', t0 + 1000);
        await live.identities.write(row(state, ++version));
        if (p % 2 === 0) {
          accept(state, { record: hr(id, { jobCode: 'DOCTOR' }), source: 'hr' }, t0 + 2000);
          const r = row(state, ++version);
          await live.identities.write(r);
          await live.identities.write(r);
        }
        onRunFinished(
          state,
          ref,
          {
            phase: 'active',
            schedule: { provisionAt: 'a', startAt: 'b' },
            applied: [],
            appliedVersion: state.version,
          },
          t0 + 3000,
        );
        finals.push(row(state, ++version));
        await live.identities.write(finals.at(-1)!);
      }
      const liveRows: IdentityRow[] = [];
      for await (const r of allRows(live.identities)) liveRows.push(r);
      const liveStore = live;
      store = undefined; // keep the live store open beside the rebuilt one
      const { store: rebuilt } = await fresh();
      for (const r of [...finals].reverse()) await rebuilt.identities.write(r);
      const rebuiltRows: IdentityRow[] = [];
      for await (const r of allRows(rebuilt.identities)) rebuiltRows.push(r);
      assert.deepEqual(rebuiltRows, liveRows);
      await liveStore.close();
    });
  });
}
