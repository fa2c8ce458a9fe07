import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  startGraphSimulator,
  TapStore,
  defaultTapPolicy,
  type GraphSimulator,
} from '../../sandbox/graph-sim';
import { GraphCloudDirectory, type CloudDirectory } from '../../src/connectors/graph/cloud-directory';
import { CloudError, TapConflictError } from '../../src/connectors/graph/errors';
import { createGraphClient } from '../../src/connectors/graph/graph-client';

// Temporary Access Passes and sendMail: the simulator at the wire (status codes and Graph's error
// envelope) and the connector through the real Graph SDK client, as production calls them.

const token = 'sim-token-graph-sim-mail-test';
const sender = 'tunnus-noreply@kerava.fi';

interface Body {
  id: string;
  temporaryAccessPass: string | null;
  lifetimeInMinutes: number;
  isUsableOnce: boolean;
  isUsable: boolean;
  methodUsabilityReason: string;
  startDateTime: string;
  value: Body[];
  error: { code: string; message: string; innerError: Record<string, string> };
}

let sim: GraphSimulator;
let ca: Buffer;
let cloud: CloudDirectory;

function request(method: string, path: string, body?: unknown) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: Body }>((resolve, reject) => {
    const req = https.request(
      `${sim.url}${path}`,
      { method, ca, headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: (text ? JSON.parse(text) : {}) as Body,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

function addUser(n: number, opts: { mailbox?: boolean } = {}) {
  const user = sim.state.createUser({
    accountEnabled: true,
    displayName: `Mail User ${n}`,
    mailNickname: `mail.user${n}`,
    userPrincipalName: `mail.user${n}@kerava.fi`,
    employeeId: `E${7000 + n}`,
    usageLocation: 'FI',
    passwordProfile: { password: 'Xy7!initial-password' },
  });
  if (opts.mailbox) {
    const sku = sim.state.skus.find((s) => s.skuPartNumber === 'SPE_E3')!;
    sim.state.assignLicense(user.id, {
      addLicenses: [{ skuId: sku.skuId, disabledPlans: [] }],
      removeLicenses: [],
    });
  }
  return user;
}

const tapPath = (user: string) =>
  `/v1.0/users/${encodeURIComponent(user)}/authentication/temporaryAccessPassMethods`;

const mailBody = (to: string[], extra: Record<string, unknown> = {}) => ({
  message: {
    subject: 'Tunnus valmis',
    body: { contentType: 'Text', content: 'Hei' },
    toRecipients: to.map((address) => ({ emailAddress: { address } })),
    ...extra,
  },
  saveToSentItems: false,
});

describe('graph simulator: Temporary Access Pass and sendMail', () => {
  before(async () => {
    sim = await startGraphSimulator({ token });
    ca = fs.readFileSync(sim.caCertPath);
    const { client } = createGraphClient({
      auth: { kind: 'staticToken', token },
      baseUrl: sim.baseUrl,
      caCertPath: sim.caCertPath,
      timeoutMs: 5_000,
    });
    cloud = new GraphCloudDirectory(client);
  });
  after(async () => sim.close());
  beforeEach(() => sim.admin.reset());

  describe('temporaryAccessPassMethods', () => {
    it('issues a pass with the policy default lifetime, shows its value only in the POST answer', async () => {
      const user = addUser(1);
      const created = await request('POST', tapPath(user.id), {});
      assert.equal(created.status, 201);
      assert.equal(created.body.lifetimeInMinutes, defaultTapPolicy.defaultLifetimeInMinutes);
      assert.equal(created.body.isUsableOnce, defaultTapPolicy.isUsableOnce);
      assert.equal(created.body.isUsable, true);
      assert.equal(typeof created.body.temporaryAccessPass, 'string');
      assert.equal(created.body.temporaryAccessPass!.length, defaultTapPolicy.defaultLength);
      const listed = await request('GET', tapPath(user.userPrincipalName));
      assert.equal(listed.status, 200);
      assert.equal(listed.body.value.length, 1);
      assert.equal(listed.body.value[0]!.id, created.body.id);
      assert.equal(listed.body.value[0]!.temporaryAccessPass, null, 'the value is never shown again');
      const one = await request('GET', `${tapPath(user.id)}/${created.body.id}`);
      assert.equal(one.body.temporaryAccessPass, null);
    });

    it('refuses a lifetime outside the tenant policy with the service error naming the bounds', async () => {
      const user = addUser(2);
      for (const lifetimeInMinutes of [59, 481]) {
        const res = await request('POST', tapPath(user.id), { lifetimeInMinutes });
        assert.equal(res.status, 400);
        assert.equal(res.body.error.code, 'badRequest');
        assert.match(res.body.error.message, /valid range between 60 and 480/);
        assert.ok(res.body.error.innerError['request-id'], 'innerError carries the request id');
      }
      sim.admin.setTapPolicy({ maximumLifetimeInMinutes: 600 });
      assert.equal((await request('POST', tapPath(user.id), { lifetimeInMinutes: 600 })).status, 201);
    });

    it('keeps one pass per user: a second POST is a 400 while the first is usable, or replaces it when told', async () => {
      const user = addUser(3);
      const first = await request('POST', tapPath(user.id), { lifetimeInMinutes: 120, isUsableOnce: true });
      assert.equal(first.status, 201);
      const second = await request('POST', tapPath(user.id), { lifetimeInMinutes: 120 });
      assert.equal(second.status, 400);
      assert.equal(second.body.error.code, 'badRequest');
      assert.match(second.body.error.message, /already has a Temporary Access Pass/);
      assert.equal((await request('DELETE', `${tapPath(user.id)}/${first.body.id}`)).status, 204);
      const again = await request('DELETE', `${tapPath(user.id)}/${first.body.id}`);
      assert.equal(again.status, 404);
      assert.equal((await request('POST', tapPath(user.id), {})).status, 201);

      sim.admin.setTapOnExisting('replace');
      const replaced = await request('POST', tapPath(user.id), {});
      assert.equal(replaced.status, 201);
      const listed = await request('GET', tapPath(user.id));
      assert.deepEqual(
        listed.body.value.map((t) => t.id),
        [replaced.body.id],
      );
    });

    it('allows a start in the future (not usable yet, still the one pass) and refuses one in the past', async () => {
      const user = addUser(4);
      const start = new Date(Date.now() + 24 * 3600_000).toISOString();
      const created = await request('POST', tapPath(user.id), { startDateTime: start });
      assert.equal(created.status, 201);
      assert.equal(created.body.isUsable, false);
      assert.equal(created.body.methodUsabilityReason, 'NotYetValid');
      assert.equal(Date.parse(created.body.startDateTime), Date.parse(start));
      assert.equal(sim.admin.signInWithTap(user.id, created.body.temporaryAccessPass!), 'notYetValid');
      assert.equal((await request('POST', tapPath(user.id), {})).status, 400, 'a future pass counts');
      const past = await request('POST', tapPath(addUser(5).id), {
        startDateTime: new Date(Date.now() - 3600_000).toISOString(),
      });
      assert.equal(past.status, 400);
      assert.equal(past.body.error.code, 'badRequest');
    });

    it('enforces the policy: one-time only when the tenant says so, disabled method, unknown properties', async () => {
      const user = addUser(6);
      sim.admin.setTapPolicy({ isUsableOnce: true });
      const reusable = await request('POST', tapPath(user.id), { isUsableOnce: false });
      assert.equal(reusable.status, 400);
      const once = await request('POST', tapPath(user.id), {});
      assert.equal(once.body.isUsableOnce, true, 'the policy default');
      assert.equal(sim.admin.signInWithTap(user.id, once.body.temporaryAccessPass!), 'signedIn');
      assert.equal(sim.admin.signInWithTap(user.id, once.body.temporaryAccessPass!), 'oneTimeUsed');
      assert.equal((await request('POST', tapPath(user.id), {})).status, 201, 'a used pass no longer blocks');
      assert.equal((await request('POST', tapPath(user.id), { temporaryAccessPass: 'mine' })).status, 400);
      sim.admin.setTapPolicy({ state: 'disabled' });
      assert.equal((await request('POST', tapPath(addUser(7).id), {})).status, 400);
    });

    it('needs the user to exist: 404 in the directory envelope', async () => {
      const res = await request('POST', tapPath('nobody@kerava.fi'), {});
      assert.equal(res.status, 404);
      assert.equal(res.body.error.code, 'Request_ResourceNotFound');
    });

    it('an expired pass no longer blocks a new one (the store on a clock of its own)', () => {
      let now = Date.parse('2026-12-01T08:00:00Z');
      const store = new TapStore({ policy: defaultTapPolicy, onExisting: 'reject' }, () => now);
      const first = store.create('u1', { lifetimeInMinutes: 60 });
      assert.throws(() => store.create('u1', {}), /already has/);
      now += 60 * 60_000;
      assert.equal(store.list('u1')[0]!.methodUsabilityReason, 'Expired');
      assert.equal(store.signIn('u1', String(first.temporaryAccessPass)), 'expired');
      assert.notEqual(store.create('u1', {}).id, first.id);
    });

    it('through the connector: by employeeId, a held pass is a TapConflictError, delete is idempotent', async () => {
      addUser(8);
      const tap = await cloud.createTemporaryAccessPass('E7008', {
        lifetimeInMinutes: 480,
        isUsableOnce: true,
      });
      assert.equal(tap.lifetimeInMinutes, 480);
      assert.equal(tap.isUsableOnce, true);
      assert.ok(tap.temporaryAccessPass.length >= 8);
      await assert.rejects(
        cloud.createTemporaryAccessPass('E7008', { lifetimeInMinutes: 480, isUsableOnce: true }),
        (err: unknown) => {
          assert.ok(err instanceof TapConflictError);
          assert.equal(err.kind, 'conflict');
          assert.equal(err.retryable, false);
          assert.equal(err.property, 'temporaryAccessPass');
          assert.doesNotMatch(err.message, new RegExp(tap.temporaryAccessPass.replace(/[^A-Za-z0-9]/g, '.')));
          return true;
        },
      );
      const listed = await cloud.listTemporaryAccessPasses('E7008');
      assert.deepEqual(
        listed.map((t) => [t.id, t.isUsable]),
        [[tap.id, true]],
      );
      assert.equal('temporaryAccessPass' in listed[0]!, false, 'a listing carries no value');
      await cloud.deleteTemporaryAccessPass('E7008', tap.id);
      await cloud.deleteTemporaryAccessPass('E7008', tap.id); // already gone: fine
      assert.deepEqual(await cloud.listTemporaryAccessPasses('E7008'), []);
      await assert.rejects(
        cloud.createTemporaryAccessPass('E7008', { lifetimeInMinutes: 5, isUsableOnce: true }),
        (err: unknown) => err instanceof CloudError && err.kind === 'invalid' && !err.retryable,
      );
      await assert.rejects(
        cloud.createTemporaryAccessPass('E9999', { lifetimeInMinutes: 60, isUsableOnce: true }),
        (err: unknown) =>
          err instanceof CloudError && err.kind === 'notFound' && err.property === 'employeeId',
      );
    });
  });

  describe('sendMail', () => {
    it('accepts (202) from the shared mailbox and delivers to each recipient, readable through the admin endpoint', async () => {
      const res = await request(
        'POST',
        `/v1.0/users/${sender}/sendMail`,
        mailBody(['a.manager@kerava.fi', 'ops@kerava.fi']),
      );
      assert.equal(res.status, 202);
      const inbox = sim.admin.messagesTo('A.Manager@kerava.fi');
      assert.equal(inbox.length, 1);
      assert.deepEqual(
        { from: inbox[0]!.from, to: inbox[0]!.to, subject: inbox[0]!.subject, body: inbox[0]!.body },
        { from: sender, to: ['a.manager@kerava.fi', 'ops@kerava.fi'], subject: 'Tunnus valmis', body: 'Hei' },
      );
      assert.equal(sim.admin.sentItems(sender).length, 0, 'saveToSentItems false keeps no copy');
      const viaAdmin = await request(
        'GET',
        `/_admin/mailboxes/${encodeURIComponent('ops@kerava.fi')}/messages`,
      );
      assert.equal((viaAdmin.body as unknown as unknown[]).length, 1);
      assert.equal((await request('DELETE', '/_admin/mailboxes')).status, 204);
      assert.deepEqual(sim.admin.messagesTo('ops@kerava.fi'), []);
    });

    it('sends from a user only once the mailbox exists; an unknown sender is ErrorInvalidUser', async () => {
      const user = addUser(10);
      const noMailbox = await request('POST', `/v1.0/users/${user.id}/sendMail`, mailBody(['x@kerava.fi']));
      assert.equal(noMailbox.status, 404);
      assert.equal(noMailbox.body.error.code, 'MailboxNotEnabledForRESTAPI');
      const withMailbox = addUser(11, { mailbox: true });
      assert.equal(
        (
          await request(
            'POST',
            `/v1.0/users/${withMailbox.userPrincipalName}/sendMail`,
            mailBody(['x@kerava.fi']),
          )
        ).status,
        202,
      );
      assert.equal(sim.admin.messagesTo('x@kerava.fi')[0]!.from, withMailbox.userPrincipalName);
      const unknown = await request(
        'POST',
        '/v1.0/users/nobody@kerava.fi/sendMail',
        mailBody(['x@kerava.fi']),
      );
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.error.code, 'ErrorInvalidUser');
    });

    it('validates recipients and the body as Graph does', async () => {
      const path = `/v1.0/users/${sender}/sendMail`;
      const bad = await request('POST', path, mailBody(['not-an-address']));
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.code, 'ErrorInvalidRecipients');
      assert.equal((await request('POST', path, mailBody([]))).body.error.code, 'ErrorInvalidRecipients');
      assert.equal((await request('POST', path, {})).status, 400);
      const html = mailBody(['x@kerava.fi']);
      html.message.body = { contentType: 'Markdown', content: '#' };
      assert.equal((await request('POST', path, html)).status, 400);
      assert.equal(sim.admin.messagesTo('x@kerava.fi').length, 0);
    });

    it('throttles and fails like every route; commit-then-504 delivers and still answers 504', async () => {
      sim.admin.throttleNext(1, 7, 'POST /users/{id}/sendMail');
      await assert.rejects(
        cloud.sendMail(sender, { to: ['x@kerava.fi'], subject: 's', body: 'b', contentType: 'Text' }),
        (err: unknown) =>
          err instanceof CloudError && err.kind === 'throttled' && err.retryable && err.retryAfterMs === 7000,
      );
      assert.equal(sim.admin.messagesTo('x@kerava.fi').length, 0);
      sim.admin.commitThen504(1, 'POST /users/{id}/sendMail');
      await assert.rejects(
        cloud.sendMail(sender, { to: ['x@kerava.fi'], subject: 's', body: 'b', contentType: 'Text' }),
        (err: unknown) => err instanceof CloudError && err.kind === 'unavailable' && err.retryable,
      );
      assert.equal(sim.admin.messagesTo('x@kerava.fi').length, 1, 'the 504 came after delivery');
      await cloud.sendMail(sender, {
        to: ['y@kerava.fi'],
        subject: 'Hello',
        body: '<p>Hi</p>',
        contentType: 'HTML',
      });
      const [msg] = sim.admin.messagesTo('y@kerava.fi');
      assert.equal(msg!.contentType, 'HTML');
      assert.equal(sim.admin.counters().byRoute['POST /users/{id}/sendMail'], 3);
      await assert.rejects(
        cloud.sendMail('nobody@kerava.fi', {
          to: ['y@kerava.fi'],
          subject: 's',
          body: 'b',
          contentType: 'Text',
        }),
        (err: unknown) => err instanceof CloudError && err.kind === 'notFound' && !err.retryable,
      );
    });
  });
});
