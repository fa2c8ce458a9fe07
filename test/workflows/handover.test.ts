import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { loadNoticeCatalogue } from '../../src/activities/notify';
import { CloudError } from '../../src/connectors/graph/errors';
import { handoverKey } from '../../src/domain/credentials';
import { addDays, helsinkiDate, startOfDay, zonedInstant } from '../../src/domain/dates';
import { parsePolicy } from '../../src/domain/policy';
import type { HrRecord } from '../../src/domain/record';
import type { MemoryDirectory } from '../support/memory-directory';
import { personHarness, startLifecycleWorker, type FakeMail } from '../support/person-harness';

// The first-day credential on the time-skipping server: the real handover activity over the
// memory directory, the cloud's pass and mail calls in memory (test/support/person-harness.ts).

const policy = parsePolicy(fs.readFileSync(path.join(__dirname, '../../config/policy.yaml'), 'utf8'));
policy.telephony.enabled = false;
const HOUR = 60 * 60 * 1000;
// Records name no language: the policy's default (fi).
const earlierVoid = loadNoticeCatalogue().notes.earlierVoid!.fi!;

function nurse(employeeId: string, startDate: string, extra: Partial<HrRecord> = {}): HrRecord {
  return {
    employeeId,
    firstNames: 'Aino',
    lastName: `Ensipaiva${employeeId}`,
    jobTitle: 'Sairaanhoitaja',
    jobCode: 'SH01',
    orgUnit: 'SOTE-110',
    employmentType: 'permanent',
    startDate,
    ...extra,
  };
}

