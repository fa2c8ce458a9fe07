import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { sha256Hex } from '../../src/api/auth';
import {
  KEY_DESTROYED_TEXT,
  SESSION_COOKIE,
  startCodecServer,
  type CodecServer,
} from '../../src/codec-server/server';
import { operatorAuthenticator, parseCodecOperators } from '../../src/codec-server/operators';
import { createPayloadCodec } from '../../src/crypto/codec';
import { createLogger } from '../../src/logger';
import { throwawayIdentityKeys } from '../support/keys';

// The codec server over real HTTP with the real payload codec and a real key store: Temporal's
// remote codec protocol, CORS for the UI's origin only, operators by token or sign-in cookie, a
// decode log line with operator and workflow id but no content, and "key destroyed" for a
// shredded person instead of an error.

const UI = 'http://127.0.0.1:18346';
const token = `tun_codec_${randomBytes(24).toString('base64url')}`;

describe('codec server', () => {
  const keys = throwawayIdentityKeys();
  const codec = createPayloadCodec(keys);
  const lines: string[] = [];
  const out = new PassThrough();
  out.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
  let server: CodecServer;

  before(async () => {
    server = await startCodecServer({
      codec,
      authenticate: operatorAuthenticator([{ name: 'sandbox-operator', tokenSha256: sha256Hex(token) }]),
      uiOrigins: [UI],
      logger: createLogger('info', { destination: out }),
    });
  });
  after(async () => {
    await server.close();
    await keys.close();
  });

  const toJson = (p: Payload) => ({
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    ),
    data: Buffer.from(p.data!).toString('base64'),
  });
  const sealed = async (value: unknown) =>
    (await codec.encode([defaultPayloadConverter.toPayload(value)])).map(toJson);
  const post = (op: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}/${op}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...headers },
      body: JSON.stringify(body),
    });
  const bearer = { authorization: `Bearer ${token}` };
  const dataOf = (p: { data: string }) => Buffer.from(p.data, 'base64').toString();

  it('decodes a person’s payload for an operator and logs who and which workflow, not what', async () => {
    const payloads = await sealed({ employeeId: 'E900', record: { lastName: 'Salainen' } });
    assert.doesNotMatch(JSON.stringify(payloads), /Salainen/, 'encrypted before');
    const res = await post(
      'decode',
      { payloads },
      { ...bearer, 'x-workflow-id': 'joiner-E900-1', origin: UI },
    );
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), UI);
    const body = (await res.json()) as { payloads: { data: string }[] };
    assert.match(dataOf(body.payloads[0]!), /Salainen/);
    const line = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.event === 'codec-decode');
    assert.equal(line?.operator, 'sandbox-operator');
    assert.equal(line?.workflowId, 'joiner-E900-1');
    assert.equal(line?.namespace, 'default');
    assert.doesNotMatch(lines.join('\n'), /Salainen/);
  });

  it('refuses a request without a valid operator (401) and a page of another origin (403)', async () => {
    const payloads = await sealed({ employeeId: 'E901', record: { lastName: 'Piilossa' } });
    const none = await post('decode', { payloads }, { origin: UI });
    assert.equal(none.status, 401);
    assert.doesNotMatch(await none.text(), /Piilossa/);
    assert.equal((await post('decode', { payloads }, { authorization: 'Bearer wrong' })).status, 401);
    const elsewhere = await post('decode', { payloads }, { ...bearer, origin: 'http://evil.example' });
    assert.equal(elsewhere.status, 403);
    assert.equal(elsewhere.headers.get('access-control-allow-origin'), null);
  });

  it('answers the preflight for the UI origin with the headers the UI sends, and no other', async () => {
    const preflight = (origin: string, headers = 'content-type,x-namespace') =>
      fetch(`${server.url}/decode`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': headers,
        },
      });
    const ok = await preflight(UI);
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), UI);
    assert.equal(ok.headers.get('access-control-allow-credentials'), 'true');
    assert.match(ok.headers.get('access-control-allow-headers') ?? '', /x-namespace/);
    assert.equal((await preflight('http://evil.example')).status, 403);
    assert.equal((await preflight(UI, 'content-type,x-steal')).status, 403);
  });

  it('signs an operator in with the token and then takes the session cookie', async () => {
    const refused = await fetch(`${server.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'token=nope',
    });
    assert.equal(refused.status, 401);
    const login = await fetch(`${server.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }).toString(),
    });
    assert.equal(login.status, 200);
    const cookie = login.headers.get('set-cookie') ?? '';
    assert.match(cookie, new RegExp(`^${SESSION_COOKIE}=[^;]+; HttpOnly; SameSite=Strict`));
    const payloads = await sealed({ employeeId: 'E902', record: { lastName: 'Evaste' } });
    const res = await post('decode', { payloads }, { cookie: cookie.split(';')[0]!, origin: UI });
    assert.equal(res.status, 200);
    assert.match(dataOf(((await res.json()) as { payloads: { data: string }[] }).payloads[0]!), /Evaste/);
  });

  it('answers "key destroyed" for a shredded person’s payload, beside one that still decodes', async () => {
    const gone = await sealed({ employeeId: 'E903', record: { lastName: 'Poistettu' } });
    const kept = await sealed({ employeeId: 'E904', record: { lastName: 'Jaljella' } });
    await keys.destroy('E903');
    const res = await post('decode', { payloads: [...gone, ...kept] }, bearer);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { payloads: { data: string }[] };
    assert.equal(JSON.parse(dataOf(body.payloads[0]!)), KEY_DESTROYED_TEXT);
    assert.match(dataOf(body.payloads[1]!), /Jaljella/);
    assert.equal(
      lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => l.event === 'codec-decode')
        .at(-1)?.destroyed,
      1,
    );
  });

  it('encodes for an operator (what the UI sends when it starts or signals a workflow)', async () => {
    const plain = toJson(defaultPayloadConverter.toPayload({ count: 3 }));
    const res = await post('encode', { payloads: [plain] }, bearer);
    const body = (await res.json()) as { payloads: { metadata: Record<string, string> }[] };
    assert.equal(Buffer.from(body.payloads[0]!.metadata.encoding!, 'base64').toString(), 'binary/encrypted');
  });

  it('operator configuration is validated, naming the field', () => {
    assert.throws(
      () => parseCodecOperators('[{"name":"x","tokenSha256":"abc"}]', 'CODEC_OPERATORS'),
      /CODEC_OPERATORS\[0\]\[tokenSha256\]/,
    );
  });
});
