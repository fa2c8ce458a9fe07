import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { deliverRecord, personState } from '../../src/ops/persons';
import { sha256Hex } from '../../src/api/auth';
import { createTemporalIntake } from '../../src/ops/temporal-intake';
import { buildApi, type ApiServer } from '../../src/api/server';
import { addDays, helsinkiDate } from '../../src/domain/dates';
import type { HrRecord } from '../../src/domain/record';
import {
  createTemporalPersonOps,
  liftPersonTermination,
  terminatePerson,
  waitForSettled,
} from '../../src/ops/terminate';
import type { RecordStore } from '../../src/store/import-staging';
import { openSqliteIndex } from '../../src/store/sqlite-index';
import type { PersonState } from '../../src/workflows/messages';
import { eventually, startStack, type Stack } from '../support/stack';

// `tunnus terminate` against Samba AD, the dev server and the simulators, through the use-case the
// CLI calls (src/ops/terminate.ts): an active nurse is disabled within seconds with the care ERP
// group gone and the operator in the timeline; later HR records (the same, and a changed one) do
// not re-enable; --lift restores access by policy. And the API's scope ops:write.

const runId = Date.now().toString(36).toUpperCase();
const today = helsinkiDate(new Date());
const operator = 'cli:it-ops';

const nurse = (id: string, fields: Partial<HrRecord> = {}): HrRecord => ({
  employeeId: id,
  firstNames: 'Tuuli',
  lastName: `Lopetus${runId.replace(/[0-9]/g, '')}`,
  jobTitle: 'Sairaanhoitaja',
  jobCode: 'SH01',
  orgUnit: 'SOTE-120',
  employmentType: 'permanent',
  startDate: addDays(today, -30),
  ...fields,
});

