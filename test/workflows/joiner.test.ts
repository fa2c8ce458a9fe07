import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { addDays, helsinkiDate, startOfDay } from '../../src/domain/dates';
import { parsePolicy } from '../../src/domain/policy';
import type { HrRecord } from '../../src/domain/record';
import { provisionStatusQuery, type PersonState } from '../../src/workflows/messages';
import { MemoryDirectory } from '../support/memory-directory';
import { personHarness, startDirectoryWorker } from '../support/person-harness';
import fs from 'node:fs';
import path from 'node:path';

// Directory only: cloud and telephony steps are covered against their simulators elsewhere.
const policy = parsePolicy(fs.readFileSync(path.join(__dirname, '../../config/policy.yaml'), 'utf8'));
policy.roles.forEach((role) => (role.cloud = false));
policy.telephony.enabled = false;
const DAY = 24 * 60 * 60 * 1000;

function nurse(employeeId: string, startDate: string): HrRecord {
  return {
    employeeId,
    firstNames: 'Aino Maria',
    lastName: 'Ääpälä',
    jobTitle: 'Sairaanhoitaja',
    jobCode: 'SH01',
    orgUnit: 'SOTE-100',
    employmentType: 'permanent',
    startDate,
  };
}

describe('joiner on the time-skipping server', () => {
  let env: TestWorkflowEnvironment;
  let directory: MemoryDirectory;
  let taskQueue: string;
  let stop: () => Promise<void>;

  before(async () => {
    ({ env, directory, taskQueue, stop } = await startDirectoryWorker(policy, 'joiner-test'));
  });
  after(() => stop());

  const harness = () => personHarness(env, taskQueue);
  const now = () => harness().now();
  const start = (record: HrRecord) => harness().deliver(record);
  const state = (id: string) => harness().state(id);
  const skipTo = (instant: Date, extraMs?: number) => harness().skipTo(instant, extraMs);
  const until = (id: string, predicate: (s: PersonState) => boolean) => harness().until(id, predicate);

  it('a future start date creates the account preHireDays early, disabled, and enables it on the day', async () => {
    const id = `F${Date.now()}`;
    const today = helsinkiDate(new Date(await now()));
    const startDate = addDays(today, 30);
    await start(nurse(id, startDate));
    await until(id, (s) => s.stage === 'joining');
    assert.equal(directory.account(id), undefined, 'nothing is created 30 days ahead');

    await skipTo(startOfDay(addDays(startDate, -policy.lifecycle.preHireDays)));
    await until(id, () => directory.account(id) !== undefined);
    const early = directory.account(id)!;
    assert.equal(early.enabled, false, 'created disabled before the start date');
    assert.equal(early.sAMAccountName, 'aino.aapala');
    assert.ok(
      early.memberOf.some((g) => g.startsWith('CN=ERP-Nurse,')),
      'role groups granted at creation',
    );

    await skipTo(startOfDay(startDate));
    const done = await until(id, (s) => s.stage === 'active');
    assert.equal(directory.account(id)!.enabled, true, 'enabled on the start date');
    assert.ok((await now()) >= startOfDay(startDate).getTime());
    assert.equal(done.account?.sAMAccountName, 'aino.aapala');
  });

  it('a later record that moves the start date moves the enable timer with it', async () => {
    const id = `M${Date.now()}`;
    const today = helsinkiDate(new Date(await now()));
    const first = addDays(today, 5);
    const moved = addDays(today, 12);
    await start(nurse(id, first));
    await until(id, () => directory.account(id) !== undefined); // within preHireDays: created now
    const child = env.client.workflow.getHandle(`joiner-${id}-1`);
    const detailBecomes = async (detail: string) => {
      for (let i = 0; i < 200; i++) {
        if ((await child.query(provisionStatusQuery)).detail === detail) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal((await child.query(provisionStatusQuery)).detail, detail);
    };
    // The groups step may still be running when the account appears.
    await detailBecomes(`waiting for start date ${first}`);

    await start(nurse(id, moved));
    await detailBecomes(`waiting for start date ${moved}`);
    await skipTo(startOfDay(first), DAY);
    assert.equal(directory.account(id)!.enabled, false, 'not enabled on the old start date');
    assert.equal((await state(id)).stage, 'joining');

    await skipTo(startOfDay(moved));
    await until(id, (s) => s.stage === 'active');
    assert.equal(directory.account(id)!.enabled, true, 'enabled on the new start date');
  });

  it('the same record delivered twice starts no second run', async () => {
    const id = `D${Date.now()}`;
    const today = helsinkiDate(new Date(await now()));
    const record = nurse(id, today);
    await start(record);
    await until(id, (s) => s.stage === 'active');
    const writesBefore = directory.writes.filter((w) => w.endsWith(` ${id}`)).length;
    await start({ ...record });
    const s = await until(id, (x) => x.duplicatesIgnored === 1);
    assert.equal(s.runs.length, 1, 'one joiner run only');
    assert.equal(s.recordsReceived, 2);
    assert.equal(directory.writes.filter((w) => w.endsWith(` ${id}`)).length, writesBefore, 'no new writes');
  });
});
