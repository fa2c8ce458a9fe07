import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { z } from 'zod';
import type { Logger } from '../logger';

// Temporal's remote codec protocol (docs/codec-server.md): POST …/decode and …/encode take and
// answer `{ payloads: [Payload as proto3 JSON] }`; only the last path segment counts, and the
// namespace comes in X-Namespace. The Web UI calls it from the browser, so:
// - CORS is answered for the UI's origin only (a preflight from anywhere else is refused, and a
//   browser never hands another site the answer);
// - every request is authenticated: `Authorization: Bearer <operator token>` (CLI, curl, a UI
//   that forwards its user's access token), or the session cookie of /login, which the UI sends
//   when its codec setting "include cross-origin credentials" is on;
// - each decode is logged with the operator and the workflow id when the caller says it (the
//   X-Workflow-Id header, or the UI page in Referer) — never the content;
// - a payload whose data key was destroyed (crypto-shredding) answers "key destroyed", not a 500.

export const KEY_DESTROYED_TEXT = 'key destroyed: crypto-shredded at the end of retention';
export const SESSION_COOKIE = 'tunnus_codec_session';
const DEFAULT_SESSION_MS = 8 * 60 * 60 * 1000;
const DEFAULT_BODY_LIMIT = 8 * 1024 * 1024;
/** The request headers the Web UI sends (and our own clients): what a preflight may ask for. */
const ALLOWED_HEADERS = ['content-type', 'x-namespace', 'authorization', 'x-workflow-id'];

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** Bearer token → operator name, or undefined (src/codec-server/operators.ts). */
  authenticate: (authorization: string | undefined) => string | undefined;
  /** The Web UI's origins (scheme://host:port), exactly as the browser sends Origin. */
  uiOrigins: readonly string[];
  logger: Logger;
  host?: string;
  port?: number;
  sessionMs?: number;
  bodyLimitBytes?: number;
}

export interface CodecServer {
  url: string;
  close(): Promise<void>;
}

const payloadJson = z.object({
  metadata: z.record(z.string(), z.string()).optional(),
  data: z.string().optional(),
});
const requestBody = z.object({ payloads: z.array(payloadJson) });
type PayloadJson = z.infer<typeof payloadJson>;

const fromJson = (p: PayloadJson): Payload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
  ),
  data: Buffer.from(p.data ?? '', 'base64'),
});

const toJson = (p: Payload): PayloadJson => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [
      k,
      Buffer.from(v ?? new Uint8Array()).toString('base64'),
    ]),
  ),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

/** What a destroyed key's payload decodes to: a JSON string the UI shows as it is. */
export const keyDestroyedPayload = (): Payload => ({
  metadata: { encoding: Buffer.from('json/plain') },
  data: Buffer.from(JSON.stringify(KEY_DESTROYED_TEXT)),
});

const isKeyDestroyed = (err: unknown) => err instanceof Error && err.name === 'KeyDestroyed';

/** Workflow ids are business keys (person-E1001, joiner-E1001-1): anything else is not logged. */
const WORKFLOW_ID = /^[A-Za-z0-9._:@-]{1,200}$/;

