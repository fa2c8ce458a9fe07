import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { caCertPath, ensureServerCert } from '../ca';
import { defaultSeats, type SkuSeats } from './skus';
import { MailStore, type DeliveredMessage } from './mail';
import { GraphFailure, GraphState, tenantId, type Sku, type SimUser } from './state';
import { TapStore, defaultTapPolicy, type ExistingTapMode, type TapPolicy, type TapSignIn } from './tap';

// A Microsoft Graph stand-in over HTTPS, for tests and the sandbox. It answers the routes Tunnus
// calls with the real shapes, status codes and error envelopes, checks the bearer token, and
// misbehaves on request: throttling, outages, "committed then 504", replication lag and a delay
// before a mailbox exists. Faults are switched on from outside (the admin helpers or /_admin),
// never by flags in production code.

export interface GraphSimulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** The only bearer token the simulator accepts. */
  token: string;
  /** Seats per SKU part number (from the catalogue) or full SKU definitions. */
  skus?: (SkuSeats | Sku)[];
  /** How long a just-created user stays invisible to reads (default 0). */
  replicationLagMs?: number;
  /** How long deletedItems lags behind a delete and a purge (default 0; see StateOptions). */
  recycleBinLagMs?: number;
  /** How long after an Exchange plan is assigned the mailbox exists (default 0). */
  mailboxDelayMs?: number;
  /** Server-driven paging: pages never exceed this, whatever $top asks (default 999, as Graph). */
  maxPageSize?: number;
  /** The tenant's Temporary Access Pass policy (default: Entra's defaults, see tap.ts). */
  tapPolicy?: Partial<TapPolicy>;
  /** A POST while the user holds a usable pass: 'reject' (default, 400) or 'replace'. */
  tapOnExisting?: ExistingTapMode;
  /**
   * Shared mailboxes that may send (sendMail from them). Default: the sample policy's sender,
   * tunnus-noreply@kerava.fi. Licensed users whose mailbox exists may always send.
   */
  sharedMailboxes?: string[];
}

/** The sample policy's mail.senderMailbox, a shared mailbox of the simulated tenant by default. */
export const defaultSharedMailboxes = ['tunnus-noreply@kerava.fi'];

export type FailStatus = 500 | 502 | 503 | 504;

export interface Faults {
  /** The next `count` requests (to `route`, if given) answer 429 with Retry-After. */
  throttle?: { count: number; retryAfterSeconds: number; route?: string };
  /** The next `count` requests answer `status` (Retry-After only if given). */
  fail?: { count: number; status: FailStatus; retryAfterSeconds?: number; route?: string };
  /** The next `count` successful writes commit and then answer 504. */
  commitThen504?: { count?: number; route?: string };
}

export interface Counters {
  total: number;
  /** Keyed by route template, e.g. "POST /users/{id}/assignLicense". */
  byRoute: Record<string, number>;
}

/** One request as the simulator saw it; the token itself is never kept. */
export interface RequestRecord {
  method: string;
  route: string;
  status: number;
  hadAuthorization: boolean;
}

export interface GraphSimAdmin {
  faults(faults: Faults): void;
  throttleNext(count: number, retryAfterSeconds: number, route?: string): void;
  failNext(count: number, status: FailStatus, options?: { retryAfterSeconds?: number; route?: string }): void;
  commitThen504(count?: number, route?: string): void;
  setReplicationLag(ms: number): void;
  setRecycleBinLag(ms: number): void;
  setMailboxDelay(ms: number): void;
  setSkus(skus: (SkuSeats | Sku)[]): void;
  /** What directory sync does in mode "synced": the user appears in the cloud after `visibleAfterMs`. */
  syncUser(user: Record<string, unknown>, visibleAfterMs?: number): SimUser;
  /** Clears users, faults and counters; SKUs and delays return to the start options. */
  reset(): void;
  counters(): Counters;
  /** The last requests (up to 1000), oldest first. Cleared with the counters. */
  requests(): RequestRecord[];
  resetCounters(): void;
  /** Messages delivered to the address (sendMail), oldest first. */
  messagesTo(address: string): DeliveredMessage[];
  /** Messages kept in the sender's Sent Items (sent with saveToSentItems not false). */
  sentItems(mailbox: string): DeliveredMessage[];
  /** Empties every inbox (DELETE /_admin/mailboxes). */
  clearMailboxes(): void;
  /** A shared mailbox that may send from now on. */
  addSharedMailbox(address: string): void;
  /** Changes the tenant's Temporary Access Pass policy (bounds, one-time, state). */
  setTapPolicy(changes: Partial<TapPolicy>): void;
  setTapOnExisting(mode: ExistingTapMode): void;
  /** A sign-in with a Temporary Access Pass as Entra would judge it (one-time passes are used up). */
  signInWithTap(userIdOrUpn: string, pass: string): TapSignIn;
}

