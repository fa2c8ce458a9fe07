import fs from 'node:fs';
import https from 'node:https';
import axios, { isAxiosError, type AxiosInstance } from 'axios';
import { PhoneError, errorFromNetwork } from './errors';

// The transport to the telephony platform: one axios instance over an https.Agent. TLS is always
// verified (rejectUnauthorized is set explicitly, so no option or environment variable can turn it
// off); with a CA file configured the agent trusts exactly that CA instead of the system store.
// Every HTTP status comes back as an answer for the caller to classify; only failures before an
// answer (network, TLS, timeout) are thrown here, as PhoneErrors.

export interface PhoneHttpOptions {
  /** e.g. https://phone.example.fi — the API lives under /api/v1. Must be https. */
  baseUrl: string;
  apiKey: string;
  /** PEM file of the CA to trust (the sandbox CA); the system store when omitted. */
  caCertPath?: string;
  /** Per request, from sending to the last byte of the answer. */
  timeoutMs: number;
}

export interface PhoneAnswer {
  status: number;
  /** Parsed JSON, or the raw text when the body is not JSON (a proxy's HTML error page). */
  body: unknown;
  retryAfter?: string;
}

export interface PhoneRequest {
  body?: unknown;
  headers?: Record<string, string>;
  query?: Record<string, string | number | undefined>;
}

export interface PhoneHttp {
  /** `operation` is a fixed description ("GET catalogue entry"): it goes into error messages. */
  request(
    operation: string,
    method: 'GET' | 'PUT' | 'DELETE',
    path: string,
    init?: PhoneRequest,
  ): Promise<PhoneAnswer>;
  close(): void;
}

/** The platform's answers are small (a changes page holds at most 500 items); more is a fault. */
const maxAnswerBytes = 8 * 1024 * 1024;

export function createPhoneHttp(options: PhoneHttpOptions): PhoneHttp {
  const base = new URL(options.baseUrl);
  if (base.protocol !== 'https:') {
    // The API key is a bearer credential: it never travels over plain HTTP.
    throw new Error(`telephony base URL must be https (got ${base.protocol})`);
  }
  const agent = new https.Agent({
    keepAlive: true,
    maxSockets: 16,
    rejectUnauthorized: true,
    ...(options.caCertPath === undefined ? {} : { ca: fs.readFileSync(options.caCertPath) }),
  });
  const client: AxiosInstance = axios.create({
    // Any path prefix of the base URL is kept (a gateway may publish the API under /telephony).
    baseURL: options.baseUrl,
    httpsAgent: agent,
    timeout: options.timeoutMs,
    // A timeout is a timeout (ETIMEDOUT), not axios's default ECONNABORTED.
    transitional: { clarifyTimeoutError: true },
    // HTTPS_PROXY in the environment would otherwise re-route the call around this agent.
    proxy: false,
    // The API does not redirect; following one would carry the key somewhere unplanned.
    maxRedirects: 0,
    maxContentLength: maxAnswerBytes,
    validateStatus: () => true,
    headers: { accept: 'application/json', authorization: `Bearer ${options.apiKey}` },
  });

  return {
    async request(operation, method, path, init = {}) {
      // axios's own timeout watches the socket; this deadline also covers a body that trickles.
      const deadline = AbortSignal.timeout(options.timeoutMs);
      try {
        const res = await client.request<unknown>({
          method,
          url: path,
          signal: deadline,
          ...(init.body === undefined ? {} : { data: init.body }),
          ...(init.headers === undefined ? {} : { headers: init.headers }),
          ...(init.query === undefined ? {} : { params: init.query }),
        });
        const retryAfter: unknown = res.headers['retry-after'];
        return {
          status: res.status,
          body: res.data === '' ? undefined : res.data,
          ...(typeof retryAfter === 'string' ? { retryAfter } : {}),
        };
      } catch (err) {
        throw failureBeforeAnswer(operation, err, deadline.aborted, options.timeoutMs);
      }
    },
    close() {
      agent.destroy();
    },
  };
}

function failureBeforeAnswer(
  operation: string,
  err: unknown,
  deadlinePassed: boolean,
  timeoutMs: number,
): PhoneError {
  const code = isAxiosError(err) ? err.code : undefined;
  if (deadlinePassed || code === 'ETIMEDOUT') {
    return new PhoneError('unavailable', `telephony ${operation}: no answer within ${timeoutMs} ms`, {
      code: 'ETIMEDOUT',
    });
  }
  // The AxiosError carries the request config, API key included: only the socket's own error
  // travels on as the cause, where loggers and Temporal failures may show it.
  if (isAxiosError(err)) {
    const cause: unknown = err.cause;
    return errorFromNetwork(operation, cause instanceof Error ? cause : { code });
  }
  return errorFromNetwork(operation, err);
}
