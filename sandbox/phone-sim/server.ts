import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { ensureServerCert } from '../ca';
import { PhoneStore, StoreError, e164Pattern, type SimCatalogueEntry } from './store';

// A stand-in for the city's hosted telephony platform (docs/telephony-api.md): real HTTPS with a
// sandbox-CA certificate, bearer API keys, the platform's error shapes, throttling and latency.
// Faults are switched on from tests through /_admin, never by flags in production code.

export interface PhoneSimOptions {
  /** 0 or omitted: any free port. */
  port?: number;
  /** The key clients send as `Authorization: Bearer <key>`. */
  apiKey: string;
  /** A key that may read but not write (writes answer 403 insufficient_scope). */
  readOnlyApiKey?: string;
  /** Added to every API request. */
  latencyMs?: number;
  /** Per-key fixed-window rate limit; over it, 429 with Retry-After. Off when omitted. */
  rateLimit?: { requests: number; windowMs: number };
}

export type FaultKind = 'throttle' | 'unavailable' | 'status' | 'reset';

/** One queued fault: the next `count` API requests (matching `route`, if given) fail this way. */
export interface FaultSpec {
  kind: FaultKind;
  count: number;
  /** For throttle (default 1) and unavailable (no header when omitted). */
  retryAfterSeconds?: number;
  /** For kind "status": the HTTP status to answer. */
  status?: number;
  /** A route key as in the call counters, e.g. "PUT /api/v1/catalogue/:employeeId". */
  route?: string;
}

export interface RunningPhoneSim {
  url: string;
  port: number;
  close(): Promise<void>;
}

const employeeIdPattern = /^[A-Za-z0-9-]{1,32}$/;
const maxBodyBytes = 64 * 1024;

const catalogueBodySchema = z
  .object({
    employeeId: z.string().optional(),
    displayName: z.string().trim().min(1).max(256),
    title: z.string().max(256),
    unit: z.string().trim().min(1).max(128),
    email: z
      .string()
      .max(254)
      .regex(/^[^\s@]+@[^\s@]+\.[^\s@]+$/),
    // Read-only fields of the GET representation are accepted and ignored, so a client may PUT
    // back what it read.
    numbers: z.unknown().optional(),
    updatedAt: z.unknown().optional(),
    etag: z.unknown().optional(),
  })
  .strict();

const numbersBodySchema = z
  .object({
    numbers: z.array(
      z.object({
        type: z.enum(['work', 'mobile']),
        e164: z.string().regex(e164Pattern),
        primary: z.boolean().optional(),
      }),
    ),
  })
  .strict();

const replaceBodySchema = z
  .object({ from: z.string().regex(e164Pattern), to: z.string().regex(e164Pattern) })
  .strict();

const faultSchema = z
  .object({
    kind: z.enum(['throttle', 'unavailable', 'status', 'reset']),
    count: z.number().int().min(1),
    retryAfterSeconds: z.number().int().min(0).optional(),
    status: z.number().int().min(400).max(599).optional(),
    route: z.string().optional(),
  })
  .strict();

interface Route {
  method: string;
  key: string;
  pattern: RegExp;
  handler: (ctx: Ctx, params: string[]) => Promise<void> | void;
  write?: boolean;
}

