import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Client as LdapClient } from 'ldapts';
import { explainCommand } from '../../src/cli/explain';
import { DirectoryError } from '../../src/connectors/ldap/errors';
import { deliverRecord, personState } from '../../src/ops/persons';
import { parseEnv } from '../../src/config';
import { helsinkiDate } from '../../src/domain/dates';
import type { Explanation } from '../../src/domain/explain';
import type { HrRecord } from '../../src/domain/record';
import type { PersonState } from '../../src/workflows/messages';
import { groupsOu } from '../../sandbox/samba';
import { eventually, startStack, type Stack } from '../support/stack';

// `tunnus explain` against Samba AD, the Graph simulator and the Temporal dev server: a nurse whose
// account an admin added by hand to ERP-Physician (and to a group Tunnus does not manage).

const runId = Date.now().toString(36).toUpperCase();
let seq = 0;
const nextId = (prefix: string) => `${prefix}${runId}-${++seq}`;

function nurse(employeeId: string): HrRecord {
  return {
    employeeId,
    firstNames: 'Aino',
    lastName: `Selitys${runId}`,
    jobTitle: 'Sairaanhoitaja',
    jobCode: 'SH01',
    orgUnit: 'SOTE-110',
    employmentType: 'permanent',
    startDate: helsinkiDate(new Date()),
  };
}

function capture() {
  const chunks: string[] = [];
  const out = { write: (s: string) => chunks.push(s) } as unknown as NodeJS.WritableStream;
  return { out, text: () => chunks.join('') };
}

