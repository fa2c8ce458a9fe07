import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, beforeEach, describe, it } from 'node:test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { startGraphSimulator, type GraphSimulator } from '../../sandbox/graph-sim';
import { createCloudActivities } from '../../src/activities/cloud';
import type { Directory } from '../../src/connectors/ldap/directory';
import type { PhoneDirectory } from '../../src/connectors/phone/phone-directory';
import { BOUNDED_ATTEMPTS, ErrorType } from '../../src/domain/error-types';
import { parsePolicy } from '../../src/domain/policy';
import {
  GraphCloudDirectory,
  type CloudDirectory,
  type NewCloudUser,
} from '../../src/connectors/graph/cloud-directory';
import { CloudError, parseRetryAfter } from '../../src/connectors/graph/errors';
import { createGraphClient } from '../../src/connectors/graph/graph-client';
import { planLicenceChange } from '../../src/connectors/graph/licences';

// The Graph connector, driven by the real @microsoft/microsoft-graph-client against the simulator
// over HTTPS: every failure Graph can answer ends up as the right CloudError.

const token = 'sim-token-graph-connector-test';
const E3 = '05e9a617-0261-4cee-bb44-138d3ef5d965';
const F3 = '66b55226-6b4f-492c-910c-a3b7a3c9d993';
const EXCHANGE_S_ENTERPRISE = 'efb87545-963c-4e0d-99df-69c6916d9eb0';
const TEAMS1 = '57ff2da0-773e-42df-b2af-ffb7a2317929';

let sim: GraphSimulator;
let cloud: CloudDirectory;

function connect(
  overrides: { token?: string; customHosts?: string[]; trustSandboxCa?: boolean } = {},
): CloudDirectory {
  const { client } = createGraphClient({
    auth: { kind: 'staticToken', token: overrides.token ?? token },
    baseUrl: sim.baseUrl,
    caCertPath: overrides.trustSandboxCa === false ? undefined : sim.caCertPath,
    customHosts: overrides.customHosts,
    timeoutMs: 5_000,
  });
  return new GraphCloudDirectory(client);
}

const person = (n: number, extra: Partial<NewCloudUser> = {}): NewCloudUser => ({
  employeeId: `E${2000 + n}`,
  userPrincipalName: `person.${n}@kerava.test`,
  mailNickname: `person.${n}`,
  displayName: `Person ${n}`,
  givenName: 'Person',
  surname: String(n),
  accountEnabled: true,
  password: 'Xy7!initial-password',
  ...extra,
});

