import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import pino from 'pino';
import { sha256Hex, type ApiClientConfig } from '../../src/api/auth';
import type { ImportRunner } from '../../src/api/imports';
import { createTemporalIntake } from '../../src/ops/temporal-intake';
import { buildApi, type ApiServer } from '../../src/api/server';
import { personState } from '../../src/ops/persons';
import { addDays, helsinkiDate } from '../../src/domain/dates';
import type { RecordIndex } from '../../src/store/record-index';
import { openSqliteIndex } from '../../src/store/sqlite-index';
import { personWorkflowId } from '../../src/workflows/messages';
import { eventually, startStack, type Stack } from '../support/stack';

// One identity per person at the door (issue 10), through the real HTTP intake, the Temporal dev
// server, a worker and Samba AD: an id in two cases is one person workflow and one AD account; an
// HR id in the pupils' space, and a staff row from a client the policy does not trust, are refused
// with the field named before anything starts.

const runId = Date.now().toString(36).toUpperCase();
const today = helsinkiDate(new Date());
const tokens = { hr: 'tok-door-hr-0123456789', school: 'tok-door-school-0123456789' };
const clients: ApiClientConfig[] = [
  { name: 'hr-system', tokenSha256: sha256Hex(tokens.hr), scopes: ['hr:write', 'ops:read'] },
  { name: 'school-system', tokenSha256: sha256Hex(tokens.school), scopes: ['education:write'] },
];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-door-it-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** An hourly care worker: AD account and groups, no cloud export (a fast joiner). */
const record = (employeeId: string, jobTitle = 'Lähihoitaja') => ({
  employeeId,
  firstNames: 'Oona Sofia',
  lastName: `Tunniste${runId}`,
  jobTitle,
  jobCode: 'HC01',
  orgUnit: 'SOTE-300',
  employmentType: 'hourly',
  startDate: addDays(today, -1),
});

/** Import runs are not part of these tests: one that starts is a failure of the door. */
const noImports: ImportRunner = {
  start: () => Promise.reject(new Error('the door let an import through')),
  status: () => Promise.resolve(null),
};

describe('identity at the door, through the API, against Samba AD and the dev server', () => {
  let stack: Stack;
  let index: RecordIndex;
  let app: ApiServer;
  const put = (pathId: string, body: object) =>
    app.inject({
      method: 'PUT',
      url: `/api/v1/persons/${pathId}`,
      headers: { authorization: `Bearer ${tokens.hr}` },
      payload: body,
    });

  before(async () => {
    stack = await startStack();
    await stack.startWorker();
    index = openSqliteIndex({ file: path.join(dir, 'index.sqlite') });
    app = buildApi({
      intake: createTemporalIntake({ client: stack.client, taskQueue: stack.taskQueue }),
      index: index as Parameters<typeof buildApi>[0]['index'],
      clients,
      logger: pino({ level: 'silent' }),
      imports: noImports,
      policy: stack.policy,
    });
    await app.ready();
  });
  after(async () => {
    await app?.close();
    await index?.close();
    await stack?.close();
  });

  it('E… then e… through the API is one person workflow and one AD account', async () => {
    const id = `ID${runId}`;
    const first = await put(id, record(id));
    assert.equal(first.statusCode, 202, first.body);
    assert.equal(first.json<{ workflowId: string }>().workflowId, `person-${id}`);

    // The same person in lower case, with a new title: the same workflow, the same account.
    const lower = id.toLowerCase();
    const second = await put(lower, record(lower, 'Vastaava lähihoitaja'));
    assert.equal(second.statusCode, 202, second.body);
    assert.deepEqual(second.json(), { workflowId: `person-${id}`, status: 'accepted' });

    const state = await eventually(
      () => personState(stack.client, id),
      (s) =>
        !!s &&
        s.version === 2 &&
        s.runs.length > 0 &&
        s.runs.every((r) => !!r.endedAt) &&
        s.record?.jobTitle === 'Vastaava lähihoitaja',
      120_000,
      'both records applied to one person',
    );
    assert.equal(state!.employeeId, id);
    assert.equal(state!.recordsReceived, 2);
    await assert.rejects(
      stack.client.workflow.getHandle(`person-${lower}`).describe(),
      WorkflowNotFoundError,
      'no second person workflow',
    );
    assert.equal(personWorkflowId(lower), `person-${id}`);

    const account = await eventually(
      () => stack.directory.findByEmployeeId(id),
      (a) => !!a && a.title === 'Vastaava lähihoitaja',
      60_000,
      'the account carries the second record',
    );
    const same = (await stack.directory.listAccounts()).filter((a) => a.employeeId?.toUpperCase() === id);
    assert.equal(same.length, 1, 'one AD account for the identity');
    assert.equal(same[0]!.dn, account!.dn);
    assert.equal(same[0]!.employeeId, id, 'employeeID holds the canonical key');
    assert.equal((await index.get(id))?.source, 'hr');
    assert.equal(await index.get(lower), undefined, 'one index key');
  });

  it('an HR id in the pupil space (S-…) is refused with 400 naming employeeId; nothing starts', async () => {
    const id = `S-${runId}`;
    const res = await put(id, record(id));
    assert.equal(res.statusCode, 400, res.body);
    const body = res.json<{ error: string; fields: { field: string; message: string }[] }>();
    assert.deepEqual(
      body.fields.map((f) => f.field),
      ['employeeId'],
    );
    assert.match(body.fields[0]!.message, /must not start with S-/);
    await assert.rejects(stack.client.workflow.getHandle(`person-${id}`).describe(), WorkflowNotFoundError);

    // The same id only in the body (the path an ordinary HR id) is refused as a record.
    const inBody = await put(`E${runId}`, record(id));
    assert.equal(inBody.statusCode, 400, inBody.body);
    assert.equal(inBody.json<{ error: string }>().error, 'invalid_record');
    assert.ok(inBody.json<{ fields: { field: string }[] }>().fields.some((f) => f.field === 'employeeId'));
  });

  it('a client with only education:write cannot link a staff row to an HR employee (400 naming hr_employee_id)', async () => {
    const csv =
      'student_id;hr_employee_id;first_names;calling_name;last_name;school_code;class;start_date;end_date\n' +
      `;ID${runId};Oona;;Tunniste${runId};K01;;${today};\n` +
      `P${runId};;Eino;;Oppilas;K01;7A;${today};\n`;
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/imports?source=education',
      headers: { authorization: `Bearer ${tokens.school}`, 'content-type': 'text/csv' },
      payload: csv,
    });
    assert.equal(res.statusCode, 400, res.body);
    const body = res.json<{ error: string; errors: { line: number; field: string; message: string }[] }>();
    assert.equal(body.error, 'invalid_csv');
    assert.deepEqual(body.errors, [
      {
        line: 2,
        field: 'hr_employee_id',
        message: 'may not be linked to an HR identity by this sender (policy intake.trustedStaffSources)',
      },
    ]);
  });
});
