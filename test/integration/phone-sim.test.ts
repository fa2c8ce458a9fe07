import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { caCertPath } from '../../sandbox/ca';
import { startPhoneSimulator, type PhoneSimulator } from '../../sandbox/phone-sim';
import { PhoneError } from '../../src/connectors/phone/errors';
import {
  createPhoneDirectory,
  type CatalogueEntryInput,
  type PhoneDirectory,
} from '../../src/connectors/phone/phone-directory';

// The connector against the telephony simulator over real HTTPS: every error is classified, TLS
// is verified with the sandbox CA, and writes are idempotent.

const apiKey = 'test-key-phone';
let sim: PhoneSimulator;
let phone: PhoneDirectory;
const extra: PhoneDirectory[] = [];

function connector(
  overrides: { apiKey?: string; caCertPath?: string | null; timeoutMs?: number; baseUrl?: string } = {},
) {
  const ca = overrides.caCertPath === null ? {} : { caCertPath: overrides.caCertPath ?? caCertPath() };
  const c = createPhoneDirectory({
    baseUrl: overrides.baseUrl ?? sim.url,
    apiKey: overrides.apiKey ?? apiKey,
    timeoutMs: overrides.timeoutMs ?? 5000,
    ...ca,
  });
  extra.push(c);
  return c;
}

const entry = (employeeId: string, over: Partial<CatalogueEntryInput> = {}): CatalogueEntryInput => ({
  employeeId,
  displayName: 'Test Person',
  title: 'Lähihoitaja',
  unit: 'SOTE-KOTIHOITO',
  email: 'test.person@example.fi',
  ...over,
});

/** Asserts that the promise rejects with a PhoneError of the kind and returns it. */
async function rejectsWith(promise: Promise<unknown>, kind: PhoneError['kind']): Promise<PhoneError> {
  let caught: unknown;
  await assert.rejects(promise, (err: unknown) => {
    caught = err;
    return err instanceof PhoneError && err.kind === kind;
  });
  return caught as PhoneError;
}

/** A raw HTTPS request, for asserting what is on the wire. */
function raw(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = https.request(new URL(path, sim.url), { method, headers, ca: [readCa()] }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: text ? JSON.parse(text) : undefined,
        });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

let caPem: Buffer | undefined;
function readCa(): Buffer {
  caPem ??= fs.readFileSync(caCertPath());
  return caPem;
}

/**
 * An HTTPS server on 127.0.0.1 whose certificate comes from a CA of its own (made with openssl in
 * a temporary directory), not from the sandbox CA. It answers every request 404 and counts them.
 */
async function startForeignCaServer(): Promise<{
  url: string;
  caCertPath: string;
  requests: () => number;
  close: () => Promise<void>;
}> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-foreign-ca-'));
  const file = (name: string) => path.join(dir, name);
  const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  openssl([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-keyout',
    file('ca-key.pem'),
    '-out',
    file('ca.pem'),
    '-subj',
    '/CN=Not the Tunnus CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  openssl([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    file('key.pem'),
    '-out',
    file('server.csr'),
    '-subj',
    '/CN=localhost',
  ]);
  fs.writeFileSync(
    file('server.ext'),
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n',
  );
  openssl([
    'x509',
    '-req',
    '-in',
    file('server.csr'),
    '-CA',
    file('ca.pem'),
    '-CAkey',
    file('ca-key.pem'),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    file('server.ext'),
    '-out',
    file('cert.pem'),
  ]);
  let requests = 0;
  const server = https.createServer(
    { key: fs.readFileSync(file('key.pem')), cert: fs.readFileSync(file('cert.pem')) },
    (_req, res) => {
      requests += 1;
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'route_not_found' } }));
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    caCertPath: file('ca.pem'),
    requests: () => requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

before(async () => {
  sim = await startPhoneSimulator({ apiKey, readOnlyApiKey: 'read-only-key' });
  phone = connector();
});

