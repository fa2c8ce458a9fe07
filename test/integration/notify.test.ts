import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { startGraphSimulator, type GraphSimulator } from '../../sandbox/graph-sim';
import { ensureSamba, prepareDirectory } from '../../sandbox/samba';
import {
  createNotifyActivities,
  deliverSecretNotice,
  type NotifyDeps,
  type SendNoticeResult,
} from '../../src/activities/notify';
import { GraphCloudDirectory } from '../../src/connectors/graph/cloud-directory';
import { createGraphClient } from '../../src/connectors/graph/graph-client';
import { createLdapDirectory, type LdapDirectory } from '../../src/connectors/ldap/ldap-directory';
import type { NoticeRequest } from '../../src/domain/notice-recipients';
import { parsePolicy, type Policy } from '../../src/domain/policy';
import { openSqliteNoticeLedger, type NoticeLedger } from '../../src/store/notice-ledger';

// sendNotice against the real parts: the Samba DC (the manager's own mail by employeeID, the
// subject person's names), the Graph simulator (sendMail, throttling) and the notice ledger in a
// SQLite file. Activities run in Temporal's activity context (MockActivityEnvironment), so the
// ledger's owner is the activity as on a worker; a "restart" is a fresh activities object on a
// reopened ledger file.

const token = 'sim-token-notify-test';
const run = randomUUID().replaceAll('-', '').slice(0, 8);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-notify-'));
const ledgerFile = path.join(dir, 'index.sqlite');

let sim: GraphSimulator;
let directory: LdapDirectory;
let policy: Policy;
const ledgers: NoticeLedger[] = [];
let deps: NotifyDeps;
let seq = 0;

interface Person {
  employeeId: string;
  mail: string;
  sAMAccountName: string;
  dn: string;
}

async function person(
  displayName: string,
  opts: { enabled?: boolean; mail?: boolean } = {},
): Promise<Person> {
  seq += 1;
  const local = `n${run}${seq}`;
  const employeeId = `NT-${run}-${seq}`;
  const account = await directory.createAccount({
    employeeId,
    ou: `OU=Staff,OU=Tunnus,${baseDn}`,
    cn: local,
    sAMAccountName: local,
    userPrincipalName: `${local}@kerava.test`,
    ...(opts.mail === false ? {} : { mail: `${local}@kerava.fi` }),
    attributes: {
      givenName: displayName.split(' ')[0]!,
      sn: displayName.split(' ')[1]!,
      displayName,
      title: 'Osastonhoitaja',
      department: 'SOTE',
    },
    password: 'Kevät-2025-Alku!',
  });
  if (opts.enabled !== false) await directory.setEnabled(account.dn, true);
  return { employeeId, mail: `${local}@kerava.fi`, sAMAccountName: local, dn: account.dn };
}

let baseDn = '';

function openLedger(): NoticeLedger {
  const l = openSqliteNoticeLedger(ledgerFile);
  ledgers.push(l);
  return l;
}

/** One activity of a workflow, as the worker runs it (attempt n of the same activity). */
const activity = (workflowId: string, attempt = 1, activityId = '7') =>
  new MockActivityEnvironment({
    attempt,
    activityId,
    workflowExecution: { workflowId, runId: `run-${workflowId}` },
  });

type Activities = ReturnType<typeof createNotifyActivities>;
const send = (
  acts: Activities,
  workflowId: string,
  req: NoticeRequest,
  attempt = 1,
): Promise<SendNoticeResult> =>
  activity(workflowId, attempt).run<[NoticeRequest], SendNoticeResult, Activities['sendNotice']>(
    (r) => acts.sendNotice(r),
    req,
  );

const failureOf = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a failure');
};

before(async () => {
  const samba = await ensureSamba();
  baseDn = samba.baseDn;
  policy = parsePolicy(fs.readFileSync(path.resolve(__dirname, '../../config/policy.yaml'), 'utf8'));
  await prepareDirectory(policy);
  directory = createLdapDirectory({
    url: samba.url,
    bindDn: samba.bindDn,
    bindPassword: samba.bindPassword,
    baseDn: samba.baseDn,
    caCertPath: samba.caCertPath,
    timeoutMs: 5_000,
  });
  sim = await startGraphSimulator({ token, sharedMailboxes: [policy.mail!.senderMailbox] });
  const { client } = createGraphClient({
    auth: { kind: 'staticToken', token },
    baseUrl: sim.baseUrl,
    caCertPath: sim.caCertPath,
    timeoutMs: 5_000,
  });
  deps = { cloud: new GraphCloudDirectory(client), directory, policy, ledger: openLedger };
});