describe('tunnus explain against Samba AD and the Graph simulator', () => {
  let stack: Stack;
  let admin: LdapClient;
  /** The nurse of the first test, for the outage test. */
  let explained: string | undefined;
  before(async () => {
    stack = await startStack();
    await stack.startWorker();
    admin = new LdapClient({
      url: stack.samba.url,
      tlsOptions: { ca: [fs.readFileSync(stack.samba.caCertPath)] },
      timeout: 5_000,
    });
    await admin.bind(stack.samba.bindDn, stack.samba.bindPassword);
  });
  after(async () => {
    await admin.unbind();
    await stack.close();
  });

  const explainJson = async (id: string): Promise<Explanation & { cloudUser: boolean }> => {
    const { out, text } = capture();
    const code = await explainCommand([id, '--json'], out, parseEnv(stack.childEnv()));
    assert.equal(code, 0, text());
    return JSON.parse(text()) as Explanation & { cloudUser: boolean };
  };

  it('a nurse hand-added to ERP-Physician: explain flags it and names the rule that would grant it', async () => {
    const id = nextId('EX');
    await deliverRecord(stack.client, nurse(id), 'hr', stack.taskQueue);
    await eventually(
      () => personState(stack.client, id),
      (s): s is PersonState => s?.stage === 'active' && s.runs.every((r) => r.endedAt),
      90_000,
      `person ${id} active`,
    );
    const account = await stack.directory.findByEmployeeId(id);
    assert.ok(account);

    // What an admin might do by hand, outside Tunnus.
    const physician = await stack.directory.findGroup('ERP-Physician');
    assert.ok(physician);
    await stack.directory.addToGroup(physician, account.dn);
    const unmanagedName = `Intranet-Editors-${runId}`;
    const unmanaged = `CN=${unmanagedName},${groupsOu},${stack.samba.baseDn}`;
    await admin.add(unmanaged, {
      objectClass: ['top', 'group'],
      sAMAccountName: unmanagedName,
      groupType: String(-2147483646), // global security group
    });
    await stack.directory.addToGroup(unmanaged, account.dn);
    const user = await stack.cloud.findUserByEmployeeId(id);
    assert.ok(user);
    const faculty = (await stack.cloud.listSubscribedSkus()).find(
      (s) => s.skuPartNumber === 'M365EDU_A3_FACULTY',
    );
    assert.ok(faculty);
    await stack.cloud.assignLicenses(user.id, [{ skuId: faculty.skuId, disabledPlans: [] }], []);

    const e = await explainJson(id);
    explained = id;
    const group = (name: string) => e.groups.find((g) => g.name === name);
    assert.deepEqual(
      e.groups.map((g) => [g.name, g.status]),
      [
        ['All-Staff', 'granted'],
        ['Care-Staff', 'granted'],
        ['ERP-Nurse', 'granted'],
        ['ERP-Physician', 'hand-granted'],
        [unmanagedName, 'unmanaged'],
      ],
    );
    assert.deepEqual(group('ERP-Nurse')?.grantedBy, [
      {
        role: 'nurse',
        because: [
          { attribute: 'jobCode', value: 'SH01', accepts: ['SH01', 'SH02'] },
          { attribute: 'orgUnit', value: 'SOTE-110', accepts: ['SOTE'], prefix: 'SOTE' },
        ],
      },
    ]);
    assert.deepEqual(group('ERP-Physician')?.otherRules, [
      { role: 'physician', unmet: [{ attribute: 'jobCode', value: 'SH01', accepts: ['LK01'] }] },
    ]);
    assert.equal(group(unmanagedName)?.note, 'not managed by Tunnus');
    assert.equal(e.cloudUser, true);
    assert.deepEqual(
      e.licences.map((l) => [l.name, l.status, l.grantedBy.map((g) => g.role)]),
      [
        ['SPE_E3', 'granted', ['nurse']],
        ['M365EDU_A3_FACULTY', 'hand-granted', []],
      ],
    );
    assert.equal(e.ou.status, 'granted');
    assert.equal(e.ou.actual, 'OU=Care,OU=Staff,OU=Tunnus');
    assert.equal(e.ou.grantedBy?.role, 'nurse');
    assert.deepEqual(
      e.flags.map((f) => f.split(':')[0]),
      ['group ERP-Physician', `group ${unmanagedName}`, 'licence M365EDU_A3_FACULTY'],
    );

    // The operator's view says the same in words.
    const { out, text } = capture();
    assert.equal(await explainCommand([id], out, parseEnv(stack.childEnv())), 0);
    const lines = text().split('\n');
    const at = lines.findIndex((l) => /^\s+ERP-Physician\s+HAND-GRANTED/.test(l));
    assert.ok(at >= 0, text());
    assert.match(
      lines.slice(at, at + 3).join('\n'),
      /role physician would grant it, but jobCode SH01 is not one of LK01/,
    );
    assert.match(text(), new RegExp(`${unmanagedName}\\s+not managed by Tunnus`));
    assert.match(text(), /ERP-Nurse\s+granted\s+role nurse: jobCode SH01, orgUnit prefix SOTE \(SOTE-110\)/);
    assert.match(text(), /flags \(3\)/);
  });

  it('with AD down, explain fails with the directory error rather than explaining an empty account', async () => {
    assert.ok(explained, 'the first test explained a person');
    const { out, text } = capture();
    await stack.samba.stop();
    try {
      await assert.rejects(explainCommand([explained], out, parseEnv(stack.childEnv())), (err: unknown) => {
        assert.ok(err instanceof DirectoryError, String(err));
        assert.equal(err.kind, 'unavailable');
        return true;
      });
    } finally {
      await stack.samba.start();
    }
    assert.equal(text(), '', 'nothing printed that could pass for an explanation');
  });

  it('an unknown person is reported, not explained as holding nothing', async () => {
    const { out, text } = capture();
    const code = await explainCommand([nextId('NOBODY')], out, parseEnv(stack.childEnv()));
    assert.equal(code, 1);
    assert.match(text(), /^no person NOBODY/);
  });

  it('an argument that is not an employee id is refused before anything is read', async () => {
    const { out, text } = capture();
    assert.equal(await explainCommand(["E1' OR '1"], out, parseEnv(stack.childEnv())), 2);
    assert.match(text(), /not an employee id/);
  });
});
