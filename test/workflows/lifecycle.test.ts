import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { addDays, helsinkiDate, zonedInstant } from '../../src/domain/dates';
import { managedGroups, parsePolicy } from '../../src/domain/policy';
import type { HrRecord } from '../../src/domain/record';
import { MemoryDirectory } from '../support/memory-directory';
import { WorkflowNotFoundError } from '@temporalio/client';
import { createShredActivities } from '../../src/activities/crypto-shred';
import { readPerson } from '../../src/ops/persons';
import { shredWorkflowId } from '../../src/domain/crypto-shred';
import { personWorkflowId, type PersonState } from '../../src/workflows/messages';
import { testKeys } from '../support/keys';
import { personHarness, startLifecycleWorker } from '../support/person-harness';

// Leaver, retention and rehire on the time-skipping server. Directory only (cloud and telephony
// parts of the leaver are covered against their simulators in test/integration/lifecycle.test.ts).
const policy = parsePolicy(fs.readFileSync(path.join(__dirname, '../../config/policy.yaml'), 'utf8'));
policy.roles.forEach((role) => (role.cloud = false));
policy.telephony.enabled = false;
policy.lifecycle.lastDayEndsAt = '16:00';
const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
const retentionDays = policy.lifecycle.retentionDays;

let seq = 0;
function nurse(employeeId: string, startDate: string, endDate?: string): HrRecord {
  // Distinct surnames keep each scenario's account names predictable.
  const lastName = `Lähtijä${String.fromCharCode(97 + (seq++ % 26))}`;
  return {
    employeeId,
    firstNames: 'Aino',
    lastName,
    jobTitle: 'Sairaanhoitaja',
    jobCode: 'SH01',
    orgUnit: 'SOTE-100',
    employmentType: 'permanent',
    startDate,
    ...(endDate ? { endDate } : {}),
  };
}

