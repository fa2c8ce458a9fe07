import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deliverRecord, personState } from '../../src/ops/persons';
import { helsinkiDate } from '../../src/domain/dates';
import type { HrRecord } from '../../src/domain/record';
import { run as cli } from '../../src/starter';
import type { PersonState } from '../../src/workflows/messages';
import { HR_EXPORT_COLUMNS, hrCsv } from '../support/hr-csv';
import { eventually, startStack, type Stack } from '../support/stack';
import { startChildWorker, waitForWorkerPoll } from '../support/worker-process';

// Joiners end to end: Temporal dev server + Samba AD + the real worker.

const runId = Date.now().toString(36).toUpperCase();
let seq = 0;
const nextId = (prefix: string) => `${prefix}${runId}-${++seq}`;
const today = () => helsinkiDate(new Date());

function person(overrides: Partial<HrRecord> & { employeeId: string }): HrRecord {
  return {
    firstNames: 'Aino',
    lastName: 'Testinen',
    jobTitle: 'Sairaanhoitaja',
    jobCode: 'SH01',
    orgUnit: 'SOTE-110',
    employmentType: 'permanent',
    startDate: today(),
    ...overrides,
  };
}

describe('joiner against Samba AD and the Temporal dev server', () => {
  let stack: Stack;
  let stopWorker: () => Promise<void>;

  before(async () => {
    stack = await startStack();
    stopWorker = (await stack.startWorker()).stop;
  });
  after(async () => {
    await stack.close();
  });

  const deliver = (record: HrRecord) => deliverRecord(stack.client, record, 'hr', stack.taskQueue);
  const settled = (id: string, timeoutMs = 60_000) =>
    eventually(
      () => personState(stack.client, id),
      (s): s is PersonState =>
        !!s && ['active', 'failed'].includes(s.stage) && s.runs.every((r) => r.endedAt),
      timeoutMs,
      `person ${id} settled`,
    ) as Promise<PersonState>;
  const groupNames = (memberOf: string[]) => memberOf.map((dn) => /^CN=([^,]+)/i.exec(dn)?.[1]).sort();

  it('creates an enabled account with the right names, attributes, OU and groups', async () => {
    const managerId = nextId('MGR');
    await deliver(
      person({ employeeId: managerId, firstNames: 'Liisa', lastName: `Esimies${runId}`, jobCode: 'SH02' }),
    );
    await settled(managerId);
    const id = nextId('J');
    await deliver(
      person({
        employeeId: id,
        firstNames: 'Anna-Maija Kaarina',
        lastName: `Ääpälä${runId}`,
        jobTitle: 'Sairaanhoitaja',
        managerId,
      }),
    );
    const state = await settled(id);
    assert.equal(state.stage, 'active');
    const account = await stack.directory.findByEmployeeId(id);
    assert.ok(account, 'account exists');
    const local = `anna-maija.aapala${runId.toLowerCase()}`;
    assert.equal(account.sAMAccountName, local.slice(0, 20).replace(/[.-]+$/, ''));
    assert.equal(account.userPrincipalName, `${local}@kerava.test`);
    assert.equal(account.mail, `${local}@kerava.fi`);
    assert.equal(account.displayName, `Anna-Maija Ääpälä${runId}`);
    assert.equal(account.givenName, 'Anna-Maija');
    assert.equal(account.sn, `Ääpälä${runId}`);
    assert.equal(account.title, 'Sairaanhoitaja');
    assert.equal(account.department, 'SOTE-110');
    assert.equal(account.enabled, true);
    assert.equal(account.ou.toLowerCase(), `OU=Care,OU=Staff,OU=Tunnus,${stack.samba.baseDn}`.toLowerCase());
    assert.deepEqual(groupNames(account.memberOf), ['All-Staff', 'Care-Staff', 'ERP-Nurse']);
    const manager = await stack.directory.findByEmployeeId(managerId);
    assert.equal(account.manager?.toLowerCase(), manager?.dn.toLowerCase());
  });

  it('the same record again creates nothing new', async () => {
    const id = nextId('S');
    const record = person({ employeeId: id, lastName: `Sama${runId}` });
    await deliver(record);
    const first = await settled(id);
    const before = await stack.directory.findByEmployeeId(id);
    await deliver({ ...record });
    const again = await eventually(
      () => personState(stack.client, id),
      (s) => (s?.duplicatesIgnored ?? 0) === 1,
      30_000,
    );
    assert.equal(again?.runs.length, first.runs.length, 'no second run');
    const after = await stack.directory.findByEmployeeId(id);
    assert.deepEqual(after, before, 'the account is untouched');
    const taken = await stack.directory.takenNames(
      [{ sAMAccountName: before!.sAMAccountName, userPrincipalName: before!.userPrincipalName }],
      'nobody',
    );
    assert.equal(taken.size, 1, 'exactly one account holds the name');
  });

  // A surname no other test file uses: the shared test DC already holds many Matti Virtanens.
  it('two people named Matti Vähäkangas get matti.vahakangas and matti.vahakangas2', async () => {
    const existing = await stack.directory.takenNames(
      [{ sAMAccountName: 'matti.vahakangas', userPrincipalName: 'matti.vahakangas@kerava.test' }],
      'nobody',
    );
    assert.equal(existing.size, 0, 'precondition: a fresh directory (run through `npm test`)');
    const first = nextId('MV');
    const second = nextId('MV');
    await deliver(person({ employeeId: first, firstNames: 'Matti Juhani', lastName: 'Vähäkangas' }));
    await settled(first);
    await deliver(person({ employeeId: second, firstNames: 'Matti', lastName: 'Vähäkangas' }));
    await settled(second);
    assert.equal((await stack.directory.findByEmployeeId(first))?.sAMAccountName, 'matti.vahakangas');
    const two = await stack.directory.findByEmployeeId(second);
    assert.equal(two?.sAMAccountName, 'matti.vahakangas2');
    assert.equal(two?.mail, 'matti.vahakangas2@kerava.fi');
  });

  it('an HR import of 200 people creates 200 accounts with unique names', async () => {
    const firsts = ['Matti', 'Maria', 'Juha', 'Anne'];
    const lasts = ['Korhonen', 'Mäkinen', 'Nieminen', 'Mäkelä', 'Hämäläinen'];
    const ids: string[] = [];
    const records: HrRecord[] = [];
    for (let i = 0; i < 200; i++) {
      const id = nextId('B');
      ids.push(id);
      // 20 name combinations for 200 people: collisions are the point.
      records.push(
        person({
          employeeId: id,
          firstNames: firsts[i % 4]!,
          lastName: `${lasts[i % 5]}${runId}`,
          jobTitle: 'Lähihoitaja',
        }),
      );
    }
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-')), 'hr.csv');
    fs.writeFileSync(
      file,
      hrCsv(records, { columns: HR_EXPORT_COLUMNS.slice(0, -1), eol: '\n', finalEol: false }),
    );
    Object.assign(process.env, {
      TEMPORAL_ADDRESS: stack.temporal.address,
      TEMPORAL_TASK_QUEUE: stack.taskQueue,
    });
    const out: string[] = [];
    const code = await cli(['hr', 'import', file], {
      write: (s: string) => out.push(s),
    } as unknown as NodeJS.WritableStream);
    assert.equal(code, 0, out.join(''));
    const accounts = await eventually(
      async () => Promise.all(ids.map((id) => stack.directory.findByEmployeeId(id))),
      (all) => all.every((a) => a?.enabled),
      240_000,
      '200 enabled accounts',
    );
    // Let every joiner finish its cloud and telephony steps too, so no work spills into the
    // outage tests that follow.
    await eventually(
      async () => Promise.all(ids.map((id) => personState(stack.client, id))),
      (all) => all.every((s) => s?.stage === 'active'),
      300_000,
      '200 joiners completed',
    );
    const names = new Set(accounts.map((a) => a!.sAMAccountName));
    assert.equal(names.size, 200, 'every sAMAccountName is unique');
    assert.equal(new Set(accounts.map((a) => a!.userPrincipalName)).size, 200);
  });

  it('when Samba is down during a joiner, the run waits and completes with one account once it is back', async () => {
    const id = nextId('O');
    await stack.samba.stop();
    try {
      await deliver(person({ employeeId: id, lastName: `Katko${runId}` }));
      const child = stack.client.workflow.getHandle(`joiner-${id}-1`);
      // The run is stuck retrying a directory activity, visibly, and has not failed.
      await eventually(
        async () => (await child.describe().catch(() => undefined))?.raw.pendingActivities?.[0]?.attempt ?? 0,
        (attempt) => attempt >= 2,
        60_000,
        'a retrying directory activity',
      );
      assert.equal((await personState(stack.client, id))?.stage, 'joining');
    } finally {
      await stack.samba.start();
    }
    const state = await settled(id, 90_000);
    assert.equal(state.stage, 'active');
    const account = await stack.directory.findByEmployeeId(id);
    assert.equal(account?.enabled, true);
  });

  it('when the worker is killed mid-run, a new worker finishes it with one account', async () => {
    await stopWorker(); // from here on only the child-process worker serves the queue
    const worker = startChildWorker(stack);
    try {
      await waitForWorkerPoll(stack, worker);
      const id = nextId('K');
      await stack.samba.stop(); // hold the run mid-process so the kill lands inside it
      try {
        await deliver(person({ employeeId: id, lastName: `Kaatuu${runId}` }));
        const child = stack.client.workflow.getHandle(`joiner-${id}-1`);
        await eventually(
          async () => (await child.describe().catch(() => undefined))?.raw.pendingActivities?.length ?? 0,
          (n) => n > 0,
          60_000,
          'joiner running in the child worker',
        );
        worker.kill('SIGKILL');
      } finally {
        await stack.samba.start();
      }
      const replacement = await stack.startWorker();
      stopWorker = replacement.stop;
      const state = await settled(id, 120_000);
      assert.equal(state.stage, 'active');
      assert.equal(state.runs.length, 1, 'the same run finished; no second joiner');
      assert.ok(await stack.directory.findByEmployeeId(id), 'exactly one account (a duplicate would throw)');
    } finally {
      worker.kill('SIGKILL');
    }
  });

  it('an invalid record is refused with the field named, and nothing is written', async () => {
    const id = nextId('X');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-')), 'bad.json');
    fs.writeFileSync(
      file,
      JSON.stringify({ ...person({ employeeId: id }), startDate: '2026-02-30', lastName: '' }),
    );
    const out: string[] = [];
    const code = await cli(['hire', file], {
      write: (s: string) => out.push(s),
    } as unknown as NodeJS.WritableStream);
    assert.equal(code, 1);
    assert.match(out.join(''), /lastName/);
    assert.match(out.join(''), /startDate is not a real calendar date/);
    assert.equal(await personState(stack.client, id), null, 'no workflow was started');
    assert.equal(await stack.directory.findByEmployeeId(id), null);
  });

  it('LDAP-special characters in names are data: escaped correctly, account created', async () => {
    const id = nextId('L');
    await deliver(person({ employeeId: id, firstNames: '*)(cn=*', lastName: `Smith, John+${runId}` }));
    const state = await settled(id);
    assert.equal(state.stage, 'active');
    const account = await stack.directory.findByEmployeeId(id);
    assert.equal(account?.displayName, `*)(cn=* Smith, John+${runId}`);
    assert.equal(account?.sn, `Smith, John+${runId}`);
    assert.match(account.sAMAccountName, /^cn\.smithjohn/);
  });

  it("tunnus hire reads the policy's door rules: a start date ten years ahead is refused as a year typo", async () => {
    const id = nextId('Y');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-')), 'typo.json');
    const year = Number(helsinkiDate(new Date()).slice(0, 4)) + 10;
    fs.writeFileSync(file, JSON.stringify(person({ employeeId: id, startDate: `${year}-08-01` })));
    const out: string[] = [];
    const code = await cli(['hire', file], {
      write: (s: string) => out.push(s),
    } as unknown as NodeJS.WritableStream);
    assert.equal(code, 1);
    assert.match(out.join(''), /startDate/);
    assert.equal(await personState(stack.client, id), null, 'no workflow was started');
  });

  it('a name in a non-Latin script is refused at the door with the field named, nothing written', async () => {
    const id = nextId('N');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-')), 'hanzi.json');
    fs.writeFileSync(file, JSON.stringify(person({ employeeId: id, lastName: '李' })));
    const out: string[] = [];
    const code = await cli(['hire', file], {
      write: (s: string) => out.push(s),
    } as unknown as NodeJS.WritableStream);
    assert.equal(code, 1);
    assert.match(out.join(''), /lastName/);
    assert.equal(await personState(stack.client, id), null, 'no workflow was started');
    assert.equal(await stack.directory.findByEmployeeId(id), null);
  });
});
