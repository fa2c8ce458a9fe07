import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { createLdapDirectory } from '../../src/connectors/ldap/ldap-directory';
import type { Directory } from '../../src/connectors/ldap/directory';
import { parsePolicy, type Policy } from '../../src/domain/policy';
import { buildWorker } from '../../src/worker';
import { ensureSamba, type SambaHandle } from '../../sandbox/samba';
import { ensureTemporalDevServer, type DevServer } from '../../sandbox/temporal';
import { workflowBundle } from './temporal';

// The real parts for integration tests: the Temporal CLI dev server (on test ports, apart from
// the sandbox's), the Samba AD DC, and a worker in this process on a task queue of its own.

export const TEST_TEMPORAL_PORT = Number(process.env.TUNNUS_TEST_TEMPORAL_PORT ?? 17233);

let runtimeQuiet = false;
function quietRuntime(): void {
  if (runtimeQuiet) return;
  runtimeQuiet = true;
  const noop = () => undefined;
  const warn = (message: string) => process.stderr.write(`[temporal-sdk] ${message}\n`);
  Runtime.install({ logger: { log: noop, trace: noop, debug: noop, info: noop, warn, error: warn } });
}

export interface Stack {
  temporal: DevServer;
  samba: SambaHandle;
  policy: Policy;
  directory: Directory;
  client: Client;
  taskQueue: string;
  /** Starts a worker in this process; stop it with the returned function. */
  startWorker(): Promise<{ worker: Worker; stop: () => Promise<void> }>;
  /** Env for a worker or CLI in a child process pointed at the same stack. */
  childEnv(): NodeJS.ProcessEnv;
  close(): Promise<void>;
}

export async function startStack(): Promise<Stack> {
  quietRuntime();
  const temporal = await ensureTemporalDevServer({
    port: TEST_TEMPORAL_PORT,
    uiPort: TEST_TEMPORAL_PORT + 1000,
  });
  const samba = await ensureSamba();
  const policyFile = path.resolve(__dirname, '../../config/policy.yaml');
  const policy = parsePolicy(fs.readFileSync(policyFile, 'utf8'));
  const directory = createLdapDirectory({
    url: samba.url,
    bindDn: samba.bindDn,
    bindPassword: samba.bindPassword,
    baseDn: samba.baseDn,
    caCertPath: samba.caCertPath,
  });
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });
  const taskQueue = `it-${randomUUID()}`;
  const workers: { stop: () => Promise<void> }[] = [];

  return {
    temporal,
    samba,
    policy,
    directory,
    client,
    taskQueue,
    async startWorker() {
      const nativeConnection = await NativeConnection.connect({ address: temporal.address });
      const worker = await buildWorker({
        connection: nativeConnection,
        taskQueue,
        directory,
        policy,
        baseDn: samba.baseDn,
        workflowBundle: await workflowBundle(),
      });
      const running = worker.run();
      let stopped: Promise<void> | undefined;
      const handle = {
        worker,
        // Idempotent: a test may stop its worker early and close() stops it again.
        stop: () =>
          (stopped ??= (async () => {
            if (worker.getState() === 'RUNNING') worker.shutdown();
            await running;
            await nativeConnection.close();
          })()),
      };
      workers.push(handle);
      return handle;
    },
    childEnv() {
      return {
        ...process.env,
        TEMPORAL_ADDRESS: temporal.address,
        TEMPORAL_TASK_QUEUE: taskQueue,
        LDAP_URL: samba.url,
        LDAP_BIND_DN: samba.bindDn,
        LDAP_BIND_PASSWORD: samba.bindPassword,
        LDAP_BASE_DN: samba.baseDn,
        LDAP_CA_CERT: samba.caCertPath,
        TUNNUS_POLICY_FILE: policyFile,
        LOG_LEVEL: 'warn',
      };
    },
    async close() {
      for (const w of workers) await w.stop();
      await directory.close();
      await connection.close();
    },
  };
}

/** Polls until the predicate holds (real servers: no time skipping). */
export async function eventually<T>(
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  timeoutMs = 60_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await read();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} not reached within ${timeoutMs} ms; last value: ${JSON.stringify(last)}`);
}
