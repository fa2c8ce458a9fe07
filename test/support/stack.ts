import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { stringify as stringifyYaml } from 'yaml';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { createLdapDirectory } from '../../src/connectors/ldap/ldap-directory';
import type { Directory } from '../../src/connectors/ldap/directory';
import { parsePolicy, type Policy } from '../../src/domain/policy';
import type { CloudDirectory } from '../../src/connectors/graph/cloud-directory';
import type { PhoneDirectory } from '../../src/connectors/phone/phone-directory';
import { parseEnv } from '../../src/config';
import { buildWorker } from '../../src/worker';
import { createCloudDirectory, createPhoneDirectoryFromEnv } from '../../src/wiring';
import { startSimulators, type Simulators } from '../../sandbox/simulators';
import { ensureSamba, prepareDirectory, type SambaHandle } from '../../sandbox/samba';
import { ensureTemporalDevServer, type DevServer } from '../../sandbox/temporal';
import { tunnusDataConverter } from '../../src/crypto/data-converter';
import type { IdentityKeys } from '../../src/crypto/identity-keys';
import { testKeys } from './keys';
import { workflowBundle } from './temporal';

// The real parts for integration tests: the Temporal CLI dev server (on test ports, apart from
// the sandbox's), the Samba AD DC, and a worker in this process on a task queue of its own.

export const TEST_TEMPORAL_PORT = Number(process.env.TUNNUS_TEST_TEMPORAL_PORT ?? 17233);

let runtimeQuiet = false;
function quietRuntime(): void {
  if (runtimeQuiet) return;
  runtimeQuiet = true;
  const noop = () => undefined;
  // The failure's type and message say why (test data only; production logs never carry them).
  const warn = (message: string, meta?: Record<string, unknown>) => {
    const failure = meta?.failure as { type?: string; message?: string } | undefined;
    const error = meta?.error as { message?: string } | undefined;
    const why = failure?.message ?? error?.message;
    const where = [meta?.activityType, meta?.workflowType].find((v) => typeof v === 'string');
    process.stderr.write(`[temporal-sdk] ${message}${where ? ` ${where}` : ''}${why ? `: ${why}` : ''}\n`);
  };
  Runtime.install({ logger: { log: noop, trace: noop, debug: noop, info: noop, warn, error: warn } });
}

export interface Stack {
  temporal: DevServer;
  samba: SambaHandle;
  policy: Policy;
  directory: Directory;
  sims: Simulators;
  cloud: CloudDirectory;
  phone: PhoneDirectory;
  client: Client;
  /** The identity keys of the payload codec (the client's, the workers', the children's). */
  keys: IdentityKeys;
  taskQueue: string;
  /** Starts a worker in this process; stop it with the returned function. */
  startWorker(): Promise<{ worker: Worker; stop: () => Promise<void> }>;
  /** Env for a worker or CLI in a child process pointed at the same stack. */
  childEnv(): NodeJS.ProcessEnv;
  close(): Promise<void>;
}

export interface StackOptions {
  /** Changes to the sample policy for this test file (after the short test waits are set). */
  policy?: (policy: Policy) => void;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  quietRuntime();
  // The record store (index, identity read model) of this test run, beside its Temporal database:
  // rows keyed by identity must not meet another run's (or another engineer's) people. A test
  // file that names its own TUNNUS_INDEX_FILE afterwards keeps it. Not named by pid alone: a long
  // run reuses pids (pid_max 32768), and a reused name handed one file another file's rows.
  process.env.TUNNUS_INDEX_FILE ??= path.join(
    process.env.TUNNUS_STATE_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-stack-')),
    'temporal',
    `record-index-${process.pid}-${randomUUID().slice(0, 8)}.sqlite`,
  );
  const temporal = await ensureTemporalDevServer({
    port: TEST_TEMPORAL_PORT,
    uiPort: TEST_TEMPORAL_PORT + 1000,
  });
  const samba = await ensureSamba();
  // The sample policy, with waits short enough for tests (real servers: no time skipping).
  let policy = parsePolicy(fs.readFileSync(path.resolve(__dirname, '../../config/policy.yaml'), 'utf8'));
  policy.cloud.licenceRecheckSeconds = 1;
  policy.cloud.provisioningRecheckSeconds = 1;
  if (options.policy) {
    options.policy(policy);
    // Validated again like a policy file, so defaults are filled in and mistakes named.
    policy = parsePolicy(stringifyYaml(policy));
    await prepareDirectory(policy); // OUs and groups the changed policy names
  }
  const policyFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-policy-')), 'policy.yaml');
  fs.writeFileSync(policyFile, stringifyYaml(policy));
  const directory = createLdapDirectory({
    url: samba.url,
    bindDn: samba.bindDn,
    bindPassword: samba.bindPassword,
    baseDn: samba.baseDn,
    caCertPath: samba.caCertPath,
  });
  // Seats for every test person; the pool-exhaustion test sets its own numbers.
  const sims = await startSimulators({
    skus: [
      { skuPartNumber: 'SPE_E3', enabled: 2000 },
      { skuPartNumber: 'SPE_F1', enabled: 2000 },
      { skuPartNumber: 'M365EDU_A3_FACULTY', enabled: 200 },
    ],
  });
  const simEnv = parseEnv({ ...process.env, ...sims.env });
  const cloud = createCloudDirectory(simEnv);
  const phone = createPhoneDirectoryFromEnv(simEnv);
  const connection = await Connection.connect({ address: temporal.address });
  // Encrypted as in production; childEnv() passes the same key store and KEK to child processes.
  const keys = testKeys();
  const client = new Client({ connection, dataConverter: tunnusDataConverter(keys) });
  const taskQueue = `it-${randomUUID()}`;
  const workers: { stop: () => Promise<void> }[] = [];

  return {
    temporal,
    samba,
    policy,
    directory,
    sims,
    cloud,
    phone,
    client,
    keys,
    taskQueue,
    async startWorker() {
      const nativeConnection = await NativeConnection.connect({ address: temporal.address });
      const worker = await buildWorker({
        connection: nativeConnection,
        client,
        taskQueue,
        directory,
        cloud,
        phone,
        policy,
        baseDn: samba.baseDn,
        workflowBundle: await workflowBundle(),
        keys,
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
        ...sims.env,
        LOG_LEVEL: 'warn',
        // Ports of their own (ephemeral), so child workers never collide with each other or npm start.
        TUNNUS_METRICS_PORT: '0',
        TUNNUS_SDK_METRICS_PORT: '0',
      };
    },
    async close() {
      for (const w of workers) await w.stop();
      await directory.close();
      await phone.close();
      await sims.close();
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
