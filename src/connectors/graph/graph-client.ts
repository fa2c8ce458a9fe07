import fs from 'node:fs';
import https from 'node:https';
import tls from 'node:tls';
import { ClientCertificateCredential, ClientSecretCredential, type TokenCredential } from '@azure/identity';
import {
  AuthenticationHandler,
  Client,
  RedirectHandler,
  RedirectHandlerOptions,
  RetryHandler,
  RetryHandlerOptions,
  TelemetryHandler,
  type AuthenticationProvider,
  type Context,
  type Middleware,
} from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials';

// Builds the Microsoft Graph client, the same way for production and the sandbox: one middleware
// chain (auth → retry off → redirect → telemetry → transport). Only the token source and the
// trusted CA differ.
//
// - Retries: the SDK's RetryHandler would sleep and retry 429/503/504 itself (up to 3 times,
//   honouring Retry-After) inside the activity, invisible to Temporal. It stays in the chain with
//   maxRetries 0, so every throttle reaches classifyGraphError and Temporal schedules the retry.
// - The bearer token: the SDK attaches it only to https URLs whose host is a Graph host or listed
//   in customHosts (and strips it otherwise). A non-Microsoft base URL (the simulator) is therefore
//   put in customHosts; plain http never gets a token.
// - CA trust: Node 20's global fetch (undici) takes no CA option and reads NODE_EXTRA_CA_CERTS only
//   at process start. When a CA file is configured, the transport is node:https with that CA
//   (added to Node's default roots); otherwise it is global fetch with the system trust store.

export const defaultGraphBaseUrl = 'https://graph.microsoft.com';

/** Graph's own hosts (global and national clouds); the SDK trusts them without customHosts. */
const graphHosts = new Set([
  'graph.microsoft.com',
  'graph.microsoft.us',
  'dod-graph.microsoft.us',
  'graph.microsoft.de',
  'microsoftgraph.chinacloudapi.cn',
  'canary.graph.microsoft.com',
]);

export type GraphAuth =
  | { kind: 'clientSecret'; tenantId: string; clientId: string; clientSecret: string }
  | { kind: 'clientCertificate'; tenantId: string; clientId: string; certificatePath: string }
  /** Sandbox only: a fixed bearer token the simulator accepts. */
  | { kind: 'staticToken'; token: string };

export interface GraphClientOptions {
  auth: GraphAuth;
  /** Service root without the version, e.g. https://graph.microsoft.com (a trailing /v1.0 is accepted). */
  baseUrl?: string;
  /** PEM file of an extra CA to trust (the sandbox CA). */
  caCertPath?: string;
  /** Per-request timeout; Temporal's activity timeout is the outer bound. Default 30 s. */
  timeoutMs?: number;
  /**
   * Hosts besides Graph's own that may receive the token. Default: the base URL's host when it is
   * not a Graph host. Pass [] to send the token to Graph hosts only.
   */
  customHosts?: string[];
}

/** The Graph client plus what callers need to know about how it was built. */
export interface GraphConnection {
  client: Client;
  /** Service root without version. */
  baseUrl: string;
  customHosts: string[];
}

export function createGraphClient(options: GraphClientOptions): GraphConnection {
  const baseUrl = (options.baseUrl ?? defaultGraphBaseUrl).replace(/\/+$/, '').replace(/\/(v1\.0|beta)$/, '');
  const base = new URL(baseUrl);
  if (base.protocol !== 'https:') {
    // The SDK would silently drop the token on http; fail loudly instead.
    throw new Error(`Graph base URL must be https (got ${base.protocol})`);
  }
  const customHosts = options.customHosts ?? (graphHosts.has(base.hostname) ? [] : [base.hostname]);
  const timeoutMs = options.timeoutMs ?? 30_000;

  const authHandler = new AuthenticationHandler(authProviderFor(options.auth, base));
  const retry = new RetryHandler(new RetryHandlerOptions(0, 0));
  const redirect = new RedirectHandler(new RedirectHandlerOptions());
  const telemetry = new TelemetryHandler();
  const transport = options.caCertPath
    ? new HttpsTransport(fs.readFileSync(options.caCertPath, 'utf8'), timeoutMs)
    : new FetchTransport(timeoutMs);
  authHandler.setNext(retry);
  retry.setNext(redirect);
  redirect.setNext(telemetry);
  telemetry.setNext(transport);

  const client = Client.initWithMiddleware({
    baseUrl,
    defaultVersion: 'v1.0',
    middleware: authHandler,
    customHosts: new Set(customHosts),
  });
  return { client, baseUrl, customHosts };
}

