import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { deliverRecord, personState } from '../../src/ops/persons';
import { identityOfValue, identityOfWorkflowId, personalFields } from '../../src/crypto/attribution';
import { createPayloadCodec, ENCRYPTED_ENCODING, payloadKeyId } from '../../src/crypto/codec';
import { addDays, helsinkiDate } from '../../src/domain/dates';
import type { HrRecord } from '../../src/domain/record';
import { run as cli } from '../../src/starter';
import { personWorkflowId, searchAttributeDefinitions, type PersonState } from '../../src/workflows/messages';
import {
  decodeHistory,
  historyPayloads,
  payloadEncoding,
  payloadJson,
  type HistoryPayload,
} from '../support/history-payloads';
import { HR_EXPORT_COLUMNS, hrCsv } from '../support/hr-csv';
import { eventually, startStack, type Stack } from '../support/stack';

// Issue 13's proof on the dev server with the real worker: the raw histories of a person
// workflow, a joiner, a leaver and an import — read by a plain client, without the codec — hold
// no name and no account name or address in plain text; the same histories decoded with the codec
// hold them; every payload with personal fields is encrypted with that person's own key; and the
// search attributes (and memos) Tunnus sets hold ids and codes only. The records carry no date of
// birth or postal address (the HR schema has neither field): names, mail and account names are
// the personal data there is.

type History = temporal.api.history.v1.IHistory;
const runId = Date.now().toString(36).toUpperCase();
const today = helsinkiDate(new Date());
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-privacy-it-'));

// Distinctive names: a match anywhere in the raw bytes is a leak, never a coincidence.
const person: HrRecord = {
  employeeId: `PRV${runId}`,
  firstNames: 'Kukkamaaria Ilmatar',
  lastName: `Vaskivuori${runId}`,
  jobTitle: 'Sairaanhoitaja',
  jobCode: 'SH01',
  orgUnit: 'SOTE-120',
  employmentType: 'permanent',
  startDate: addDays(today, -30),
};
const imported = [`PRI${runId}-1`, `PRI${runId}-2`];
const importedNames = (i: number) => ({ first: `Ukonvaaja${i}`, last: `Hiidenkivi${runId}` });

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

