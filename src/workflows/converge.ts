import {
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { CloudActivities } from '../activities/cloud';
import type { AccountRef, DirectoryActivities } from '../activities/directory';
import type { HandoverActivities, HandoverResult } from '../activities/handover';
import { retentionEndsAt } from '../domain/dates';
import type { IdentityRecord } from '../domain/identity';
import { licenceWaitNotice, licenceWaitOverLimit } from '../domain/notice-events';
import type { RunFacts, RunKind, RunResult } from '../domain/person-state';
import { passFitsInPerson } from '../domain/run-in-person';
import type { Plan, Schedule } from '../domain/plan';
import type { HrRecord } from '../domain/record';
import { accountReadyNotice, firstDayDue } from '../domain/first-day';
import { describeStep, type Step } from '../domain/steps';
import { provisionStatusQuery, recordChangedSignal, type ProvisionStatus } from './messages';
import { sendNotice } from './notices';
import { releasePatches } from './release';
import {
  MAX_RUN_HISTORY_EVENTS,
  MAX_RUN_RECHECKS,
  MAX_TIMER_MS,
  cloudActivityOptions,
  cloudPurgeActivityOptions,
  directoryActivityOptions,
  cloudLocalActivityOptions,
  directoryLocalActivityOptions,
  handoverActivityOptions,
  handoverLocalActivityOptions,
} from './options';
import { HandOff, stepRunner, type StepRunner } from './steps';

// The heart of every run (joiner, mover, rehire, leaver, delete): plan → wait for the date the
// plan depends on → apply → re-plan, until the directory matches the latest record as of now.
// A newer record (signal) interrupts any wait and is planned afresh, and one that arrives during
// any step — directory, cloud, licences, mailbox, phone — is planned before the run returns: the
// result names the record version it applied, and the person runs again for anything newer.
// Ending access is two steps: disable (AD, cloud sign-in, sessions) first, then the rest, each
// attempted even when another fails; what failed is reported and the person retries it.

const cloud = proxyActivities<CloudActivities>(cloudActivityOptions);
const cloudPurge = proxyActivities<CloudActivities>(cloudPurgeActivityOptions);

/** Directory steps: local activities from `joiner-local-steps` on (src/workflows/steps.ts). */
type DirectoryStep = StepRunner<DirectoryActivities>;

export interface ProvisionInput {
  employeeId: string;
  record: IdentityRecord;
  /** The person's version of the record and what the plan needs besides (absent: version 0). */
  facts?: RunFacts;
  /** Carried across continue-as-new: what this run did before. */
  progress?: ProvisionResult;
}

export interface ProvisionResult extends RunResult {
  employeeId: string;
  /** Where the person stood when the run finished, and the dates that move them on. */
  phase: RunResult['phase'];
  schedule: Schedule;
  account?: AccountRef;
  /** True when this run deleted the account (retention over). */
  deleted?: boolean;
  /** Descriptions of every step applied, in order (the latest 100 across continue-as-new). */
  applied: string[];
  enabled: boolean;
  /** Licence part numbers assigned by this run. */
  licences: string[];
  /** Licence part numbers taken back by this run (leaver). */
  licencesRemoved: string[];
  mailboxReady?: boolean;
  /** Whether the policy exports the person to the cloud, and why (the last plan's). */
  cloud?: { exported: boolean; reason: string };
  /** The record version the run last planned and applied in full. */
  appliedVersion: number;
  /**
   * A wait for a free licence seat in progress: since when, and whether ops were told it is over
   * the policy's limit (carried across continue-as-new, so one wait is one notice).
   */
  licenceWait?: { since: string; skus: string[]; noticed?: boolean };
  /** The first-day credential handover of this run (metadata only: never the credential). */
  handover?: HandoverResult | { status: 'failed'; type: string };
  /** Whether the manager's account-ready notice went out (or had gone before). */
  readyNoticeSent?: boolean;
}

const MAX_APPLIED = 100;

/**
 * A joiner's first pass inside its person workflow (`joiner-here`, src/domain/run-in-person.ts):
 * the person hands newer records and facts over through `follow`, as it signals a child.
 */
export interface PassInPerson {
  kind: RunKind;
  follow(update: (record: IdentityRecord, facts: RunFacts) => void): void;
}

/** How a pass in the person ends: the run's result, or the input of the child that goes on. */
export type PassOutcome = { result: ProvisionResult } | { child: ProvisionInput & { facts: RunFacts } };

/** A run in a workflow of its own (joiner, mover, rehire, leaver, delete). */
export async function converge(input: ProvisionInput): Promise<ProvisionResult> {
  const outcome = await convergeRun(input);
  if ('child' in outcome) throw new Error('a run of its own never hands off');
  return outcome.result;
}

/**
 * The same run's first pass in the person. It never waits and never retries a step as a regular
 * activity: where it would, it stops and its carried state starts the child (HandOff).
 */
export function convergeInPerson(input: ProvisionInput, here: PassInPerson): Promise<PassOutcome> {
  return convergeRun(input, here);
}

async function convergeRun(input: ProvisionInput, here?: PassInPerson): Promise<PassOutcome> {
  const { employeeId } = input;
  const handOff = here !== undefined;
  // First, before any command: one marker for the release's patches (./release.ts).
  const isPatched = releasePatches('converge');
  // Decided once per run: a run on earlier code keeps waiting for seats without the notice.
  const notices = isPatched('notices-licence-wait');
  // Decided once per run: runs on earlier code keep one regular activity per directory step.
  const localSteps = isPatched('joiner-local-steps');
  const dirStep: DirectoryStep = stepRunner<DirectoryActivities>(
    localSteps,
    directoryActivityOptions,
    directoryLocalActivityOptions,
    handOff,
  );
  // The short writes after the cloud steps, and the first day, likewise (Graph waits stay regular).
  const cloudStep = stepRunner<CloudActivities>(
    localSteps,
    cloudActivityOptions,
    cloudLocalActivityOptions,
    handOff,
  );
  const handoverStep = stepRunner<HandoverActivities>(
    localSteps,
    handoverActivityOptions,
    handoverLocalActivityOptions,
    handOff,
  );
  let record = input.record;
  let facts: RunFacts = input.facts ?? { version: 0 };
  /** When this run disabled the account (or the person already knew it). */
  let disabledAt = facts.disabledAt;
  let rechecks = 0;
  const status: ProvisionStatus = { phase: 'planning', detail: 'planning', lastSteps: [] };
  if (here) {
    here.follow((next, nextFacts) => {
      record = next;
      facts = nextFacts;
    });
  } else {
    setHandler(recordChangedSignal, (next, nextFacts) => {
      record = next;
      // A parent from before versions sends no facts: count the change here.
      facts = nextFacts ?? { ...facts, version: facts.version + 1 };
    });
    setHandler(provisionStatusQuery, () => status);
  }

  const result: ProvisionResult = input.progress ?? {
    employeeId,
    phase: 'pending',
    schedule: { provisionAt: '', startAt: '' },
    applied: [],
    enabled: false,
    licences: [],
    licencesRemoved: [],
    appliedVersion: facts.version,
  };
  const changedSince = (seen: number) => facts.version !== seen;

  /** What the run carries on: into its next run (continue-as-new), or from the person to a child. */
  const carried = (): ProvisionInput & { facts: RunFacts } => ({
    employeeId,
    record,
    facts: {
      version: facts.version,
      ...(facts.confirmedEndDate ? { confirmedEndDate: facts.confirmedEndDate } : {}),
      ...(facts.terminatedAt ? { terminatedAt: facts.terminatedAt } : {}),
      ...(disabledAt ? { disabledAt } : {}),
    },
    progress: {
      ...result,
      applied: result.applied.slice(-MAX_APPLIED),
      ...(disabledAt ? { disabledAt } : {}),
    },
  });
  /**
   * Re-checking a business condition every N seconds (directory sync, mailbox, a licence seat)
   * could run for days: after a bounded number of checks or events the run continues as new with
   * the latest record and what it has done (the parent waits on the chain's final result).
   */
  const continueIfLong = async (): Promise<void> => {
    const info = workflowInfo();
    const long =
      rechecks >= MAX_RUN_RECHECKS ||
      info.historyLength >= MAX_RUN_HISTORY_EVENTS ||
      info.continueAsNewSuggested;
    if (!long) return;
    // In the person: its own history is long, and the child goes on with a fresh one.
    if (here) throw new HandOff('long history');
    await condition(allHandlersFinished);
    log.info('run continues as new', { employeeId, rechecks, historyLength: info.historyLength });
    await continueAsNew<typeof converge>(carried());
  };

  /** Waits until the instant or until a newer record arrives. */
  const waitFor = async (until: number, what: string, since?: number): Promise<void> => {
    // `since`: the version the plan was made with, so a record or termination that arrived between
    // the plan and this wait (during a step, or the cloud phase) ends it at once.
    const seen = since ?? facts.version;
    if (here) throw new HandOff(what);
    rechecks++;
    status.phase = 'waiting';
    status.detail = what;
    status.waitingUntil = new Date(until).toISOString();
    setCurrentDetails(what);
    // A wait for a date years ahead wakes once a year and plans again (timers have limits).
    const ms = Math.min(Math.max(until - Date.now(), 1), MAX_TIMER_MS);
    await condition(() => changedSince(seen), ms, { summary: what });
    setCurrentDetails('');
    delete status.waitingUntil;
  };

  const applied = (what: string) => {
    result.applied.push(what);
    if (result.applied.length > MAX_APPLIED) result.applied.shift();
  };

  try {
    return { result: await passes() };
  } catch (err) {
    if (!(err instanceof HandOff)) throw err;
    log.info('run goes on in a child', { employeeId, why: err.why });
    return { child: carried() };
  }

  async function passes(): Promise<ProvisionResult> {
    for (;;) {
      await continueIfLong();
      const seen = facts.version;
      status.phase = 'planning';
      status.detail = 'planning';
      const plan = await dirStep('planPerson', 'plan: compare HR record and policy with AD', [
        {
          record,
          asOf: new Date().toISOString(),
          facts: {
            ...(disabledAt ? { disabledAt } : {}),
            ...(facts.confirmedEndDate ? { confirmedEndDate: facts.confirmedEndDate } : {}),
            // An operator's termination (tunnus terminate) ends access now, whatever the record says.
            ...(facts.terminatedAt ? { terminatedAt: facts.terminatedAt } : {}),
          },
        },
      ]);
      if (here && !passFitsInPerson(plan)) throw new HandOff(`plan: ${plan.phase}`);
      // Where the account is, valid for this plan → apply pass only (after any wait: plan again).
      const at: AccountAt = { ...(plan.accountDn ? { dn: plan.accountDn } : {}) };
      // A newer record that makes the person current again (rehire) ends the retention count.
      if (plan.phase !== 'left' && plan.phase !== 'deleted') disabledAt = undefined;
      result.phase = plan.phase;
      result.schedule = plan.schedule;
      result.cloud = { exported: plan.services.cloud, reason: plan.services.cloudReason };
      delete result.hold;
      delete result.failures;
      // An end date always wins: no wait of a run reaches past the end of access.
      const endAt = plan.schedule.endAt ? Date.parse(plan.schedule.endAt) : Infinity;
      const waitUntil = (at: number, what: string) =>
        waitFor(Math.min(at, endAt), what, isPatched('ops-terminate') ? seen : undefined);

      if (plan.hold) {
        result.hold = plan.hold;
        status.detail = plan.hold.reason;
        log.warn('alert: run held for an operator', { employeeId, hold: plan.hold.kind });
        if (changedSince(seen)) continue;
        return finish(seen, 'held');
      }
      if (plan.changeAt) {
        await waitUntil(Date.parse(plan.changeAt), `waiting for the change dated ${record.effectiveDate}`);
        continue;
      }
      if (plan.phase === 'pending') {
        const provisionAt = Date.parse(plan.schedule.provisionAt);
        await waitUntil(
          provisionAt,
          `waiting to create account on ${plan.schedule.provisionAt.slice(0, 10)}`,
        );
        continue;
      }
      status.phase = 'applying';
      status.lastSteps = plan.steps.map(describeStep);
      if (plan.phase === 'left') {
        await endAccess(plan, at);
      } else {
        for (const step of plan.steps) {
          status.detail = describeStep(step);
          setCurrentDetails(`applying: ${status.detail}`);
          const account = await applyStep(dirStep, record, step, plan, at);
          if (account) result.account = account;
          applied(describeStep(step));
          if (step.kind === 'enableAccount') result.enabled = true;
          if (step.kind === 'deleteAccount') result.deleted = true;
        }
        setCurrentDetails('');
        if (plan.steps.length > 0) {
          log.info('plan applied', { employeeId, steps: plan.steps.length, phase: plan.phase });
        }
        if (changedSince(seen)) continue;
        if (plan.phase === 'deleted') {
          await deleteServices(plan);
        } else {
          // Cloud, licences, mailbox, telephony: each an ensure; a wait on a business condition is
          // durable and visible, and a newer record interrupts it (then everything is planned again).
          if (!(await ensureServices(plan, seen))) continue;
          if (plan.phase === 'prehire') {
            await waitUntil(Date.parse(plan.schedule.startAt), `waiting for start date ${record.startDate}`);
            continue;
          }
        }
      }
      // A record that arrived during any step above is planned now, never dropped.
      if (changedSince(seen)) continue;
      if (!result.account && plan.phase !== 'deleted') result.account = await accountRef(dirStep, employeeId);
      // The first day: a joiner or rehire whose account this run enabled (and whose cloud user and
      // licences are ready: ensureServices returned) gets its credential — on the start day, never
      // before, since only an active plan enables. Once per run; the ledger makes it once per start date.
      // A pass in the person that handed off after the handover leaves the notice to its child.
      if (
        firstDayDue(plan.phase, result.enabled) &&
        (!result.handover || result.readyNoticeSent === undefined) &&
        firstDayRun(here?.kind) &&
        isPatched('credential-handover')
      ) {
        await firstDay();
        if (changedSince(seen)) continue;
      }
      return finish(seen, plan.steps.length > 0 ? 'applied' : 'already up to date');
    }
  }

  /**
   * The credential handover, then the manager's account-ready notice (once per person and start
   * date); a failure of either is reported (alert, result) but never fails the run.
   */
  async function firstDay(): Promise<void> {
    if (!result.handover) await handOver();
    status.detail = 'telling the manager the account is ready';
    result.readyNoticeSent = await sendNotice(accountReadyNotice(record), { local: localSteps, handOff });
    if (result.readyNoticeSent) applied('account-ready notice');
    setCurrentDetails('');
  }

  async function handOver(): Promise<void> {
    status.detail = 'handing over the first-day credential';
    setCurrentDetails('applying: hand over the first-day credential');
    try {
      result.handover = await handoverStep(
        'handOverCredential',
        'hand over the first-day credential (e-mail from the shared mailbox)',
        [{ employeeId, record }],
      );
      applied(`first-day credential: ${result.handover.status}`);
    } catch (err) {
      if (err instanceof HandOff) throw err;
      const failure = describeFailure(err);
      result.handover = { status: 'failed', type: failure.type };
      log.error('alert: first-day credential not handed over', { employeeId, type: failure.type });
    }
  }

  function finish(version: number, detail: string): ProvisionResult {
    result.appliedVersion = version;
    if (disabledAt && result.phase === 'left') result.disabledAt = disabledAt;
    status.phase = 'done';
    status.detail = detail;
    return result;
  }

  /**
   * Leaver: step one disables — the AD account and the cloud sign-in (sessions revoked) side by
   * side, neither waiting for the other — then every other step is attempted even if one fails
   * (groups, OU, attributes, cloud address list and licences, phone catalogue). Failures are
   * collected in the result (the person retries them with backoff and shows them), never silent.
   */
  async function endAccess(plan: Plan, at: AccountAt): Promise<void> {
    const failures: NonNullable<ProvisionResult['failures']> = [];
    const attempt = async (what: string, body: () => Promise<unknown>): Promise<boolean> => {
      status.detail = what;
      try {
        await body();
        applied(what);
        return true;
      } catch (err) {
        const failure = describeFailure(err);
        failures.push({ step: what, ...failure });
        log.error('alert: end of access step failed', { employeeId, step: what, type: failure.type });
        return false;
      }
    };
    const disable = plan.steps.find((s) => s.kind === 'disableAccount');
    setCurrentDetails('end of access: disabling the account and cloud sign-in');
    const disabled = await Promise.all([
      disable
        ? attempt(describeStep(disable), () => applyStep(dirStep, record, disable, plan, at))
        : Promise.resolve(true),
      plan.services.cloud
        ? attempt('block cloud sign-in and revoke sessions', () =>
            cloud.disableCloudSignIn.executeWithOptions({ summary: 'block cloud sign-in, revoke sessions' }, [
              { employeeId },
            ]),
          )
        : Promise.resolve(true),
    ]);
    // Retention counts from here: the first moment access was off everywhere.
    if (disabled.every(Boolean)) disabledAt ??= new Date().toISOString();
    setCurrentDetails('end of access: removing the rest');
    for (const step of plan.steps) {
      if (step !== disable)
        await attempt(describeStep(step), () => applyStep(dirStep, record, step, plan, at));
    }
    if (plan.services.cloud) {
      await attempt('hide from address list, return licences', async () => {
        const retired = await cloud.retireCloudUser.executeWithOptions(
          { summary: 'revoke sessions, block sign-in, hide from address list, remove licences' },
          [{ employeeId }],
        );
        result.licencesRemoved.push(...retired.licencesRemoved);
      });
    }
    if (plan.services.telephony) {
      await attempt('remove telephony catalogue entry', () =>
        cloud.removeCatalogueEntry.executeWithOptions({ summary: 'remove telephony catalogue entry' }, [
          { employeeId },
        ]),
      );
    }
    setCurrentDetails(failures.length > 0 ? `end of access incomplete: ${failures.length} steps failed` : '');
    if (failures.length > 0) result.failures = failures;
    if (disabledAt && plan.schedule.endAt) {
      result.schedule = {
        ...plan.schedule,
        deleteAt: retentionEndsAt(disabledAt, plan.schedule.endAt, plan.entitlements.retentionDays),
      };
    }
  }

  /**
   * One ops notice per licence wait once it is longer than the policy's limit: the wait's start
   * is kept in the run's progress, so re-checks and continue-as-new do not send it again (and the
   * notice's key names the wait, so a retried activity or a restarted worker sends it once).
   */
  async function noticeLongLicenceWait(skus: string[], limitMs: number | undefined): Promise<void> {
    const wait = (result.licenceWait ??= { since: new Date().toISOString(), skus });
    wait.skus = skus;
    if (wait.noticed || !licenceWaitOverLimit(wait.since, limitMs, Date.now())) return;
    wait.noticed = true;
    log.warn('alert: joiner waits for a licence seat longer than the limit', { employeeId, skus });
    await sendNotice(licenceWaitNotice(employeeId, workflowInfo().workflowId, wait, limitMs!, Date.now()));
  }

  /** Retention is over: the cloud user and the phone catalogue follow the deleted AD account. */
  async function deleteServices(plan: Plan): Promise<void> {
    if (plan.services.cloud) {
      await cloudPurge.deleteCloudUser.executeWithOptions({ summary: 'delete and purge the cloud user' }, [
        { employeeId },
      ]);
    }
    if (plan.services.telephony) {
      await cloud.removeCatalogueEntry.executeWithOptions({ summary: 'remove telephony catalogue entry' }, [
        { employeeId },
      ]);
    }
  }

  /** Returns false when a newer record arrived during a wait (the caller re-plans). */
  async function ensureServices(plan: Plan, seen: number): Promise<boolean> {
    const s = plan.services;
    const recheck = async (ms: number, what: string): Promise<boolean> => {
      await waitFor(Date.now() + ms, what);
      if (changedSince(seen)) return false;
      await continueIfLong();
      return true;
    };
    if (s.cloud) {
      for (;;) {
        const user = await cloud.ensureCloudUser.executeWithOptions({ summary: 'ensure cloud user' }, [
          { employeeId },
        ]);
        if (user.status === 'ready') break;
        if (
          !(await recheck(s.provisioningRecheckMs, 'waiting for directory sync to create the cloud user'))
        ) {
          return false;
        }
      }
      if (s.mailbox) {
        await cloudStep('ensureMailAddresses', 'set mail and proxyAddresses in AD', [{ employeeId }]);
      }
      for (;;) {
        const summary = `ensure licences ${s.licences.map((l) => l.sku).join(', ') || '(none)'}`;
        const licences = await cloud.ensureLicences.executeWithOptions({ summary }, [
          { employeeId, licences: s.licences },
        ]);
        if (licences.status === 'done') {
          result.licences.push(...licences.added.filter((l) => !result.licences.includes(l)));
          delete result.licenceWait;
          break;
        }
        if (notices) await noticeLongLicenceWait(licences.skus, s.licenceWaitLimitMs);
        if (!(await recheck(s.licenceRecheckMs, `waiting for licence ${licences.skus.join(', ')}`)))
          return false;
      }
      if (s.mailbox) {
        while (
          !(await cloud.mailboxReady.executeWithOptions({ summary: 'is the mailbox provisioned?' }, [
            { employeeId },
          ]))
        ) {
          if (!(await recheck(s.provisioningRecheckMs, 'waiting for the mailbox to be provisioned')))
            return false;
        }
        result.mailboxReady = true;
      }
    }
    if (s.telephony) {
      await cloudStep('syncPhone', 'telephony catalogue entry and phone numbers', [
        { employeeId, catalogue: true, cloud: s.cloud },
      ]);
    }
    return true;
  }
}

/** The failure type and message of an activity or child failure (what ops see). */
export function describeFailure(err: unknown): { type: string; message: string } {
  const cause = err instanceof ChildWorkflowFailure || err instanceof ActivityFailure ? err.cause : err;
  let current: unknown = cause;
  for (let depth = 0; current && depth < 5; depth++) {
    if (current instanceof ApplicationFailure) {
      return { type: current.type ?? 'ApplicationFailure', message: current.message };
    }
    current = (current as { cause?: unknown }).cause;
  }
  return { type: 'Unknown', message: err instanceof Error ? err.message : String(err) };
}

/**
 * The account's DN within one plan → apply pass (src/activities/directory.ts `AtAccount`): the
 * plan's, then the created or moved account's. Never kept past the pass (a wait re-plans).
 */
interface AccountAt {
  dn?: string;
}

async function applyStep(
  dirStep: DirectoryStep,
  record: HrRecord,
  step: Step,
  plan: Plan,
  at: AccountAt,
): Promise<AccountRef | undefined> {
  const employeeId = record.employeeId;
  const summary = describeStep(step);
  const account = { employeeId, ...(at.dn ? { dn: at.dn } : {}) };
  switch (step.kind) {
    case 'createAccount': {
      const ref = await dirStep('ensureAccount', summary, [
        {
          employeeId,
          name: {
            firstNames: record.firstNames,
            lastName: record.lastName,
            ...(record.callingName ? { callingName: record.callingName } : {}),
          },
          ouDn: step.ouDn,
          attributes: step.attributes,
          ...(plan.nameHint ? { nameHint: plan.nameHint } : {}),
        },
      ]);
      if (ref.dn) at.dn = ref.dn;
      return ref;
    }
    case 'moveAccount': {
      // The account's new DN (results recorded before issue 12 are empty: search from here on).
      const moved = (await dirStep('moveAccount', summary, [{ ...account, toOuDn: step.toOuDn }])) as
        { dn?: string } | undefined;
      if (moved?.dn) at.dn = moved.dn;
      else delete at.dn;
      return undefined;
    }
    case 'setAttributes':
      return void (await dirStep('setAttributes', summary, [
        { ...account, attributes: step.attributes, clear: step.clear },
      ]));
    case 'addToGroups':
      return void (await dirStep('addToGroups', summary, [{ ...account, groups: step.groups }]));
    case 'removeFromGroups':
      return void (await dirStep('removeFromGroups', summary, [{ ...account, groups: step.groups }]));
    case 'enableAccount':
      return void (await dirStep('setAccountEnabled', summary, [{ ...account, enabled: true }]));
    case 'disableAccount':
      return void (await dirStep('setAccountEnabled', summary, [{ ...account, enabled: false }]));
    case 'changePrimaryMail':
      return void (await dirStep('changePrimaryMail', summary, [{ ...account, mailBase: step.mailBase }]));
    case 'deleteAccount':
      return void (await dirStep('deleteAccount', summary, [account]));
    default: {
      const unknown: never = step;
      throw new Error(`unknown step ${(unknown as Step).kind}`);
    }
  }
}

/** Runs that bring a person in (joiner, rehire) hand over a credential; movers and leavers never do. */
function firstDayRun(kindInPerson?: RunKind): boolean {
  if (kindInPerson) return kindInPerson === 'joiner' || kindInPerson === 'rehire';
  const type = workflowInfo().workflowType;
  return type === 'joinerWorkflow' || type === 'rehireWorkflow';
}

async function accountRef(dirStep: DirectoryStep, employeeId: string): Promise<AccountRef | undefined> {
  const account = await dirStep('readAccount', 'read the account for the result', [{ employeeId }]);
  if (!account) return undefined;
  return {
    employeeId,
    sAMAccountName: account.sAMAccountName,
    userPrincipalName: account.userPrincipalName,
    created: false,
  };
}

export type { Plan };
