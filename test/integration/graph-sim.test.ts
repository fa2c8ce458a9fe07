import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startGraphSimulator, type GraphSimulator } from '../../sandbox/graph-sim';

// The simulator at the wire: status codes, headers and envelopes exactly as a client sees them.
// (graph-connector.test.ts drives it through the real Graph SDK.)

const token = 'sim-token-graph-sim-test';

/** The parts of Graph's JSON bodies these tests read. */
interface GraphBody {
  id: string;
  employeeId?: string;
  usageLocation?: string;
  businessPhones?: string[];
  '@odata.context': string;
  '@odata.nextLink'?: string;
  value: Record<string, unknown>[];
  error: { code: string; message: string; innerError: Record<string, string | undefined> };
}

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: GraphBody;
}

let sim: GraphSimulator;
let ca: Buffer;

function request(method: string, path: string, body?: unknown, auth: string | null = `Bearer ${token}`) {
  return new Promise<RawResponse>((resolve, reject) => {
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (auth !== null) headers.Authorization = auth;
    const req = https.request(`${sim.url}${path}`, { method, headers, ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: (text ? JSON.parse(text) : {}) as GraphBody,
        });
      });
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const newUser = (n: number, extra: Record<string, unknown> = {}) => ({
  accountEnabled: true,
  displayName: `Test User ${n}`,
  mailNickname: `test.user${n}`,
  userPrincipalName: `test.user${n}@kerava.test`,
  employeeId: `E${1000 + n}`,
  passwordProfile: { password: 'Xy7!initial-password', forceChangePasswordNextSignIn: true },
  ...extra,
});

describe('graph simulator (HTTP level)', () => {
  before(async () => {
    sim = await startGraphSimulator({ token, maxPageSize: 2 });
    ca = fs.readFileSync(sim.caCertPath);
  });
  after(async () => sim.close());
  beforeEach(() => sim.admin.reset());

  it('answers a request without a token with 401 InvalidAuthenticationToken in the real envelope', async () => {
    const res = await request('GET', '/v1.0/users', undefined, null);
    assert.equal(res.status, 401);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.equal(res.body.error.code, 'InvalidAuthenticationToken');
    assert.equal(typeof res.body.error.message, 'string');
    assert.match(res.body.error.innerError.date ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
    assert.equal(res.body.error.innerError['request-id'], res.headers['request-id']);
  });

  it('answers a wrong token with 401 too', async () => {
    const res = await request('GET', '/v1.0/users', undefined, 'Bearer not-the-token');
    assert.equal(res.status, 401);
    assert.equal(res.body.error.code, 'InvalidAuthenticationToken');
  });

  it('returns only the default user properties unless $select asks for more', async () => {
    const created = await request('POST', '/v1.0/users', newUser(1, { usageLocation: 'FI' }));
    assert.equal(created.status, 201);
    assert.equal(created.body.employeeId, undefined, 'v1.0 create answers with the default property set');
    const plain = await request('GET', `/v1.0/users/${created.body.id}`);
    assert.equal(plain.body.usageLocation, undefined);
    assert.deepEqual(plain.body.businessPhones, []);
    assert.match(plain.body['@odata.context'], /\$metadata#users\/\$entity$/);
    const selected = await request(
      'GET',
      `/v1.0/users/test.user1@kerava.test?$select=id,employeeId,usageLocation`,
    );
    assert.deepEqual(Object.keys(selected.body).sort(), [
      '@odata.context',
      'employeeId',
      'id',
      'usageLocation',
    ]);
    assert.equal(selected.body.employeeId, 'E1001');
    assert.match(selected.body['@odata.context'], /#users\(id,employeeId,usageLocation\)\/\$entity$/);
  });

  it('filters by employeeId with a URL-encoded, quote-escaped literal', async () => {
    await request('POST', '/v1.0/users', newUser(1, { employeeId: "O'B-1" }));
    await request('POST', '/v1.0/users', newUser(2));
    const filter = encodeURIComponent("employeeId eq 'O''B-1'");
    const res = await request('GET', `/v1.0/users?$filter=${filter}&$select=id,employeeId`);
    assert.equal(res.status, 200);
    assert.equal(res.body.value.length, 1);
    assert.equal(res.body.value[0]?.employeeId, "O'B-1");
    const unsupported = await request('GET', `/v1.0/users?$filter=${encodeURIComponent("city eq 'Kerava'")}`);
    assert.equal(unsupported.status, 400);
    assert.equal(unsupported.body.error.code, 'Request_UnsupportedQuery');
  });

  it('pages large lists with @odata.nextLink', async () => {
    for (let n = 1; n <= 5; n++) await request('POST', '/v1.0/users', newUser(n));
    const seen: unknown[] = [];
    let res = await request('GET', '/v1.0/users?$select=id,employeeId&$top=10');
    for (;;) {
      seen.push(...res.body.value.map((u) => u.employeeId));
      const next = res.body['@odata.nextLink'];
      if (!next) break;
      assert.ok(next.startsWith(`${sim.url}/v1.0/users?`));
      res = await request('GET', next.slice(sim.url.length));
    }
    assert.deepEqual(seen.sort(), ['E1001', 'E1002', 'E1003', 'E1004', 'E1005']);
  });

  it('requires removeLicenses in assignLicense even when empty', async () => {
    const created = await request('POST', '/v1.0/users', newUser(1, { usageLocation: 'FI' }));
    const res = await request('POST', `/v1.0/users/${created.body.id}/assignLicense`, {
      addLicenses: [{ skuId: '05e9a617-0261-4cee-bb44-138d3ef5d965', disabledPlans: [] }],
    });
    assert.equal(res.status, 400);
    assert.match(res.body.error.message, /missing parameters are: removeLicenses/);
  });

  it('throttles with 429 and a Retry-After header, and counts every call per route', async () => {
    sim.admin.throttleNext(1, 3);
    const throttled = await request('GET', '/v1.0/subscribedSkus');
    assert.equal(throttled.status, 429);
    assert.equal(throttled.headers['retry-after'], '3');
    assert.equal(throttled.body.error.code, 'TooManyRequests');
    const ok = await request('GET', '/v1.0/subscribedSkus');
    assert.equal(ok.status, 200);
    assert.deepEqual(sim.admin.counters(), { total: 2, byRoute: { 'GET /subscribedSkus': 2 } });
  });

  it('exposes faults and counters over the admin endpoint too', async () => {
    assert.equal((await request('POST', '/_admin/faults', { fail: { count: 1, status: 503 } })).status, 204);
    assert.equal((await request('GET', '/v1.0/users')).status, 503);
    const counters = await request('GET', '/_admin/counters');
    assert.deepEqual(counters.body, { total: 1, byRoute: { 'GET /users': 1 } });
    assert.equal((await request('GET', '/_admin/counters', undefined, null)).status, 401);
  });

  it('commits a write and then answers 504 when told to', async () => {
    sim.admin.commitThen504();
    const res = await request('POST', '/v1.0/users', newUser(1));
    assert.equal(res.status, 504);
    assert.equal(sim.state.users.size, 1);
  });

  it('reports seats as prepaidUnits.enabled and consumedUnits', async () => {
    sim.admin.setSkus([{ skuPartNumber: 'SPE_F1', enabled: 3 }]);
    const created = await request('POST', '/v1.0/users', newUser(1, { usageLocation: 'FI' }));
    await request('POST', `/v1.0/users/${created.body.id}/assignLicense`, {
      addLicenses: [{ skuId: '66b55226-6b4f-492c-910c-a3b7a3c9d993', disabledPlans: [] }],
      removeLicenses: [],
    });
    const res = await request('GET', '/v1.0/subscribedSkus');
    const sku = res.body.value[0] as {
      skuPartNumber: string;
      consumedUnits: number;
      prepaidUnits: unknown;
      servicePlans: { servicePlanName: string }[];
    };
    assert.equal(sku.skuPartNumber, 'SPE_F1');
    assert.deepEqual(sku.prepaidUnits, { enabled: 3, suspended: 0, warning: 0, lockedOut: 0 });
    assert.equal(sku.consumedUnits, 1);
    assert.ok(sku.servicePlans.some((p) => p.servicePlanName === 'EXCHANGE_S_DESKLESS'));
  });

  it('keeps a deleted user in deletedItems until restored', async () => {
    const created = await request('POST', '/v1.0/users', newUser(1));
    assert.equal((await request('DELETE', `/v1.0/users/${created.body.id}`)).status, 204);
    assert.equal((await request('GET', `/v1.0/users/${created.body.id}`)).status, 404);
    const deleted = await request(
      'GET',
      '/v1.0/directory/deletedItems/microsoft.graph.user?$select=id,deletedDateTime',
    );
    assert.equal(deleted.body.value.length, 1);
    assert.ok(deleted.body.value[0]?.deletedDateTime);
    const restored = await request('POST', `/v1.0/directory/deletedItems/${created.body.id}/restore`);
    assert.equal(restored.status, 200);
    assert.equal((await request('GET', `/v1.0/users/${created.body.id}`)).status, 200);
  });

  it('refuses to set proxyAddresses, which Exchange owns', async () => {
    const created = await request('POST', '/v1.0/users', newUser(1));
    const res = await request('PATCH', `/v1.0/users/${created.body.id}`, {
      proxyAddresses: ['smtp:x@kerava.fi'],
    });
    assert.equal(res.status, 400);
    assert.match(res.body.error.message, /read-only/);
  });
});
