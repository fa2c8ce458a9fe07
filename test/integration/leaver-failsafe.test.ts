import { WorkflowNotFoundError } from '@temporalio/client';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { NativeConnection } from '@temporalio/worker';
import { Attribute, Change, Client as LdapClient } from 'ldapts';
import { deliverRecord, personState } from '../../src/ops/persons';
import { createLdapDirectory } from '../../src/connectors/ldap/ldap-directory';
import type { Directory } from '../../src/connectors/ldap/directory';
import { addDays, helsinkiDate } from '../../src/domain/dates';
import { ErrorType } from '../../src/domain/error-types';
import type { HrRecord } from '../../src/domain/record';
import { buildWorker } from '../../src/worker';
import type { PersonState } from '../../src/workflows/messages';
import { eventually, startStack, type Stack } from '../support/stack';
import { workflowBundle } from '../support/temporal';

// The end of access against Samba AD and the simulators when the directory misbehaves under a
// leaver: the disabled OU is gone (the account is still disabled, the run is reported stuck and
// finishes once the OU is back), and Tunnus's own bind password no longer works (runs wait with
// a typed, alerting, retryable failure and finish once the password is corrected).

const runId = Date.now().toString(36).toUpperCase();
const today = helsinkiDate(new Date());

function record(id: string, fields: Partial<HrRecord> = {}): HrRecord {
  return {
    employeeId: id,
    firstNames: 'Selja',
    lastName: `Failsafe${runId.replace(/[0-9]/g, '')}`,
    jobTitle: 'Sairaanhoitaja',
    jobCode: 'SH01',
    orgUnit: 'SOTE-120',
    employmentType: 'permanent',
    startDate: addDays(today, -60),
    ...fields,
  };
}