function authProviderFor(auth: GraphAuth, base: URL): AuthenticationProvider {
  if (auth.kind === 'staticToken') return { getAccessToken: async () => auth.token };
  const credential: TokenCredential =
    auth.kind === 'clientSecret'
      ? new ClientSecretCredential(auth.tenantId, auth.clientId, auth.clientSecret)
      : new ClientCertificateCredential(auth.tenantId, auth.clientId, {
          certificatePath: auth.certificatePath,
        });
  // Application permissions come with the app registration; ".default" asks for all of them.
  return new TokenCredentialAuthenticationProvider(credential, { scopes: [`${base.origin}/.default`] });
}

/** Production transport: Node's global fetch with a per-request timeout. */
class FetchTransport implements Middleware {
  constructor(private readonly timeoutMs: number) {}

  async execute(context: Context): Promise<void> {
    // The SDK types the request as DOM RequestInfo; GraphRequest always passes a URL string.
    const request: unknown = context.request;
    if (typeof request !== 'string') throw new Error('FetchTransport: only URL requests are supported');
    try {
      context.response = await fetch(request, {
        ...(context.options as RequestInit),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw transportError(err);
    }
  }
}

/**
 * Node's roots plus the extra CA, parsed once per process and CA: an agent given `ca` instead
 * builds a context from ~150 PEM certificates for every new socket (~10 ms of CPU each, the
 * largest cost of a `tunnus explain` against the simulator) and hashes them all into its pool key
 * on every request.
 */
const trustingContexts = new Map<string, tls.SecureContext>();
function trustingContext(extraCaPem: string): tls.SecureContext {
  let context = trustingContexts.get(extraCaPem);
  if (!context) {
    context = tls.createSecureContext({ ca: [...tls.rootCertificates, extraCaPem] });
    trustingContexts.set(extraCaPem, context);
  }
  return context;
}

/** Transport that trusts an extra CA: node:https, since global fetch cannot be given one. */
class HttpsTransport implements Middleware {
  private readonly agent: https.Agent;

  constructor(
    extraCaPem: string,
    private readonly timeoutMs: number,
  ) {
    this.agent = new https.Agent({ keepAlive: true, secureContext: trustingContext(extraCaPem) });
  }

  async execute(context: Context): Promise<void> {
    const request = context.request as unknown;
    if (typeof request !== 'string' && !(request instanceof URL)) {
      throw new Error('HttpsTransport: only URL requests are supported');
    }
    const options = (context.options ?? {}) as RequestInit;
    const headers = new Headers(options.headers);
    const body = options.body;
    if (body !== undefined && body !== null && typeof body !== 'string' && !(body instanceof Uint8Array)) {
      throw new Error('HttpsTransport: only string or buffer bodies are supported');
    }
    try {
      context.response = await new Promise<Response>((resolve, reject) => {
        const req = https.request(
          request,
          {
            method: options.method ?? 'GET',
            headers: Object.fromEntries(headers.entries()),
            agent: this.agent,
            timeout: this.timeoutMs,
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('error', reject);
            res.on('end', () => {
              const status = res.statusCode ?? 0;
              const responseHeaders = new Headers();
              for (const [k, v] of Object.entries(res.headers)) {
                if (Array.isArray(v)) v.forEach((x) => responseHeaders.append(k, x));
                else if (v !== undefined) responseHeaders.set(k, v);
              }
              const noBody = status === 204 || status === 205 || status === 304;
              resolve(
                new Response(noBody ? null : Buffer.concat(chunks), {
                  status,
                  statusText: res.statusMessage,
                  headers: responseHeaders,
                }),
              );
            });
          },
        );
        req.on('timeout', () =>
          req.destroy(Object.assign(new Error('request timed out'), { code: 'TimeoutError' })),
        );
        req.on('error', reject);
        req.end(body ?? undefined);
      });
    } catch (err) {
      throw transportError(err);
    }
  }
}

/**
 * The SDK turns a transport failure into a GraphError whose `code` is the error's name and drops
 * the cause. Name the error after the system code (ECONNREFUSED, UNABLE_TO_VERIFY_LEAF_SIGNATURE,
 * TimeoutError…) so classifyGraphError can tell a refused connection from an untrusted certificate.
 */
function transportError(err: unknown): Error {
  const e = err as { name?: string; code?: string; cause?: { code?: string; name?: string } };
  const code =
    e.cause?.code ??
    e.code ??
    (e.name === 'TimeoutError' || e.name === 'AbortError' ? 'TimeoutError' : e.name);
  const wrapped = new Error(`Graph transport failure: ${code ?? 'unknown'}`);
  wrapped.name = code ?? 'TransportError';
  return wrapped;
}

// The settings come from the one configuration schema: graphOptions() in src/config.ts.