describe('leaver, retention and rehire on the time-skipping server', () => {
  let env: TestWorkflowEnvironment;
  let directory: MemoryDirectory;
  let taskQueue: string;
  let stop: () => Promise<void>;
  const disabledOu = `${policy.ous.disabled},DC=kerava,DC=test`;

  // A fresh time-skipping server per scenario: one scenario's people, left in retention, would
  // have their deletes and shred-{id} children fall inside a later scenario's 90-day skip, and
  // after such a shred the test server was seen to stop advancing its clock for good (the later
  // person's delete timer, armed right, never fired; alone every scenario passes).
  beforeEach(async () => {
    // The shred's activities too: the retention delete ends in shred-{id} (crypto-shredding).
    const keys = testKeys();
    ({ env, directory, taskQueue, stop } = await startLifecycleWorker(policy, 'lifecycle-test', {
      cloud: false,
      extraActivities: (parts) =>
        createShredActivities({ client: parts.env.client, store: () => parts.store, keys: () => keys }),
    }));
  });
  afterEach(() => stop());

  const harness = () => personHarness(env, taskQueue);
  const today = async () => helsinkiDate(new Date(await harness().now()));
  const deliver = (record: HrRecord) => harness().deliver(record);
  const state = (id: string) => harness().state(id);
  const skipTo = (instant: Date, offsetMs?: number) => harness().skipTo(instant, offsetMs);
  const until = (id: string, predicate: (s: PersonState) => boolean) => harness().until(id, predicate);
  /**
   * After the retention delete the person completes and shred-{id} destroys the key: the state can
   * no longer be queried (no replay decodes), so wait on the shred's result, then read as a reader does.
   */
  const shredded = async (id: string) => {
    const shred = env.client.workflow.getHandle(shredWorkflowId(id));
    for (let i = 0; ; i++) {
      try {
        await shred.describe();
        break;
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError) || i > 600) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    assert.deepEqual(await shred.result(), { outcome: 'shredded' });
    const person = await env.client.workflow.getHandle(personWorkflowId(id)).describe();
    assert.equal(person.status.name, 'COMPLETED', 'the person workflow is closed');
    assert.equal((await readPerson(env.client, id)).kind, 'shredded', 'readers answer shredded');
  };
  const lastDayEnd = (date: string) => zonedInstant(date, policy.lifecycle.lastDayEndsAt);
  const managedHeld = (id: string) =>
    directory
      .account(id)!
      .memberOf.filter((dn) => managedGroups(policy).some((g) => dn.startsWith(`CN=${g},`)));

  /** A nurse working since today, with the given last day; returns once the joiner is done. */
  const activeNurse = async (id: string, endDate?: string) => {
    const record = nurse(id, await today(), endDate);
    await deliver(record);
    await until(id, (s) => s.stage === 'active');
    return record;
  };

  it('a change HR dates ahead (effectiveDate) waits for its day, then the old role is removed', async () => {
    const id = `EF${Date.now()}`;
    const record = await activeNurse(id);
    const effectiveDate = addDays(await today(), 10);
    await deliver({ ...record, jobCode: 'LK01', jobTitle: 'Lääkäri', effectiveDate });
    await until(id, (s) => s.version === 2 && s.stage === 'updating');

    await skipTo(zonedInstant(effectiveDate, '00:00'), -HOUR);
    const groups = () => directory.account(id)!.memberOf.map((dn) => dn.split(',')[0]);
    assert.ok(groups().includes('CN=ERP-Nurse'), 'still a nurse the evening before');
    assert.ok(!groups().includes('CN=ERP-Physician'));

    await skipTo(zonedInstant(effectiveDate, '00:00'));
    await until(id, (s) => s.stage === 'active' && s.runs.every((r) => !!r.endedAt));
    assert.ok(groups().includes('CN=ERP-Physician'), 'physician from the day');
    assert.ok(!groups().includes('CN=ERP-Nurse'), 'nurse access removed, not accumulated');
    assert.equal(directory.account(id)!.title, 'Lääkäri');
  });

  it('the leaver run starts when the last working day ends at the policy time (Helsinki), not before', async () => {
    const id = `L${Date.now()}`;
    const lastDay = addDays(await today(), 10);
    await activeNurse(id, lastDay);
    const waiting = await state(id);
    assert.equal(waiting.schedule?.endAt, lastDayEnd(lastDay).toISOString());

    await skipTo(lastDayEnd(lastDay), -HOUR);
    assert.equal(directory.account(id)!.enabled, true, 'still enabled an hour before the end of the day');
    assert.equal((await state(id)).stage, 'active');

    await skipTo(lastDayEnd(lastDay));
    const left = await until(id, (s) => s.stage === 'left');
    const account = directory.account(id)!;
    assert.equal(account.enabled, false, 'disabled');
    assert.equal(account.ou, disabledOu, 'moved to the disabled OU');
    assert.deepEqual(managedHeld(id), [], 'no managed group left');
    assert.ok(left.runs.some((r) => r.kind === 'leaver' && r.outcome === 'completed'));
  });

  it('an end date moved later before the day moves the leaver timer with it', async () => {
    const id = `LM${Date.now()}`;
    const first = addDays(await today(), 5);
    const moved = addDays(first, 20);
    const record = await activeNurse(id, first);
    await deliver({ ...record, endDate: moved });
    await until(id, (s) => s.schedule?.endAt === lastDayEnd(moved).toISOString() && s.stage === 'active');

    await skipTo(lastDayEnd(first), 2 * HOUR);
    assert.equal(directory.account(id)!.enabled, true, 'still enabled after the old last day');
    await skipTo(lastDayEnd(moved));
    await until(id, (s) => s.stage === 'left');
    assert.equal(directory.account(id)!.enabled, false);
  });

  it('an end date removed before the day cancels the leaver', async () => {
    const id = `LC${Date.now()}`;
    const lastDay = addDays(await today(), 3);
    const record = await activeNurse(id, lastDay);
    const { endDate: _removed, ...withoutEnd } = record;
    await deliver(withoutEnd);
    await until(id, (s) => s.version === 2 && s.stage === 'active' && s.schedule?.endAt === undefined);

    await skipTo(lastDayEnd(lastDay), 2 * HOUR);
    const s = await state(id);
    assert.equal(s.stage, 'active');
    assert.equal(directory.account(id)!.enabled, true, 'still enabled after the cancelled last day');
    assert.ok(!s.runs.some((r) => r.kind === 'leaver'), 'no leaver run');
  });

  it('retentionDays after the actual disable the account is deleted and its names are reserved', async () => {
    const id = `LR${Date.now()}`;
    const lastDay = addDays(await today(), 1);
    await activeNurse(id, lastDay);
    await skipTo(lastDayEnd(lastDay));
    const left = await until(id, (s) => s.stage === 'left');
    const account = directory.account(id)!;
    // Retention counts from the disable the leaver recorded, not from the HR end date.
    assert.ok(left.disabledAt && Date.parse(left.disabledAt) >= lastDayEnd(lastDay).getTime());
    const deleteAt = new Date(Date.parse(left.disabledAt) + retentionDays * DAY);
    assert.equal(left.schedule?.deleteAt, deleteAt.toISOString());

    await skipTo(deleteAt, -HOUR);
    assert.ok(directory.account(id), `kept until ${retentionDays} days have passed`);
    await skipTo(deleteAt);
    await shredded(id);
    assert.equal(directory.account(id), undefined, 'account deleted');
    const reserved = [...directory.reservations.values()].find((r) => r.name === account.sAMAccountName);
    assert.ok(reserved, 'names reserved');
    assert.ok(
      reserved.addresses.includes(account.mail!.toLowerCase()) || reserved.addresses.includes(account.mail!),
    );
  });

  it('a rehire within retention gets the same account back, enabled, with the new role', async () => {
    const id = `RH${Date.now()}`;
    const lastDay = addDays(await today(), 1);
    const record = await activeNurse(id, lastDay);
    const before = directory.account(id)!;
    await skipTo(lastDayEnd(lastDay));
    await until(id, (s) => s.stage === 'left');

    const returnDay = addDays(lastDay, 20);
    await deliver({
      ...record,
      jobCode: 'LK01',
      jobTitle: 'Lääkäri',
      startDate: returnDay,
      endDate: undefined,
    });
    await skipTo(zonedInstant(returnDay, '00:00'));
    const s = await until(
      id,
      (x) => x.stage === 'active' && x.runs.some((r) => r.kind === 'rehire' && !!r.endedAt),
    );
    const after = directory.account(id)!;
    assert.equal(after.dn.split(',')[0], before.dn.split(',')[0], 'the same account');
    assert.equal(after.sAMAccountName, before.sAMAccountName, 'no name change');
    assert.equal(after.enabled, true);
    assert.notEqual(after.ou, disabledOu);
    assert.ok(
      after.memberOf.some((g) => g.startsWith('CN=ERP-Physician,')),
      'new role group',
    );
    assert.ok(!after.memberOf.some((g) => g.startsWith('CN=ERP-Nurse,')), 'old role group not back');
    assert.equal([...directory.accounts.values()].filter((a) => a.employeeId === id).length, 1);
    assert.equal(s.account?.sAMAccountName, before.sAMAccountName);
  });

  it('a rehire after deletion gets a new account, and the old names are not reused', async () => {
    const id = `RD${Date.now()}`;
    const lastDay = addDays(await today(), 1);
    const record = await activeNurse(id, lastDay);
    const old = directory.account(id)!;
    await skipTo(lastDayEnd(lastDay));
    const left = await until(id, (s) => s.stage === 'left' && !!s.schedule?.deleteAt);
    await skipTo(new Date(left.schedule!.deleteAt!));
    await shredded(id);

    // Back from today: no time skipped after the shred (the test server was seen to stop its
    // clock for good after one; on the dev server, test/integration/codec-server.test.ts rehires
    // after a shred too).
    await deliver({ ...record, startDate: await today(), endDate: undefined });
    // After the delete the person workflow closed (crypto-shredding): the rehire is a new person
    // run, a new identity, whose first run is its joiner.
    const rehired = await until(id, (s) => s.stage === 'active' && s.runs.some((r) => r.kind === 'joiner'));
    assert.deepEqual(
      rehired.runs.map((r) => r.workflowId),
      [`joiner-${id}-1`],
    );
    const fresh = directory.account(id)!;
    assert.notEqual(fresh.sAMAccountName, old.sAMAccountName, 'the old name is in quarantine');
    assert.equal(fresh.sAMAccountName, `${old.sAMAccountName}2`);
  });
});