describe('leaver fail-safe against Samba AD and the simulators', () => {
  let stack: Stack;
  let admin: LdapClient;
  let seq = 0;
  const nextId = () => `FS${runId}${++seq}`.slice(0, 16);

  before(async () => {
    stack = await startStack();
    admin = new LdapClient({
      url: stack.samba.url,
      tlsOptions: { ca: [fs.readFileSync(stack.samba.caCertPath)] },
    });
    await admin.bind(stack.samba.bindDn, stack.samba.bindPassword);
  });
  after(async () => {
    await admin?.unbind().catch(() => undefined);
    await stack?.close();
  });

  const state = (id: string) => personState(stack.client, id) as Promise<PersonState>;
  const account = async (id: string) => (await stack.directory.findByEmployeeId(id))!;
  const settled = (id: string, runs: number, timeoutMs = 90_000) =>
    eventually(
      () => state(id),
      (s) => !!s && s.runs.length >= runs && s.runs.every((r) => r.endedAt) && s.stage !== 'failed',
      timeoutMs,
      `person ${id} settled after ${runs} runs`,
    );
  const hire = async (id: string) => {
    await deliverRecord(stack.client, record(id), 'hr', stack.taskQueue);
    await settled(id, 1);
    assert.equal((await account(id)).enabled, true);
  };
  /** The types of the failures the run's pending activities last saw (what the Web UI shows). */
  const pendingFailureTypes = async (workflowId: string) => {
    // The person lists a run just before starting it (it writes its read-model row in between).
    const d = await stack.client.workflow
      .getHandle(workflowId)
      .describe()
      .catch((err: unknown) => {
        if (err instanceof WorkflowNotFoundError) return undefined;
        throw err;
      });
    if (!d) return [];
    return (d.raw.pendingActivities ?? []).map((a) => a.lastFailure?.applicationFailureInfo?.type ?? '');
  };

  it('the disabled OU removed during a leaver: the account is still disabled, the run is reported stuck, and finishes once the OU is back', async () => {
    const worker = await stack.startWorker();
    const id = nextId();
    try {
      await hire(id);
      const disabledOu = `${stack.policy.ous.disabled},${stack.samba.baseDn}`;
      const away = disabledOu.replace(/^OU=Disabled/, `OU=Disabled-away-${runId}`);
      await admin.modifyDN(disabledOu, away.split(',')[0]!);
      try {
        await deliverRecord(stack.client, record(id, { endDate: addDays(today, -1) }), 'hr', stack.taskQueue);
        const stuck = await eventually(
          () => state(id),
          (s) => !!s?.retry || !!s?.lastError,
          90_000,
          'the leaver reported stuck',
        );
        const now = await account(id);
        assert.equal(now.enabled, false, 'disabled although the OU move failed');
        assert.ok(!now.ou.toLowerCase().startsWith('ou=disabled'), 'not moved');
        const why = JSON.stringify({ retry: stuck.retry, lastError: stuck.lastError });
        assert.match(why, new RegExp(ErrorType.PolicyTargetMissing), why);
      } finally {
        await admin.modifyDN(away, disabledOu.split(',')[0]!);
      }
      // The leaver stays due and is retried with backoff (first after a minute).
      const done = await eventually(
        () => state(id),
        (s) => !!s && !s.retry && s.runs.every((r) => r.endedAt) && s.phase === 'left',
        180_000,
        'the leaver finished after the OU came back',
      );
      assert.equal(done.stage === 'failed', false);
      const left = await account(id);
      assert.equal(left.enabled, false);
      assert.equal(left.ou.toLowerCase(), disabledOu.toLowerCase());
      assert.deepEqual(
        left.memberOf.filter((g) => /ERP-Nurse/.test(g)),
        [],
        'care ERP access removed',
      );
    } finally {
      await worker.stop();
    }
  });

  it('the bind password changed during leavers: runs wait (CredentialsRejected, alerting), then finish once it is corrected', async () => {
    // Tunnus's own service account (not the Administrator the test uses to inspect and repair).
    const svcDn = `CN=tunnus-svc-${runId},CN=Users,${stack.samba.baseDn}`;
    const good = `Svc-${runId}-Good1!`;
    const setPassword = (pw: string) =>
      admin.modify(
        svcDn,
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'unicodePwd', values: [Buffer.from(`"${pw}"`, 'utf16le')] }),
        }),
      );
    await admin.add(svcDn, [
      new Attribute({ type: 'objectClass', values: ['top', 'person', 'organizationalPerson', 'user'] }),
      new Attribute({ type: 'sAMAccountName', values: [`svc${runId}`.slice(0, 20)] }),
      new Attribute({ type: 'unicodePwd', values: [Buffer.from(`"${good}"`, 'utf16le')] }),
      new Attribute({ type: 'userAccountControl', values: [String(0x200 | 0x10000)] }),
    ]);
    await admin.modify(
      `CN=Domain Admins,CN=Users,${stack.samba.baseDn}`,
      new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [svcDn] }) }),
    );
    const bundle = await workflowBundle();
    const startWorker = async (directory: Directory) => {
      const connection = await NativeConnection.connect({ address: stack.temporal.address });
      const worker = await buildWorker({
        connection,
        client: stack.client,
        taskQueue: stack.taskQueue,
        directory,
        cloud: stack.cloud,
        phone: stack.phone,
        policy: stack.policy,
        baseDn: stack.samba.baseDn,
        workflowBundle: bundle,
      });
      const running = worker.run();
      return async () => {
        worker.shutdown();
        await running;
        await directory.close();
        await connection.close();
      };
    };
    const connector = (bindPassword: string) =>
      createLdapDirectory({
        url: stack.samba.url,
        bindDn: svcDn,
        bindPassword,
        baseDn: stack.samba.baseDn,
        caCertPath: stack.samba.caCertPath,
      });

    const ids = [nextId(), nextId()];
    let stop = await startWorker(connector(good));
    try {
      for (const id of ids) await hire(id);
      // The password is rotated: the worker restarts with the new one from its secret store
      // before AD has it (the other order does not reproduce with Samba, which keeps accepting
      // the previous password for LDAP binds for its "old password allowed period", 60 min).
      const rotated = `Svc-${runId}-Rotated2!`;
      await stop();
      stop = await startWorker(connector(rotated));
      for (const id of ids) {
        await deliverRecord(stack.client, record(id, { endDate: addDays(today, -1) }), 'hr', stack.taskQueue);
      }
      // Both leavers wait: their activities fail as retryable CredentialsRejected, nothing fails.
      for (const id of ids) {
        const s = await eventually(
          () => state(id),
          (st) => st?.runs.some((r) => r.kind === 'leaver') ?? false,
          60_000,
          `leaver of ${id} started`,
        );
        const leaver = s.runs.find((r) => r.kind === 'leaver')!;
        await eventually(
          () => pendingFailureTypes(leaver.workflowId),
          (types) => types.includes(ErrorType.CredentialsRejected),
          60_000,
          `leaver of ${id} waiting on rejected credentials`,
        );
        const d = await stack.client.workflow.getHandle(leaver.workflowId).describe();
        assert.equal(d.status.name, 'RUNNING', 'waiting, not failed');
        assert.notEqual((await state(id)).stage, 'failed');
      }
      // Ops correct it (here: AD gets the rotated password); the next retry binds, the runs finish.
      await setPassword(rotated);
      for (const id of ids) {
        await eventually(
          () => state(id),
          (s) => !!s && s.phase === 'left' && s.runs.every((r) => r.endedAt) && !s.retry,
          120_000,
          `leaver of ${id} finished`,
        );
        const left = await account(id);
        assert.equal(left.enabled, false);
      }
    } finally {
      await stop();
      await admin.del(svcDn).catch(() => undefined);
    }
  });
});