interface Ctx {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  url: URL;
  requestId: string;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: { field: string; issue: string }[],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export async function startPhoneSimServer(options: PhoneSimOptions): Promise<RunningPhoneSim> {
  const store = new PhoneStore();
  const calls = new Map<string, number>();
  let faults: FaultSpec[] = [];
  let latencyMs = options.latencyMs ?? 0;
  const windows = new Map<string, { start: number; used: number }>();

  const api: Route[] = [
    route('GET', '/api/v1/persons/:employeeId/numbers', (ctx, [id]) => {
      const numbers = store.numbersOf(id!);
      if (numbers === undefined)
        throw new HttpError(404, 'person_not_found', 'No person with this employee id');
      send(ctx, 200, { employeeId: id, numbers });
    }),
    route('GET', '/api/v1/catalogue/:employeeId', (ctx, [id]) => {
      const entry = store.getEntry(id!);
      if (!entry) throw new HttpError(404, 'entry_not_found', 'No catalogue entry for this employee id');
      sendEntry(ctx, 200, entry);
    }),
    route(
      'PUT',
      '/api/v1/catalogue/:employeeId',
      async (ctx, [id]) => {
        const body = parseOrThrow(catalogueBodySchema, await readJson(ctx.req));
        if (body.employeeId !== undefined && body.employeeId !== id) {
          throw new HttpError(422, 'validation_failed', 'Request body is invalid', [
            { field: 'employeeId', issue: 'does not match the path' },
          ]);
        }
        checkPreconditions(ctx.req, store.getEntry(id!));
        const { entry, created } = store.putEntry(id!, body, new Date());
        if (created) ctx.res.setHeader('location', `/api/v1/catalogue/${id}`);
        sendEntry(ctx, created ? 201 : 200, entry);
      },
      true,
    ),
    route(
      'DELETE',
      '/api/v1/catalogue/:employeeId',
      (ctx, [id]) => {
        const entry = store.getEntry(id!);
        if (!entry) throw new HttpError(404, 'entry_not_found', 'No catalogue entry for this employee id');
        checkPreconditions(ctx.req, entry);
        store.deleteEntry(id!);
        send(ctx, 204);
      },
      true,
    ),
    route('GET', '/api/v1/numbers/changes', (ctx) => {
      const since = ctx.url.searchParams.get('since');
      const after = since === null ? 0 : decodeCursor(since);
      const limitParam = ctx.url.searchParams.get('limit');
      const limit = limitParam === null ? 100 : Number(limitParam);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
        throw new HttpError(400, 'invalid_parameter', 'limit must be an integer 1-500', [
          { field: 'limit', issue: 'must be an integer 1-500' },
        ]);
      }
      const page = store.changesAfter(after, limit);
      send(ctx, 200, { changes: page.changes, next: encodeCursor(page.last), hasMore: page.hasMore });
    }),
  ];

  const admin: Route[] = [
    route('POST', '/_admin/reset', (ctx) => {
      store.reset();
      calls.clear();
      faults = [];
      latencyMs = options.latencyMs ?? 0;
      windows.clear();
      send(ctx, 204);
    }),
    route('PUT', '/_admin/persons/:employeeId/numbers', async (ctx, [id]) => {
      const body = parseOrThrow(numbersBodySchema, await readJson(ctx.req));
      const numbers = store.assign(
        id!,
        body.numbers.map((n) => ({ ...n, primary: n.primary ?? false })),
      );
      send(ctx, 200, { employeeId: id, numbers });
    }),
    route('POST', '/_admin/persons/:employeeId/numbers/replace', async (ctx, [id]) => {
      const body = parseOrThrow(replaceBodySchema, await readJson(ctx.req));
      send(ctx, 200, { employeeId: id, numbers: store.replaceNumber(id!, body.from, body.to) });
    }),
    route('DELETE', '/_admin/persons/:employeeId/numbers', (ctx, [id]) => {
      store.release(id!);
      send(ctx, 204);
    }),
    route('POST', '/_admin/faults', async (ctx) => {
      const fault = parseOrThrow(faultSchema, await readJson(ctx.req));
      if (fault.kind === 'status' && fault.status === undefined) {
        throw new HttpError(422, 'validation_failed', 'status is required', [
          { field: 'status', issue: 'required' },
        ]);
      }
      faults.push(fault);
      send(ctx, 204);
    }),
    route('DELETE', '/_admin/faults', (ctx) => {
      faults = [];
      send(ctx, 204);
    }),
    route('PUT', '/_admin/latency', async (ctx) => {
      const body = parseOrThrow(z.object({ ms: z.number().int().min(0) }).strict(), await readJson(ctx.req));
      latencyMs = body.ms;
      send(ctx, 204);
    }),
    route('GET', '/_admin/calls', (ctx) => send(ctx, 200, Object.fromEntries(calls))),
    route('DELETE', '/_admin/calls', (ctx) => {
      calls.clear();
      send(ctx, 204);
    }),
    route('GET', '/_admin/catalogue', (ctx) =>
      send(ctx, 200, { entries: store.listEntries().map(entryBody) }),
    ),
  ];