after(async () => {
  for (const c of extra) await c.close();
  await sim.close();
});

beforeEach(async () => {
  await sim.admin.reset();
});

describe('numbers', () => {
  it('returns the numbers the platform has assigned, with the first of a type made primary', async () => {
    await sim.admin.assignNumbers('E2001', [
      { type: 'work', e164: '+35891000001' },
      { type: 'mobile', e164: '+358401000001' },
    ]);
    assert.deepEqual(await phone.numbersFor('E2001'), [
      { type: 'work', e164: '+35891000001', primary: true },
      { type: 'mobile', e164: '+358401000001', primary: true },
    ]);
  });

  it('a person the platform does not know gives null, not an error', async () => {
    assert.equal(await phone.numbersFor('E-UNKNOWN'), null);
  });

  it('a person with a catalogue entry but no numbers has an empty list', async () => {
    await phone.upsertCatalogueEntry(entry('E2002'));
    assert.deepEqual(await phone.numbersFor('E2002'), []);
  });
});

describe('errors are classified', () => {
  it('without an API key the platform answers 401 with a Bearer challenge', async () => {
    const res = await raw('GET', '/api/v1/persons/E1/numbers');
    assert.equal(res.status, 401);
    assert.match(String(res.headers['www-authenticate']), /^Bearer /);
    assert.deepEqual((res.body as { error: { code: string } }).error.code, 'unauthorized');
  });

  it('a wrong API key is a non-retryable permission error', async () => {
    const err = await rejectsWith(connector({ apiKey: 'wrong' }).numbersFor('E1'), 'permission');
    assert.equal(err.status, 401);
    assert.equal(err.retryable, false);
  });

  it('a read-only key that tries to write is a permission error (403)', async () => {
    const err = await rejectsWith(
      connector({ apiKey: 'read-only-key' }).upsertCatalogueEntry(entry('E1')),
      'permission',
    );
    assert.equal(err.status, 403);
    assert.equal(err.code, 'insufficient_scope');
  });

  it('429 is throttled and retryable, with Retry-After surfaced in milliseconds', async () => {
    await sim.admin.throttleNext(1, 7);
    const err = await rejectsWith(phone.numbersFor('E1'), 'throttled');
    assert.equal(err.status, 429);
    assert.equal(err.retryable, true);
    assert.equal(err.retryAfterMs, 7000);
  });

  it('the built-in rate limit answers 429 with Retry-After once the window is used up', async () => {
    const limited = await startPhoneSimulator({ apiKey, rateLimit: { requests: 2, windowMs: 60_000 } });
    try {
      const c = connector({ baseUrl: limited.url });
      await limited.admin.assignNumbers('E1', [{ type: 'work', e164: '+35891000001' }]);
      await c.numbersFor('E1');
      await c.numbersFor('E1');
      const err = await rejectsWith(c.numbersFor('E1'), 'throttled');
      assert.ok(err.retryAfterMs !== undefined && err.retryAfterMs > 0 && err.retryAfterMs <= 60_000);
    } finally {
      await limited.close();
    }
  });

  it('503 is unavailable and retryable, and the call succeeds once the fault is over', async () => {
    await sim.admin.assignNumbers('E1', [{ type: 'work', e164: '+35891000001' }]);
    await sim.admin.failNext(1);
    const err = await rejectsWith(phone.numbersFor('E1'), 'unavailable');
    assert.equal(err.status, 503);
    assert.equal(err.retryable, true);
    assert.equal((await phone.numbersFor('E1'))?.length, 1);
  });

  it('500 is unavailable and retryable', async () => {
    await sim.admin.failNext(1, 500);
    const err = await rejectsWith(phone.changesSince(), 'unavailable');
    assert.equal(err.status, 500);
  });

  it('a dropped connection is unavailable and retryable', async () => {
    await sim.admin.dropNext(1);
    const err = await rejectsWith(phone.numbersFor('E1'), 'unavailable');
    assert.equal(err.retryable, true);
    assert.equal(err.status, undefined);
  });

  it('an answer slower than the timeout is unavailable and retryable', async () => {
    await sim.admin.setLatency(500);
    const err = await rejectsWith(connector({ timeoutMs: 100 }).numbersFor('E1'), 'unavailable');
    assert.equal(err.code, 'ETIMEDOUT');
    assert.equal(err.retryable, true);
  });

  it('a refused connection is unavailable and retryable', async () => {
    const gone = await startPhoneSimulator({ apiKey });
    const url = gone.url;
    await gone.close();
    const err = await rejectsWith(connector({ baseUrl: url }).numbersFor('E1'), 'unavailable');
    assert.equal(err.code, 'ECONNREFUSED');
    assert.equal(err.retryable, true);
  });

  it('an invalid catalogue entry is a non-retryable invalid error naming no personal data', async () => {
    const err = await rejectsWith(
      phone.upsertCatalogueEntry(entry('E1', { email: 'not an address', displayName: 'Maija Meikäläinen' })),
      'invalid',
    );
    assert.equal(err.status, 422);
    assert.equal(err.retryable, false);
    assert.equal(err.code, 'validation_failed');
    assert.deepEqual(err.fields, ['email']);
    assert.match(err.message, /fields: email/);
    assert.doesNotMatch(err.message, /Maija|not an address/);
  });

  it('a malformed cursor is an invalid (400) error', async () => {
    const err = await rejectsWith(phone.changesSince('not-a-cursor'), 'invalid');
    assert.equal(err.status, 400);
    assert.equal(err.code, 'invalid_cursor');
  });

  it('a malformed employee id is an invalid (400) error', async () => {
    const err = await rejectsWith(phone.numbersFor('bad id!'), 'invalid');
    assert.equal(err.status, 400);
  });

  it('a wrong base path is notFound, not "person unknown"', async () => {
    const err = await rejectsWith(connector({ baseUrl: `${sim.url}/v0/` }).changesSince(), 'notFound');
    assert.equal(err.status, 404);
  });
});

