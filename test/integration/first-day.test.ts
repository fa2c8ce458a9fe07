import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Client as LdapClient } from 'ldapts';
import pino from 'pino';
import { createTemporalIntake } from '../../src/ops/temporal-intake';
import { buildApi, type ApiServer } from '../../src/api/server';
import { deliverRecord, personState } from '../../src/ops/persons';
import { createPayloadCodec } from '../../src/crypto/codec';
import { helsinkiDate } from '../../src/domain/dates';
import type { EducationRecord } from '../../src/domain/education';
import type { HrRecord } from '../../src/domain/record';
import { openSqliteIndex } from '../../src/store/sqlite-index';
import type { PersonState } from '../../src/workflows/messages';
import { workflowPollers } from '../support/pollers';
import { eventually, startStack, type Stack } from '../support/stack';

// The first day against the real parts: records through the HTTP API (in this process, its log
// captured), the worker as its own program (its output captured), Samba AD, the Graph simulator
// (its mailboxes and pass rules) and the dev server. Then the credential taken from the simulated
// mailbox is looked for in every history of the run (decoded), the worker's and the API's logs.

const runId = Date.now().toString(36).toUpperCase();
let seq = 0;
const nextId = (prefix: string) => `${prefix}${runId}-${++seq}`;
const today = () => helsinkiDate(new Date());
const token = 'tok-first-day-0123456789';

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

function nurse(employeeId: string, extra: Partial<HrRecord> = {}): HrRecord {
  return {
    employeeId,
    firstNames: 'Aino',
    lastName: `Ensipaiva${runId}${seq}`,
    jobTitle: 'Sairaanhoitaja',
    jobCode: 'SH01',
    orgUnit: 'SOTE-110',
    employmentType: 'permanent',
    startDate: today(),
    ...extra,
  };
}

