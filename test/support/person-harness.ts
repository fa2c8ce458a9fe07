import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Context } from '@temporalio/activity';
import { Worker } from '@temporalio/worker';
import type { CloudActivities } from '../../src/activities/cloud';
import { createDirectoryActivities } from '../../src/activities/directory';
import { createReadModelActivities } from '../../src/activities/read-model';
import { openSqliteIndex } from '../../src/store/sqlite-index';
import type { RecordStore } from '../../src/store/import-staging';
import { createHandoverActivities } from '../../src/activities/handover';
import type { CloudDirectory, OutgoingMail } from '../../src/connectors/graph/cloud-directory';
import type { NoticeRequest } from '../../src/domain/notice-recipients';
import { openSqliteHandoverLedger } from '../../src/store/handover-ledger';
import { managedGroups, type Policy } from '../../src/domain/policy';
import type { HrRecord } from '../../src/domain/record';
import { personWorkflowId, recordSignal, stateQuery, type PersonState } from '../../src/workflows/messages';
import { personWorkflow } from '../../src/workflows/person';
import { MemoryDirectory } from './memory-directory';
import { tunnusDataConverter } from '../../src/crypto/data-converter';
import { testKeys } from './keys';
import { timeSkippingEnv, workflowBundle } from './temporal';

/** Drives person workflows on the time-skipping server: deliver records, skip time, read state. */
export function personHarness(env: TestWorkflowEnvironment, taskQueue: string) {
  const now = async () => Number(await env.currentTimeMs());
  const state = (id: string) => env.client.workflow.getHandle(personWorkflowId(id)).query(stateQuery);
  return {
    now,
    state,
    /** An HR record to the person's workflow, starting it if needed. */
    deliver: (record: HrRecord) =>
      env.client.workflow.signalWithStart(personWorkflow, {
        workflowId: personWorkflowId(record.employeeId),
        taskQueue,
        args: [{ employeeId: record.employeeId }],
        signal: recordSignal,
        signalArgs: [{ record, source: 'hr' }],
      }),
    /** Skips time to an instant plus an offset (the server fires due timers as it goes). */
    skipTo: async (instant: Date, offsetMs = 60_000) => {
      const wait = instant.getTime() + offsetMs - (await now());
      if (wait > 0) await env.sleep(wait);
    },
    /** Polls the person's state until the predicate holds (workflows run in real time between skips). */
    until: async (id: string, predicate: (s: PersonState) => boolean) => {
      // Generous: CI machines are small and the worker shares them with two servers.
      for (let i = 0; i < 600; i++) {
        const s = await state(id);
        if (predicate(s)) return s;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`condition not reached for ${id}: ${JSON.stringify(await state(id))}`);
    },
    /** Polls until the person has no run going and every accepted record has been planned. */
    idle: async (id: string) => {
      for (let i = 0; i < 1200; i++) {
        const s = await state(id);
        const running = ['joining', 'updating', 'leaving', 'deleting'].includes(s.stage);
        if (!running && s.runs.every((r) => !!r.endedAt) && (s.handledVersion ?? s.version) >= s.version)
          return s;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`person ${id} never became idle: ${JSON.stringify(await state(id))}`);
    },
  };
}

/**
 * The history length of every run of a workflow id (following continue-as-new back to the first
 * run), latest first: tests report the largest and check it stays bounded.
 */
export async function historyLengths(env: TestWorkflowEnvironment, workflowId: string): Promise<number[]> {
  const lengths: number[] = [];
  let runId: string | undefined;
  for (let i = 0; i < 1000; i++) {
    const history = await env.client.workflow.getHandle(workflowId, runId).fetchHistory();
    const events = history.events ?? [];
    lengths.push(events.length);
    runId = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ?? undefined;
    if (!runId) break;
  }
  return lengths;
}

/** Called before every activity of the worker (tests deliver records or inject faults here). */
export type ActivityHook = (activity: string, input: unknown) => Promise<void> | void;

/**
 * The time-skipping server with a worker running the workflows over an in-memory directory (no
 * cloud or telephony activities: policies given here keep those off). Stop it in `after`.
 */
export async function startDirectoryWorker(policy: Policy, name: string) {
  return startLifecycleWorker(policy, name, { cloud: false });
}

/**
 * Like startDirectoryWorker, with an in-memory cloud and phone catalogue (FakeCloud) when
 * `cloud` is set, and `hook` (mutable) running before every activity.
 */
