import { condition, log, proxyActivities, setCurrentDetails, setHandler } from '@temporalio/workflow';
import type { CloudActivities } from '../activities/cloud';
import type { AccountRef, DirectoryActivities } from '../activities/directory';
import type { Phase, Plan, Schedule } from '../domain/plan';
import { describeStep, type Step } from '../domain/steps';
import type { HrRecord } from '../domain/record';
import { provisionStatusQuery, recordChangedSignal, type ProvisionStatus } from './messages';
import { cloudActivityOptions, directoryActivityOptions } from './options';

// The heart of joiner and mover runs: plan → wait for the date the plan depends on → apply →
// re-plan, until the directory matches the latest record as of now. A newer record (signal)
// interrupts any wait and is planned afresh, so a moved start date simply moves the timer.

const dir = proxyActivities<DirectoryActivities>(directoryActivityOptions);
const cloud = proxyActivities<CloudActivities>(cloudActivityOptions);

export interface ProvisionResult {
  employeeId: string;
  /** Where the person stood when the run finished, and the dates that move them on. */
  phase: Phase;
  schedule: Schedule;
  account?: AccountRef;
  /** True when this run deleted the account (retention over). */
  deleted?: boolean;
  /** Descriptions of every step applied, in order. */
  applied: string[];
  enabled: boolean;
  /** Licence part numbers assigned by this run. */
  licences: string[];
  /** Licence part numbers taken back by this run (leaver). */
  licencesRemoved: string[];
  mailboxReady?: boolean;
  /** Whether the policy exports the person to the cloud, and why (the last plan's). */
  cloud?: { exported: boolean; reason: string };
}

export async function converge(initial: HrRecord): Promise<ProvisionResult> {
  let record = initial;
  let version = 0;
  const status: ProvisionStatus = { phase: 'planning', detail: 'planning', lastSteps: [] };
  setHandler(recordChangedSignal, (next) => {
    record = next;
    version++;
  });
  setHandler(provisionStatusQuery, () => status);

  const result: ProvisionResult = {
    employeeId: record.employeeId,
    phase: 'pending',
    schedule: { provisionAt: '', startAt: '' },
    applied: [],
    enabled: false,
    licences: [],
    licencesRemoved: [],
  };
  /** Waits until the instant or until a newer record arrives. */
  const waitFor = async (until: number, what: string): Promise<void> => {
    const seen = version;
    status.phase = 'waiting';
    status.detail = what;
    status.waitingUntil = new Date(until).toISOString();
    setCurrentDetails(what);
    await condition(() => version !== seen, Math.max(until - Date.now(), 1), { summary: what });
    setCurrentDetails('');
    delete status.waitingUntil;
  };

  for (;;) {
    const seen = version;
    status.phase = 'planning';
    status.detail = 'planning';
    const plan = await dir.planPerson.executeWithOptions(
      { summary: 'plan: compare HR record and policy with AD' },
      [{ record, asOf: new Date().toISOString() }],
    );
    const asOf = Date.parse(plan.asOf);
    result.phase = plan.phase;
    result.schedule = plan.schedule;
    result.cloud = { exported: plan.services.cloud, reason: plan.services.cloudReason };
    const effectiveAt = plan.schedule.effectiveAt ? Date.parse(plan.schedule.effectiveAt) : 0;
    if (asOf < effectiveAt) {
      await waitFor(effectiveAt, `waiting for the change dated ${record.effectiveDate}`);
      continue;
    }
    if (plan.phase === 'pending') {
      const provisionAt = Date.parse(plan.schedule.provisionAt);
      await waitFor(provisionAt, `waiting to create account on ${plan.schedule.provisionAt.slice(0, 10)}`);
      continue;
    }
    status.phase = 'applying';
    status.lastSteps = plan.steps.map(describeStep);
    for (const step of plan.steps) {
      status.detail = describeStep(step);
      setCurrentDetails(`applying: ${status.detail}`);
      const account = await applyStep(record, step);
      if (account) result.account = account;
      result.applied.push(describeStep(step));
      if (step.kind === 'enableAccount') result.enabled = true;
      if (step.kind === 'deleteAccount') result.deleted = true;
    }
    setCurrentDetails('');
    if (plan.steps.length > 0)
      log.info('plan applied', {
        employeeId: record.employeeId,
        steps: plan.steps.length,
        phase: plan.phase,
      });
    if (version !== seen) continue;
    if (plan.phase === 'left' || plan.phase === 'deleted') {
      await endServices(record.employeeId, plan, result);
    } else {
      // Cloud, licences, mailbox, telephony: each an ensure; a wait on a business condition is
      // durable and visible, and a newer record interrupts it (then everything is planned again).
      if (!(await ensureServices(record.employeeId, plan, result, waitFor, () => version !== seen))) continue;
      if (plan.phase === 'prehire') {
        await waitFor(Date.parse(plan.schedule.startAt), `waiting for start date ${record.startDate}`);
        continue;
      }
    }
    if (!result.account && plan.phase !== 'deleted') result.account = await accountRef(record.employeeId);
    status.phase = 'done';
    status.detail = plan.steps.length > 0 ? 'applied' : 'already up to date';
    return result;
  }
}

