import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Context } from '@temporalio/activity';
import { Worker } from '@temporalio/worker';
import { Client as TemporalClient, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { Attribute, Change, Client as LdapClient } from 'ldapts';
import YAML from 'yaml';
import { connectClient } from '../src/ops/connect';
import { inBatches } from '../src/in-batches';
import { startCleanup, waitForCleanup } from '../src/ops/cleanup';
import { loadPolicy, parseEnv } from '../src/config';
import { createLdapDirectory, type LdapDirectory } from '../src/connectors/ldap/ldap-directory';
import type { CleanupReport } from '../src/domain/cleanup-report';
import type { DirectoryAccount } from '../src/domain/account';
import { parsePolicy } from '../src/domain/policy';
import { createLogger } from '../src/logger';
import { ensureKekFile } from '../src/crypto/kek';
import {
  EmployeeIdKey,
  LifecycleStageKey,
  OrgUnitKey,
  personWorkflowId,
  SourceKey,
  stateQuery,
} from '../src/workflows/messages';
import { personWorkflow } from '../src/workflows/person';
import { installRuntimeLogger } from '../src/telemetry';
import { createCloudDirectory, createDirectoryFromEnv, createPhoneDirectoryFromEnv } from '../src/wiring';
import { buildWorker, connectTemporal } from '../src/worker';
import {
  buildPeople,
  FIRST_NAMES,
  LAST_NAMES,
  messFor,
  personStateOf,
  type Mess,
  type Person,
} from './people';
import { cpuSeconds, procStatus, readPid } from './proc';
import { workflowPollers } from '../test/support/pollers';

// The leaver cleanup over 5,000 identities (issue 4): Samba AD + the Graph simulator + the real
// worker (buildWorker, in a child process of this script so its RSS is its own) + the real
// cleanupWorkflow, started the way `tunnus cleanup run --mode …` starts it.
//
//   TUNNUS_STATE_DIR=$PWD/.state/bench-cleanup TUNNUS_DC_HOST=127.0.0.15 npx tsx bench/cleanup.ts
//     [--people 5000] [--fresh] [--keep-running] [--temporal-port 27550]
//
// Setup (timed apart, reused: the DC and the Temporal database stay in the state dir, so a second
// run only re-plants what the last enforce run fixed):
//   - AD: one account per identity in the OU the policy wants, through the LDAP connector's
//     createAccount (8 connections), enabled, with the groups the policy grants (bulk modify);
//   - Graph simulator (in-process state): a cloud user per identity with its role's licence;
//   - Temporal: a `person-{id}` workflow per identity started with a pre-set PersonState
//     (record, account, phase), so no joiner runs; first workflow tasks done by a setup worker;
//   - the mess: 1 % orphan accounts (enabled, no identity), 0.5 % leavers whose cloud user still
//     holds a licence, 0.5 % active people hand-added to ERP-Physician, 0.2 % leavers past
//     retention (their delete run failed), 5 expired name reservations.
// Measured, with a freshly started worker (cold workflow cache): a report-mode run, then an
// enforce-mode run. Collect vs apply from the workflow history; LDAP calls per activity counted in
// the worker (ldapts Client methods); Graph calls from the simulator's counters; worker RSS sampled.
// The bench policy is config/policy.yaml with safety.massChangeThresholdPercent raised to 50, so
// the guard does not stop the enforce run (the planted mess is 1.2 % anyway, under the default 5).

const repoRoot = path.resolve(__dirname, '..');
// sandbox/paths.ts and sandbox/samba.ts read these at import: set them before importing those.
process.env.TUNNUS_STATE_DIR ??= path.join(repoRoot, '.state', 'bench-cleanup');
process.env.TUNNUS_DC_HOST ??= '127.0.0.15';
const stateDir = path.resolve(process.env.TUNNUS_STATE_DIR);
const TASK_QUEUE = 'bench-cleanup';
const WORKER_FLAG = '--cleanup-bench-worker';

const log = (s: string) => process.stderr.write(`[bench-cleanup] ${s}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const secs = (ms: number) => Number((ms / 1000).toFixed(1));
const mb = (bytes: number) => Math.round(bytes / 2 ** 20);

// ---- the worker child: buildWorker with an LDAP call counter keyed by activity type ----

type Counts = Record<string, number>;
const ldapCalls: Counts = {};

function installLdapCounter(): void {
  const proto = LdapClient.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of ['search', 'add', 'modify', 'del', 'modifyDN', 'bind']) {
    const original = proto[name]!;
    proto[name] = function (this: unknown, ...args: unknown[]) {
      let activity = 'outside activities';
      try {
        activity = Context.current().info.activityType;
      } catch {
        // not inside an activity
      }
      const key = `${activity} ${name}`;
      ldapCalls[key] = (ldapCalls[key] ?? 0) + 1;
      return original.apply(this, args);
    };
  }
}

async function workerChild(): Promise<void> {
  const env = parseEnv();
  const logger = createLogger(env.LOG_LEVEL);
  installRuntimeLogger(logger);
  installLdapCounter();
  // --max-cached-workflows: buildWorker has no such option, so the bench passes it to Worker.create.
  const maxCached = process.env.BENCH_MAX_CACHED_WORKFLOWS;
  if (maxCached) {
    const create = Worker.create.bind(Worker);
    Worker.create = (options) => create({ ...options, maxCachedWorkflows: Number(maxCached) });
  }
  const policy = loadPolicy(env.TUNNUS_POLICY_FILE);
  const directory = createDirectoryFromEnv(env, logger);
  const cloud = createCloudDirectory(env);
  const phone = createPhoneDirectoryFromEnv(env);
  const connection = await connectTemporal(env);
  const client = await connectClient(env);
  const worker = await buildWorker({
    connection,
    client,
    cloud,
    phone,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    directory,
    policy,
    baseDn: env.LDAP_BASE_DN,
  });
  process.on('message', (m: { type: string }) => {
    if (m.type === 'counters') process.send?.({ type: 'counters', ldap: { ...ldapCalls } });
    if (m.type === 'stop') worker.shutdown();
  });
  await worker.run();
  await phone.close();
  await directory.close();
  await client.connection.close();
  await connection.close();
  process.disconnect?.();
}

interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  peakRss: number;
  resetPeak(): void;
  counters(): Promise<Counts>;
  stop(): Promise<void>;
}

function startWorker(env: NodeJS.ProcessEnv): WorkerProcess {
  const child = fork(__filename, [WORKER_FLAG], {
    cwd: repoRoot,
    env,
    execArgv: [
      '--import',
      'tsx',
      ...(env.BENCH_WORKER_HEAP_MB ? [`--max-old-space-size=${env.BENCH_WORKER_HEAP_MB}`] : []),
    ],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  for (const stream of [child.stdout!, child.stderr!]) {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) process.stderr.write(`[worker] ${line}\n`);
    });
  }
  const pid = child.pid!;
  const w: WorkerProcess = {
    child,
    pid,
    peakRss: 0,
    resetPeak: () => (w.peakRss = procStatus(pid, 'VmRSS') ?? 0),
    counters: () =>
      new Promise((resolve) => {
        const onMessage = (m: { type: string; ldap?: Counts }) => {
          if (m.type !== 'counters') return;
          child.off('message', onMessage);
          resolve(m.ldap ?? {});
        };
        child.on('message', onMessage);
        child.send({ type: 'counters' });
      }),
    stop: async () => {
      clearInterval(timer);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.send({ type: 'stop' });
      const kill = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(kill);
    },
  };
  const timer = setInterval(() => {
    const rss = procStatus(pid, 'VmRSS');
    if (rss !== undefined && rss > w.peakRss) w.peakRss = rss;
  }, 100);
  child.once('exit', (code, signal) => {
    clearInterval(timer);
    if (code !== 0 && code !== null) log(`worker exited: code ${code}, signal ${signal}`);
  });
  return w;
}

async function waitForPoller(client: TemporalClient, worker: WorkerProcess): Promise<void> {
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    if (worker.child.exitCode !== null) throw new Error(`worker exited with ${worker.child.exitCode}`);
    const pollers = await workflowPollers(client.workflowService, TASK_QUEUE);
    // The setup worker of an earlier phase may still be listed for a minute: wait for our own.
    if (pollers.some((p) => p.identity?.startsWith(`${worker.pid}@`))) return;
    await sleep(250);
  }
  throw new Error('worker did not poll within 180 s');
}

// ---- the identities and the mess ----

// The cleanup bench's own ids and account names (its state dir is reused from run to run).
const naming = {
  idPrefix: 'CB',
  idDigits: 5,
  firstNames: FIRST_NAMES.slice(0, 10),
  lastNames: LAST_NAMES.slice(0, 8),
  samLength: 14,
};

// ---- setup ----

interface Dc {
  url: string;
  baseDn: string;
  bindDn: string;
  bindPassword: string;
  caCertPath: string;
}

const groupName = (dn: string) => /^CN=([^,]+)/i.exec(dn)?.[1] ?? dn;

/** AD as the people want it: create the missing, re-enable, re-add members; returns what it did. */
async function setupDirectory(dc: Dc, people: Person[]) {
  const dirs: LdapDirectory[] = Array.from({ length: 8 }, () =>
    createLdapDirectory({ ...dc, timeoutMs: 60_000 }),
  );
  const raw = new LdapClient({
    url: dc.url,
    timeout: 120_000,
    connectTimeout: 10_000,
    tlsOptions: { ca: [fs.readFileSync(dc.caCertPath)], minVersion: 'TLSv1.2' },
  });
  await raw.bind(dc.bindDn, dc.bindPassword);
  const did = { created: 0, enabled: 0, disabled: 0, memberships: 0 };
  try {
    const existing = new Map<string, DirectoryAccount>();
    for (const a of await dirs[0]!.listAccounts()) if (a.employeeId) existing.set(a.employeeId, a);
    const dnOf = new Map<string, string>();
    const groupsOf = new Map<string, Set<string>>();
    let lane = 0;
    let t = Date.now();
    await inBatches(
      people,
      dirs.length,
      async (p) => {
        const dir = dirs[lane++ % dirs.length]!;
        let account = existing.get(p.employeeId);
        if (!account) {
          const first = p.record?.firstNames ?? 'Ulkoinen';
          const last = p.record?.lastName ?? 'Käyttäjä';
          account = await dir.createAccount({
            employeeId: p.employeeId,
            ou: p.ouDn,
            cn: p.sam,
            sAMAccountName: p.sam,
            userPrincipalName: `${p.sam}@kerava.test`,
            mail: `${p.sam}@kerava.fi`,
            attributes: {
              givenName: first,
              sn: last,
              displayName: `${first} ${last}`,
              title: p.record?.jobTitle ?? 'Konsultti',
              department: p.record?.orgUnit ?? 'HALL-010',
            },
            password: `Bench-${p.employeeId}-Pw1!`,
          });
          did.created++;
        }
        if (account.enabled !== p.enabled) {
          await dir.setEnabled(account.dn, p.enabled);
          did[p.enabled ? 'enabled' : 'disabled']++;
        }
        dnOf.set(p.employeeId, account.dn);
        groupsOf.set(p.employeeId, new Set(account.memberOf.map(groupName)));
      },
      (done) => {
        if (Date.now() - t > 15_000) {
          t = Date.now();
          log(`AD accounts checked/created: ${done}/${people.length} (${did.created} created)`);
        }
      },
    );
    // Group members in bulk: one modify per 250 members per group (only those missing).
    const missing = new Map<string, string[]>();
    for (const p of people) {
      const have = groupsOf.get(p.employeeId)!;
      for (const g of p.groups)
        if (!have.has(g)) missing.set(g, [...(missing.get(g) ?? []), dnOf.get(p.employeeId)!]);
    }
    for (const [group, dns] of missing) {
      const groupDn = `CN=${group},OU=Groups,OU=Tunnus,${dc.baseDn}`;
      for (let i = 0; i < dns.length; i += 250) {
        await raw.modify(
          groupDn,
          new Change({
            operation: 'add',
            modification: new Attribute({ type: 'member', values: dns.slice(i, i + 250) }),
          }),
        );
      }
      did.memberships += dns.length;
    }
  } finally {
    await raw.unbind().catch(() => undefined);
    await Promise.all(dirs.map((d) => d.close()));
  }
  return did;
}

// ---- history: collect vs apply ----

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const eventMs = (e: HistoryEvent) =>
  Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);

interface RunTimings {
  workflowMs: number;
  collectQueueMs: number;
  collectRunMs: number;
  applyActivities: number;
  applyRunMs: number;
  /** First apply scheduled → last apply completed. */
  applySpanMs: number;
  events: number;
  /** Attempts of the collect activity (a failed query fails the attempt and it starts over). */
  collectAttempts: number;
}

async function runTimings(client: TemporalClient, workflowId: string): Promise<RunTimings> {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const scheduled = new Map<string, { at: number; type: string }>();
  const started = new Map<string, number>();
  const t: RunTimings = {
    workflowMs: events.length > 1 ? eventMs(events[events.length - 1]!) - eventMs(events[0]!) : 0,
    collectQueueMs: 0,
    collectRunMs: 0,
    applyActivities: 0,
    applyRunMs: 0,
    applySpanMs: 0,
    events: events.length,
    collectAttempts: 0,
  };
  let applyFirst: number | undefined;
  let applyLast: number | undefined;
  for (const e of events) {
    const at = eventMs(e);
    const id = String(e.eventId);
    if (e.activityTaskScheduledEventAttributes) {
      const type = e.activityTaskScheduledEventAttributes.activityType?.name ?? '?';
      scheduled.set(id, { at, type });
      if (type === 'applyCleanup') applyFirst ??= at;
    }
    if (e.activityTaskStartedEventAttributes) {
      const s = scheduled.get(String(e.activityTaskStartedEventAttributes.scheduledEventId));
      if (s?.type === 'collectCleanup') {
        t.collectQueueMs += at - s.at;
        t.collectAttempts = Math.max(t.collectAttempts, e.activityTaskStartedEventAttributes.attempt ?? 1);
      }
      started.set(id, at);
    }
    const done = e.activityTaskCompletedEventAttributes;
    if (done) {
      const s = scheduled.get(String(done.scheduledEventId));
      const st = started.get(String(done.startedEventId));
      if (s && st !== undefined) {
        if (s.type === 'collectCleanup') t.collectRunMs += at - st;
        if (s.type === 'applyCleanup') {
          t.applyActivities++;
          t.applyRunMs += at - st;
          applyLast = at;
        }
      }
    }
  }
  if (applyFirst !== undefined && applyLast !== undefined) t.applySpanMs = applyLast - applyFirst;
  return t;
}

// ---- main ----

function benchPolicyFile(): string {
  const doc = YAML.parse(fs.readFileSync(path.join(repoRoot, 'config', 'policy.yaml'), 'utf8')) as {
    safety?: Record<string, unknown>;
    cleanup?: Record<string, unknown>;
  };
  // The guard would stop a run that disables/deletes more than this share: not what is measured.
  doc.safety = { ...doc.safety, massChangeThresholdPercent: 50 };
  doc.cleanup = { ...doc.cleanup, mode: 'report' };
  const file = path.join(stateDir, 'bench-policy.yaml');
  fs.mkdirSync(stateDir, { recursive: true });
  fs.writeFileSync(file, YAML.stringify(doc));
  parsePolicy(fs.readFileSync(file, 'utf8'));
  return file;
}

interface Measured {
  mode: 'report' | 'enforce';
  wallMs: number;
  timings: RunTimings;
  report: CleanupReport;
  peakRss: number;
  ldap: Counts;
  graph: { total: number; byRoute: Record<string, number> };
  cpu: { worker: number; samba: number; temporal: number };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      people: { type: 'string', default: '5000' },
      fresh: { type: 'boolean', default: false },
      'keep-running': { type: 'boolean', default: false },
      'max-cached-workflows': { type: 'string' },
      'worker-heap-mb': { type: 'string' },
      'temporal-port': { type: 'string', default: '27550' },
    },
  });
  const temporalPort = Number(values['temporal-port']);
  const rel = path.relative(path.join(repoRoot, '.state'), stateDir);
  if (rel === '' || rel.startsWith('test') || rel.startsWith('..')) {
    throw new Error(`TUNNUS_STATE_DIR ${stateDir} is not a bench state dir (.state/bench-cleanup)`);
  }
  const people = Number(values.people);
  const benchStart = Date.now();
  // The record index and the payload codec's keys in this bench's state dir (docs/privacy.md),
  // for the worker child too.
  process.env.TUNNUS_INDEX_FILE ??= path.join(stateDir, 'record-index.sqlite');
  process.env.TUNNUS_KEK_FILE ??= ensureKekFile(path.join(stateDir, 'kek'));
  const { ensureSamba, stopSamba } = await import('../sandbox/samba');
  const { ensureTemporalDevServer, stopTemporalDevServers } = await import('../sandbox/temporal');

  const { startSimulators } = await import('../sandbox/simulators');

  if (values.fresh) {
    await stopSamba();
    await stopTemporalDevServers();
    fs.rmSync(path.join(stateDir, 'samba'), { recursive: true, force: true });
    fs.rmSync(path.join(stateDir, 'temporal'), { recursive: true, force: true });
  }
  const policyFile = benchPolicyFile();
  const policy = parsePolicy(fs.readFileSync(policyFile, 'utf8'));
  const setup: Record<string, number> = {};
  let t = Date.now();
  const samba = await ensureSamba({ policyFile });
  setup.sambaMs = Date.now() - t;
  t = Date.now();
  const dev = await ensureTemporalDevServer({ port: temporalPort, uiPort: temporalPort + 1000 });
  setup.temporalMs = Date.now() - t;
  log(`Samba ${samba.url} (${secs(setup.sambaMs)} s), Temporal ${dev.address} (${secs(setup.temporalMs)} s)`);
  const sims = await startSimulators({
    skus: ['SPE_E3', 'SPE_F1', 'M365EDU_A3_FACULTY'].map((sku) => ({
      skuPartNumber: sku,
      enabled: people * 2,
    })),
  });
  // With the payload codec, as the CLI and the worker: the person states are encrypted.
  const client = await connectClient(parseEnv({ ...process.env, TEMPORAL_ADDRESS: dev.address }));
  const workerEnv: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: dev.address,
    TEMPORAL_TASK_QUEUE: TASK_QUEUE,
    LDAP_URL: samba.url,
    LDAP_BIND_DN: samba.bindDn,
    LDAP_BIND_PASSWORD: samba.bindPassword,
    LDAP_BASE_DN: samba.baseDn,
    LDAP_CA_CERT: samba.caCertPath,
    TUNNUS_POLICY_FILE: policyFile,
    ...sims.env,
    LOG_LEVEL: 'warn',
  };
  const maxCached = values['max-cached-workflows'];
  if (maxCached) workerEnv.BENCH_MAX_CACHED_WORKFLOWS = maxCached;
  const heapMb = values['worker-heap-mb'];
  if (heapMb) workerEnv.BENCH_WORKER_HEAP_MB = heapMb;
  let worker: WorkerProcess | undefined;
  const runs: Measured[] = [];
  const mess = messFor(people);
  const all = buildPeople(people, mess, policy, samba.baseDn, naming);
  const identities = all.filter((p) => p.kind !== 'orphan');
  let setupCounts: Record<string, number> = {};
  try {
    // ---- AD ----
    t = Date.now();
    const did = await setupDirectory(samba, all);
    setup.directoryMs = Date.now() - t;
    log(`AD ready in ${secs(setup.directoryMs)} s: ${JSON.stringify(did)}`);
    const reservationDir = createLdapDirectory(samba);
    for (let k = 0; k < mess.reservations; k++) {
      await reservationDir.reserveNames({
        name: `cb-expired-${k}`,
        ouDn: `${policy.ous.retiredNames},${samba.baseDn}`,
        addresses: [`cb-expired-${k}@kerava.fi`],
        until: '2025-01-01',
      });
    }
    await reservationDir.close();

    // ---- cloud (simulator state, in-process) ----
    t = Date.now();
    const state = sims.graph.state;
    const skuId = new Map(state.skus.map((s) => [s.skuPartNumber, s.skuId]));
    for (const p of all) {
      if (!p.cloudUser) continue;
      const user = state.createUser(
        {
          accountEnabled: p.kind === 'active',
          displayName: `${p.record!.firstNames} ${p.record!.lastName}`,
          mailNickname: p.sam,
          userPrincipalName: `${p.sam}@kerava.test`,
          employeeId: p.employeeId,
          usageLocation: 'FI',
          passwordProfile: { password: 'Bench-Password-1!' },
        },
        { visibleAfterMs: 0 },
      );
      // Straight into the state: assignLicense counts seats over every user (quadratic at 5,000).
      if (p.sku) user.assignedLicenses.push({ skuId: skuId.get(p.sku)!, disabledPlans: [] });
    }
    setup.cloudMs = Date.now() - t;

    // ---- person workflows with a pre-set state ----
    t = Date.now();
    const running = new Set<string>();
    for await (const w of client.workflow.list({
      query: `WorkflowType = 'personWorkflow' AND ExecutionStatus = 'Running' AND TaskQueue = '${TASK_QUEUE}'`,
      pageSize: 1000,
    })) {
      running.add(w.workflowId);
    }
    const toStart = identities.filter((p) => !running.has(personWorkflowId(p.employeeId)));
    if (toStart.length > 0) {
      worker = startWorker(workerEnv);
      await waitForPoller(client, worker);
      await inBatches(toStart, 32, async (p) => {
        try {
          await client.workflow.start(personWorkflow, {
            workflowId: personWorkflowId(p.employeeId),
            taskQueue: TASK_QUEUE,
            args: [{ employeeId: p.employeeId, state: personStateOf(p, policy) }],
            staticSummary: 'person: every HR event for one employee, in order',
            typedSearchAttributes: [
              { key: EmployeeIdKey, value: p.employeeId },
              { key: LifecycleStageKey, value: personStateOf(p, policy).stage },
              { key: OrgUnitKey, value: p.record!.orgUnit },
              { key: SourceKey, value: 'hr' },
            ],
          });
        } catch (err) {
          if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        }
      });
      // Each has run its first workflow task once it answers a query.
      await inBatches(toStart, 32, async (p) => {
        for (let attempt = 0; ; attempt++) {
          try {
            await client.workflow.getHandle(personWorkflowId(p.employeeId)).query(stateQuery);
            return;
          } catch (err) {
            if (attempt > 60) throw err;
            await sleep(500);
          }
        }
      });
      await worker.stop();
      worker = undefined;
    }
    setup.workflowsMs = Date.now() - t;
    setupCounts = {
      accountsCreated: did.created,
      membershipsAdded: did.memberships,
      accountsEnabled: did.enabled,
      workflowsStarted: toStart.length,
      workflowsAlreadyRunning: running.size,
    };
    log(
      `person workflows: ${toStart.length} started, ${running.size} already running (${secs(setup.workflowsMs)} s)`,
    );

    // ---- the measured worker: fresh process, cold workflow cache ----
    t = Date.now();
    worker = startWorker(workerEnv);
    await waitForPoller(client, worker);
    setup.workerMs = Date.now() - t;
    const rssAtReady = procStatus(worker.pid, 'VmRSS') ?? 0;
    log(`worker ${worker.pid} polling after ${secs(setup.workerMs)} s (RSS ${mb(rssAtReady)} MB)`);
    const sambaPid = readPid(path.join(stateDir, 'samba', 'run', 'samba.pid'));
    const temporalPid = readPid(path.join(stateDir, 'temporal', `dev-server-${temporalPort}.pid`));

    for (const mode of ['report', 'enforce'] as const) {
      const w = worker;
      const ldapBefore = await w.counters();
      sims.graph.admin.resetCounters();
      const cpu0 = {
        worker: cpuSeconds(w.pid),
        samba: cpuSeconds(sambaPid),
        temporal: cpuSeconds(temporalPid),
      };
      w.resetPeak();
      const t0 = performance.now();
      const workflowId = await startCleanup(client, TASK_QUEUE, mode);
      const outcome = await waitForCleanup(client, workflowId);
      const wallMs = performance.now() - t0;
      if (!('report' in outcome)) {
        const why = 'waiting' in outcome ? `waits for approval: ${outcome.waiting}` : `is ${outcome.running}`;
        throw new Error(`the ${mode} run ${why}`);
      }
      const ldapAfter = await w.counters();
      const ldap = Object.fromEntries(
        Object.entries(ldapAfter)
          .map(([k, v]) => [k, v - (ldapBefore[k] ?? 0)] as const)
          .filter(([, v]) => v > 0),
      );
      runs.push({
        mode,
        wallMs,
        timings: await runTimings(client, workflowId),
        report: outcome.report,
        peakRss: w.peakRss,
        ldap,
        graph: sims.graph.admin.counters(),
        cpu: {
          worker: cpuSeconds(w.pid) - cpu0.worker,
          samba: cpuSeconds(sambaPid) - cpu0.samba,
          temporal: cpuSeconds(temporalPid) - cpu0.temporal,
        },
      });
      log(`${mode}: ${secs(wallMs)} s, findings ${JSON.stringify(outcome.report.counts)}`);
    }
    const hwm = procStatus(worker.pid, 'VmHWM') ?? 0;
    print({
      people,
      mess,
      setup,
      setupCounts,
      runs,
      rssAtReady,
      hwm,
      benchMs: Date.now() - benchStart,
      maxCached: maxCached ?? 'SDK default',
      heap: heapMb ? `${heapMb} MB` : 'Node default',
    });
  } finally {
    await worker?.stop();
    await client.connection.close();
    await sims.close();
    if (!values['keep-running']) {
      await stopTemporalDevServers();
      await stopSamba();
    }
  }
}

function print(r: {
  people: number;
  mess: Mess;
  setup: Record<string, number>;
  setupCounts: Record<string, number>;
  runs: Measured[];
  rssAtReady: number;
  hwm: number;
  benchMs: number;
  maxCached: string;
  heap: string;
}): void {
  const [report, enforce] = r.runs as [Measured, Measured];
  const sum = (c: Counts, pred: (k: string) => boolean) =>
    Object.entries(c)
      .filter(([k]) => pred(k))
      .reduce((a, [, v]) => a + v, 0);
  const searches = (m: Measured, activity: string) => sum(m.ldap, (k) => k === `${activity} search`);
  const writes = (m: Measured, activity: string) =>
    sum(m.ldap, (k) => k.startsWith(`${activity} `) && /(add|modify|del|modifyDN)$/.test(k));
  const setupMs = Object.values(r.setup).reduce((a, b) => a + b, 0);
  const nproc = spawnSync('nproc').stdout.toString().trim();
  const findings = (m: Measured) => Object.values(m.report.counts).reduce((a, b) => a + b, 0);
  const lines = [
    `### Leaver cleanup, ${r.people} identities (${new Date().toISOString()})`,
    '',
    `Machine: nproc ${nproc}, ${os.cpus()[0]?.model ?? '?'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ` +
      `Node ${process.version}. Worker maxCachedWorkflows: ${r.maxCached}, V8 heap limit: ${r.heap}. Mess: ${JSON.stringify(r.mess)}.`,
    '',
    '| measure | value |',
    '|---|---:|',
    `| setup (not measured): Samba ${secs(r.setup.sambaMs!)} s, Temporal ${secs(r.setup.temporalMs!)} s, AD ${secs(r.setup.directoryMs!)} s, cloud ${secs(r.setup.cloudMs!)} s, workflows ${secs(r.setup.workflowsMs!)} s, worker ${secs(r.setup.workerMs!)} s | ${secs(setupMs)} s |`,
    `| … did: ${Object.entries(r.setupCounts)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')} | |`,
    `| **report mode**, start → report (client wall) | **${secs(report.wallMs)} s** |`,
    `| … collect activity run / queue (attempts) | ${secs(report.timings.collectRunMs)} s / ${secs(report.timings.collectQueueMs)} s (${report.timings.collectAttempts}) |`,
    `| **enforce mode**, start → report (client wall) | **${secs(enforce.wallMs)} s** |`,
    `| … collect activity run (attempts) | ${secs(enforce.timings.collectRunMs)} s (${enforce.timings.collectAttempts}) |`,
    `| … apply: ${enforce.timings.applyActivities} activities, run sum / span | ${secs(enforce.timings.applyRunMs)} s / ${secs(enforce.timings.applySpanMs)} s |`,
    `| findings (report) | ${findings(report)}: ${JSON.stringify(report.report.counts)} |`,
    `| fixed (enforce) | ${JSON.stringify(enforce.report.done)}; licences ${JSON.stringify(enforce.report.licences)} |`,
    `| collect: LDAP searches / writes (ldapts calls; a paged search counts once) | ${searches(report, 'collectCleanup')} / ${writes(report, 'collectCleanup')} |`,
    `| apply: LDAP searches / writes | ${searches(enforce, 'applyCleanup')} / ${writes(enforce, 'applyCleanup')} |`,
    `| Graph calls, report run / enforce run | ${report.graph.total} / ${enforce.graph.total} |`,
    `| person workflows queried per collect | ${report.report.managedIdentities} managed identities (+ ids without a workflow) |`,
    `| worker peak RSS, report / enforce run (VmRSS every 100 ms) | **${mb(report.peakRss)} / ${mb(enforce.peakRss)} MB** (at ready ${mb(r.rssAtReady)} MB, VmHWM ${mb(r.hwm)} MB) |`,
    `| CPU-s during report run: worker / samba / temporal | ${report.cpu.worker.toFixed(1)} / ${report.cpu.samba.toFixed(1)} / ${report.cpu.temporal.toFixed(1)} |`,
    `| CPU-s during enforce run: worker / samba / temporal | ${enforce.cpu.worker.toFixed(1)} / ${enforce.cpu.samba.toFixed(1)} / ${enforce.cpu.temporal.toFixed(1)} |`,
    '',
    `Total bench time ${secs(r.benchMs)} s.`,
  ];
  console.log(lines.join('\n'));
  const json = {
    bench: 'cleanup',
    people: r.people,
    nproc: Number(nproc),
    setupS: secs(setupMs),
    setup: Object.fromEntries(Object.entries(r.setup).map(([k, v]) => [k.replace(/Ms$/, 'S'), secs(v)])),
    setupCounts: r.setupCounts,
    mess: r.mess,
    runs: r.runs.map((m) => ({
      mode: m.mode,
      wallS: secs(m.wallMs),
      workflowS: secs(m.timings.workflowMs),
      collectS: secs(m.timings.collectRunMs),
      collectQueueS: secs(m.timings.collectQueueMs),
      collectAttempts: m.timings.collectAttempts,
      applyActivities: m.timings.applyActivities,
      applyRunS: secs(m.timings.applyRunMs),
      applySpanS: secs(m.timings.applySpanMs),
      historyEvents: m.timings.events,
      counts: m.report.counts,
      done: m.report.done,
      licences: m.report.licences,
      ldap: m.ldap,
      graph: m.graph,
      peakRssMb: mb(m.peakRss),
      cpuS: m.cpu,
    })),
    maxCachedWorkflows: r.maxCached,
    workerHeap: r.heap,
    rssAtReadyMb: mb(r.rssAtReady),
    vmHwmMb: mb(r.hwm),
  };
  console.log(JSON.stringify(json));
}

if (process.argv.includes(WORKER_FLAG)) {
  workerChild().catch((err: unknown) => {
    process.stderr.write(
      `worker failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  });
} else {
  main().catch((err: unknown) => {
    process.stderr.write(
      `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 1;
  });
}
