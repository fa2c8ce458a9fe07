import fs from 'node:fs';
import https from 'node:https';
import { caCertPath } from '../ca';
import { startPhoneSimServer, type FaultSpec, type PhoneSimOptions } from './server';
import type { SimCatalogueFields, SimNumber } from './store';

export type { FaultSpec, PhoneSimOptions } from './server';
export type { SimNumber } from './store';

export interface SimCatalogueView extends SimCatalogueFields {
  employeeId: string;
  numbers: SimNumber[];
  updatedAt: string;
  etag: string;
}

/** Test-side helpers; each one is a call to the simulator's /_admin endpoint over HTTPS. */
export interface PhoneSimAdmin {
  /** Sets the person's numbers (the first of a type becomes primary when none is marked). */
  assignNumbers(
    employeeId: string,
    numbers: Array<Omit<SimNumber, 'primary'> & { primary?: boolean }>,
  ): Promise<SimNumber[]>;
  /** Replaces one number with another, as a switchboard operator would; emits a change. */
  changeNumber(employeeId: string, from: string, to: string): Promise<SimNumber[]>;
  /** Releases all of the person's numbers; emits a change. */
  releaseNumbers(employeeId: string): Promise<void>;
  /** Queues a fault for the next `count` API requests. */
  fault(spec: FaultSpec): Promise<void>;
  /** The next `count` requests answer 429 with Retry-After in seconds. */
  throttleNext(count: number, retryAfterSeconds?: number, route?: string): Promise<void>;
  /** The next `count` requests answer 503 (or the given 5xx). */
  failNext(count: number, status?: number, route?: string): Promise<void>;
  /** The next `count` requests have their connection dropped without an answer. */
  dropNext(count: number, route?: string): Promise<void>;
  clearFaults(): Promise<void>;
  /** Delay added to every API request from now on. */
  setLatency(ms: number): Promise<void>;
  /** Calls per route, e.g. { "PUT /api/v1/catalogue/:employeeId": 2 }. */
  calls(): Promise<Record<string, number>>;
  resetCalls(): Promise<void>;
  /** Every catalogue entry, for assertions. */
  catalogue(): Promise<SimCatalogueView[]>;
  /** Forgets all state, faults, counters and latency overrides. */
  reset(): Promise<void>;
}

export interface PhoneSimulator {
  url: string;
  port: number;
  admin: PhoneSimAdmin;
  close(): Promise<void>;
}

export async function startPhoneSimulator(options: PhoneSimOptions): Promise<PhoneSimulator> {
  const server = await startPhoneSimServer(options);
  const agent = new https.Agent({ ca: fs.readFileSync(caCertPath()), keepAlive: false });

  async function adminCall<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise<T>((resolve, reject) => {
      const req = https.request(
        new URL(path, server.url),
        {
          method,
          agent,
          headers: payload
            ? { 'content-type': 'application/json', 'content-length': String(payload.length) }
            : {},
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status >= 400) {
              reject(new Error(`phone-sim admin ${method} ${path}: HTTP ${status} ${text}`));
              return;
            }
            resolve((text === '' ? undefined : JSON.parse(text)) as T);
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  const enc = encodeURIComponent;
  const admin: PhoneSimAdmin = {
    async assignNumbers(employeeId, numbers) {
      const r = await adminCall<{ numbers: SimNumber[] }>(
        'PUT',
        `/_admin/persons/${enc(employeeId)}/numbers`,
        {
          numbers,
        },
      );
      return r.numbers;
    },
    async changeNumber(employeeId, from, to) {
      const r = await adminCall<{ numbers: SimNumber[] }>(
        'POST',
        `/_admin/persons/${enc(employeeId)}/numbers/replace`,
        { from, to },
      );
      return r.numbers;
    },
    releaseNumbers: (employeeId) => adminCall('DELETE', `/_admin/persons/${enc(employeeId)}/numbers`),
    fault: (spec) => adminCall('POST', '/_admin/faults', spec),
    throttleNext: (count, retryAfterSeconds = 1, route) =>
      adminCall('POST', '/_admin/faults', {
        kind: 'throttle',
        count,
        retryAfterSeconds,
        ...(route ? { route } : {}),
      }),
    failNext: (count, status = 503, route) =>
      adminCall(
        'POST',
        '/_admin/faults',
        status === 503
          ? { kind: 'unavailable', count, ...(route ? { route } : {}) }
          : { kind: 'status', count, status, ...(route ? { route } : {}) },
      ),
    dropNext: (count, route) =>
      adminCall('POST', '/_admin/faults', { kind: 'reset', count, ...(route ? { route } : {}) }),
    clearFaults: () => adminCall('DELETE', '/_admin/faults'),
    setLatency: (ms) => adminCall('PUT', '/_admin/latency', { ms }),
    calls: () => adminCall<Record<string, number>>('GET', '/_admin/calls'),
    resetCalls: () => adminCall('DELETE', '/_admin/calls'),
    async catalogue() {
      const r = await adminCall<{ entries: SimCatalogueView[] }>('GET', '/_admin/catalogue');
      return r.entries;
    },
    reset: () => adminCall('POST', '/_admin/reset'),
  };

  return {
    url: server.url,
    port: server.port,
    admin,
    async close() {
      agent.destroy();
      await server.close();
    },
  };
}

// `tsx sandbox/phone-sim/index.ts` runs the simulator on its own (PHONE_SIM_PORT, PHONE_SIM_API_KEY).
if (require.main === module) {
  const apiKey = process.env.PHONE_SIM_API_KEY;
  if (!apiKey) {
    console.error('PHONE_SIM_API_KEY is required');
    process.exit(2);
  }
  startPhoneSimulator({ apiKey, port: Number(process.env.PHONE_SIM_PORT ?? 0) })
    .then((sim) => console.log(`telephony simulator on ${sim.url} (trust ${caCertPath()})`))
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}