export async function startLifecycleWorker(
  policy: Policy,
  name: string,
  options: {
    cloud: boolean;
    /** More activities over the harness's parts (e.g. the shred's, test/workflows/crypto-shred.test.ts). */
    extraActivities?: (parts: { env: TestWorkflowEnvironment; store: RecordStore }) => object;
  },
) {
  // Encrypted as in production: the harness's client and worker share the test keys.
  const env = await timeSkippingEnv({ codec: true });
  const directory = new MemoryDirectory(managedGroups(policy));
  const cloud = new FakeCloud(directory, policy);
  const mail = new FakeMail(async () => Number(await env.currentTimeMs()));
  const taskQueue = `${name}-${randomUUID()}`;
  const hooks: { before?: ActivityHook } = {};
  const store = openSqliteIndex({ file: ':memory:' });
  const activities: Record<string, (input: unknown) => Promise<unknown>> = {
    ...(createDirectoryActivities(directory, policy, { baseDn: directory.baseDn }) as unknown as Record<
      string,
      (input: unknown) => Promise<unknown>
    >),
    ...(options.cloud
      ? (cloud.activities() as unknown as Record<string, (input: unknown) => Promise<unknown>>)
      : {}),
    // The real handover over the memory directory; the cloud's pass and mail calls (the only ones
    // a handover makes) are FakeMail.
    ...(createHandoverActivities({
      cloud: mail as unknown as CloudDirectory,
      directory,
      policy,
      ledger: () => mail.ledger,
    }) as unknown as Record<string, (input: unknown) => Promise<unknown>>),
    // The mass-change guard for ends falling due admits everything here (its own test:
    // test/workflows/guard-due-ends.test.ts).
    admitDueEnd: async () => ({ admitted: true, affected: 1 }),
    // The identity read model, written by the person workflows (a throwaway SQLite store).
    ...(createReadModelActivities({ store: () => store, policy }) as unknown as Record<
      string,
      (input: unknown) => Promise<unknown>
    >),
    // Notices at the activity boundary, each key once (as the notice ledger does); a test may
    // replace it through extraActivities.
    sendNotice: async (req: unknown) => mail.notice(req as NoticeRequest),
    ...(options.extraActivities?.({ env, store }) as Record<string, (input: unknown) => Promise<unknown>>),
  };
  const wrapped = Object.fromEntries(
    Object.entries(activities).map(([activity, fn]) => [
      activity,
      async (input: unknown) => {
        await hooks.before?.(activity, input);
        return fn(input);
      },
    ]),
  );
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: wrapped,
    dataConverter: tunnusDataConverter(testKeys()),
  });
  const running = worker.run();
  return {
    env,
    directory,
    cloud,
    mail,
    taskQueue,
    hooks,
    /** The record store the workflows write their identity read model rows to. */
    store,
    stop: async () => {
      worker.shutdown();
      await running;
      await env.teardown();
      await store.close();
    },
  };
}

export interface FakeCloudUser {
  enabled: boolean;
  inAddressList: boolean;
  licences: string[];
  sessionsRevoked: number;
}

/**
 * The cloud tenant and the phone catalogue at the activity level, following the AD account the
 * way direct mode does. In synced mode (policy.cloud.mode) the user appears only from `syncAt`
 * (server time, so time skipping reaches it).
 */
export class FakeCloud {
  readonly users = new Map<string, FakeCloudUser>();
  readonly catalogue = new Set<string>();
  syncAt = 0;

  constructor(
    private readonly directory: MemoryDirectory,
    private readonly policy: Policy,
  ) {}