  function checkPreconditions(req: http.IncomingMessage, current: SimCatalogueEntry | undefined): void {
    const ifMatch = req.headers['if-match'];
    const ifNoneMatch = req.headers['if-none-match'];
    if (ifMatch !== undefined) {
      const tags = ifMatch.split(',').map((t) => t.trim());
      const ok = current !== undefined && (tags.includes('*') || tags.includes(etagOf(current)));
      if (!ok) throw new HttpError(412, 'precondition_failed', 'The entry does not match If-Match');
    }
    if (ifNoneMatch !== undefined && current !== undefined) {
      const tags = ifNoneMatch.split(',').map((t) => t.trim());
      if (tags.includes('*') || tags.includes(etagOf(current))) {
        throw new HttpError(412, 'precondition_failed', 'The entry already exists');
      }
    }
  }

  function sendEntry(ctx: Ctx, status: number, entry: SimCatalogueEntry): void {
    ctx.res.setHeader('etag', etagOf(entry));
    ctx.res.setHeader('last-modified', new Date(entry.updatedAt).toUTCString());
    send(ctx, status, entryBody(entry));
  }

  function entryBody(entry: SimCatalogueEntry) {
    return {
      employeeId: entry.employeeId,
      displayName: entry.displayName,
      title: entry.title,
      unit: entry.unit,
      email: entry.email,
      numbers: store.numbersOf(entry.employeeId) ?? [],
      updatedAt: entry.updatedAt,
      etag: etagOf(entry),
    };
  }

  /** Consumes the first queued fault that applies to this route, if any. */
  function takeFault(key: string): FaultSpec | undefined {
    const index = faults.findIndex((f) => f.route === undefined || f.route === key);
    if (index < 0) return undefined;
    const fault = faults[index]!;
    fault.count -= 1;
    if (fault.count <= 0) faults.splice(index, 1);
    return fault;
  }

  function rateLimited(apiKey: string): number | undefined {
    if (!options.rateLimit) return undefined;
    const now = Date.now();
    const { requests, windowMs } = options.rateLimit;
    let w = windows.get(apiKey);
    if (!w || now - w.start >= windowMs) {
      w = { start: now, used: 0 };
      windows.set(apiKey, w);
    }
    w.used += 1;
    if (w.used <= requests) return undefined;
    return Math.max(1, Math.ceil((w.start + windowMs - now) / 1000));
  }