export interface GraphSimulator {
  /** https://127.0.0.1:port */
  url: string;
  /** `${url}/v1.0` */
  baseUrl: string;
  /** The host name to put in the Graph client's customHosts. */
  host: string;
  /** The CA that signed the simulator's certificate. */
  caCertPath: string;
  state: GraphState;
  admin: GraphSimAdmin;
  close(): Promise<void>;
}

const jsonType =
  'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';

/** Properties v1.0 returns for a user when the request has no $select. */
const defaultUserProps = [
  'businessPhones',
  'displayName',
  'givenName',
  'jobTitle',
  'mail',
  'mobilePhone',
  'officeLocation',
  'preferredLanguage',
  'surname',
  'userPrincipalName',
  'id',
];
const userProps = new Set([
  ...defaultUserProps,
  'accountEnabled',
  'assignedLicenses',
  'companyName',
  'showInAddressList',
  'createdDateTime',
  'deletedDateTime',
  'department',
  'employeeId',
  'mailNickname',
  'onPremisesImmutableId',
  'onPremisesSyncEnabled',
  'proxyAddresses',
  'signInSessionsValidFromDateTime',
  'usageLocation',
]);
const filterableProps = new Set([
  'id',
  'employeeId',
  'userPrincipalName',
  'mail',
  'mailNickname',
  'displayName',
  'givenName',
  'surname',
  'accountEnabled',
  'usageLocation',
  'onPremisesImmutableId',
  'jobTitle',
  'department',
]);

interface Route {
  key: string;
  method: string;
  pattern: RegExp;
}

const routes: Route[] = [
  ['GET', '/users', /^\/users$/],
  ['POST', '/users', /^\/users$/],
  ['GET', '/users/{id}', /^\/users\/([^/]+)$/],
  ['PATCH', '/users/{id}', /^\/users\/([^/]+)$/],
  ['DELETE', '/users/{id}', /^\/users\/([^/]+)$/],
  ['POST', '/users/{id}/assignLicense', /^\/users\/([^/]+)\/assignLicense$/],
  ['GET', '/users/{id}/licenseDetails', /^\/users\/([^/]+)\/licenseDetails$/],
  ['GET', '/users/{id}/mailboxSettings', /^\/users\/([^/]+)\/mailboxSettings$/],
  ['POST', '/users/{id}/revokeSignInSessions', /^\/users\/([^/]+)\/revokeSignInSessions$/],
  [
    'POST',
    '/users/{id}/authentication/temporaryAccessPassMethods',
    /^\/users\/([^/]+)\/authentication\/temporaryAccessPassMethods$/,
  ],
  [
    'GET',
    '/users/{id}/authentication/temporaryAccessPassMethods',
    /^\/users\/([^/]+)\/authentication\/temporaryAccessPassMethods$/,
  ],
  [
    'GET',
    '/users/{id}/authentication/temporaryAccessPassMethods/{methodId}',
    /^\/users\/([^/]+)\/authentication\/temporaryAccessPassMethods\/([^/]+)$/,
  ],
  [
    'DELETE',
    '/users/{id}/authentication/temporaryAccessPassMethods/{methodId}',
    /^\/users\/([^/]+)\/authentication\/temporaryAccessPassMethods\/([^/]+)$/,
  ],
  ['POST', '/users/{id}/sendMail', /^\/users\/([^/]+)\/sendMail$/],
  ['GET', '/subscribedSkus', /^\/subscribedSkus$/],
  [
    'GET',
    '/directory/deletedItems/microsoft.graph.user',
    /^\/directory\/deletedItems\/microsoft\.graph\.user$/,
  ],
  ['GET', '/directory/deletedItems/{id}', /^\/directory\/deletedItems\/([^/]+)$/],
  ['DELETE', '/directory/deletedItems/{id}', /^\/directory\/deletedItems\/([^/]+)$/],
  ['POST', '/directory/deletedItems/{id}/restore', /^\/directory\/deletedItems\/([^/]+)\/restore$/],
].map(([method, template, pattern]) => ({
  key: `${method as string} ${template as string}`,
  method: method as string,
  pattern: pattern as RegExp,
}));

