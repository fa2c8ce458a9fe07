import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deliverRecord, personState } from '../../src/ops/persons';
import { licenceReport } from '../../src/ops/licences';
import { parseEnv } from '../../src/config';
import { openRecordIndex } from '../../src/store/open';
import { helsinkiDate } from '../../src/domain/dates';
import type { HrRecord } from '../../src/domain/record';
import { provisionStatusQuery, type PersonState } from '../../src/workflows/messages';
import { phoneSyncWorkflow } from '../../src/workflows/phone-sync';
import { NativeConnection } from '@temporalio/worker';
import { buildWorker } from '../../src/worker';
import { ensurePhoneSyncSchedule } from '../../src/ops/schedules';
import { eventually, startStack, type Stack } from '../support/stack';
import { workflowBundle } from '../support/temporal';

// The full joiner — AD → cloud user → licences → mailbox → telephony — against Samba AD and the
// Graph and telephony simulators, including the failures the real services produce.

const runId = Date.now().toString(36).toUpperCase();
let seq = 0;
const nextId = (prefix: string) => `${prefix}${runId}-${++seq}`;

function nurse(employeeId: string, lastName: string): HrRecord {
  return {
    employeeId,
    firstNames: 'Aino',
    lastName: `${lastName}${runId}`,
    jobTitle: 'Sairaanhoitaja',
    jobCode: 'SH01',
    orgUnit: 'SOTE-110',
    employmentType: 'permanent',
    startDate: helsinkiDate(new Date()),
  };
}

