import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { deliverRecord } from '../../src/ops/persons';
import { addDays, helsinkiDate, zonedInstant } from '../../src/domain/dates';
import type { EducationRecord } from '../../src/domain/education';
import { recordFingerprint } from '../../src/domain/fingerprint';
import { parsePolicy } from '../../src/domain/policy';
import type { HrRecord } from '../../src/domain/record';
import { personWorkflowId, recordSignal, type PersonState } from '../../src/workflows/messages';
import { personWorkflow } from '../../src/workflows/person';
import { MemoryDirectory } from '../support/memory-directory';
import { personHarness, startDirectoryWorker } from '../support/person-harness';

// The education source on the time-skipping server: one identity for a teacher known to both
// systems (in either order), a pupil's class move, a pupil's end date. Directory only; cloud
// scoping against the Graph simulator is in test/integration/education.test.ts.
const policy = parsePolicy(fs.readFileSync(path.join(__dirname, '../../config/policy.yaml'), 'utf8'));
policy.roles.forEach((role) => (role.cloud = false));
policy.telephony.enabled = false;
const HOUR = 60 * 60 * 1000;

let seq = 0;
const uniqueName = () => `Koulu${String.fromCharCode(97 + (seq++ % 26))}${seq}`;

function teacherHr(employeeId: string, startDate: string): HrRecord {
  return {
    employeeId,
    firstNames: 'Maija Liisa',
    callingName: 'Liisa',
    lastName: uniqueName(),
    jobTitle: 'Lehtori',
    jobCode: 'OP01',
    orgUnit: 'KASV-210',
    employmentType: 'permanent',
    startDate,
  };
}

const teacherRow = (hrEmployeeId: string, startDate: string, schoolCode = 'K01'): EducationRecord => ({
  hrEmployeeId,
  firstNames: 'Maija',
  lastName: 'Kouluope', // differs from HR on purpose: HR's name must win
  schoolCode,
  startDate,
});

const pupilRow = (studentId: string, cls: string, startDate: string, endDate?: string): EducationRecord => ({
  studentId,
  firstNames: 'Ella Sofia',
  lastName: uniqueName(),
  schoolCode: 'K01',
  class: cls,
  startDate,
  ...(endDate ? { endDate } : {}),
});