  async function handleApi(ctx: Ctx): Promise<void> {
    const match = matchRoute(api, ctx);
    const key = match ? match.route.key : `${ctx.req.method ?? ''} (unknown)`;
    calls.set(key, (calls.get(key) ?? 0) + 1);

    const token = bearer(ctx.req.headers.authorization);
    const readOnly = options.readOnlyApiKey !== undefined && token === options.readOnlyApiKey;
    if (token === undefined || (token !== options.apiKey && !readOnly)) {
      throw new HttpError(401, 'unauthorized', 'A valid API key is required', undefined, {
        'www-authenticate': 'Bearer realm="telephony", error="invalid_token"',
      });
    }

    if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));

    const fault = takeFault(key);
    if (fault) {
      switch (fault.kind) {
        case 'reset':
          ctx.req.socket.destroy();
          return;
        case 'throttle':
          throw new HttpError(429, 'too_many_requests', 'Rate limit exceeded', undefined, {
            'retry-after': String(fault.retryAfterSeconds ?? 1),
          });
        case 'unavailable':
          throw new HttpError(
            503,
            'service_unavailable',
            'The service is temporarily unavailable',
            undefined,
            fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) },
          );
        case 'status':
          throw new HttpError(fault.status ?? 500, 'injected_fault', 'Injected failure');
      }
    }

    const retryAfter = rateLimited(token);
    if (retryAfter !== undefined) {
      throw new HttpError(429, 'too_many_requests', 'Rate limit exceeded', undefined, {
        'retry-after': String(retryAfter),
      });
    }

    if (!match) throw notFoundOrNotAllowed(api, ctx);
    if (match.route.write && readOnly) {
      throw new HttpError(403, 'insufficient_scope', 'The API key may not write');
    }
    const id = match.params[0];
    if (id !== undefined && !employeeIdPattern.test(id)) {
      throw new HttpError(400, 'invalid_parameter', 'employeeId is malformed', [
        { field: 'employeeId', issue: 'must be 1-32 letters, digits or -' },
      ]);
    }
    await match.route.handler(ctx, match.params);
  }

  async function handleAdmin(ctx: Ctx): Promise<void> {
    const match = matchRoute(admin, ctx);
    if (!match) throw notFoundOrNotAllowed(admin, ctx);
    await match.route.handler(ctx, match.params);
  }

  const cert = ensureServerCert('phone-sim', ['localhost']);
  const server = https.createServer(
    { cert: fs.readFileSync(cert.cert), key: fs.readFileSync(cert.key) },
    (req, res) => {
      const url = new URL(req.url ?? '/', 'https://localhost');
      const ctx: Ctx = { req, res, url, requestId: randomUUID() };
      res.setHeader('x-request-id', ctx.requestId);
      const handler = url.pathname.startsWith('/_admin/') ? handleAdmin : handleApi;
      handler(ctx).catch((err: unknown) => sendError(ctx, err));
    },
  );

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `https://localhost:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function route(method: string, template: string, handler: Route['handler'], write = false): Route {
  const pattern = new RegExp(`^${template.replace(/:[A-Za-z]+/g, '([^/]+)')}$`);
  return { method, key: `${method} ${template}`, pattern, handler, write };
}

function matchRoute(routes: Route[], ctx: Ctx): { route: Route; params: string[] } | undefined {
  for (const r of routes) {
    if (r.method !== ctx.req.method) continue;
    const m = r.pattern.exec(ctx.url.pathname);
    if (m) return { route: r, params: m.slice(1).map((p) => safeDecode(p)) };
  }
  return undefined;
}

function notFoundOrNotAllowed(routes: Route[], ctx: Ctx): HttpError {
  const allowed = routes.filter((r) => r.pattern.test(ctx.url.pathname)).map((r) => r.method);
  if (allowed.length > 0) {
    return new HttpError(405, 'method_not_allowed', 'Method not allowed', undefined, {
      allow: allowed.join(', '),
    });
  }
  return new HttpError(404, 'route_not_found', 'No such resource');
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function bearer(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return m?.[1];
}

function etagOf(entry: SimCatalogueEntry): string {
  return `"r${entry.version}"`;
}

/** Cursors are opaque to clients: base64url of "seq:<n>". */
function encodeCursor(sequence: number): string {
  return Buffer.from(`seq:${sequence}`).toString('base64url');
}

function decodeCursor(cursor: string): number {
  const m = /^seq:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) {
    throw new HttpError(400, 'invalid_cursor', 'The cursor is not valid', [
      { field: 'since', issue: 'not a cursor' },
    ]);
  }
  return Number(m[1]);
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) {
    throw new HttpError(415, 'unsupported_media_type', 'Content-Type must be application/json');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > maxBodyBytes) throw new HttpError(413, 'payload_too_large', 'The body is too large');
    chunks.push(buf);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new HttpError(400, 'malformed_json', 'The body is not valid JSON');
  }
}

function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new HttpError(
    422,
    'validation_failed',
    'Request body is invalid',
    result.error.issues.map((i) => ({ field: i.path.join('.') || '(body)', issue: i.message })),
  );
}

function send(ctx: Ctx, status: number, body?: unknown): void {
  if (ctx.res.headersSent || ctx.res.destroyed) return;
  if (body === undefined) {
    ctx.res.writeHead(status).end();
    return;
  }
  const text = JSON.stringify(body);
  ctx.res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(text);
}

function sendError(ctx: Ctx, err: unknown): void {
  const e =
    err instanceof HttpError
      ? err
      : err instanceof StoreError
        ? new HttpError(err.status, err.code, err.message)
        : new HttpError(500, 'internal_error', 'Internal error');
  for (const [name, value] of Object.entries(e.headers)) ctx.res.setHeader(name, value);
  send(ctx, e.status, {
    error: {
      code: e.code,
      message: e.message,
      requestId: ctx.requestId,
      ...(e.details ? { details: e.details } : {}),
    },
  });
}
