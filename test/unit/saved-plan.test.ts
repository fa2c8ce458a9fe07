import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { HrRecord } from '../../src/domain/record';
import { readSavedPlan, toSaved, writeSavedPlan, type SavedPlan } from '../../src/simulate/saved';
import { throwawayIdentityKeys } from '../support/throwaway-keys';

// Saved plans hold HR records and are applied as they say: 0600 always, and an edited plan is
// refused by `plan apply` with the problem named.

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-saved-plan-'));
const keys = throwawayIdentityKeys();
after(async () => {
  await keys.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const record: HrRecord = {
  employeeId: 'E7001',
  firstNames: 'Oskari',
  lastName: 'Vähäkangas',
  jobTitle: 'Opettaja',
  jobCode: 'TEACHER',
  orgUnit: 'KASVO-100',
  employmentType: 'permanent',
  startDate: '2026-08-01',
};

const plan = (): SavedPlan =>
  toSaved(
    {
      kind: 'record',
      asOf: '2026-12-01T10:00:00.000Z',
      taskQueue: 'tunnus',
      policy: { sha256: 'abc', file: '/etc/tunnus/policy.yaml' },
      records: [record],
      summary: {} as SavedPlan['summary'],
    },
    [],
  );
let n = 0;
const fresh = () => path.join(dir, `plan-${++n}.json`);
const edit = (file: string, change: (json: Record<string, unknown>) => void) => {
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  change(json);
  fs.writeFileSync(file, JSON.stringify(json, null, 2));
};

describe('saved plan integrity', () => {
  it('a plan reads back as written, 0600, even over a world-readable file of the same name', async () => {
    const file = fresh();
    fs.writeFileSync(file, 'old', { mode: 0o644 });
    const saved = plan();
    await writeSavedPlan(file, saved, keys);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(await readSavedPlan(file, keys), saved);
  });

  it('a record edited after saving is refused: integrity check failed', async () => {
    const file = fresh();
    await writeSavedPlan(file, plan(), keys);
    edit(file, (json) => {
      (json.records as HrRecord[])[0]!.orgUnit = 'SOTE-999';
    });
    await assert.rejects(readSavedPlan(file, keys), /changed after it was saved \(integrity check failed\)/);
  });

  it('a plan with its integrity field removed is refused as having no integrity check', async () => {
    const file = fresh();
    await writeSavedPlan(file, plan(), keys);
    edit(file, (json) => delete json.integrity);
    await assert.rejects(readSavedPlan(file, keys), /has no integrity check \(integrity\)/);
  });

  it('a forged MAC and a plan from another key store are refused', async () => {
    const file = fresh();
    await writeSavedPlan(file, plan(), keys);
    edit(file, (json) => ((json.integrity as { mac: string }).mac = 'A'.repeat(43)));
    await assert.rejects(readSavedPlan(file, keys), /integrity check failed/);

    const other = throwawayIdentityKeys();
    const foreign = fresh();
    await writeSavedPlan(foreign, plan(), other);
    await assert.rejects(readSavedPlan(foreign, keys), /is not in this key store/);
    await other.close();
  });

  it('reformatting the file (whitespace only) keeps it valid', async () => {
    const file = fresh();
    const saved = plan();
    await writeSavedPlan(file, saved, keys);
    edit(file, () => undefined); // re-serialised with other spacing
    assert.deepEqual(await readSavedPlan(file, keys), saved);
  });
});