after(async () => {
  await Promise.all(ledgers.map((l) => l.close().catch(() => undefined)));
  await directory?.close();
  await sim?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => sim.admin.clearMailboxes());

describe('sendNotice (Samba + Graph simulator + notice ledger)', () => {
  it("sends the account-ready notice once to the manager's own AD mail, across a retry and a worker restart", async () => {
    const manager = await person('Maija Esimies');
    const joiner = await person('Aino Aloittaja', { enabled: false });
    const req: NoticeRequest = {
      key: `ready:${joiner.employeeId}:2026-12-01`,
      template: 'account-ready',
      to: { manager: manager.employeeId, unit: 'SOTE-HOIVA' },
      language: 'fi',
      vars: { employeeId: joiner.employeeId, startDate: '2026-12-01' },
    };
    const acts = createNotifyActivities(deps);
    const first = await send(acts, 'person-a', req);
    assert.deepEqual(first, { status: 'sent', to: [manager.mail] });
    const inbox = sim.admin.messagesTo(manager.mail);
    assert.equal(inbox.length, 1);
    assert.equal(inbox[0]!.from, policy.mail!.senderMailbox);
    assert.equal(inbox[0]!.subject, 'Käyttäjätunnus valmis: Aino Aloittaja aloittaa 2026-12-01');
    assert.match(inbox[0]!.body, new RegExp(`Käyttäjätunnus: ${joiner.sAMAccountName}`));
    assert.match(inbox[0]!.body, new RegExp(`Sähköposti:\\s+${joiner.mail.replace('.', '\\.')}`));

    const again = await send(acts, 'person-a', req, 2);
    assert.deepEqual(again, { status: 'already-sent', to: [manager.mail] });

    // A restarted worker: new activities, the ledger reopened from the file, another run.
    const restarted = createNotifyActivities({ ...deps, ledger: openLedger });
    const afterRestart = await send(restarted, 'person-a-continued', req);
    assert.equal(afterRestart.status, 'already-sent');
    assert.equal(sim.admin.messagesTo(manager.mail).length, 1, 'sent exactly once');
    assert.equal(sim.admin.counters().byRoute['POST /users/{id}/sendMail'], 1);
  });

  it('an unknown or disabled manager → the unit fallback mailbox, and the notice says why', async () => {
    const gone = await person('Entinen Esimies', { enabled: false });
    const joiner = await person('Bertta Aloittaja', { enabled: false });
    const acts = createNotifyActivities(deps);
    for (const [i, managerId] of [`NT-${run}-nobody`, gone.employeeId].entries()) {
      const res = await send(acts, `person-b${i}`, {
        key: `ready:${joiner.employeeId}:b${i}`,
        template: 'account-ready',
        to: { manager: managerId, unit: 'SOTE-HOIVA' },
        language: 'en',
        vars: { employeeId: joiner.employeeId, startDate: '2026-12-01' },
      });
      assert.deepEqual(res.to, ['sote-esihenkilot@kerava.fi']);
      const [msg] = sim.admin.messagesTo('sote-esihenkilot@kerava.fi').slice(-1);
      assert.match(
        msg!.body,
        new RegExp(
          `^This message went to the unit's shared mailbox because the manager \\(employee id ${managerId}\\)`,
        ),
      );
    }
    const noManager = await send(acts, 'person-b2', {
      key: `ready:${joiner.employeeId}:b2`,
      template: 'account-ready',
      to: { unit: 'TEKN' },
      vars: { employeeId: joiner.employeeId, startDate: '2026-12-01' },
    });
    assert.deepEqual(noManager.to, ['henkilostopalvelut@kerava.fi']);
    assert.match(
      sim.admin.messagesTo('henkilostopalvelut@kerava.fi')[0]!.body,
      /koska henkilötiedoissa ei ole esihenkilöä/,
    );
  });

  it('a throttled sendMail is a retryable failure with Retry-After and frees the key; the retry sends once', async () => {
    const acts = createNotifyActivities(deps);
    const req: NoticeRequest = {
      key: `licence-wait:wf-${run}:2026-12-01T08:00:00Z`,
      template: 'licence-wait',
      to: { ops: true },
      vars: {
        employeeId: 'E1001',
        workflowId: 'joiner-E1001-1',
        skus: 'SPE_E3',
        waitingSince: '2026-12-01T08:00:00Z',
        hoursWaited: 49,
        limitHours: 48,
      },
    };
    sim.admin.throttleNext(1, 4, 'POST /users/{id}/sendMail');
    const throttled = await failureOf(send(acts, 'joiner-c', req));
    assert.equal(throttled.type, 'CloudUnavailable');
    assert.equal(throttled.nonRetryable, false);
    assert.equal(throttled.nextRetryDelay, 4000);
    // Another run asks meanwhile: the key is free (released), so it sends; the retry then finds it sent.
    const other = await send(acts, 'joiner-c-other', req);
    assert.equal(other.status, 'sent');
    const retry = await send(acts, 'joiner-c', req, 2);
    assert.equal(retry.status, 'already-sent');
    assert.equal(sim.admin.messagesTo('tunnus-ops@kerava.fi').length, 1);
  });

  it('refuses at the door: a bad request names its field, a credential template, no mail policy', async () => {
    const acts = createNotifyActivities(deps);
    const sendsBefore = sim.admin.counters().byRoute['POST /users/{id}/sendMail'] ?? 0;
    const bad = await failureOf(
      send(acts, 'x', { key: 'k y', template: 'account-ready', to: { ops: true }, vars: {} }),
    );
    assert.equal(bad.type, 'InvalidRecord');
    assert.equal(bad.nonRetryable, true);
    assert.match(bad.message, /^notice key:/);
    const secret = await failureOf(
      send(acts, 'x', { key: 'cred-1', template: 'credential', to: { ops: true }, vars: {} }),
    );
    assert.equal(secret.type, 'NoticeSecretMisuse');
    assert.equal(secret.nonRetryable, true);
    const missing = await failureOf(
      send(acts, 'x', {
        key: 'miss-1',
        template: 'run-failed',
        to: { ops: true },
        vars: { employeeId: 'E1', workflowId: 'w', kind: 'joiner', errorType: 'X' },
      }),
    );
    assert.equal(missing.type, 'NoticeVariableMissing');
    assert.match(missing.message, /variable retry is missing/);
    const unconfigured = createNotifyActivities({ ...deps, policy: { ...policy, mail: undefined } });
    const noMail = await failureOf(
      send(unconfigured, 'x', {
        key: 'k2',
        template: 'run-failed',
        to: { ops: true },
        vars: {},
      }),
    );
    assert.equal(noMail.type, 'NoticeNotConfigured');
    assert.equal(
      sim.admin.counters().byRoute['POST /users/{id}/sendMail'] ?? 0,
      sendsBefore,
      'nothing went out',
    );
    const ledger = openLedger();
    assert.equal(
      await ledger.get('miss-1'),
      undefined,
      'a notice that could not be composed leaves no claim',
    );
  });

  it('deliverSecretNotice: the credential reaches the manager inside the issuing code, in no error or result', async () => {
    const manager = await person('Kaisa Esimies');
    const joiner = await person('Cecilia Aloittaja', { enabled: false });
    const secret = `Tap-${randomUUID().slice(0, 8)}!`;
    const result = await deliverSecretNotice(deps, {
      template: 'credential',
      to: { manager: manager.employeeId, unit: 'SOTE' },
      language: 'sv',
      vars: { employeeId: joiner.employeeId, validFrom: '2026-12-01 08:00', validUntil: '2026-12-01 16:00' },
      secret,
      notes: ['earlierVoid'],
    });
    assert.deepEqual(result, { to: [manager.mail], via: 'manager', language: 'sv' });
    assert.doesNotMatch(JSON.stringify(result), new RegExp(secret));
    const [msg] = sim.admin.messagesTo(manager.mail);
    assert.match(msg!.body, new RegExp(`Åtkomstkod:\\s+${secret.replace(/[!-]/g, '.')}`));
    assert.match(msg!.body, /^Detta ersätter/);
    assert.match(msg!.subject, /Cecilia Aloittaja/);
    assert.doesNotMatch(msg!.subject, new RegExp(secret));
    // A Graph failure carries no secret either.
    sim.admin.failNext(1, 503, { route: 'POST /users/{id}/sendMail' });
    await assert.rejects(
      deliverSecretNotice(deps, {
        template: 'credential',
        to: { manager: manager.employeeId },
        vars: { employeeId: joiner.employeeId, validFrom: 'a', validUntil: 'b' },
        secret,
      }),
      (err: unknown) => {
        assert.doesNotMatch(
          String((err as Error).message) + String((err as Error).stack),
          new RegExp(secret),
        );
        return true;
      },
    );
    const plain = await failureOf(
      deliverSecretNotice(deps, { template: 'account-ready', to: { ops: true }, vars: {}, secret }),
    );
    assert.equal(plain.type, 'NoticeSecretMisuse');
  });
});