describe('catalogue entries', () => {
  it('the same entry upserted twice is one entry, and the second write changes nothing', async () => {
    const first = await phone.upsertCatalogueEntry(entry('E3001'));
    const second = await phone.upsertCatalogueEntry(entry('E3001'));
    assert.equal(first.outcome, 'created');
    assert.equal(second.outcome, 'unchanged');
    assert.equal(second.entry.etag, first.entry.etag);
    assert.equal(second.entry.updatedAt, first.entry.updatedAt);
    assert.equal((await sim.admin.catalogue()).length, 1);
    // The second upsert only read: no write went to the platform.
    assert.equal((await sim.admin.calls())['PUT /api/v1/catalogue/:employeeId'], 1);
  });

  it('a PUT of identical content keeps the ETag on the platform as well', async () => {
    const body = JSON.stringify(entry('E3002'));
    const headers = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
    const a = await raw('PUT', '/api/v1/catalogue/E3002', headers, body);
    const b = await raw('PUT', '/api/v1/catalogue/E3002', headers, body);
    assert.equal(a.status, 201);
    assert.equal(b.status, 200);
    assert.equal(b.headers.etag, a.headers.etag);
  });

  it('a changed title updates the entry and moves its ETag', async () => {
    const first = await phone.upsertCatalogueEntry(entry('E3003'));
    const second = await phone.upsertCatalogueEntry(entry('E3003', { title: 'Sairaanhoitaja' }));
    assert.equal(second.outcome, 'updated');
    assert.notEqual(second.entry.etag, first.entry.etag);
    assert.equal((await phone.getCatalogueEntry('E3003'))?.title, 'Sairaanhoitaja');
  });

  it('the entry shows the numbers the platform has assigned to the person', async () => {
    await sim.admin.assignNumbers('E3004', [{ type: 'mobile', e164: '+358401000004' }]);
    const { entry: written } = await phone.upsertCatalogueEntry(entry('E3004'));
    assert.deepEqual(written.numbers, [{ type: 'mobile', e164: '+358401000004', primary: true }]);
  });

  it('a write with a stale If-Match is a non-retryable conflict and leaves the entry alone', async () => {
    const { entry: original } = await phone.upsertCatalogueEntry(entry('E3005'));
    // Someone else (the switchboard) edits the entry in between.
    await connector().upsertCatalogueEntry(entry('E3005', { unit: 'SOTE-VUODEOSASTO' }));
    const err = await rejectsWith(
      phone.upsertCatalogueEntry(entry('E3005', { title: 'Osastonhoitaja' }), { ifMatch: original.etag }),
      'conflict',
    );
    assert.equal(err.status, 412);
    assert.equal(err.retryable, false);
    const now = await phone.getCatalogueEntry('E3005');
    assert.equal(now?.unit, 'SOTE-VUODEOSASTO');
    assert.equal(now?.title, 'Lähihoitaja');
  });

  it('a write with the current If-Match succeeds', async () => {
    const { entry: original } = await phone.upsertCatalogueEntry(entry('E3006'));
    const result = await phone.upsertCatalogueEntry(entry('E3006', { title: 'Kotihoidon ohjaaja' }), {
      ifMatch: original.etag,
    });
    assert.equal(result.outcome, 'updated');
  });

  it('If-Match on an entry that does not exist is 412 on the wire', async () => {
    const res = await raw(
      'PUT',
      '/api/v1/catalogue/E3007',
      { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', 'if-match': '"r1"' },
      JSON.stringify(entry('E3007')),
    );
    assert.equal(res.status, 412);
  });

  it('removing an entry twice succeeds both times: the second finds it already gone', async () => {
    await phone.upsertCatalogueEntry(entry('E3008'));
    assert.equal(await phone.removeCatalogueEntry('E3008'), 'removed');
    assert.equal(await phone.removeCatalogueEntry('E3008'), 'absent');
    assert.equal(await phone.getCatalogueEntry('E3008'), null);
  });

  it('an upsert retried after a throttled write completes once', async () => {
    await sim.admin.throttleNext(1, 1, 'PUT /api/v1/catalogue/:employeeId');
    await rejectsWith(phone.upsertCatalogueEntry(entry('E3009')), 'throttled');
    const retried = await phone.upsertCatalogueEntry(entry('E3009'));
    assert.equal(retried.outcome, 'created');
    assert.equal((await sim.admin.catalogue()).length, 1);
  });
});

describe('changes feed', () => {
  it('pages through every change with the next cursor and then has nothing more', async () => {
    for (let i = 1; i <= 5; i++) {
      await sim.admin.assignNumbers(`E400${i}`, [{ type: 'work', e164: `+3589100400${i}` }]);
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    for (;;) {
      const page = await phone.changesSince(cursor, 2);
      pages += 1;
      seen.push(...page.changes.map((c) => c.employeeId));
      cursor = page.next;
      if (!page.hasMore) break;
    }
    assert.equal(pages, 3);
    assert.deepEqual(seen, ['E4001', 'E4002', 'E4003', 'E4004', 'E4005']);
    const empty = await phone.changesSince(cursor);
    assert.deepEqual(empty.changes, []);
    assert.equal(empty.hasMore, false);
    assert.equal(empty.next, cursor, 'with nothing new the cursor stays where it was');
  });

  it('after the stored cursor, only what changed since is returned, with the full new set of numbers', async () => {
    await sim.admin.assignNumbers('E4101', [
      { type: 'work', e164: '+35891004101' },
      { type: 'mobile', e164: '+358401004101' },
    ]);
    await sim.admin.assignNumbers('E4102', [{ type: 'work', e164: '+35891004102' }]);
    const { next } = await phone.changesSince();
    await sim.admin.changeNumber('E4101', '+358401004101', '+358401004199');
    const page = await phone.changesSince(next);
    assert.equal(page.changes.length, 1);
    const [change] = page.changes;
    assert.equal(change?.employeeId, 'E4101');
    assert.equal(change?.kind, 'changed');
    assert.deepEqual(change?.numbers, [
      { type: 'work', e164: '+35891004101', primary: true },
      { type: 'mobile', e164: '+358401004199', primary: true },
    ]);
  });

  it('releasing a person’s numbers appears as a change with no numbers', async () => {
    await sim.admin.assignNumbers('E4201', [{ type: 'work', e164: '+35891004201' }]);
    const { next } = await phone.changesSince();
    await sim.admin.releaseNumbers('E4201');
    const page = await phone.changesSince(next);
    assert.deepEqual(
      page.changes.map((c) => [c.kind, c.numbers.length]),
      [['released', 0]],
    );
    assert.deepEqual(await phone.numbersFor('E4201'), []);
  });

  it('a number already held by another person cannot be assigned', async () => {
    await sim.admin.assignNumbers('E4301', [{ type: 'work', e164: '+35891004301' }]);
    await assert.rejects(sim.admin.assignNumbers('E4302', [{ type: 'work', e164: '+35891004301' }]), /409/);
  });
});

describe('TLS', () => {
  it('is verified against the sandbox CA', async () => {
    await sim.admin.assignNumbers('E5001', [{ type: 'work', e164: '+35891005001' }]);
    assert.equal((await connector().numbersFor('E5001'))?.length, 1);
  });

  it('without the sandbox CA the connection is refused as untrusted, and not retried', async () => {
    const err = await rejectsWith(connector({ caCertPath: null }).numbersFor('E5001'), 'unavailable');
    assert.equal(err.retryable, false);
    assert.match(err.message, /TLS certificate not trusted/);
  });

  it('a server whose certificate another CA signed is refused, and the API key never leaves', async () => {
    const impostor = await startForeignCaServer();
    try {
      const err = await rejectsWith(
        connector({ baseUrl: impostor.url }).upsertCatalogueEntry(entry('E5002')),
        'unavailable',
      );
      assert.equal(err.retryable, false);
      assert.match(err.message, /TLS certificate not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/);
      assert.equal(impostor.requests(), 0, 'no HTTP request reached the impostor');
      // The same server is reachable when its own CA is the configured one: the refusal was the CA.
      const trusting = connector({ baseUrl: impostor.url, caCertPath: impostor.caCertPath });
      await rejectsWith(trusting.numbersFor('E5002'), 'notFound');
      assert.equal(impostor.requests(), 1);
    } finally {
      await impostor.close();
    }
  });

  it('a plain http:// base URL is refused before any request', () => {
    assert.throws(
      () => createPhoneDirectory({ baseUrl: sim.url.replace('https:', 'http:'), apiKey }),
      /must be https/,
    );
  });

  it('a proxy in the environment does not re-route the call around the verifying agent', async () => {
    const saved = process.env.HTTPS_PROXY;
    process.env.HTTPS_PROXY = 'http://127.0.0.1:9';
    try {
      assert.deepEqual(await connector().numbersFor('E-UNKNOWN'), null);
    } finally {
      if (saved === undefined) delete process.env.HTTPS_PROXY;
      else process.env.HTTPS_PROXY = saved;
    }
  });

  it('plain fetch without the CA cannot reach the simulator either', async () => {
    await assert.rejects(
      fetch(`${sim.url}/api/v1/numbers/changes`, { headers: { authorization: `Bearer ${apiKey}` } }),
    );
  });
});

describe('admin', () => {
  it('counts calls per route, including failed ones', async () => {
    await sim.admin.throttleNext(1);
    await rejectsWith(phone.numbersFor('E6001'), 'throttled');
    await phone.numbersFor('E6001');
    await phone.changesSince();
    assert.deepEqual(await sim.admin.calls(), {
      'GET /api/v1/persons/:employeeId/numbers': 2,
      'GET /api/v1/numbers/changes': 1,
    });
  });
});