describe('first-day credential handover on the time-skipping server', () => {
  let env: TestWorkflowEnvironment;
  let directory: MemoryDirectory;
  let mail: FakeMail;
  let taskQueue: string;
  let stop: () => Promise<void>;

  before(async () => {
    ({ env, directory, mail, taskQueue, stop } = await startLifecycleWorker(policy, 'handover', {
      cloud: true,
    }));
  });
  after(() => stop());

  const harness = () => personHarness(env, taskQueue);
  /** Handover messages about one person (the body names their user principal name). */
  const handoversOf = (id: string) => {
    const upn = directory.account(id)?.userPrincipalName;
    return mail.sent.filter((m) => !!upn && m.body.includes(upn) && m.body.includes('Temporary Access Pass'));
  };

  async function manager(id: string): Promise<{ id: string; mail: string }> {
    const today = helsinkiDate(new Date(await harness().now()));
    await harness().deliver(nurse(id, today, { jobCode: 'SH02', firstNames: 'Liisa' }));
    await harness().until(id, (s) => s.stage === 'active');
    return { id, mail: directory.account(id)!.mail! };
  }

  it('a future start date: nothing is handed over before the day, and on the day exactly once', async () => {
    const boss = await manager(`HM${Date.now()}`);
    const id = `HF${Date.now()}`;
    const today = helsinkiDate(new Date(await harness().now()));
    const startDate = addDays(today, 30);
    await harness().deliver(nurse(id, startDate, { managerId: boss.id }));
    await harness().until(id, (s) => s.stage === 'joining');

    // The account is made preHireDays early, disabled: still no credential, no pass, no ledger row.
    await harness().skipTo(startOfDay(addDays(startDate, -policy.lifecycle.preHireDays)));
    await harness().until(id, () => directory.account(id) !== undefined);
    await harness().skipTo(new Date(startOfDay(startDate).getTime() - 2 * HOUR));
    assert.equal(directory.account(id)!.enabled, false);
    assert.equal(handoversOf(id).length, 0, 'no credential before the start day');
    assert.equal(mail.passes.has(id), false, 'no pass before the start day');
    assert.equal(await mail.ledger.get(handoverKey(id, startDate)), undefined);

    await harness().skipTo(startOfDay(startDate));
    const done = await harness().until(id, (s) => s.stage === 'active');
    const messages = handoversOf(id);
    assert.equal(messages.length, 1, 'exactly one credential message');
    const [message] = messages;
    assert.deepEqual(message!.to, [boss.mail], "to the manager's own address");
    assert.equal(message!.from, policy.mail!.senderMailbox);
    assert.ok(message!.at >= startOfDay(startDate).getTime(), 'sent on the start day, not before');
    assert.ok(message!.body.includes(mail.passes.get(id)!.value), 'the active pass');
    assert.ok(!message!.body.includes(earlierVoid), 'a first issue voids nothing');
    // Then the manager hears the account is ready: once, on the day, after the credential.
    const ready = mail.notices.filter((n) => n.key === `ready:${id}:${startDate}`);
    assert.equal(ready.length, 1, 'one account-ready notice');
    assert.equal(ready[0]!.template, 'account-ready');
    assert.deepEqual(ready[0]!.to, { manager: boss.id, unit: 'SOTE-110' });
    assert.deepEqual(ready[0]!.vars, { employeeId: id, startDate });
    assert.ok(ready[0]!.at >= message!.at, 'after the credential');
    const run = done.runs.at(-1)!;
    assert.equal(run.kind, 'joiner');
    const entry = await mail.ledger.get(handoverKey(id, startDate));
    assert.equal(entry?.issues, 1);
    assert.equal(entry?.status, 'delivered');

    // A later change (a mover) hands nothing over again.
    await harness().deliver(nurse(id, startDate, { managerId: boss.id, jobTitle: 'Osastonhoitaja' }));
    await harness().until(id, (s) => s.runs.length >= 2 && s.runs.every((r) => !!r.endedAt));
    await harness().idle(id);
    assert.equal(handoversOf(id).length, 1, 'still exactly one');
    assert.equal(mail.notices.filter((n) => n.key.startsWith(`ready:${id}:`)).length, 1);
  });

  it('a delivery that fails after the pass was set: the retry issues a fresh pass and says the earlier is void', async () => {
    const id = `HR${Date.now()}`;
    const today = helsinkiDate(new Date(await harness().now()));
    let failed = 0;
    mail.failNextSend = () => {
      failed++;
      return new CloudError('sendMail: 503', { kind: 'unavailable', retryable: true, status: 503 });
    };
    await harness().deliver(nurse(id, today));
    await harness().until(id, (s) => s.stage === 'active');
    assert.equal(failed, 1, 'the first send failed');
    const messages = handoversOf(id);
    assert.equal(messages.length, 1, 'one message went out');
    assert.deepEqual(messages[0]!.to, ['sote-esihenkilot@kerava.fi'], "no manager: the unit's fallback");
    assert.ok(messages[0]!.body.includes(mail.passes.get(id)!.value), 'the pass now active');
    assert.equal(mail.passesCreated(id), 2, 'a second pass replaced the first');
    assert.ok(messages[0]!.body.includes(earlierVoid), 'the message says the earlier one is void');
    assert.equal((await mail.ledger.get(handoverKey(id, today)))?.issues, 2);
  });
  it('a rehire within retention gets a fresh credential for its new start date, on that day', async () => {
    const id = `HH${Date.now()}`;
    const today = helsinkiDate(new Date(await harness().now()));
    const lastDay = addDays(today, 1);
    const first = nurse(id, today, { endDate: lastDay });
    await harness().deliver(first);
    await harness().until(id, (s) => s.stage === 'active');
    assert.equal(handoversOf(id).length, 1, 'the joiner got one');
    await harness().skipTo(zonedInstant(lastDay, policy.lifecycle.lastDayEndsAt));
    await harness().until(id, (s) => s.stage === 'left');

    const returnDay = addDays(lastDay, 20);
    await harness().deliver({ ...first, startDate: returnDay, endDate: undefined });
    await harness().skipTo(new Date(startOfDay(returnDay).getTime() - 2 * HOUR));
    assert.equal(handoversOf(id).length, 1, 'nothing before the return day');
    await harness().skipTo(startOfDay(returnDay));
    await harness().until(
      id,
      (s) => s.stage === 'active' && s.runs.some((r) => r.kind === 'rehire' && !!r.endedAt),
    );
    const messages = handoversOf(id);
    assert.equal(messages.length, 2, 'one more for the rehire');
    assert.ok(messages[1]!.at >= startOfDay(returnDay).getTime(), 'on the return day');
    assert.ok(messages[1]!.body.includes(mail.passes.get(id)!.value), 'the pass now active');
    assert.ok(!messages[1]!.body.includes(earlierVoid), 'a new start date is a first issue');
    assert.equal((await mail.ledger.get(handoverKey(id, returnDay)))?.issues, 1);
    assert.equal(mail.notices.filter((n) => n.key === `ready:${id}:${returnDay}`).length, 1);
  });
});