describe('education source on the time-skipping server', () => {
  let env: TestWorkflowEnvironment;
  let directory: MemoryDirectory;
  let taskQueue: string;
  let stop: () => Promise<void>;
  const base = 'DC=kerava,DC=test';

  before(async () => {
    ({ env, directory, taskQueue, stop } = await startDirectoryWorker(policy, 'education-test'));
  });
  after(() => stop());

  const harness = () => personHarness(env, taskQueue);
  const today = async () => helsinkiDate(new Date(await harness().now()));
  const hr = (record: HrRecord) => deliverRecord(env.client, record, 'hr', taskQueue);
  const edu = (record: EducationRecord) => deliverRecord(env.client, record, 'education', taskQueue);
  const until = (id: string, predicate: (s: PersonState) => boolean) => harness().until(id, predicate);
  const settled = (id: string, runs: number) =>
    until(id, (s) => s.runs.length >= runs && s.runs.every((r) => !!r.endedAt));
  const groupsOf = (id: string) =>
    directory
      .account(id)!
      .memberOf.map((dn) => dn.split(',')[0]!.slice(3))
      .sort();
  const accountsOf = (id: string) => [...directory.accounts.values()].filter((a) => a.employeeId === id);

  for (const order of ['HR first', 'education first'] as const) {
    it(`a teacher in both sources (${order}) is one identity with one account and both roles' groups`, async () => {
      const id = `T${order === 'HR first' ? 'H' : 'E'}${Date.now()}`;
      const start = addDays(await today(), -30);
      const hrRecord = teacherHr(id, start);
      if (order === 'HR first') {
        await hr(hrRecord);
        await settled(id, 1);
        await edu(teacherRow(id, start));
      } else {
        await edu(teacherRow(id, start));
        const waiting = await until(id, (s) => s.recordsReceived === 1);
        assert.equal(waiting.record, undefined, 'a staff row alone makes no person');
        assert.equal(waiting.runs.length, 0);
        assert.equal(directory.account(id), undefined, 'no account from the education row alone');
        await hr(hrRecord);
      }
      const s = await until(id, (st) => st.stage === 'active' && groupsOf(id).includes('Teachers-K01'));
      assert.equal(accountsOf(id).length, 1, 'exactly one account');
      assert.deepEqual(groupsOf(id), ['All-Staff', 'Teachers', 'Teachers-K01']);
      assert.equal(directory.account(id)!.sn, hrRecord.lastName, 'HR wins the shared attributes');
      assert.equal(directory.account(id)!.ou, `OU=Education,OU=Staff,OU=Tunnus,${base}`);
      assert.deepEqual(s.record?.sources, ['hr', 'education']);
      assert.deepEqual(Object.keys(s.records ?? {}).sort(), ['education', 'hr']);
      // Per-source de-duplication: the same row again from either source starts nothing.
      await edu(teacherRow(id, start));
      await hr(hrRecord);
      const again = await until(id, (st) => st.recordsReceived === 4);
      assert.equal(again.duplicatesIgnored, 2);
      assert.equal(again.runs.length, s.runs.length);
    });
  }

  it('a pupil moving class leaves the old class group and joins the new one (created on demand)', async () => {
    const studentId = `${Date.now()}`;
    const id = `S-${studentId}`;
    const start = addDays(await today(), -10);
    const row = pupilRow(studentId, '7A', start);
    await edu(row);
    await until(id, (s) => s.stage === 'active');
    assert.equal(directory.account(id)!.ou, `OU=Pupils,OU=Tunnus,${base}`);
    assert.equal(directory.account(id)!.title, 'Oppilas', 'title from the policy');
    assert.deepEqual(groupsOf(id), ['Class-K01-7A', 'Pupils-K01']);
    assert.ok(directory.writes.includes('createGroup Class-K01-7A'));

    await edu({ ...row, class: '7B' });
    await until(id, (s) => s.runs.length === 2 && s.runs.every((r) => !!r.endedAt));
    assert.deepEqual(groupsOf(id), ['Class-K01-7B', 'Pupils-K01'], 'old class group removed');
    assert.equal(directory.groups.get('Class-K01-7B'), `CN=Class-K01-7B,OU=Groups,OU=Tunnus,${base}`);
    assert.equal(accountsOf(id).length, 1);
  });

  it("a pupil's end date runs the leaver with the pupils' retention (30 days), then deletes", async () => {
    const studentId = `${Date.now()}`;
    const id = `S-${studentId}`;
    const start = addDays(await today(), -100);
    const end = addDays(await today(), 2);
    await edu(pupilRow(studentId, '9C', start, end));
    const active = await until(id, (s) => s.stage === 'active');
    const endAt = zonedInstant(end, policy.lifecycle.lastDayEndsAt);
    assert.equal(active.schedule?.endAt, endAt.toISOString());
    // Retention counts from the actual disable: no deletion date before the leaver has run.
    assert.equal(active.schedule?.deleteAt, undefined);

    await harness().skipTo(endAt, -HOUR);
    assert.equal(directory.account(id)!.enabled, true, 'still a pupil on the last day');
    await harness().skipTo(endAt);
    const left = await until(id, (s) => s.stage === 'left');
    assert.equal(left.runs.at(-1)!.kind, 'leaver');
    assert.equal(directory.account(id)!.enabled, false);
    assert.equal(directory.account(id)!.ou, `${policy.ous.disabled},${base}`);
    assert.deepEqual(groupsOf(id), [], 'school and class groups removed');
    const deleteAt = Date.parse(left.disabledAt!) + 30 * 24 * HOUR;
    assert.equal(
      left.schedule?.deleteAt,
      new Date(deleteAt).toISOString(),
      'pupils: 30 days from the disable',
    );

    await harness().skipTo(new Date(deleteAt));
    const gone = await until(id, (s) => s.stage === 'deleted');
    assert.equal(gone.runs.at(-1)!.kind, 'delete');
    assert.equal(
      directory.account(id),
      undefined,
      'deleted after the pupils retention, not the default 90 days',
    );
  });

  it('state carried from before the education source (one HR record) merges with a later education row', async () => {
    const id = `L${Date.now()}`;
    const start = addDays(await today(), -30);
    const hrRecord = teacherHr(id, start);
    // What a person workflow held before: `record` and `fingerprint`, no `records`.
    const legacy: PersonState = {
      employeeId: id,
      stage: 'received',
      source: 'hr',
      record: hrRecord,
      fingerprint: recordFingerprint(hrRecord),
      version: 0,
      recordsReceived: 1,
      duplicatesIgnored: 0,
      runs: [],
      timeline: [],
      runSeq: 0,
    };
    await env.client.workflow.signalWithStart(personWorkflow, {
      workflowId: personWorkflowId(id),
      taskQueue,
      args: [{ employeeId: id, state: legacy }],
      signal: recordSignal,
      signalArgs: [{ record: hrRecord, source: 'hr' }],
    });
    const dup = await until(id, (s) => s.recordsReceived === 2);
    assert.equal(dup.duplicatesIgnored, 1, 'the carried fingerprint still drops the same HR record');
    assert.deepEqual(dup.records, { hr: hrRecord });

    await edu(teacherRow(id, start, 'K07'));
    await until(id, (s) => s.stage === 'active');
    assert.deepEqual(groupsOf(id), ['All-Staff', 'Teachers', 'Teachers-K07']);
  });
});