interface PendingFault {
  remaining: number;
  route?: string;
}

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export async function startGraphSimulator(options: GraphSimulatorOptions): Promise<GraphSimulator> {
  const state = new GraphState({
    skus: options.skus ?? defaultSeats,
    replicationLagMs: options.replicationLagMs ?? 0,
    recycleBinLagMs: options.recycleBinLagMs ?? 0,
    mailboxDelayMs: options.mailboxDelayMs ?? 0,
  });
  const maxPageSize = options.maxPageSize ?? 999;
  const taps = new TapStore({
    policy: { ...defaultTapPolicy, ...options.tapPolicy },
    onExisting: options.tapOnExisting ?? 'reject',
  });
  const mail = new MailStore(options.sharedMailboxes ?? defaultSharedMailboxes);
  let log: RequestRecord[] = [];
  const throttles: (PendingFault & { retryAfterSeconds: number })[] = [];
  const failures: (PendingFault & { status: FailStatus; retryAfterSeconds?: number })[] = [];
  const commits: PendingFault[] = [];
  let counters: Counters = { total: 0, byRoute: {} };

  const take = <T extends PendingFault>(queue: T[], routeKey: string): T | undefined => {
    const fault = queue.find((f) => f.remaining > 0 && (f.route === undefined || f.route === routeKey));
    if (!fault) return undefined;
    fault.remaining--;
    if (fault.remaining === 0) queue.splice(queue.indexOf(fault), 1);
    return fault;
  };

  const admin: GraphSimAdmin = {
    faults(f) {
      if (f.throttle) admin.throttleNext(f.throttle.count, f.throttle.retryAfterSeconds, f.throttle.route);
      if (f.fail) admin.failNext(f.fail.count, f.fail.status, f.fail);
      if (f.commitThen504) admin.commitThen504(f.commitThen504.count, f.commitThen504.route);
    },
    throttleNext(count, retryAfterSeconds, route) {
      throttles.push({ remaining: count, retryAfterSeconds, route });
    },
    failNext(count, status, opts = {}) {
      failures.push({
        remaining: count,
        status,
        retryAfterSeconds: opts.retryAfterSeconds,
        route: opts.route,
      });
    },
    commitThen504(count = 1, route) {
      commits.push({ remaining: count, route });
    },
    setReplicationLag(ms) {
      state.replicationLagMs = ms;
    },
    setRecycleBinLag(ms) {
      state.recycleBinLagMs = ms;
    },
    setMailboxDelay(ms) {
      state.mailboxDelayMs = ms;
    },
    setSkus(skus) {
      state.setSkus(skus);
    },
    syncUser(user, visibleAfterMs = 0) {
      return state.createUser(
        {
          accountEnabled: true,
          mailNickname: (typeof user.userPrincipalName === 'string' ? user.userPrincipalName : '').split(
            '@',
          )[0],
          ...user,
        },
        { synced: true, visibleAfterMs },
      );
    },
    reset() {
      state.reset();
      taps.reset();
      mail.reset();
      throttles.length = 0;
      failures.length = 0;
      commits.length = 0;
      admin.resetCounters();
    },
    counters() {
      return { total: counters.total, byRoute: { ...counters.byRoute } };
    },
    requests() {
      return [...log];
    },
    resetCounters() {
      counters = { total: 0, byRoute: {} };
      log = [];
    },
    messagesTo: (address) => mail.messagesTo(address),
    sentItems: (mailbox) => mail.sentBy(mailbox),
    clearMailboxes: () => mail.clear(),
    addSharedMailbox: (address) => mail.addSharedMailbox(address),
    setTapPolicy: (changes) => taps.setPolicy(changes),
    setTapOnExisting(mode) {
      taps.onExisting = mode;
    },
    signInWithTap: (userIdOrUpn, pass) => taps.signIn(state.getUser(userIdOrUpn).id, pass),
  };

  /** sendMail's sender: a shared mailbox, or a user whose mailbox exists (else Exchange's 404). */
  const senderAddress = (idOrUpn: string): string => {
    if (mail.isSharedMailbox(idOrUpn)) return idOrUpn;
    let user: SimUser;
    try {
      user = state.getUser(idOrUpn);
    } catch {
      throw new GraphFailure(404, 'ErrorInvalidUser', `The requested user '${idOrUpn}' is invalid.`);
    }
    state.mailboxSettings(user.id); // 404 MailboxNotEnabledForRESTAPI while there is no mailbox
    return user.mail ?? user.userPrincipalName;
  };

  const handleGraph = (
    method: string,
    path: string,
    query: URLSearchParams,
    body: unknown,
    origin: string,
  ): Reply => {
    const route = routes.find((r) => r.method === method && r.pattern.test(path));
    if (!route) {
      const segment = path.split('/').filter(Boolean).pop() ?? '';
      return failure(new GraphFailure(400, 'BadRequest', `Resource not found for the segment '${segment}'.`));
    }
    const match = route.pattern.exec(path);
    const id = decodeURIComponent(match?.[1] ?? '');
    const subId = decodeURIComponent(match?.[2] ?? '');
    const obj = (body ?? {}) as Record<string, unknown>;
    const context = `${origin}/v1.0/$metadata`;
    switch (route.key) {
      case 'GET /users': {
        // The users a filter on other fields than the stamped mail can match, found before the
        // per-user visibility and mailbox work (what Tunnus's employeeId lookups ask for).
        const filter = query.get('$filter');
        const candidates =
          filter && !/\b(mail|proxyAddresses)\b/i.test(filter) ? parseFilter(filter) : undefined;
        return {
          status: 200,
          body: listPage(
            state.listUsers(candidates),
            query,
            `${origin}/v1.0/users`,
            `${context}#users`,
            maxPageSize,
          ),
        };
      }
      case 'GET /directory/deletedItems/microsoft.graph.user':
        return {
          status: 200,
          body: listPage(
            state.listDeleted(),
            query,
            `${origin}/v1.0/directory/deletedItems/microsoft.graph.user`,
            `${context}#directoryObjects/microsoft.graph.user`,
            maxPageSize,
          ),
        };
      case 'POST /users': {
        const user = state.createUser(obj);
        return {
          status: 201,
          body: { '@odata.context': `${context}#users/$entity`, ...project(user, null) },
          headers: {
            Location: `${origin}/v2/${tenantId}/directoryObjects/${user.id}/Microsoft.DirectoryServices.User`,
          },
        };
      }
      case 'GET /users/{id}': {
        const select = parseSelect(query);
        return {
          status: 200,
          body: {
            '@odata.context': entityContext(context, 'users', select),
            ...project(state.getUser(id), select),
          },
        };
      }
      case 'PATCH /users/{id}':
        state.updateUser(id, obj);
        return { status: 204 };
      case 'DELETE /users/{id}': {
        const userId = state.getUser(id).id;
        state.deleteUser(id);
        taps.dropUser(userId);
        return { status: 204 };
      }
      case 'POST /users/{id}/authentication/temporaryAccessPassMethods': {
        const user = state.getUser(id);
        return {
          status: 201,
          body: {
            '@odata.context': `${context}#users('${user.id}')/authentication/temporaryAccessPassMethods/$entity`,
            ...taps.create(user.id, obj),
          },
        };
      }
      case 'GET /users/{id}/authentication/temporaryAccessPassMethods': {
        const user = state.getUser(id);
        return {
          status: 200,
          body: {
            '@odata.context': `${context}#users('${user.id}')/authentication/temporaryAccessPassMethods`,
            value: taps.list(user.id),
          },
        };
      }
      case 'GET /users/{id}/authentication/temporaryAccessPassMethods/{methodId}': {
        const user = state.getUser(id);
        return {
          status: 200,
          body: {
            '@odata.context': `${context}#users('${user.id}')/authentication/temporaryAccessPassMethods/$entity`,
            ...taps.get(user.id, subId),
          },
        };
      }
      case 'DELETE /users/{id}/authentication/temporaryAccessPassMethods/{methodId}':
        taps.delete(state.getUser(id).id, subId);
        return { status: 204 };
      case 'POST /users/{id}/sendMail':
        mail.send(senderAddress(id), obj);
        return { status: 202 };
      case 'POST /users/{id}/assignLicense': {
        const user = state.assignLicense(id, obj);
        return {
          status: 200,
          body: { '@odata.context': `${context}#users/$entity`, ...project(user, null) },
        };
      }
      case 'GET /users/{id}/licenseDetails':
        return {
          status: 200,
          body: {
            '@odata.context': `${context}#users('${id}')/licenseDetails`,
            value: state.licenseDetails(id),
          },
        };
      case 'GET /users/{id}/mailboxSettings':
        return {
          status: 200,
          body: {
            '@odata.context': `${context}#users('${id}')/mailboxSettings`,
            ...state.mailboxSettings(id),
          },
        };
      case 'POST /users/{id}/revokeSignInSessions':
        state.revokeSessions(id);
        return { status: 200, body: { '@odata.context': `${context}#Edm.Boolean`, value: true } };
      case 'GET /subscribedSkus':
        return {
          status: 200,
          body: { '@odata.context': `${context}#subscribedSkus`, value: state.subscribedSkus() },
        };
      case 'GET /directory/deletedItems/{id}': {
        const select = parseSelect(query);
        const user = state.getDeleted(id);
        return {
          status: 200,
          body: {
            '@odata.context': `${context}#directoryObjects/$entity`,
            '@odata.type': '#microsoft.graph.user',
            ...project(user, select),
          },
        };
      }
      case 'DELETE /directory/deletedItems/{id}':
        state.purgeDeleted(id);
        return { status: 204 };
      case 'POST /directory/deletedItems/{id}/restore': {
        const user = state.restoreUser(id);
        return {
          status: 200,
          body: {
            '@odata.context': `${context}#directoryObjects/$entity`,
            '@odata.type': '#microsoft.graph.user',
            ...project(user, null),
          },
        };
      }
      default:
        throw new Error(`graph-sim: no handler for ${route.key}`);
    }
  };

  const handleAdmin = (method: string, path: string, body: unknown): Reply => {
    const b = (body ?? {}) as Record<string, unknown>;
    const inbox = /^\/_admin\/mailboxes\/([^/]+)\/messages$/.exec(path);
    if (method === 'GET' && inbox) {
      return { status: 200, body: admin.messagesTo(decodeURIComponent(inbox[1]!)) };
    }
    switch (`${method} ${path}`) {
      case 'DELETE /_admin/mailboxes':
        admin.clearMailboxes();
        return { status: 204 };
      case 'POST /_admin/shared-mailboxes':
        admin.addSharedMailbox(String(b.address));
        return { status: 204 };
      case 'PUT /_admin/tap-policy':
        if (b.onExisting === 'reject' || b.onExisting === 'replace') admin.setTapOnExisting(b.onExisting);
        admin.setTapPolicy(b.policy as Partial<TapPolicy>);
        return { status: 204 };
      case 'GET /_admin/counters':
        return { status: 200, body: admin.counters() };
      case 'GET /_admin/requests':
        return { status: 200, body: admin.requests() };
      case 'DELETE /_admin/counters':
        admin.resetCounters();
        return { status: 204 };
      case 'POST /_admin/reset':
        admin.reset();
        return { status: 204 };
      case 'POST /_admin/faults':
        admin.faults(b);
        return { status: 204 };
      case 'PUT /_admin/config':
        if (typeof b.replicationLagMs === 'number') admin.setReplicationLag(b.replicationLagMs);
        if (typeof b.recycleBinLagMs === 'number') admin.setRecycleBinLag(b.recycleBinLagMs);
        if (typeof b.mailboxDelayMs === 'number') admin.setMailboxDelay(b.mailboxDelayMs);
        return { status: 204 };
      case 'PUT /_admin/skus':
        admin.setSkus(body as SkuSeats[]);
        return { status: 204 };
      case 'POST /_admin/synced-users':
        return {
          status: 201,
          body: admin.syncUser(b.user as Record<string, unknown>, Number(b.visibleAfterMs ?? 0)),
        };
      case 'GET /_admin/users':
        return {
          status: 200,
          body: { users: [...state.users.values()], deleted: [...state.deleted.values()] },
        };
      default:
        return {
          status: 404,
          body: { error: { code: 'NotFound', message: `no admin route ${method} ${path}` } },
        };
    }
  };

  const onRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = randomUUID();
    const clientRequestId = header(req, 'client-request-id') ?? requestId;
    const url = new URL(req.url ?? '/', 'https://graph-sim');
    const origin = `https://${req.headers.host ?? 'localhost'}`;
    const method = (req.method ?? 'GET').toUpperCase();
    const isAdmin = url.pathname.startsWith('/_admin/');
    const path = url.pathname.replace(/^\/v1\.0(?=\/)/, '');
    const routeKey =
      routes.find((r) => r.method === method && r.pattern.test(path))?.key ?? `${method} (unknown)`;
    if (!isAdmin) {
      counters.total++;
      counters.byRoute[routeKey] = (counters.byRoute[routeKey] ?? 0) + 1;
    }
    let reply: Reply;
    try {
      const authFailure = checkToken(req, options.token);
      if (authFailure) throw authFailure;
      const raw = await readBody(req);
      let body: unknown;
      if (raw.length > 0) {
        try {
          body = JSON.parse(raw) as unknown;
        } catch {
          throw new GraphFailure(
            400,
            'BadRequest',
            'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.',
          );
        }
      }
      if (isAdmin) {
        reply = handleAdmin(method, url.pathname, body);
      } else if (!url.pathname.startsWith('/v1.0/')) {
        reply = failure(new GraphFailure(400, 'BadRequest', 'Invalid version.'));
      } else {
        reply = faultReply(routeKey) ?? handleGraph(method, path, url.searchParams, body, origin);
        const isWrite = method !== 'GET' && reply.status < 300;
        if (isWrite && take(commits, routeKey)) reply = failure(gatewayTimeout());
      }
    } catch (err) {
      if (!(err instanceof GraphFailure)) throw err;
      reply = failure(err);
    }
    if (!isAdmin) {
      log.push({
        method,
        route: routeKey,
        status: reply.status,
        hadAuthorization: header(req, 'authorization') !== undefined,
      });
      if (log.length > 1000) log = log.slice(-1000);
    }
    send(res, reply, requestId, clientRequestId);
  };

  const faultReply = (routeKey: string): Reply | undefined => {
    const throttle = take(throttles, routeKey);
    if (throttle) {
      const reply = failure(new GraphFailure(429, 'TooManyRequests', 'Please retry again later.'));
      reply.headers = { 'Retry-After': String(throttle.retryAfterSeconds) };
      return reply;
    }
    const fail = take(failures, routeKey);
    if (fail) {
      const reply = failure(
        fail.status === 504
          ? gatewayTimeout()
          : fail.status === 503
            ? new GraphFailure(
                503,
                'serviceNotAvailable',
                'The service is temporarily unavailable for maintenance or is overloaded. You may repeat the request after a delay, which may be specified in a Retry-After header.',
              )
            : new GraphFailure(
                fail.status,
                fail.status === 502 ? 'BadGateway' : 'generalException',
                'An unspecified error has occurred.',
              ),
      );
      if (fail.retryAfterSeconds !== undefined)
        reply.headers = { 'Retry-After': String(fail.retryAfterSeconds) };
      return reply;
    }
    return undefined;
  };

  const cert = ensureServerCert('graph-sim', ['localhost']);
  const server = https.createServer(
    { cert: fs.readFileSync(cert.cert), key: fs.readFileSync(cert.key) },
    (req, res) => {
      onRequest(req, res).catch((err: unknown) => {
        // A bug in the simulator, not a Graph behaviour: answer 500 so the test sees it.
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(String(err instanceof Error ? err.stack : err));
      });
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `https://127.0.0.1:${port}`;
  return {
    url,
    baseUrl: `${url}/v1.0`,
    host: '127.0.0.1',
    caCertPath: caCertPath(),
    state,
    admin,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function checkToken(req: IncomingMessage, token: string): GraphFailure | undefined {
  const auth = header(req, 'authorization');
  if (!auth) return new GraphFailure(401, 'InvalidAuthenticationToken', 'Access token is empty.');
  if (auth !== `Bearer ${token}`) {
    return new GraphFailure(
      401,
      'InvalidAuthenticationToken',
      'Access token validation failure. Invalid audience.',
    );
  }
  return undefined;
}

function gatewayTimeout(): GraphFailure {
  return new GraphFailure(
    504,
    'GatewayTimeout',
    'The server, while acting as a proxy, did not receive a timely response from the upstream server it needed to access in attempting to complete the request.',
  );
}

function failure(err: GraphFailure): Reply {
  return {
    status: err.status,
    body: {
      error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) },
    },
  };
}

function send(res: ServerResponse, reply: Reply, requestId: string, clientRequestId: string): void {
  const headers: Record<string, string> = {
    'Cache-Control': 'no-cache',
    'Strict-Transport-Security': 'max-age=31536000',
    'request-id': requestId,
    'client-request-id': clientRequestId,
    ...reply.headers,
  };
  if (reply.status === 204 || reply.body === undefined) {
    res.writeHead(reply.status, headers);
    res.end();
    return;
  }
  let body = reply.body as Record<string, unknown>;
  const error = body.error as Record<string, unknown> | undefined;
  if (reply.status >= 400 && error) {
    // The real envelope carries the date and request id in innerError.
    body = {
      error: {
        ...error,
        innerError: {
          date: new Date().toISOString().replace(/\.\d{3}Z$/, ''),
          'request-id': requestId,
          'client-request-id': clientRequestId,
        },
      },
    };
    headers['Content-Type'] = 'application/json';
  } else {
    headers['Content-Type'] = jsonType;
  }
  res.writeHead(reply.status, headers);
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 4 * 1024 * 1024)
      throw new GraphFailure(413, 'RequestEntityTooLarge', 'The request is too large.');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseSelect(query: URLSearchParams): string[] | null {
  const raw = query.get('$select');
  if (!raw) return null;
  const props = raw
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  for (const p of props) {
    if (!userProps.has(p)) {
      throw new GraphFailure(
        400,
        'BadRequest',
        `Parsing OData Select and Expand failed: Could not find a property named '${p}' on type 'microsoft.graph.user'.`,
      );
    }
  }
  return props;
}

function entityContext(context: string, set: string, select: string[] | null): string {
  return select ? `${context}#${set}(${select.join(',')})/$entity` : `${context}#${set}/$entity`;
}

/** The user as Graph returns it: the default property set, or exactly what $select asked for. */
function project(user: SimUser, select: string[] | null): Record<string, unknown> {
  const props = select ?? defaultUserProps;
  const out: Record<string, unknown> = {};
  for (const p of props) out[p] = structuredClone((user as unknown as Record<string, unknown>)[p] ?? null);
  return out;
}

type Predicate = (u: SimUser) => boolean;

const unsupported = (detail: string) =>
  new GraphFailure(
    400,
    'Request_UnsupportedQuery',
    `Unsupported or invalid query filter clause specified: ${detail}.`,
  );

/** The $filter subset Tunnus uses: eq on strings/booleans/null, startswith, proxyAddresses/any, joined by and. */
function parseFilter(raw: string): Predicate {
  const clauses: Predicate[] = [];
  let rest = raw.trim();
  const str = "'((?:[^']|'')*)'";
  const forms: [RegExp, (m: RegExpExecArray) => Predicate][] = [
    [
      new RegExp(`^(\\w+) eq ${str}`, 'i'),
      (m) => {
        const prop = filterProp(m[1]!);
        const value = m[2]!.replace(/''/g, "'").toLowerCase();
        return (u) => text(field(u, prop))?.toLowerCase() === value;
      },
    ],
    [
      /^(\w+) eq (true|false|null)\b/i,
      (m) => {
        const prop = filterProp(m[1]!);
        const value = m[2]!.toLowerCase() === 'null' ? null : m[2]!.toLowerCase() === 'true';
        return (u) => (field(u, prop) ?? null) === value;
      },
    ],
    [
      new RegExp(`^startswith\\((\\w+),\\s*${str}\\)`, 'i'),
      (m) => {
        const prop = filterProp(m[1]!);
        const value = m[2]!.replace(/''/g, "'").toLowerCase();
        return (u) => text(field(u, prop))?.toLowerCase().startsWith(value) === true;
      },
    ],
    [
      new RegExp(`^proxyAddresses/any\\((\\w+):\\s*\\1 eq ${str}\\)`, 'i'),
      (m) => {
        const value = m[2]!.replace(/''/g, "'").toLowerCase();
        return (u) => u.proxyAddresses.some((p) => p.toLowerCase() === value);
      },
    ],
  ];
  while (rest.length > 0) {
    let matched = false;
    for (const [re, build] of forms) {
      const m = re.exec(rest);
      if (!m) continue;
      clauses.push(build(m));
      rest = rest.slice(m[0].length).trim();
      matched = true;
      break;
    }
    if (!matched) throw unsupported(rest.slice(0, 40));
    if (rest.length === 0) break;
    const and = /^and\s+/i.exec(rest);
    if (!and) throw unsupported(rest.slice(0, 40));
    rest = rest.slice(and[0].length);
  }
  return (u) => clauses.every((c) => c(u));
}

function filterProp(prop: string): string {
  if (!filterableProps.has(prop)) throw unsupported(`property '${prop}' of resource 'User'`);
  return prop;
}

/** A scalar property as filter text; null for null or non-scalars. */
function text(v: unknown): string | null {
  return typeof v === 'string' ? v : typeof v === 'boolean' || typeof v === 'number' ? String(v) : null;
}

function field(u: SimUser, prop: string): unknown {
  return (u as unknown as Record<string, unknown>)[prop];
}

function listPage(
  all: SimUser[],
  query: URLSearchParams,
  selfUrl: string,
  context: string,
  maxPageSize: number,
): Record<string, unknown> {
  const select = parseSelect(query);
  const filter = query.get('$filter');
  const users = filter ? all.filter(parseFilter(filter)) : all;
  const topRaw = query.get('$top');
  const asked = topRaw === null ? 100 : Number(topRaw);
  if (!Number.isInteger(asked) || asked < 1 || asked > 999) {
    throw new GraphFailure(
      400,
      'Request_UnsupportedQuery',
      `Invalid page size specified: '${topRaw}'. Must be between 1 and 999 inclusive.`,
    );
  }
  const token = query.get('$skiptoken');
  const offset = token ? Number(Buffer.from(token, 'base64url').toString('utf8')) : 0;
  if (!Number.isInteger(offset) || offset < 0) {
    throw new GraphFailure(
      400,
      'Request_UnsupportedQuery',
      'The specified page token value has expired or is invalid.',
    );
  }
  const top = Math.min(asked, maxPageSize);
  const page = users.slice(offset, offset + top);
  const out: Record<string, unknown> = {
    '@odata.context': select ? context.replace(/#(.*)$/, `#$1(${select.join(',')})`) : context,
  };
  if (offset + top < users.length) {
    const next = new URLSearchParams(query);
    next.set('$skiptoken', Buffer.from(String(offset + top)).toString('base64url'));
    out['@odata.nextLink'] = `${selfUrl}?${next.toString()}`;
  }
  out.value = page.map((u) => project(u, select));
  return out;
}