function workflowIdOf(req: http.IncomingMessage): string | undefined {
  const header = req.headers['x-workflow-id'];
  if (typeof header === 'string') return WORKFLOW_ID.test(header) ? header : undefined;
  // The UI's page (…/namespaces/default/workflows/<id>/<runId>/history), when the browser sends it.
  const referer = req.headers.referer;
  const match = referer ? /\/workflows\/([^/?#]+)/.exec(referer) : null;
  const id = match ? decodeURIComponent(match[1]!) : undefined;
  return id && WORKFLOW_ID.test(id) ? id : undefined;
}

function cookieOf(req: http.IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readBody(req: http.IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, `body over ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function startCodecServer(options: CodecServerOptions): Promise<CodecServer> {
  const { codec, authenticate, logger: log } = options;
  const origins = new Set(options.uiOrigins);
  const sessionMs = options.sessionMs ?? DEFAULT_SESSION_MS;
  const bodyLimit = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT;
  /** Session id → operator; in memory, so a restart signs everyone out. */
  const sessions = new Map<string, { operator: string; until: number }>();

  const operatorOf = (req: http.IncomingMessage): string | undefined => {
    if (req.headers.authorization) return authenticate(req.headers.authorization);
    const id = cookieOf(req, SESSION_COOKIE);
    const session = id ? sessions.get(id) : undefined;
    if (!session) return undefined;
    if (session.until < Date.now()) {
      sessions.delete(id!);
      return undefined;
    }
    return session.operator;
  };

  const send = (
    res: http.ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, {
      'content-type': typeof body === 'string' ? 'text/html; charset=utf-8' : 'application/json',
      'cache-control': 'no-store',
      ...headers,
    });
    res.end(text);
  };

  /** Decodes what it can; a destroyed key's payload becomes the "key destroyed" payload. */
  async function decode(payloads: Payload[]): Promise<{ decoded: Payload[]; destroyed: number }> {
    try {
      return { decoded: await codec.decode(payloads), destroyed: 0 };
    } catch (err) {
      if (!isKeyDestroyed(err)) throw err;
    }
    // One request may mix people and keys: decode one at a time and answer for each.
    let destroyed = 0;
    const decoded: Payload[] = [];
    for (const payload of payloads) {
      try {
        decoded.push(...(await codec.decode([payload])));
      } catch (err) {
        if (!isKeyDestroyed(err)) throw err;
        destroyed++;
        decoded.push(keyDestroyedPayload());
      }
    }
    return { decoded, destroyed };
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://codec');
    const last = url.pathname.split('/').filter(Boolean).pop() ?? '';
    const origin = req.headers.origin;
    const cors: Record<string, string> =
      origin && origins.has(origin)
        ? {
            'access-control-allow-origin': origin,
            'access-control-allow-credentials': 'true',
            vary: 'Origin',
          }
        : { vary: 'Origin' };

    if (req.method === 'OPTIONS') {
      // Preflight: only the UI's origin, only POST, only the headers the UI sends.
      const asked = (req.headers['access-control-request-headers'] ?? '')
        .split(',')
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean);
      const ok =
        origin !== undefined &&
        origins.has(origin) &&
        req.headers['access-control-request-method'] === 'POST' &&
        asked.every((h) => ALLOWED_HEADERS.includes(h)) &&
        (last === 'decode' || last === 'encode');
      if (!ok)
        return void send(res, 403, { error: 'origin, method or headers not allowed' }, { vary: 'Origin' });
      res.writeHead(204, {
        ...cors,
        'access-control-allow-methods': 'POST',
        'access-control-allow-headers': ALLOWED_HEADERS.join(', '),
        'access-control-max-age': '600',
      });
      return void res.end();
    }
    // A browser page of another origin is refused outright (non-browser clients send no Origin).
    // The sign-in form posts from the codec server's own page (its own origin).
    const own = origin !== undefined && URL.canParse(origin) && new URL(origin).host === req.headers.host;
    const signIn = url.pathname === '/login' || url.pathname === '/logout';
    if (origin && !origins.has(origin) && !(signIn && own)) {
      return void send(res, 403, { error: 'origin not allowed' });
    }

    if (req.method === 'GET' && url.pathname === '/health') return void send(res, 200, { status: 'ok' });
    if (req.method === 'GET' && url.pathname === '/login') return void send(res, 200, loginPage());
    if (req.method === 'POST' && url.pathname === '/login') {
      const form = new URLSearchParams(await readBody(req, 4096));
      const operator = authenticate(`Bearer ${form.get('token') ?? ''}`);
      if (!operator) {
        log.warn({ event: 'codec-login-refused' }, 'codec sign-in refused');
        return void send(res, 401, loginPage('That token is not an operator token.'));
      }
      const id = randomBytes(32).toString('base64url');
      sessions.set(id, { operator, until: Date.now() + sessionMs });
      log.info({ operator, event: 'codec-login' }, 'operator signed in to the codec server');
      return void send(res, 200, signedInPage(operator), {
        // Strict: sent only from same-site pages (the UI on the same host), never from elsewhere.
        'set-cookie': `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${Math.floor(sessionMs / 1000)}`,
      });
    }
    if (req.method === 'POST' && url.pathname === '/logout') {
      const id = cookieOf(req, SESSION_COOKIE);
      if (id) sessions.delete(id);
      return void send(
        res,
        200,
        { status: 'signed out' },
        { ...cors, 'set-cookie': `${SESSION_COOKIE}=; Path=/; Max-Age=0` },
      );
    }
    if (req.method !== 'POST' || (last !== 'decode' && last !== 'encode')) {
      return void send(res, 404, { error: 'not found: POST …/decode or …/encode' }, cors);
    }

    const operator = operatorOf(req);
    const namespace = typeof req.headers['x-namespace'] === 'string' ? req.headers['x-namespace'] : undefined;
    const workflowId = workflowIdOf(req);
    if (!operator) {
      log.warn(
        { event: 'codec-refused', op: last, namespace, workflowId },
        'codec request without a valid operator',
      );
      return void send(
        res,
        401,
        { error: 'an operator token (Authorization: Bearer …) or sign-in is required' },
        cors,
      );
    }
    let body: z.infer<typeof requestBody>;
    try {
      const parsed = requestBody.safeParse(JSON.parse(await readBody(req, bodyLimit)));
      if (!parsed.success) throw new HttpError(400, 'body must be { "payloads": [ { metadata, data } ] }');
      body = parsed.data;
    } catch (err) {
      if (err instanceof HttpError) return void send(res, err.status, { error: err.message }, cors);
      return void send(res, 400, { error: 'body is not valid JSON' }, cors);
    }
    const payloads = body.payloads.map(fromJson);
    if (last === 'encode') {
      const encoded = await codec.encode(payloads);
      log.info(
        { event: 'codec-encode', operator, namespace, workflowId, payloads: payloads.length },
        'payloads encoded',
      );
      return void send(res, 200, { payloads: encoded.map(toJson) }, cors);
    }
    const started = process.hrtime.bigint();
    const { decoded, destroyed } = await decode(payloads);
    log.info(
      {
        event: 'codec-decode',
        operator,
        namespace,
        workflowId,
        payloads: payloads.length,
        destroyed,
        ms: Number(process.hrtime.bigint() - started) / 1e6,
      },
      'payloads decoded',
    );
    send(res, 200, { payloads: decoded.map(toJson) }, cors);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      // The error's name only: a codec error message could quote what it failed on.
      log.error(
        { event: 'codec-error', error: err instanceof Error ? err.name : 'unknown' },
        'codec request failed',
      );
      if (!res.headersSent)
        send(res, status, { error: status === 500 ? 'codec failed' : (err as Error).message });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

const page = (body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Tunnus codec server</title></head><body>${body}</body></html>`;

function loginPage(problem?: string): string {
  return page(
    `<h1>Tunnus codec server</h1>
<p>Sign in with your operator token to read decoded payloads in the Temporal Web UI (then turn on
"Include cross-origin credentials" in the UI's codec server settings).</p>
${problem ? `<p role="alert">${problem}</p>` : ''}
<form method="post" action="/login"><label>Operator token <input name="token" type="password" autocomplete="off"></label>
<button type="submit">Sign in</button></form>`,
  );
}

const signedInPage = (operator: string) =>
  page(`<h1>Tunnus codec server</h1><p role="status">Signed in as operator ${operator}.</p>`);
