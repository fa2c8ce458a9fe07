import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { personView } from '../../src/api/schemas';
import { deliverRecord, personState } from '../../src/ops/persons';
import { addDays, helsinkiDate } from '../../src/domain/dates';
import type { HrRecord } from '../../src/domain/record';
import { run as cli } from '../../src/starter';
import type { PersonState } from '../../src/workflows/messages';
import { eventually, startStack, type Stack } from '../support/stack';

// The education source end to end against Samba AD, the Graph simulator and the Temporal dev
// server: education snapshots go through `tunnus education import` (the import workflow, the
// record index, the person workflows) exactly as an operator would run them.

const runId = Date.now().toString(36).toUpperCase();
const today = helsinkiDate(new Date());
const start = addDays(today, -5);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-edu-it-'));
const header =
  'student_id;hr_employee_id;first_names;calling_name;last_name;school_code;class;start_date;end_date';

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

describe('education source against Samba AD, the Graph simulator and the dev server', () => {
  let stack: Stack;
  let seq = 0;
  const educationImport = async (rows: string[]) => {
    const file = path.join(dir, `education-${++seq}.csv`);
    fs.writeFileSync(file, `\ufeff${[header, ...rows].join('\r\n')}\r\n`);
    const out = new Capture();
    const code = await cli(['education', 'import', file], out);
    return { code, out: out.text };
  };
  const settled = async (
    id: string,
    what: string,
    ok: (s: PersonState) => boolean = () => true,
    timeoutMs = 90_000,
  ): Promise<PersonState> =>
    (await eventually(
      () => personState(stack.client, id),
      (s) => !!s && s.runs.length > 0 && s.runs.every((r) => !!r.endedAt) && s.stage !== 'failed' && ok(s),
      timeoutMs,
      what,
    ))!;
  const groupNames = async (id: string) =>
    ((await stack.directory.findByEmployeeId(id))?.memberOf ?? [])
      .map((dn) => /^CN=([^,]+)/.exec(dn)![1]!)
      .sort();

  before(async () => {
    stack = await startStack();
    // Seats for the pupils from grade 7 up (the policy's student licence).
    stack.sims.graph.admin.setSkus([
      { skuPartNumber: 'SPE_E3', enabled: 2000 },
      { skuPartNumber: 'SPE_F1', enabled: 2000 },
      { skuPartNumber: 'M365EDU_A3_FACULTY', enabled: 200 },
      { skuPartNumber: 'STANDARDWOFFPACK_STUDENT', enabled: 200 },
    ]);
    Object.assign(process.env, stack.childEnv(), { TUNNUS_INDEX_FILE: path.join(dir, 'index.sqlite') });
    delete process.env.RECORD_INDEX_URL;
    await stack.startWorker();
  });
  after(async () => {
    await stack?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a teacher present in both sources ends up with exactly one AD account holding both roles’ groups', async () => {
    const id = `EDT${runId}`;
    const teacher: HrRecord = {
      employeeId: id,
      firstNames: 'Maija Liisa',
      callingName: 'Liisa',
      lastName: `Lehtonen${runId}`,
      jobTitle: 'Lehtori',
      jobCode: 'OP01',
      orgUnit: 'KASV-210',
      employmentType: 'permanent',
      startDate: start,
    };
    await deliverRecord(stack.client, teacher, 'hr', stack.taskQueue);
    await settled(id, 'teacher from HR', (s) => s.stage === 'active');
    // The education system knows her under another surname spelling: HR's stands.
    const imported = await educationImport([
      `;${id};Maija;;Lehtonen-Opettaja;K${runId.slice(-4)};;${start};`,
    ]);
    assert.equal(imported.code, 0, imported.out);
    const school = `K${runId.slice(-4)}`;
    await settled(id, 'teacher with the education row', (s) => s.record?.education?.schoolCode === school);
    await eventually(
      () => groupNames(id),
      (g) => g.includes(`Teachers-${school}`),
      60_000,
      'school group',
    );

    const mine = (await stack.directory.listAccounts()).filter((a) => a.employeeId === id);
    assert.equal(mine.length, 1, 'exactly one account');
    assert.deepEqual(await groupNames(id), ['All-Staff', 'Teachers', `Teachers-${school}`].sort());
    assert.equal(mine[0]!.sn, teacher.lastName, 'HR is authoritative for the surname');
    assert.match(mine[0]!.ou, /^OU=Education,OU=Staff,OU=Tunnus,/);
    const state = (await personState(stack.client, id))!;
    assert.deepEqual(state.cloud, { exported: true, reason: 'exported by role teacher' });
  });

  it('pupils below grade 7 get no cloud user, from grade 7 up they do; the export status is in the state', async () => {
    const young = `Y${runId}`;
    const older = `O${runId}`;
    const imported = await educationImport([
      `${young};;Eino;;Nuorinen${runId};K01;5A;${start};`,
      `${older};;Elsa;;Vanhempi${runId};K01;8C;${start};`,
    ]);
    assert.equal(imported.code, 0, imported.out);
    assert.match(imported.out, /delivered {3}2\b/);

    const y = await settled(`S-${young}`, 'grade 5 pupil', (s) => s.stage === 'active');
    const o = await settled(`S-${older}`, 'grade 8 pupil', (s) => s.stage === 'active', 120_000);

    assert.deepEqual(await groupNames(`S-${young}`), ['Class-K01-5A', 'Pupils-K01']);
    assert.match((await stack.directory.findByEmployeeId(`S-${young}`))!.ou, /^OU=Pupils,OU=Tunnus,/);
    assert.equal(await stack.cloud.findUserByEmployeeId(`S-${young}`), null, 'no cloud user below grade 7');
    assert.deepEqual(y.cloud, {
      exported: false,
      reason: 'not exported: no matching role (pupil) sets cloud',
    });

    const cloudUser = await stack.cloud.findUserByEmployeeId(`S-${older}`);
    assert.ok(cloudUser, 'a cloud user from grade 7 up');
    const skus = await stack.cloud.listSubscribedSkus();
    assert.deepEqual(
      cloudUser.assignedLicenses.map((l) => skus.find((s) => s.skuId === l.skuId)?.skuPartNumber),
      ['STANDARDWOFFPACK_STUDENT'],
    );
    assert.deepEqual(o.cloud, { exported: true, reason: 'exported by role pupil-cloud' });
    // GET /api/v1/persons/{id} shows it (the route serialises exactly this view).
    assert.deepEqual(personView(o, undefined, new Date()).cloud, o.cloud);
    assert.equal(personView(y, undefined, new Date()).cloud?.exported, false);
  });

  it('300 pupils in one import, many with identical names, get 300 accounts with unique names', async () => {
    const names = [
      ['Matti', 'Virtanen'],
      ['Aino', 'Korhonen'],
      ['Eino', 'Mäkinen'],
    ];
    const rows = Array.from({ length: 300 }, (_, i) => {
      // 240 rows share three names (80 each); the others have a name of their own.
      const [first, last] = i < 240 ? names[i % 3]! : [`Oppilas${i}`, `Ainoa${runId}`];
      return `B${runId}${String(i).padStart(3, '0')};;${first};;${last};K02;${1 + (i % 6)}A;${start};`;
    });
    const t0 = Date.now();
    const imported = await educationImport(rows);
    assert.equal(imported.code, 0, imported.out);
    assert.match(imported.out, /delivered {3}300\b/);
    const ids = new Set(rows.map((r) => `S-${r.split(';')[0]}`));
    const accounts = await eventually(
      async () =>
        (await stack.directory.listAccounts()).filter(
          (a) => ids.has(a.employeeId) && a.enabled && a.memberOf.length === 2,
        ),
      (list) => list.length === 300,
      600_000,
      '300 pupil accounts enabled with their groups',
    );
    const seconds = (Date.now() - t0) / 1000;
    process.stderr.write(`# 300 pupils: accounts in ${seconds.toFixed(1)} s\n`);
    const sams = new Set(accounts.map((a) => a.sAMAccountName.toLowerCase()));
    const upns = new Set(accounts.map((a) => a.userPrincipalName.toLowerCase()));
    assert.equal(sams.size, 300, 'sAMAccountNames unique');
    assert.equal(upns.size, 300, 'UPNs unique');
    assert.ok(sams.has('matti.virtanen') || [...sams].some((s) => /^matti\.virtanen\d*$/.test(s)));
    const virtanens = [...sams].filter((s) => /^matti\.virtanen\d*$/.test(s));
    assert.ok(virtanens.length >= 80, `${virtanens.length} numbered matti.virtanen accounts`);
  });
});