describe('first day: credential handover and account-ready notice, against the real parts', () => {
  let stack: Stack;
  let worker: ChildProcess;
  const workerLog = new Capture();
  const apiLog = new Capture();
  let api: ApiServer;
  /** Every workflow id the run touched, for the history check. */
  const workflowIds: string[] = [];
  const secrets: string[] = [];

  before(async () => {
    stack = await startStack();
    worker = spawn(process.execPath, ['--import', 'tsx', path.resolve(__dirname, '../../src/worker.ts')], {
      env: { ...stack.childEnv(), LOG_LEVEL: 'debug' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    worker.stdout!.pipe(workerLog);
    worker.stderr!.pipe(workerLog);
    await eventually(
      async () => (await workflowPollers(stack.client.workflowService, stack.taskQueue)).length,
      (n) => n > 0,
      120_000,
      'the worker program polling',
    );
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-first-day-'));
    api = buildApi({
      intake: createTemporalIntake({ client: stack.client, taskQueue: stack.taskQueue }),
      index: openSqliteIndex({ file: path.join(dir, 'index.sqlite') }),
      clients: [
        {
          name: 'hr-system',
          tokenSha256: createHash('sha256').update(token).digest('hex'),
          scopes: ['hr:write'],
        },
      ],
      policy: stack.policy,
      logger: pino({ level: 'debug' }, apiLog),
    });
    await api.ready();
  });
  after(async () => {
    worker?.kill('SIGTERM');
    await api?.close();
    await stack?.close();
  });

  const hire = async (record: HrRecord) => {
    const res = await api.inject({
      method: 'PUT',
      url: `/api/v1/persons/${record.employeeId}`,
      headers: { authorization: `Bearer ${token}` },
      payload: record,
    });
    assert.equal(res.statusCode, 202, res.body);
  };
  // Every workflow a person's runs took place in: the person, and each run's child unless the run
  // finished inside the person (joiner-here: a pupil without the cloud).
  const settled = async (id: string) => {
    const state = (await eventually(
      () => personState(stack.client, id),
      (s): s is PersonState =>
        !!s && ['active', 'failed'].includes(s.stage) && s.runs.every((r) => r.endedAt),
      120_000,
      `person ${id} settled`,
    )) as PersonState;
    workflowIds.push(`person-${id}`, ...state.runs.flatMap((r) => (r.ranIn ? [] : [r.workflowId])));
    return state;
  };
  const inbox = (address: string) => stack.sims.graph.admin.messagesTo(address);

  it("a joiner starting today: the manager's mailbox holds the ready notice and the pass that is active", async () => {
    const bossId = nextId('FM');
    await hire(nurse(bossId, { jobCode: 'SH02', firstNames: 'Liisa' }));
    assert.equal((await settled(bossId)).stage, 'active');
    const boss = (await stack.directory.findByEmployeeId(bossId))!;
    assert.ok(boss.mail);

    const id = nextId('FJ');
    await hire(nurse(id, { managerId: bossId }));
    const state = await settled(id);
    assert.equal(state.stage, 'active', JSON.stringify(state.lastError));
    const account = (await stack.directory.findByEmployeeId(id))!;

    const messages = await eventually(
      async () =>
        inbox(boss.mail!).filter(
          (m) => m.body.includes(account.sAMAccountName) || m.body.includes(account.userPrincipalName),
        ),
      (m) => m.length >= 2,
      30_000,
      "the manager's two messages",
    );
    assert.equal(messages.length, 2, messages.map((m) => m.subject).join(' | '));
    const pass = messages.find((m) => /Pääsykoodi:/.test(m.body));
    const ready = messages.find((m) => m.subject.startsWith('Käyttäjätunnus valmis'));
    assert.ok(pass && ready, messages.map((m) => m.subject).join(' | '));
    assert.equal(pass.from, stack.policy.mail!.senderMailbox);
    assert.ok(ready.body.includes(account.sAMAccountName), 'the username');
    assert.ok(ready.body.includes(account.mail!), 'the e-mail address');
    assert.ok(ready.body.includes(today()), 'the start date');
    const tap = /Pääsykoodi:\s+(\S+)/.exec(pass.body)![1]!;
    secrets.push(tap);
    // The pass in the message is the one the tenant holds: it signs in (and, one-time, only once).
    const held = await stack.cloud.listTemporaryAccessPasses(id);
    assert.equal(held.length, 1, 'one pass per user');
    assert.equal(stack.sims.graph.admin.signInWithTap(account.userPrincipalName, tap), 'signedIn');
    assert.equal(stack.sims.graph.admin.signInWithTap(account.userPrincipalName, tap), 'oneTimeUsed');
  });

  it('a pupil without a cloud identity: the school contact gets a one-time password that binds and must be changed', async (t) => {
    const studentId = `P${runId}${++seq}`;
    const id = `S-${studentId}`;
    const row: EducationRecord = {
      studentId,
      firstNames: 'Eetu',
      lastName: `Oppilas${runId}`,
      schoolCode: 'K01',
      class: '3B',
      startDate: today(),
    };
    await deliverRecord(stack.client, row, 'education', stack.taskQueue);
    const state = await settled(id);
    assert.equal(state.stage, 'active', JSON.stringify(state.lastError));
    const account = (await stack.directory.findByEmployeeId(id))!;
    const contact = stack.policy.mail!.schoolContacts.K01!;
    const message = await eventually(
      async () =>
        inbox(contact).find((m) => m.body.includes(account.sAMAccountName) && /Alkusalasana:/.test(m.body)),
      (m) => m !== undefined,
      30_000,
      "the school contact's message",
    );
    const password = /Alkusalasana:\s+(\S+)/.exec(message!.body)![1]!;
    secrets.push(password);
    assert.equal(stack.cloud && (await stack.cloud.findUserByEmployeeId(id)), null, 'no cloud identity');

    // A real simple bind against Samba: the right password is accepted but must be changed
    // (AD's 49 with "data 773"); a wrong one is refused as wrong ("data 52e").
    const bind = async (pw: string) => {
      const c = new LdapClient({
        url: stack.samba.url,
        tlsOptions: { ca: [fs.readFileSync(stack.samba.caCertPath)] },
      });
      try {
        await c.bind(account.dn, pw);
        return 'bound';
      } catch (err) {
        return (err as Error).message;
      } finally {
        await c.unbind().catch(() => undefined);
      }
    };
    const right = await bind(password);
    const wrong = await bind(`${password}x`);
    // What Samba answers, in the test report.
    t.diagnostic(`right password: ${right}`);
    t.diagnostic(`wrong password: ${wrong}`);
    assert.match(right, /data 773/, `right password: ${right}`);
    assert.match(wrong, /data 52e/, `wrong password: ${wrong}`);
  });

  it('the credentials appear in no history of the run, no worker log line and no API log line', async () => {
    assert.equal(secrets.length, 2, 'both credentials were read from the mailboxes');
    const codec = createPayloadCodec(stack.keys);
    let decodedText = '';
    for (const workflowId of workflowIds) {
      const history = await stack.client.workflow.getHandle(workflowId).fetchHistory();
      decodedText += JSON.stringify(history);
      for (const payload of payloadsIn(history)) {
        const [plain] = await codec.decode([payload]);
        decodedText += Buffer.from(plain!.data ?? new Uint8Array()).toString('utf8');
      }
    }
    // The decoding worked: the histories show the handover's result (metadata) and the ids.
    assert.match(decodedText, /"status":"delivered"/);
    assert.match(decodedText, /handOverCredential/);
    assert.ok(workerLog.text.includes('first-day credential delivered'), 'the worker log was captured');
    assert.ok(apiLog.text.length > 0, 'the API log was captured');
    for (const secret of secrets) {
      assert.ok(!decodedText.includes(secret), 'a credential in a workflow history');
      assert.ok(!workerLog.text.includes(secret), 'a credential in the worker log');
      assert.ok(!apiLog.text.includes(secret), 'a credential in the API log');
    }
  });
});

/** Every Payload ({ metadata, data }) anywhere in a fetched history. */
function payloadsIn(
  value: unknown,
  out: { metadata?: Record<string, Uint8Array>; data?: Uint8Array }[] = [],
) {
  if (!value || typeof value !== 'object') return out;
  if (value instanceof Uint8Array) return out;
  const v = value as Record<string, unknown>;
  if (v.data instanceof Uint8Array && v.metadata && typeof v.metadata === 'object') {
    out.push(v);
    return out;
  }
  for (const child of Object.values(v)) payloadsIn(child, out);
  return out;
}