describe('full joiner against Samba AD and the Graph and telephony simulators', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
    await stack.startWorker();
  });
  after(async () => {
    await stack.close();
  });

  const settled = (id: string, timeoutMs = 60_000) =>
    eventually(
      () => personState(stack.client, id),
      (s) => !!s && ['active', 'failed'].includes(s.stage) && s.runs.every((r) => r.endedAt),
      timeoutMs,
      `person ${id} settled`,
    ) as Promise<PersonState>;
  const cloudUsers = (id: string) => stack.sims.graph.state.listUsers().filter((u) => u.employeeId === id);
  const e3 = async () => (await stack.cloud.listSubscribedSkus()).find((s) => s.skuPartNumber === 'SPE_E3')!;

  async function hire(id: string, lastName: string): Promise<PersonState> {
    await stack.sims.phone.admin.assignNumbers(id, [
      { type: 'work', e164: `+35892949${String(seq).padStart(4, '0')}`, primary: true },
      { type: 'mobile', e164: `+35840${String(seq).padStart(7, '0')}`, primary: true },
    ]);
    await deliverRecord(stack.client, nurse(id, lastName), 'hr', stack.taskQueue);
    return settled(id);
  }

  it('creates the cloud user, assigns the role licence, waits for the mailbox and syncs the phone', async () => {
    const id = nextId('C');
    const seatsBefore = (await e3()).consumed;
    stack.sims.graph.admin.setMailboxDelay(1500);
    try {
      const state = await hire(id, 'Pilvi');
      assert.equal(state.stage, 'active', JSON.stringify(state.lastError));
    } finally {
      stack.sims.graph.admin.setMailboxDelay(0);
    }
    const ad = await stack.directory.findByEmployeeId(id);
    const [user, ...others] = cloudUsers(id);
    assert.ok(user && ad);
    assert.equal(others.length, 0, 'one cloud user');
    assert.equal(user.userPrincipalName, ad.userPrincipalName);
    assert.equal(user.usageLocation, 'FI');
    assert.equal(user.accountEnabled, true);
    assert.equal(user.assignedLicenses.length, 1);
    assert.equal((await e3()).consumed, seatsBefore + 1, 'one SPE_E3 seat taken');
    assert.equal(await stack.cloud.mailboxReady(user.id), true);
    assert.deepEqual(ad.proxyAddresses, [`SMTP:${ad.mail}`]);
    const numbers = await stack.phone.numbersFor(id);
    const work = numbers!.find((n) => n.type === 'work')!.e164;
    const mobile = numbers!.find((n) => n.type === 'mobile')!.e164;
    assert.equal(ad.telephoneNumber, work);
    assert.equal(ad.mobile, mobile);
    assert.deepEqual(user.businessPhones, [work]);
    assert.equal(user.mobilePhone, mobile);
    const entry = await stack.phone.getCatalogueEntry(id);
    assert.equal(entry?.email, ad.mail);
    assert.equal(entry?.unit, 'SOTE-110');
  });

  it('under a 429 storm the joiner completes, honouring Retry-After, with one user and one licence', async () => {
    const id = nextId('T');
    const seatsBefore = (await e3()).consumed;
    stack.sims.graph.admin.throttleNext(6, 2); // every Graph call for the next 6 requests: 429, Retry-After 2 s
    const started = Date.now();
    const state = await hire(id, 'Ruuhka');
    const took = Date.now() - started;
    assert.equal(state.stage, 'active');
    // Six throttled calls in a row, each retried after the server's 2 s rather than the 1 s
    // default first retry: at least 6 × 2 s in total.
    assert.ok(took >= 12_000, `took ${took} ms: Retry-After was not honoured`);
    assert.equal(cloudUsers(id).length, 1);
    assert.equal(cloudUsers(id)[0]!.assignedLicenses.length, 1);
    assert.equal((await e3()).consumed, seatsBefore + 1);
  });

  it('under replication lag the joiner completes with one cloud user', async () => {
    const id = nextId('R');
    stack.sims.graph.admin.setReplicationLag(3000);
    try {
      const state = await hire(id, 'Viive');
      assert.equal(state.stage, 'active');
    } finally {
      stack.sims.graph.admin.setReplicationLag(0);
    }
    assert.equal(cloudUsers(id).length, 1);
    assert.equal(cloudUsers(id)[0]!.assignedLicenses.length, 1);
  });

  it('when a create commits and then answers 504, the retry finds the user: exactly one', async () => {
    const id = nextId('G');
    const seatsBefore = (await e3()).consumed;
    stack.sims.graph.admin.commitThen504(1, 'POST /users');
    const state = await hire(id, 'Kahdesti');
    assert.equal(state.stage, 'active');
    assert.equal(cloudUsers(id).length, 1);
    assert.equal(cloudUsers(id)[0]!.assignedLicenses.length, 1);
    assert.equal((await e3()).consumed, seatsBefore + 1, 'one licence assignment');
  });

  it('with no free seat the joiner waits visibly, and finishes on its own when a seat appears', async () => {
    const id = nextId('P');
    const sku = await e3();
    const others = (await stack.cloud.listSubscribedSkus()).map((s) => ({
      skuPartNumber: s.skuPartNumber,
      enabled: s.enabled,
    }));
    const withSeats = (n: number) =>
      others.map((s) => (s.skuPartNumber === 'SPE_E3' ? { ...s, enabled: n } : s));
    stack.sims.graph.admin.setSkus(withSeats(sku.consumed)); // pool exhausted
    await stack.sims.phone.admin.assignNumbers(id, []);
    await deliverRecord(stack.client, nurse(id, 'Odottaa'), 'hr', stack.taskQueue);
    const joiner = stack.client.workflow.getHandle(`joiner-${id}-1`);
    await eventually(
      () => joiner.query(provisionStatusQuery).catch(() => undefined),
      (s) => s?.detail === 'waiting for licence SPE_E3',
      60_000,
      'waiting for licence',
    );
    // `tunnus licences` reads the identity read model (the store the worker writes), no per-person
    // query: the earlier joiners' seats from their rows' entitlements, this one waiting.
    const store = openRecordIndex(parseEnv());
    const holders = stack.sims.graph.state
      .listUsers()
      .filter((u) => u.employeeId?.includes(runId) && u.assignedLicenses.length > 0).length;
    const report = await eventually(
      () =>
        licenceReport({
          client: stack.client,
          identities: store.identities,
          policy: stack.policy,
          taskQueue: stack.taskQueue,
        }),
      (rows) => rows.find((r) => r.sku === 'SPE_E3')?.waiting === 1,
      30_000,
      'the waiting joiner in the read model',
    ).finally(() => store.close());
    const row = report.find((r) => r.sku === 'SPE_E3');
    assert.equal(row?.free, 0);
    assert.equal(row?.waiting, 1, '`tunnus licences` shows the person waiting');
    assert.ok(holders > 0, 'earlier joiners hold seats');
    assert.equal(row?.assigned, holders, 'seats Tunnus holds = the licensed joiners of this file');
    assert.equal((await personState(stack.client, id))?.stage, 'joining', 'waiting, not failed');
    assert.equal(cloudUsers(id)[0]!.assignedLicenses.length, 0);

    stack.sims.graph.admin.setSkus(withSeats(sku.consumed + 1)); // a seat is bought
    const state = await settled(id);
    assert.equal(state.stage, 'active');
    assert.equal(cloudUsers(id)[0]!.assignedLicenses.length, 1);
    stack.sims.graph.admin.setSkus(withSeats(2000));
  });

  it('in synced mode the joiner waits for directory sync to create the cloud user, then licenses it', async () => {
    const id = nextId('Y');
    const policy = structuredClone(stack.policy);
    policy.cloud.mode = 'synced';
    const taskQueue = `${stack.taskQueue}-synced`;
    const connection = await NativeConnection.connect({ address: stack.temporal.address });
    const worker = await buildWorker({
      connection,
      client: stack.client,
      taskQueue,
      directory: stack.directory,
      cloud: stack.cloud,
      phone: stack.phone,
      policy,
      baseDn: stack.samba.baseDn,
      workflowBundle: await workflowBundle(),
    });
    const running = worker.run();
    try {
      await stack.sims.phone.admin.assignNumbers(id, []);
      await deliverRecord(stack.client, nurse(id, 'Synkka'), 'hr', taskQueue);
      const joiner = stack.client.workflow.getHandle(`joiner-${id}-1`);
      await eventually(
        () => joiner.query(provisionStatusQuery).catch(() => undefined),
        (s) => s?.detail === 'waiting for directory sync to create the cloud user',
        60_000,
        'waiting for directory sync',
      );
      assert.equal(cloudUsers(id).length, 0, 'Tunnus did not create the user itself');
      const ad = (await stack.directory.findByEmployeeId(id))!;
      // What Entra Connect does: the synced user appears with the AD account's names.
      stack.sims.graph.admin.syncUser({
        employeeId: id,
        userPrincipalName: ad.userPrincipalName,
        displayName: ad.displayName,
        onPremisesSyncEnabled: true,
      });
      const state = await settled(id);
      assert.equal(state.stage, 'active');
      assert.equal(cloudUsers(id).length, 1);
      assert.equal(cloudUsers(id)[0]!.usageLocation, 'FI');
      assert.equal(cloudUsers(id)[0]!.assignedLicenses.length, 1);
    } finally {
      worker.shutdown();
      await running;
      await connection.close();
    }
  });

  it('the phone-sync schedule is created once and updated in place when the policy changes', async () => {
    const policy = structuredClone(stack.policy);
    policy.telephony.syncEveryMinutes = 15;
    await ensurePhoneSyncSchedule(stack.client, policy, stack.taskQueue);
    policy.telephony.syncEveryMinutes = 5;
    await ensurePhoneSyncSchedule(stack.client, policy, stack.taskQueue); // again: no error, updated
    const schedule = await stack.client.schedule.getHandle('phone-sync').describe();
    assert.equal(schedule.action.type, 'startWorkflow');
    assert.equal(
      schedule.action.type === 'startWorkflow' && schedule.action.workflowType,
      'phoneSyncWorkflow',
    );
    assert.equal(Number(schedule.spec.intervals?.[0]?.every), 5 * 60_000);
    assert.equal(schedule.state.paused, false);
  });

  it('a number changed in the telephony platform reaches AD and the cloud user on the next sync', async () => {
    const id = nextId('N');
    await hire(id, 'Numero');
    // Bring the sync's cursor up to now, then change one number.
    await stack.client.workflow.execute(phoneSyncWorkflow, {
      workflowId: `phone-sync-${id}-a`,
      taskQueue: stack.taskQueue,
      args: [{}],
    });
    // The next run reads where this one stopped from visibility, which lags a little.
    await eventually(
      async () => {
        const runs = stack.client.workflow.list({
          query: `WorkflowId = 'phone-sync-${id}-a' AND ExecutionStatus = 'Completed'`,
        });
        for await (const _ of runs) return true;
        return false;
      },
      (visible) => visible,
      30_000,
      'the first sync visible as completed',
    );
    const before = (await stack.directory.findByEmployeeId(id))!;
    const next = '+358401234567';
    await stack.sims.phone.admin.changeNumber(id, before.mobile!, next);
    const result = await stack.client.workflow.execute(phoneSyncWorkflow, {
      workflowId: `phone-sync-${id}-b`,
      taskQueue: stack.taskQueue,
      args: [{}],
    });
    assert.ok(result.changed >= 1, JSON.stringify(result));
    const after = (await stack.directory.findByEmployeeId(id))!;
    assert.equal(after.mobile, next);
    assert.equal(after.telephoneNumber, before.telephoneNumber, 'the work number is untouched');
    assert.equal(cloudUsers(id)[0]!.mobilePhone, next);
  });
});