describe('tunnus terminate against Samba AD and the simulators', () => {
  let stack: Stack;
  let store: RecordStore;
  let app: ApiServer;
  const tokens = { read: `tun_read_${runId}`, write: `tun_write_${runId}` };
  const id = `OT${runId}`.slice(0, 16);

  before(async () => {
    stack = await startStack();
    const indexFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-ops-')), 'index.sqlite');
    store = openSqliteIndex({ file: indexFile });
    await stack.startWorker();
    app = buildApi({
      intake: createTemporalIntake({ client: stack.client, taskQueue: stack.taskQueue }),
      index: store,
      policy: stack.policy,
      personOps: createTemporalPersonOps({ client: stack.client, store, policy: stack.policy }),
      clients: [
        { name: 'ops-viewer', tokenSha256: sha256Hex(tokens.read), scopes: ['ops:read'] },
        { name: 'ops-desk', tokenSha256: sha256Hex(tokens.write), scopes: ['ops:write'] },
      ],
      logger: pino({ level: 'silent' }),
    });
    await app.ready();
  });
  after(async () => {
    await app?.close();
    await store?.close();
    await stack?.close();
  });

  const state = (employeeId: string) => personState(stack.client, employeeId) as Promise<PersonState>;
  const account = async (employeeId: string) => (await stack.directory.findByEmployeeId(employeeId))!;
  const erpGroups = async (employeeId: string) =>
    (await account(employeeId)).memberOf.filter((dn) => /^CN=ERP-/i.test(dn));
  const settled = (employeeId: string) =>
    eventually(
      () => state(employeeId),
      (s) =>
        !!s && s.runs.length > 0 && s.runs.every((r) => r.endedAt) && (s.handledVersion ?? 0) >= s.version,
      120_000,
      `person ${employeeId} settled`,
    );

  it('an active nurse: disabled within seconds, ERP group removed, the operator in the timeline; HR records do not re-enable; --lift restores', async () => {
    await deliverRecord(stack.client, nurse(id), 'hr', stack.taskQueue);
    await settled(id);
    assert.equal((await account(id)).enabled, true);
    assert.equal((await erpGroups(id)).length, 1, 'the nurse holds ERP-Nurse');

    const started = Date.now();
    const outcome = await terminatePerson(
      { client: stack.client, store, policy: stack.policy },
      { employeeId: id, reason: 'security incident IT-1', operator },
    );
    assert.equal(outcome.status, 'terminated', JSON.stringify(outcome));
    await eventually(
      () => account(id),
      (a) => !a.enabled,
      30_000,
      'the account disabled',
    );
    const disableMs = Date.now() - started;
    process.stdout.write(`# terminate → AD account disabled in ${disableMs} ms\n`);
    assert.ok(disableMs < 30_000);
    const left = (await waitForSettled(stack.client, id))!;
    assert.equal(left.stage, 'left');
    assert.deepEqual(await erpGroups(id), [], 'ERP groups removed');
    assert.ok(left.disabledAt, 'the disable is recorded (retention counts from it)');
    const entry = left.timeline.find((t) => t.event === 'terminated');
    assert.match(entry?.detail ?? '', /by cli:it-ops: security incident IT-1/);
    const cloud = await stack.cloud.findUserByEmployeeId(id);
    assert.equal(cloud?.accountEnabled, false, 'cloud sign-in blocked');
    // Counted by the mass-change guard as a disable.
    const window = await store.windowLosses(new Date(started - 60_000).toISOString());
    assert.ok(
      window.some((l) => l.identityId === id && l.ref.startsWith('terminate:') && l.kind === 'disable'),
    );

    // The same HR record again: a duplicate; a changed one: stored and planned, and still ended.
    await deliverRecord(stack.client, nurse(id), 'hr', stack.taskQueue);
    await deliverRecord(stack.client, nurse(id, { jobTitle: 'Osastonhoitaja' }), 'hr', stack.taskQueue);
    const after = await settled(id);
    assert.equal(after.duplicatesIgnored, 1);
    assert.equal(after.record?.jobTitle, 'Osastonhoitaja', 'the record is stored');
    assert.equal(after.stage, 'left');
    assert.equal((await account(id)).enabled, false, 'a later HR record does not re-enable');
    assert.deepEqual(await erpGroups(id), []);
    assert.ok(after.termination, 'the state says why');

    const again = await terminatePerson(
      { client: stack.client, store, policy: stack.policy },
      { employeeId: id, reason: 'twice', operator },
    );
    assert.equal(again.status, 'already');

    const lifted = await liftPersonTermination(stack.client, id, operator);
    assert.equal(lifted.status, 'done');
    await eventually(
      () => account(id),
      (a) => a.enabled,
      60_000,
      'access restored after the lift',
    );
    const back = await settled(id);
    assert.equal(back.stage, 'active');
    assert.equal((await erpGroups(id)).length, 1, 'ERP-Nurse back by policy');
    assert.ok(back.timeline.some((t) => t.event === 'termination lifted' && t.detail?.includes(operator)));
  });

  it('the API: operator actions need ops:write (401 without a token, 403 with ops:read)', async () => {
    const url = `/api/v1/persons/${id}/termination`;
    const body = { reason: 'api test' };
    const none = await app.inject({ method: 'POST', url, payload: body });
    assert.equal(none.statusCode, 401);
    const read = await app.inject({
      method: 'POST',
      url,
      payload: body,
      headers: { authorization: `Bearer ${tokens.read}` },
    });
    assert.equal(read.statusCode, 403);
    assert.match(read.body, /ops:write/);
    const retryRead = await app.inject({
      method: 'POST',
      url: `/api/v1/persons/${id}/retry`,
      headers: { authorization: `Bearer ${tokens.read}` },
    });
    assert.equal(retryRead.statusCode, 403);
    const lift = await app.inject({ method: 'DELETE', url });
    assert.equal(lift.statusCode, 401);
    assert.equal((await account(id)).enabled, true, 'nothing happened');

    const retry = await app.inject({
      method: 'POST',
      url: `/api/v1/persons/${id}/retry`,
      headers: { authorization: `Bearer ${tokens.write}` },
    });
    assert.equal(retry.statusCode, 200, retry.body);
    assert.equal(retry.json<{ status: string }>().status, 'noop');
    const unknown = await app.inject({
      method: 'DELETE',
      url: `/api/v1/persons/NO${id}`.slice(0, 40) + '/termination',
      headers: { authorization: `Bearer ${tokens.write}` },
    });
    assert.equal(unknown.statusCode, 404);
    const blank = await app.inject({
      method: 'POST',
      url,
      payload: { reason: '  ' },
      headers: { authorization: `Bearer ${tokens.write}` },
    });
    assert.equal(blank.statusCode, 400);
  });
});