  activities(): Pick<
    CloudActivities,
    | 'ensureCloudUser'
    | 'ensureMailAddresses'
    | 'ensureLicences'
    | 'mailboxReady'
    | 'syncPhone'
    | 'disableCloudSignIn'
    | 'retireCloudUser'
    | 'deleteCloudUser'
    | 'removeCatalogueEntry'
  > {
    const enabledInAd = (id: string) => this.directory.account(id)?.enabled ?? false;
    return {
      ensureCloudUser: async ({ employeeId }) => {
        const existing = this.users.get(employeeId);
        if (existing) {
          existing.enabled = enabledInAd(employeeId);
          if (existing.enabled) existing.inAddressList = true;
          return { status: 'ready', userId: employeeId, created: false };
        }
        if (
          this.policy.cloud.mode === 'synced' &&
          Context.current().info.scheduledTimestampMs < this.syncAt
        ) {
          return { status: 'notYetSynced' };
        }
        this.users.set(employeeId, {
          enabled: enabledInAd(employeeId),
          inAddressList: true,
          licences: [],
          sessionsRevoked: 0,
        });
        return { status: 'ready', userId: employeeId, created: true };
      },
      ensureMailAddresses: async () => undefined,
      ensureLicences: async ({ employeeId, licences }) => {
        const user = this.users.get(employeeId)!;
        const want = licences.map((l) => l.sku);
        const added = want.filter((s) => !user.licences.includes(s));
        const removed = user.licences.filter((s) => !want.includes(s));
        user.licences = [...want].sort();
        return { status: 'done', added, removed };
      },
      mailboxReady: async () => true,
      syncPhone: async ({ employeeId, catalogue }) => {
        if (catalogue) this.catalogue.add(employeeId);
        return { changed: false };
      },
      disableCloudSignIn: async ({ employeeId }) => {
        const user = this.users.get(employeeId);
        if (!user) return { found: false };
        user.enabled = false;
        user.sessionsRevoked++;
        return { found: true };
      },
      retireCloudUser: async ({ employeeId }) => {
        const user = this.users.get(employeeId);
        if (!user) return { found: false, licencesRemoved: [] };
        user.enabled = false;
        user.inAddressList = false;
        const licencesRemoved = user.licences;
        user.licences = [];
        return { found: true, licencesRemoved };
      },
      deleteCloudUser: async ({ employeeId }) => ({ deleted: this.users.delete(employeeId) }),
      removeCatalogueEntry: async ({ employeeId }) => ({ removed: this.catalogue.delete(employeeId) }),
    };
  }
}

/**
 * The cloud's Temporary Access Pass and sendMail calls in memory (one pass per user, as Graph
 * keeps them), with the handover ledger in an in-memory SQLite: what a handover sent, and when.
 */
export class FakeMail {
  readonly sent: (OutgoingMail & { from: string; at: number })[] = [];
  readonly passes = new Map<string, { id: string; value: string }>();
  readonly ledger = openSqliteHandoverLedger(':memory:');
  /** Set by a test: the next sendMail throws what this returns (then it is cleared). */
  failNextSend?: () => Error;
  private readonly created = new Map<string, number>();
  private seq = 0;

  /**
   * `clock`: the test server's time. A local activity's scheduled time is the worker's wall clock,
   * which on the time-skipping server is not the skipped-to day (a regular activity's is).
   */
  constructor(private readonly clock?: () => Promise<number>) {}

  private async at(): Promise<number> {
    return this.clock ? this.clock() : Context.current().info.currentAttemptScheduledTimestampMs;
  }

  /** How many passes were created for the person. */
  passesCreated(employeeId: string): number {
    return this.created.get(employeeId) ?? 0;
  }

  async createTemporaryAccessPass(
    employeeId: string,
    o: { lifetimeInMinutes: number; isUsableOnce: boolean },
  ) {
    if (this.passes.has(employeeId)) throw new Error('the user already holds a pass');
    const pass = { id: `tap-${++this.seq}`, value: `TAP-${randomUUID()}` };
    this.passes.set(employeeId, pass);
    this.created.set(employeeId, this.passesCreated(employeeId) + 1);
    return {
      id: pass.id,
      temporaryAccessPass: pass.value,
      startDateTime: new Date().toISOString(),
      lifetimeInMinutes: o.lifetimeInMinutes,
      isUsableOnce: o.isUsableOnce,
    };
  }

  async listTemporaryAccessPasses(employeeId: string) {
    const pass = this.passes.get(employeeId);
    return pass
      ? [
          {
            id: pass.id,
            startDateTime: '',
            lifetimeInMinutes: 0,
            isUsableOnce: true,
            isUsable: true,
            methodUsabilityReason: null,
          },
        ]
      : [];
  }

  async deleteTemporaryAccessPass(employeeId: string) {
    this.passes.delete(employeeId);
  }

  async sendMail(from: string, message: OutgoingMail) {
    const fail = this.failNextSend;
    this.failNextSend = undefined;
    if (fail) throw fail();
    // The server's time: on the time-skipping server that is the skipped-to day.
    this.sent.push({ ...message, from, at: await this.at() });
  }

  /** Notices handed to sendNotice, each key once, with the (server) time it was first sent. */
  readonly notices: (NoticeRequest & { at: number })[] = [];

  async notice(req: NoticeRequest) {
    if (this.notices.some((n) => n.key === req.key)) return { status: 'already-sent' as const, to: [] };
    this.notices.push({ ...req, at: await this.at() });
    return { status: 'sent' as const, to: [] };
  }

  /** Messages whose body names the employee (the handover's vars carry the username, not the id). */
  to(address: string) {
    return this.sent.filter((m) => m.to.includes(address));
  }
}