describe('no personal data in plain text in Temporal', () => {
  let stack: Stack;
  let plain: Client;
  const histories = new Map<string, History>();

  before(async () => {
    stack = await startStack();
    // The CLI (in this process) and the worker's import activities share this index.
    Object.assign(process.env, stack.childEnv(), {
      TUNNUS_INDEX_FILE: path.join(dir, 'record-index.sqlite'),
    });
    delete process.env.RECORD_INDEX_URL;
    await stack.startWorker();
    // The same server, no codec: what anyone with access to Temporal's database or API sees.
    plain = new Client({ connection: stack.client.connection });

    const settled = (id: string, runs: number) =>
      eventually(
        () => personState(stack.client, id),
        (s) => !!s && s.runs.length >= runs && s.runs.every((r) => r.endedAt) && s.stage !== 'failed',
        90_000,
        `person ${id} settled after ${runs} runs`,
      ) as Promise<PersonState>;

    // A joiner, then a leaver (an end date that has passed).
    await deliverRecord(stack.client, person, 'hr', stack.taskQueue);
    await settled(person.employeeId, 1);
    await deliverRecord(stack.client, { ...person, endDate: addDays(today, -3) }, 'hr', stack.taskQueue);
    const left = await settled(person.employeeId, 2);
    assert.deepEqual(
      left.runs.map((r) => r.kind),
      ['joiner', 'leaver'],
    );

    // An HR snapshot import of two more people (start dates ahead: their persons wait).
    const csv = hrCsv(
      imported.map((id, i) => ({
        employeeId: id,
        firstNames: importedNames(i).first,
        lastName: importedNames(i).last,
        jobTitle: 'Lähihoitaja',
        jobCode: 'SH01',
        orgUnit: 'SOTE-110',
        employmentType: 'permanent',
        startDate: addDays(today, 90),
      })),
      { columns: HR_EXPORT_COLUMNS.slice(0, -1) },
    );
    const file = path.join(dir, 'snapshot.csv');
    fs.writeFileSync(file, csv);
    const out = new Capture();
    assert.equal(await cli(['hr', 'import', file], out), 0, out.text);
    for (const id of imported) {
      await eventually(
        async () => (await personState(stack.client, id))?.recordsReceived ?? 0,
        (n) => n === 1,
        60_000,
        `${id} has its record`,
      );
    }

    const ids = [
      personWorkflowId(person.employeeId),
      ...left.runs.map((r) => r.workflowId),
      ...imported.map(personWorkflowId),
    ];
    for await (const w of plain.workflow.list({
      query: `WorkflowType = 'importWorkflow' AND TaskQueue = '${stack.taskQueue}'`,
    })) {
      ids.push(w.workflowId);
    }
    for (const id of ids) histories.set(id, await plain.workflow.getHandle(id).fetchHistory());
  });
  after(async () => {
    await stack?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const secrets = () => {
    const local = `${person.firstNames.split(' ')[0]}.${person.lastName}`.toLowerCase();
    return [
      'Kukkamaaria',
      'Ilmatar',
      person.lastName,
      local, // the account name and the mail address's local part
      ...imported.flatMap((_, i) => [importedNames(i).first, importedNames(i).last]),
    ];
  };
  const rawBytes = (h: History) => Buffer.from(temporal.api.history.v1.History.encode(h).finish());
  const decoded = async (h: History) =>
    decodeHistory(temporal.api.history.v1.History.decode(rawBytes(h)), createPayloadCodec(stack.keys));

  it('the person, joiner, leaver and import histories were all read', () => {
    const types = [...histories.values()].map(
      (h) => h.events![0]!.workflowExecutionStartedEventAttributes!.workflowType!.name,
    );
    for (const t of ['personWorkflow', 'joinerWorkflow', 'leaverWorkflow', 'importWorkflow']) {
      assert.ok(types.includes(t), `no ${t} history (${types.join(', ')})`);
    }
  });

  it('read without the codec, no history holds a name or account name, and every payload is ciphertext', () => {
    for (const [id, h] of histories) {
      const bytes = rawBytes(h);
      for (const secret of secrets()) {
        assert.equal(bytes.indexOf(Buffer.from(secret)), -1, `${id}: "${secret}" in plain text`);
        assert.equal(
          bytes.indexOf(Buffer.from(secret.toLowerCase())),
          -1,
          `${id}: "${secret}" in plain text`,
        );
      }
      for (const p of historyPayloads(h, id).payloads) {
        if (p.kind === 'searchAttribute') continue;
        // patched() markers are written by the SDK's core, past the codec: a patch name only.
        if (/patch-data/.test(p.where)) {
          assert.deepEqual(Object.keys(payloadJson(p.payload) as object).sort(), ['deprecated', 'id']);
          continue;
        }
        // A local activity's marker data is written by the core too: which activity, which attempt,
        // when (joiner-local-steps). Its result beside it is encrypted like any activity result.
        if (/^markerRecordedEventAttributes\.details\.data\./.test(p.where)) {
          const core = ['activity_id', 'activity_type', 'attempt', 'backoff', 'complete_time'];
          const keys = Object.keys(payloadJson(p.payload) as object).sort();
          assert.deepEqual(
            keys.filter((k) => ![...core, 'original_schedule_time', 'seq'].includes(k)),
            [],
            `${id} ${p.where}: ${keys.join(', ')}`,
          );
          continue;
        }
        assert.equal(payloadEncoding(p.payload), ENCRYPTED_ENCODING, `${id} ${p.where} is not encrypted`);
      }
    }
  });

  it('read with the codec, the same histories decode to the names', async () => {
    const person_ = await decoded(histories.get(personWorkflowId(person.employeeId))!);
    const text = rawBytes(person_).toString('utf8');
    assert.ok(text.includes('Kukkamaaria'), 'the person history decodes to the name');
    assert.ok(text.includes(person.lastName));
    const leaver = [...histories.entries()].find(([id]) => id.startsWith('leaver-'))!;
    assert.ok(
      rawBytes(await decoded(leaver[1]))
        .toString('utf8')
        .includes(person.lastName),
    );
    const joiner = [...histories.entries()].find(([id]) => id.startsWith('joiner-'))!;
    const joinerText = rawBytes(await decoded(joiner[1])).toString('utf8');
    assert.ok(joinerText.includes(secrets()[3]!), 'the joiner decodes to the account name');
    const importedPerson = await decoded(histories.get(personWorkflowId(imported[0]!))!);
    assert.ok(rawBytes(importedPerson).toString('utf8').includes(importedNames(0).first));
  });

  it("each payload with personal fields is encrypted with its own person's key; ids and counts with the shared key", async () => {
    const shared = (await stack.keys.sharedKey()).keyId;
    const ownKey = new Map<string, string>();
    const keyOf = async (id: string) =>
      ownKey.get(id) ?? ownKey.set(id, (await stack.keys.dataKeyFor(id)).keyId).get(id)!;
    const problems: string[] = [];
    let personal = 0;
    for (const [id, h] of histories) {
      const raw = historyPayloads(h, id).payloads.filter((p) => p.kind !== 'searchAttribute');
      const codec = createPayloadCodec(stack.keys);
      for (const p of raw) {
        const keyId = payloadKeyId(p.payload);
        const [clear] = await codec.decode([p.payload]);
        const value = payloadJson(clear!);
        const fields = personalFields(
          value,
          identityOfValue(value) ?? identityOfWorkflowId(p.ownerWorkflowId),
        );
        const owners = new Set(fields.map((f) => f.owner));
        if (fields.length === 0) continue;
        personal++;
        if (owners.size !== 1 || [...owners][0] === undefined) {
          problems.push(`${id} ${p.where}: personal fields of ${[...owners].join(', ') || 'nobody'}`);
        } else if (keyId !== (await keyOf([...owners][0]!))) {
          problems.push(
            `${id} ${p.where}: ${[...owners][0]}'s data under ${keyId === shared ? 'the shared key' : keyId}`,
          );
        }
      }
    }
    assert.deepEqual(problems, []);
    assert.ok(personal >= 10, `${personal} personal payloads`);
    // The import's own payloads are ids, counts and codes: the shared key, nobody's.
    const [importId, importHistory] = [...histories.entries()].find(
      ([, h]) =>
        h.events![0]!.workflowExecutionStartedEventAttributes!.workflowType!.name === 'importWorkflow',
    )!;
    const importKeys = new Set(
      historyPayloads(importHistory, importId)
        .payloads.filter((p: HistoryPayload) => p.kind === 'payload')
        .map((p) => payloadKeyId(p.payload)),
    );
    assert.deepEqual([...importKeys], [shared]);
  });

  it('search attributes and memos hold ids and codes only', async () => {
    const record = { ...person, endDate: addDays(today, -3) };
    const personal = [...secrets(), record.startDate, record.endDate, record.jobTitle, addDays(today, 90)];
    const known = new Set([...Object.keys(searchAttributeDefinitions), 'TemporalChangeVersion', 'BuildIds']);
    const seen = new Map<string, Set<string>>();
    const check = (where: string, key: string, value: unknown) => {
      const values = (Array.isArray(value) ? value : [value]).map(String);
      (seen.get(key) ?? seen.set(key, new Set()).get(key)!).add(values.join(','));
      if (!key.startsWith('Temporal')) assert.ok(known.has(key), `${where}: unknown search attribute ${key}`);
      // The SDK's own (BuildIds, TemporalChangeVersion) are checked for personal values only.
      const sdk = key === 'BuildIds' || key.startsWith('Temporal');
      for (const v of values) {
        if (!sdk) assert.match(v, /^[A-Za-z0-9_.:-]{1,64}$/, `${where}: ${key}=${v} is not an id or a code`);
        for (const p of personal) assert.ok(!v.includes(p), `${where}: ${key} holds "${p}"`);
      }
    };
    for (const [id, h] of histories) {
      // In history: set at start, upserted, given to children.
      for (const p of historyPayloads(h, id).payloads) {
        if (p.kind === 'payload') continue;
        const key = /\.([A-Za-z]+)$/.exec(p.where)?.[1] ?? p.where;
        check(`${id} ${p.where}`, key, payloadJson(p.payload));
      }
      // In visibility, as ops' queries and the Web UI list them.
      const d = await plain.workflow.getHandle(id).describe();
      for (const [key, value] of Object.entries(d.searchAttributes)) check(`${id} (visibility)`, key, value);
      assert.deepEqual(d.memo ?? {}, {}, `${id}: Tunnus sets no memo`);
    }
    // What Tunnus sets, seen on a real run.
    for (const key of ['EmployeeId', 'LifecycleStage', 'OrgUnit', 'Source'])
      assert.ok(seen.has(key), `${key} not set`);
    assert.ok(seen.get('EmployeeId')!.has(person.employeeId));
  });
});
