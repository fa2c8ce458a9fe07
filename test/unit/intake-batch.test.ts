import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { MemoryIntake } from '../../src/api/memory-intake';
import { parseEducationRecord } from '../../src/domain/education';
import { identityIdOf, type SourceRecord } from '../../src/domain/identity';
import { parsePolicy } from '../../src/domain/policy';
import type { HrRecord } from '../../src/domain/record';
import { createRecordDelivery, deliverAdmitted } from '../../src/ops/intake';
import type { RecordStore } from '../../src/store/import-staging';
import { sealRecordStore } from '../../src/store/sealed-store';
import { openSqliteIndex } from '../../src/store/sqlite-index';
import type { Source } from '../../src/workflows/messages';
import { throwawayIdentityKeys } from '../support/throwaway-keys';

// The intake use-case's two forms share their rules: the same unchanged test, the same index entry,
// the index written only after the person workflow has the record. The single form (PUT, hire, plan
// apply) and the batch form (imports, the held set's release) over the same sealed store.

const policy = parsePolicy(fs.readFileSync(path.resolve(__dirname, '../../config/policy.yaml'), 'utf8'));
const nurse = (id: string, extra: Partial<HrRecord> = {}): HrRecord => ({
  employeeId: id,
  firstNames: 'Aino',
  lastName: 'Testinen',
  jobTitle: 'Sairaanhoitaja',
  jobCode: 'SH01',
  orgUnit: 'SOTE-110',
  employmentType: 'permanent',
  startDate: '2030-01-01',
  ...extra,
});
const parsedPupil = parseEducationRecord({
  studentId: '123456',
  firstNames: 'Eetu',
  lastName: 'Oppilas',
  schoolCode: 'KOULU-1',
  class: '7A',
  startDate: '2030-08-10',
});
assert.ok(parsedPupil.ok);
const pupil = parsedPupil.value;

const keys = throwawayIdentityKeys();
const sealed = (): RecordStore =>
  sealRecordStore(openSqliteIndex({ file: ':memory:' }), keys, { ownsKeys: false });
const entry = async (store: RecordStore, key: string) => {
  const e = await store.get(key);
  return e && { ...e, updatedAt: undefined };
};

/** A person workflow per identity, counting what reaches it. */
function workflows() {
  const received: { id: string; source: Source }[] = [];
  return {
    received,
    deliver: async (record: SourceRecord, source: Source) => {
      received.push({ id: identityIdOf(source, record), source });
      return `person-${identityIdOf(source, record)}`;
    },
  };
}

describe('the intake use-case: one set of rules for single records and batches', () => {
  it('the same record through either form leaves the same index entry, and again reaches no workflow', async () => {
    const [a, b] = [sealed(), sealed()];
    const wa = workflows();
    const wb = workflows();
    const intake = new MemoryIntake();
    const single = createRecordDelivery({
      port: {
        deliver: wa.deliver,
        personState: (id) => intake.personState(id),
        hold: (c) => intake.hold(c),
        dropHeld: (id) => intake.dropHeld(id),
      },
      index: a,
      policy,
    });
    const record = nurse('E7001');
    assert.equal((await single.deliver(record, 'hr', 'api:hr')).status, 'accepted');
    const batch = await deliverAdmitted({ index: b, deliver: wb.deliver }, [{ record, source: 'hr' }]);
    assert.equal(batch.delivered.length, 1);
    // Fingerprints are keyed by the person's key, the same key in both stores: equal entries.
    assert.deepEqual(await entry(a, 'E7001'), await entry(b, 'E7001'));
    assert.equal((await a.get('E7001'))?.startDate, '2030-01-01');

    // Unchanged through either form, whichever delivered it: nothing reaches a workflow.
    assert.equal((await single.deliver(record, 'hr', 'api:hr')).status, 'unchanged');
    const again = await deliverAdmitted({ index: a, deliver: wa.deliver }, [{ record, source: 'hr' }]);
    assert.deepEqual([again.unchanged.length, again.delivered.length], [1, 0]);
    assert.equal(wa.received.length, 1);
    assert.equal(wb.received.length, 1);
    await Promise.all([a.close(), b.close()]);
  });

  it('a batch delivers only the changed, and indexes only what the workflows took', async () => {
    const store = sealed();
    const w = workflows();
    const people = ['E7101', 'E7102', 'E7103'].map((id) => nurse(id));
    await deliverAdmitted(
      { index: store, deliver: w.deliver },
      people.map((record) => ({ record, source: 'hr' as const })),
    );
    const changed = [people[0]!, nurse('E7102', { jobTitle: 'Osastonhoitaja' }), people[2]!];
    const rejected = new Error('rejected by Temporal');
    const outcome = await deliverAdmitted(
      {
        index: store,
        deliver: async (record, source) => {
          if ((record as HrRecord).employeeId === 'E7104') throw rejected;
          return w.deliver(record, source);
        },
        isRejected: (err) => err === rejected,
      },
      [...changed, nurse('E7104')].map((record, line) => ({ record, source: 'hr' as const, line })),
    );
    assert.deepEqual(
      [
        outcome.unchanged.length,
        outcome.delivered.map((i) => i.line),
        outcome.failed.map((f) => f.item.line),
      ],
      [2, [1], [3]],
    );
    assert.equal(await store.get('E7104'), undefined, 'a record the workflow did not take is not indexed');
    assert.equal(w.received.filter((r) => r.id === 'E7102').length, 2);
    await store.close();
  });

  it("a failure that is not the record's own is thrown and indexes none of the batch: the retry delivers again", async () => {
    const store = sealed();
    const w = workflows();
    let down = true;
    const deliver = async (record: SourceRecord, source: Source) => {
      if (down && (record as HrRecord).employeeId === 'E7202') throw new Error('UNAVAILABLE');
      return w.deliver(record, source);
    };
    const items = ['E7201', 'E7202', 'E7203'].map((id) => ({ record: nurse(id), source: 'hr' as const }));
    await assert.rejects(deliverAdmitted({ index: store, deliver, concurrency: 1 }, items), /UNAVAILABLE/);
    assert.equal(await store.count(), 0, 'nothing indexed');
    down = false;
    const retry = await deliverAdmitted({ index: store, deliver }, items);
    assert.deepEqual([retry.delivered.length, retry.unchanged.length], [3, 0]);
    assert.equal(await store.count(), 3);
    await store.close();
  });

  it('an education row is keyed and indexed as its identity, through either form', async () => {
    const store = sealed();
    const w = workflows();
    await deliverAdmitted({ index: store, deliver: w.deliver }, [{ record: pupil, source: 'education' }]);
    const id = identityIdOf('education', pupil);
    assert.deepEqual(w.received, [{ id, source: 'education' }]);
    const e = await store.get(id);
    assert.equal(e?.source, 'education');
    assert.equal(e?.startDate, '2030-08-10');
    await store.close();
  });
});