/**
 * Leaver (left) and deletion (deleted): the cloud user and the phone catalogue follow the AD
 * account, which the plan's steps have already disabled or deleted.
 */
async function endServices(employeeId: string, plan: Plan, result: ProvisionResult): Promise<void> {
  if (!plan.services.cloud) {
    // Not a cloud identity by policy: nothing to retire there.
  } else if (plan.phase === 'left') {
    const retired = await cloud.retireCloudUser.executeWithOptions(
      { summary: 'revoke sessions, block sign-in, hide from address list, remove licences' },
      [{ employeeId }],
    );
    result.licencesRemoved.push(...retired.licencesRemoved);
  } else {
    await cloud.deleteCloudUser.executeWithOptions({ summary: 'delete and purge the cloud user' }, [
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
async function ensureServices(
  employeeId: string,
  plan: Plan,
  result: ProvisionResult,
  waitFor: (until: number, what: string) => Promise<void>,
  changed: () => boolean,
): Promise<boolean> {
  const s = plan.services;
  if (s.cloud) {
    for (;;) {
      const user = await cloud.ensureCloudUser.executeWithOptions({ summary: 'ensure cloud user' }, [
        { employeeId },
      ]);
      if (user.status === 'ready') break;
      await waitFor(
        Date.now() + s.provisioningRecheckMs,
        'waiting for directory sync to create the cloud user',
      );
      if (changed()) return false;
    }
    if (s.mailbox) {
      await cloud.ensureMailAddresses.executeWithOptions({ summary: 'set mail and proxyAddresses in AD' }, [
        { employeeId },
      ]);
    }
    for (;;) {
      const summary = `ensure licences ${s.licences.map((l) => l.sku).join(', ') || '(none)'}`;
      const licences = await cloud.ensureLicences.executeWithOptions({ summary }, [
        { employeeId, licences: s.licences },
      ]);
      if (licences.status === 'done') {
        result.licences.push(...licences.added);
        break;
      }
      await waitFor(Date.now() + s.licenceRecheckMs, `waiting for licence ${licences.skus.join(', ')}`);
      if (changed()) return false;
    }
    if (s.mailbox) {
      while (
        !(await cloud.mailboxReady.executeWithOptions({ summary: 'is the mailbox provisioned?' }, [
          { employeeId },
        ]))
      ) {
        await waitFor(Date.now() + s.provisioningRecheckMs, 'waiting for the mailbox to be provisioned');
        if (changed()) return false;
      }
      result.mailboxReady = true;
    }
  }
  if (s.telephony) {
    await cloud.syncPhone.executeWithOptions({ summary: 'telephony catalogue entry and phone numbers' }, [
      { employeeId, catalogue: true, cloud: s.cloud },
    ]);
  }
  return true;
}

async function applyStep(record: HrRecord, step: Step): Promise<AccountRef | undefined> {
  const employeeId = record.employeeId;
  const opts = { summary: describeStep(step) };
  switch (step.kind) {
    case 'createAccount':
      return dir.ensureAccount.executeWithOptions(opts, [
        {
          employeeId,
          name: {
            firstNames: record.firstNames,
            lastName: record.lastName,
            ...(record.callingName ? { callingName: record.callingName } : {}),
          },
          ouDn: step.ouDn,
          attributes: step.attributes,
        },
      ]);
    case 'moveAccount':
      return void (await dir.moveAccount.executeWithOptions(opts, [{ employeeId, toOuDn: step.toOuDn }]));
    case 'setAttributes':
      return void (await dir.setAttributes.executeWithOptions(opts, [
        { employeeId, attributes: step.attributes, clear: step.clear },
      ]));
    case 'addToGroups':
      return void (await dir.addToGroups.executeWithOptions(opts, [{ employeeId, groups: step.groups }]));
    case 'removeFromGroups':
      return void (await dir.removeFromGroups.executeWithOptions(opts, [
        { employeeId, groups: step.groups },
      ]));
    case 'enableAccount':
      return void (await dir.setAccountEnabled.executeWithOptions(opts, [{ employeeId, enabled: true }]));
    case 'disableAccount':
      return void (await dir.setAccountEnabled.executeWithOptions(opts, [{ employeeId, enabled: false }]));
    case 'changePrimaryMail':
      return void (await dir.changePrimaryMail.executeWithOptions(opts, [
        { employeeId, mailBase: step.mailBase },
      ]));
    case 'deleteAccount':
      return void (await dir.deleteAccount.executeWithOptions(opts, [{ employeeId }]));
    default: {
      const unknown: never = step;
      throw new Error(`unknown step ${(unknown as Step).kind}`);
    }
  }
}

async function accountRef(employeeId: string): Promise<AccountRef | undefined> {
  const account = await dir.readAccount.executeWithOptions({ summary: 'read the account for the result' }, [
    { employeeId },
  ]);
  if (!account) return undefined;
  return {
    employeeId,
    sAMAccountName: account.sAMAccountName,
    userPrincipalName: account.userPrincipalName,
    created: false,
  };
}

export type { Plan };