/** Runs fn and returns the CloudError it must throw. */
async function cloudError(fn: () => Promise<unknown>): Promise<CloudError> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof CloudError, `expected CloudError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a CloudError');
}

describe('Graph connector against the simulator', () => {
  before(async () => {
    sim = await startGraphSimulator({ token });
    cloud = connect();
  });
  after(async () => sim.close());
  beforeEach(() => sim.admin.reset());

  describe('authentication and transport', () => {
    it('sends the token to the simulator because its host is in customHosts', async () => {
      assert.equal(await cloud.findUserByEmployeeId('E1'), null);
      assert.deepEqual(
        sim.admin.requests().map((r) => [r.route, r.status, r.hadAuthorization]),
        [['GET /users', 200, true]],
      );
    });

    it('without customHosts the SDK sends no Authorization header and the simulator answers 401 (credentials: wait)', async () => {
      const err = await cloudError(() => connect({ customHosts: [] }).findUserByEmployeeId('E1'));
      assert.equal(err.kind, 'credentials');
      assert.equal(err.status, 401);
      assert.equal(err.graphCode, 'InvalidAuthenticationToken');
      // Every call would fail alike until ops fix it: runs wait (CredentialsRejected), not fail.
      assert.equal(err.retryable, true);
      assert.deepEqual(sim.admin.requests(), [
        { method: 'GET', route: 'GET /users', status: 401, hadAuthorization: false },
      ]);
    });

    it('a wrong token is rejected credentials (retried, alerting), and the message does not carry it', async () => {
      const err = await cloudError(() => connect({ token: 'wrong-token-value' }).listSubscribedSkus());
      assert.equal(err.kind, 'credentials');
      assert.equal(err.retryable, true);
      assert.doesNotMatch(err.message, /wrong-token-value/);
    });

    it('without the sandbox CA the TLS handshake fails as a non-retryable configuration error', async () => {
      const err = await cloudError(() => connect({ trustSandboxCa: false }).listSubscribedSkus());
      assert.equal(err.kind, 'invalid');
      assert.equal(err.retryable, false);
      assert.match(err.message, /TLS/);
      assert.equal(sim.admin.counters().total, 0);
    });

    it('with another CA file than the one that signed the server, the handshake fails too (the trust is built once per CA)', async () => {
      const trusted = await connect().listSubscribedSkus(); // the sandbox CA's context, built first
      assert.ok(trusted.length > 0);
      const other = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'graph-ca-')), 'other-ca.pem');
      fs.writeFileSync(other, tls.rootCertificates[0]!);
      const { client } = createGraphClient({
        auth: { kind: 'staticToken', token },
        baseUrl: sim.baseUrl,
        caCertPath: other,
        timeoutMs: 5_000,
      });
      sim.admin.resetCounters();
      const err = await cloudError(() => new GraphCloudDirectory(client).listSubscribedSkus());
      assert.equal(err.kind, 'invalid');
      assert.match(err.message, /TLS/);
      assert.equal(sim.admin.counters().total, 0);
      assert.ok((await connect().listSubscribedSkus()).length > 0);
    });

    it('refuses a plain-http base URL, where the SDK would drop the token', () => {
      assert.throws(
        () => createGraphClient({ auth: { kind: 'staticToken', token }, baseUrl: 'http://127.0.0.1:1' }),
        /must be https/,
      );
    });
  });

  describe('errors are classified', () => {
    it('a duplicate UPN held by another identity is a non-retryable conflict on userPrincipalName', async () => {
      await cloud.createUser(person(1));
      const err = await cloudError(() => cloud.createUser(person(1, { employeeId: 'E9999' })));
      assert.equal(err.kind, 'conflict');
      assert.equal(err.retryable, false);
      assert.equal(err.property, 'userPrincipalName');
      assert.doesNotMatch(err.message, /person\.1/, 'no names in messages');
      assert.equal(sim.state.users.size, 1);
    });

    it('a licence for a user without usageLocation is invalid, not retryable', async () => {
      const user = await cloud.createUser(person(1));
      const err = await cloudError(() =>
        cloud.assignLicenses(user.id, [{ skuId: E3, disabledPlans: [] }], []),
      );
      assert.equal(err.kind, 'invalid');
      assert.equal(err.retryable, false);
      assert.match(err.message, /usageLocation/);
    });

    it('an unknown SKU is unknownSku', async () => {
      const user = await cloud.createUser(person(1, { usageLocation: 'FI' }));
      const err = await cloudError(() =>
        cloud.assignLicenses(
          user.id,
          [{ skuId: '00000000-0000-0000-0000-000000000000', disabledPlans: [] }],
          [],
        ),
      );
      assert.equal(err.kind, 'unknownSku');
      assert.equal(err.retryable, false);
    });

    it('an empty licence pool is noSeats', async () => {
      sim.admin.setSkus([{ skuPartNumber: 'SPE_E3', enabled: 1 }]);
      const a = await cloud.createUser(person(1, { usageLocation: 'FI' }));
      const b = await cloud.createUser(person(2, { usageLocation: 'FI' }));
      await cloud.assignLicenses(a.id, [{ skuId: E3, disabledPlans: [] }], []);
      const err = await cloudError(() => cloud.assignLicenses(b.id, [{ skuId: E3, disabledPlans: [] }], []));
      assert.equal(err.kind, 'noSeats');
      assert.equal(err.retryable, false);
    });

    it('an unknown user is notFound on writes and null on lookups', async () => {
      const missing = '11111111-2222-3333-4444-555555555555';
      const err = await cloudError(() => cloud.updateUser(missing, { usageLocation: 'FI' }));
      assert.equal(err.kind, 'notFound');
      assert.equal(err.status, 404);
      assert.equal(err.graphCode, 'Request_ResourceNotFound');
      assert.equal(await cloud.getUser(missing), null);
    });

    it('429 surfaces at once as throttled with Retry-After as retryAfterMs (the SDK does not retry)', async () => {
      sim.admin.throttleNext(1, 7);
      const started = Date.now();
      const err = await cloudError(() => cloud.listSubscribedSkus());
      assert.equal(err.kind, 'throttled');
      assert.equal(err.retryable, true);
      assert.equal(err.retryAfterMs, 7000);
      assert.ok(Date.now() - started < 2000, 'no SDK sleep before surfacing');
      assert.equal(sim.admin.counters().total, 1, 'exactly one Graph call');
    });

    it('503 and 504 are retryable unavailable; 503 carries its Retry-After', async () => {
      sim.admin.failNext(1, 503, { retryAfterSeconds: 2 });
      const e503 = await cloudError(() => cloud.listSubscribedSkus());
      assert.deepEqual(
        [e503.kind, e503.retryable, e503.status, e503.retryAfterMs],
        ['unavailable', true, 503, 2000],
      );
      sim.admin.failNext(1, 504);
      const e504 = await cloudError(() => cloud.listSubscribedSkus());
      assert.deepEqual(
        [e504.kind, e504.retryable, e504.status, e504.retryAfterMs],
        ['unavailable', true, 504, undefined],
      );
      sim.admin.failNext(2, 502);
      assert.equal((await cloudError(() => cloud.listSubscribedSkus())).retryable, true);
      assert.equal(sim.admin.counters().total, 3);
    });

    it('Retry-After is read as seconds, fractional seconds or an HTTP date', () => {
      assert.equal(parseRetryAfter('7'), 7000);
      assert.equal(parseRetryAfter('2.128'), 2128);
      assert.equal(parseRetryAfter(new Date(10_000 + 30_000).toUTCString(), 10_000), 30_000);
      assert.equal(parseRetryAfter(null), undefined);
    });
  });

  describe('idempotency and timing', () => {
    it('a create that committed and answered 504 leaves one user, found by employeeId, and a retry returns it', async () => {
      sim.admin.commitThen504(1, 'POST /users');
      const err = await cloudError(() => cloud.createUser(person(1)));
      assert.deepEqual([err.kind, err.retryable, err.status], ['unavailable', true, 504]);
      const found = await cloud.findUserByEmployeeId('E2001');
      assert.ok(found);
      const again = await cloud.createUser(person(1));
      assert.equal(again.id, found.id);
      assert.equal(sim.state.users.size, 1);
    });

    it('a just-created user is invisible to reads and writes until replication catches up', async () => {
      sim.admin.setReplicationLag(400);
      const user = await cloud.createUser(person(1, { usageLocation: 'FI' }));
      assert.equal(user.employeeId, 'E2001');
      assert.equal(await cloud.getUser(user.id), null);
      assert.equal(await cloud.findUserByEmployeeId('E2001'), null);
      const write = await cloudError(() =>
        cloud.assignLicenses(user.id, [{ skuId: E3, disabledPlans: [] }], []),
      );
      assert.equal(write.kind, 'notFound');
      // A retried create during the lag cannot tell whose name it is yet: retryable conflict.
      const retry = await cloudError(() => cloud.createUser(person(1, { usageLocation: 'FI' })));
      assert.deepEqual([retry.kind, retry.retryable], ['conflict', true]);
      await sleep(450);
      assert.equal((await cloud.getUser(user.id))?.employeeId, 'E2001');
      assert.equal((await cloud.findUserByEmployeeId('E2001'))?.id, user.id);
      assert.equal(sim.state.users.size, 1);
    });

    it('in synced mode the user appears by employeeId once directory sync has run', async () => {
      sim.admin.syncUser(
        {
          userPrincipalName: 'synced.1@kerava.test',
          displayName: 'Synced 1',
          employeeId: 'E3001',
          onPremisesImmutableId: 'aW1tdXRhYmxl',
        },
        300,
      );
      assert.equal(await cloud.findUserByEmployeeId('E3001'), null);
      await sleep(350);
      const user = await cloud.findUserByEmployeeId('E3001');
      assert.ok(user);
      assert.equal(user.onPremisesSyncEnabled, true);
      await cloud.updateUser(user.id, { usageLocation: 'FI' });
      const mastered = await cloudError(() => cloud.updateUser(user.id, { jobTitle: 'Nurse' }));
      assert.equal(mastered.kind, 'invalid');
    });

    it('the mailbox 404s MailboxNotEnabledForRESTAPI and Exchange pends until provisioning finishes', async () => {
      sim.admin.setMailboxDelay(400);
      const user = await cloud.createUser(person(1, { usageLocation: 'FI' }));
      await cloud.assignLicenses(user.id, [{ skuId: E3, disabledPlans: [] }], []);
      assert.equal(await cloud.mailboxReady(user.id), false);
      const exchange = async () =>
        (await cloud.licenseDetails(user.id))[0]?.servicePlans.find(
          (p) => p.servicePlanName === 'EXCHANGE_S_ENTERPRISE',
        )?.provisioningStatus;
      assert.equal(await exchange(), 'PendingProvisioning');
      await sleep(450);
      assert.equal(await cloud.mailboxReady(user.id), true);
      assert.equal(await exchange(), 'Success');
      const after = await cloud.getUser(user.id);
      assert.equal(after?.mail, 'person.1@kerava.test');
      assert.deepEqual(after?.proxyAddresses, ['SMTP:person.1@kerava.test']);
    });

    it('a licence with Exchange disabled never provisions a mailbox', async () => {
      const user = await cloud.createUser(person(1, { usageLocation: 'FI' }));
      await cloud.assignLicenses(user.id, [{ skuId: E3, disabledPlans: [EXCHANGE_S_ENTERPRISE] }], []);
      assert.equal(await cloud.mailboxReady(user.id), false);
      const plans = (await cloud.licenseDetails(user.id))[0]!.servicePlans;
      assert.equal(
        plans.find((p) => p.servicePlanId === EXCHANGE_S_ENTERPRISE)?.provisioningStatus,
        'Disabled',
      );
    });
  });

  describe('licences, lifecycle', () => {
    it('seat accounting stays consistent through add, change of disabled plans and remove', async () => {
      sim.admin.setSkus([
        { skuPartNumber: 'SPE_E3', enabled: 2 },
        { skuPartNumber: 'SPE_F1', enabled: 5 },
      ]);
      const seats = async () =>
        Object.fromEntries(
          (await cloud.listSubscribedSkus()).map((s) => [s.skuPartNumber, [s.consumed, s.available]]),
        );
      const a = await cloud.createUser(person(1, { usageLocation: 'FI' }));
      const b = await cloud.createUser(person(2, { usageLocation: 'FI' }));
      await cloud.assignLicenses(a.id, [{ skuId: E3, disabledPlans: [] }], []);
      await cloud.assignLicenses(b.id, [{ skuId: E3, disabledPlans: [TEAMS1] }], []);
      assert.deepEqual(await seats(), { SPE_E3: [2, 0], SPE_F1: [0, 5] });
      // Changing disabled plans on an assigned SKU takes no new seat.
      await cloud.assignLicenses(b.id, [{ skuId: E3, disabledPlans: [] }], []);
      assert.deepEqual(await seats(), { SPE_E3: [2, 0], SPE_F1: [0, 5] });
      // Moving b from E3 to F3 in one call frees the E3 seat.
      await cloud.assignLicenses(b.id, [{ skuId: F3, disabledPlans: [] }], [E3]);
      assert.deepEqual(await seats(), { SPE_E3: [1, 1], SPE_F1: [1, 4] });
      assert.deepEqual((await cloud.getUser(b.id))?.assignedLicenses, [{ skuId: F3, disabledPlans: [] }]);
    });

    it('plans a licence change from part numbers, keeping hand-granted licences and disabled plans', async () => {
      const skus = await cloud.listSubscribedSkus();
      const change = planLicenceChange(
        [
          { skuId: E3, disabledPlans: [] },
          { skuId: '314c4481-f395-4525-be8b-2ec4bb1e9d91', disabledPlans: [] }, // granted by hand
        ],
        [{ sku: 'SPE_F1', disabledPlans: ['TEAMS1'] }, { sku: 'NOPE' }].map((d) => ({
          disabledPlans: [],
          ...d,
        })),
        ['SPE_E3', 'SPE_F1'],
        skus,
      );
      assert.deepEqual(change.add, [{ skuId: F3, disabledPlans: [TEAMS1] }]);
      assert.deepEqual(change.remove, [E3]);
      assert.deepEqual(change.unknownSkus, ['NOPE']);
      assert.deepEqual(change.shortOfSeats, []);
    });

    it('soft delete frees seats, and restore brings the user and licence back', async () => {
      sim.admin.setSkus([{ skuPartNumber: 'SPE_E3', enabled: 1 }]);
      const user = await cloud.createUser(person(1, { usageLocation: 'FI' }));
      await cloud.assignLicenses(user.id, [{ skuId: E3, disabledPlans: [] }], []);
      await cloud.revokeSessions(user.id);
      await cloud.deleteUser(user.id);
      assert.equal(await cloud.getUser(user.id), null);
      assert.equal(await cloud.findUserByEmployeeId('E2001'), null);
      assert.equal((await cloud.listSubscribedSkus())[0]?.available, 1);
      const deleted = await cloud.findDeletedUserByEmployeeId('E2001');
      assert.equal(deleted?.id, user.id);
      await cloud.restoreDeletedUser(user.id);
      const restored = await cloud.findUserByEmployeeId('E2001');
      assert.equal(restored?.id, user.id);
      assert.deepEqual(restored?.assignedLicenses, [{ skuId: E3, disabledPlans: [] }]);
      assert.equal((await cloud.listSubscribedSkus())[0]?.available, 0);
    });

    it('the recycle bin lags behind a delete and a purge; purge answers notFound until the item is there', async () => {
      sim.admin.setRecycleBinLag(600);
      try {
        const user = await cloud.createUser(person(7));
        await cloud.deleteUser(user.id);
        // Right after the delete: not readable, not listed, and a purge finds nothing to purge.
        assert.equal(await cloud.getDeletedUser(user.id), null);
        assert.equal(await cloud.findDeletedUserByEmployeeId('E2007'), null);
        assert.equal(await cloud.purgeDeletedUser(user.id), 'notFound');
        await new Promise((r) => setTimeout(r, 700));
        assert.equal((await cloud.getDeletedUser(user.id))?.id, user.id);
        assert.equal(await cloud.purgeDeletedUser(user.id), 'purged');
        // A stale replica still shows the purged item for a while; a second purge is notFound.
        assert.equal((await cloud.getDeletedUser(user.id))?.id, user.id);
        assert.equal(await cloud.purgeDeletedUser(user.id), 'notFound');
        await new Promise((r) => setTimeout(r, 700));
        assert.equal(await cloud.getDeletedUser(user.id), null);
        assert.equal(await cloud.findDeletedUserByEmployeeId('E2007'), null);
        assert.equal(sim.state.deleted.has(user.id), false, 'gone for good');
      } finally {
        sim.admin.setRecycleBinLag(0);
      }
    });

    it('lists every user across server-driven pages', async () => {
      const small = await startGraphSimulator({ token, maxPageSize: 2 });
      try {
        const { client } = createGraphClient({
          auth: { kind: 'staticToken', token },
          baseUrl: small.baseUrl,
          caCertPath: small.caCertPath,
        });
        const dir = new GraphCloudDirectory(client);
        for (let n = 1; n <= 5; n++) await dir.createUser(person(n));
        const all = await dir.listUsers();
        assert.deepEqual(all.map((u) => u.employeeId).sort(), ['E2001', 'E2002', 'E2003', 'E2004', 'E2005']);
        assert.equal(small.admin.counters().byRoute['GET /users'], 3);
      } finally {
        await small.close();
      }
    });
  });

  describe('the retention delete: purge verified against a recycle bin that lags', () => {
    const policy = parsePolicy(fs.readFileSync(path.resolve(__dirname, '../../config/policy.yaml'), 'utf8'));
    const activities = (options = {}) =>
      createCloudActivities(cloud, {} as Directory, {} as PhoneDirectory, policy, {
        purgePollMs: 100,
        ...options,
      });
    const onAttempt = <T>(attempt: number, body: () => Promise<T>): Promise<T> =>
      new MockActivityEnvironment({ attempt }).run(body);

    it('deletes, waits for the item to appear in the recycle bin, purges, and sees it gone', async () => {
      sim.admin.setRecycleBinLag(800);
      try {
        await cloud.createUser(person(11, { accountEnabled: false }));
        const result = await onAttempt(1, () => activities().deleteCloudUser({ employeeId: 'E2011' }));
        assert.deepEqual(result, { deleted: true, purged: true });
        assert.equal(
          [...sim.state.deleted.values()].some((u) => u.employeeId === 'E2011'),
          false,
          'purged for good',
        );
        const byRoute = sim.admin.counters().byRoute;
        assert.ok((byRoute['GET /directory/deletedItems/{id}'] ?? 0) >= 2, 'looked again while it lagged');
        assert.equal(byRoute['DELETE /directory/deletedItems/{id}'], 1, 'purged once it was there');
        // Run again (a retry, a rerun): nothing left, nothing to do.
        assert.deepEqual(await onAttempt(1, () => activities().deleteCloudUser({ employeeId: 'E2011' })), {
          deleted: false,
          purged: false,
        });
      } finally {
        sim.admin.setRecycleBinLag(0);
      }
    });

    it('an item that never appears is CloudPurgeUnverified: retried, then non-retryable — never a silent skip', async () => {
      sim.admin.setRecycleBinLag(600_000);
      try {
        await cloud.createUser(person(12, { accountEnabled: false }));
        const user = (await cloud.findUserByEmployeeId('E2012'))!;
        const failure = async (attempt: number, heartbeatDetails?: unknown) => {
          try {
            await new MockActivityEnvironment({ attempt, heartbeatDetails }).run(() =>
              activities({ purgePolls: 3 }).deleteCloudUser({ employeeId: 'E2012' }),
            );
          } catch (err) {
            assert.ok(err instanceof ApplicationFailure);
            return err;
          }
          assert.fail('expected CloudPurgeUnverified');
        };
        const early = await failure(1);
        assert.equal(early.type, ErrorType.CloudPurgeUnverified);
        assert.equal(early.nonRetryable, false);
        // A later attempt: the live user is gone; the id the first attempt recorded (heartbeat
        // details) says which item to wait for. Still not there: typed, now non-retryable.
        const late = await failure(BOUNDED_ATTEMPTS, { userId: user.id });
        assert.equal(late.type, ErrorType.CloudPurgeUnverified);
        assert.equal(late.nonRetryable, true);
        assert.match(late.message, /did not appear in the recycle bin/);
      } finally {
        sim.admin.setRecycleBinLag(0);
      }
    });

    it('a cloud user that can still sign in is not deleted', async () => {
      await cloud.createUser(person(13, { accountEnabled: true }));
      await assert.rejects(
        onAttempt(1, () => activities().deleteCloudUser({ employeeId: 'E2013' })),
        (err) => err instanceof ApplicationFailure && err.type === ErrorType.AccountStillEnabled,
      );
      assert.ok(await cloud.findUserByEmployeeId('E2013'));
    });
  });
});
