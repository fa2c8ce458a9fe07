import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Client as LdapClient } from 'ldapts';
import { createDirectoryActivities } from '../src/activities/directory';
import { createHandoverActivities, type HandoverResult } from '../src/activities/handover';
import { createNotifyActivities } from '../src/activities/notify';
import type { CloudDirectory } from '../src/connectors/graph/cloud-directory';
import type { Directory } from '../src/connectors/ldap/directory';
import { accountReadyNotice, firstDayDue } from '../src/domain/first-day';
import type { IdentityRecord } from '../src/domain/identity';
import type { Policy } from '../src/domain/policy';
import { openSqliteHandoverLedger } from '../src/store/handover-ledger';
import { openSqliteNoticeLedger } from '../src/store/notice-ledger';

// Where a joiner's LDAP operations go: the real directory activities run in-process, in the order
// the joiner workflow runs them, with the DN and name hint passed as the workflow passes them
// (plan → ensureAccount with plan.nameHint → every later step with dn: ref.dn ?? plan.accountDn).
// Every ldapts Client call this process makes is counted, by method. Then the first day as the
// run does it once the account is enabled (src/workflows/converge.ts): the credential handover
// and the account-ready notice, with the real activities, a cloud that only takes mail and passes,
// and ledgers in a temporary file. Those are counted apart (`firstDay`): the directory steps are
// what raw writes compare with, the first day is what a joiner costs the directory on top.

export type LdapOpKind = 'search' | 'add' | 'modify' | 'del' | 'modifyDN' | 'bind';
export type LdapOpCounts = Record<LdapOpKind, number>;

const KINDS: LdapOpKind[] = ['search', 'add', 'modify', 'del', 'modifyDN', 'bind'];
const zero = (): LdapOpCounts => ({ search: 0, add: 0, modify: 0, del: 0, modifyDN: 0, bind: 0 });

/** ldapts Client calls made in this process, by method (the counter is installed once). */
const ldapCalls: LdapOpCounts = zero();
let installed = false;

/** Wraps every counted ldapts Client method once; idempotent. */
export function installLdapCounter(): void {
  if (installed) return;
  installed = true;
  const proto = LdapClient.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of KINDS) {
    const original = proto[name]!;
    proto[name] = function (this: unknown, ...args: unknown[]) {
      ldapCalls[name] += 1;
      return original.apply(this, args);
    };
  }
}

export const ldapCallsNow = (): LdapOpCounts => ({ ...ldapCalls });
export const ldapCallsSince = (before: LdapOpCounts): LdapOpCounts =>
  Object.fromEntries(KINDS.map((k) => [k, ldapCalls[k] - before[k]])) as LdapOpCounts;
/** Every operation but binds (a bind is per connection, not per joiner). */
export const totalOf = (c: LdapOpCounts): number => KINDS.reduce((n, k) => n + (k === 'bind' ? 0 : c[k]), 0);

export interface LdapOpsPerJoiner {
  /** The counted (warm) joiner's ldapts calls, by kind. */
  total: LdapOpCounts;
  /** Searches. */
  reads: number;
  /** add + modify + del + modifyDN. */
  writes: number;
  binds: number;
  /** Operations (binds excluded) per activity: planPerson, ensureAccount, addToGroups, setAccountEnabled. */
  byActivity: Record<string, number>;
  /** Whether the counted joiner's create used the plan's name hint (no search in ensureAccount). */
  hintUsed: boolean;
  /**
   * The counted joiner's first day (handOverCredential, then sendNotice account-ready), after the
   * steps above; zero where the policy hands over no credential or the plan enables nothing.
   * A one-time AD password is a second unicodePwd write on the account (the add set the first).
   */
  firstDay: { total: LdapOpCounts; byActivity: Record<string, number>; credential?: string };
}

export interface LdapOpsOptions {
  /** A connector to the real directory (createLdapDirectory). */
  directory: Directory;
  baseDn: string;
  policy: Policy;
  /** The joiner's record; i is 0 for the warming joiner and 1 for the counted one. */
  record: (employeeId: string, i: number) => IdentityRecord;
  /** Unique per run: the joiners are `C${tag}-0` and `C${tag}-1`. */
  tag: string;
  /**
   * As before issue 12, for a before/after figure in one run: the plan reads per account, and no
   * hint or DN is passed on (every step searches by employeeID).
   */
  before?: boolean;
}

/**
 * LDAP operations per joiner with a warm worker: a first joiner fills the group-DN cache, the
 * second is counted. Returns after both accounts exist and are enabled (if their start is today).
 */
export async function ldapOpsPerJoiner(opts: LdapOpsOptions): Promise<LdapOpsPerJoiner> {
  installLdapCounter();
  const acts = createDirectoryActivities(opts.directory, opts.policy, {
    baseDn: opts.baseDn,
    ...(opts.before ? { planReads: 'per-account' as const } : {}),
  });
  const ledgerDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-ldap-ops-'));
  const handoverLedger = openSqliteHandoverLedger(path.join(ledgerDir, 'handovers.sqlite'));
  const noticeLedger = openSqliteNoticeLedger(path.join(ledgerDir, 'notices.sqlite'));
  const cloud = firstDayCloud();
  const handover = createHandoverActivities({
    cloud,
    directory: opts.directory,
    policy: opts.policy,
    ledger: () => handoverLedger,
  });
  const notify = createNotifyActivities({
    cloud,
    directory: opts.directory,
    policy: opts.policy,
    ledger: noticeLedger,
  });
  const countInto = (byActivity: Record<string, number>) => {
    return async <T>(name: string, body: () => Promise<T>): Promise<T> => {
      const before = ldapCallsNow();
      const result = await body();
      byActivity[name] = (byActivity[name] ?? 0) + totalOf(ldapCallsSince(before));
      return result;
    };
  };
  const joiner = async (employeeId: string, i: number) => {
    const record = opts.record(employeeId, i);
    const byActivity: Record<string, number> = {};
    const count = countInto(byActivity);
    const plan = await count('planPerson', () => acts.planPerson({ record, asOf: new Date().toISOString() }));
    let dn = opts.before ? undefined : plan.accountDn;
    let hintUsed = false;
    for (const step of plan.steps) {
      if (step.kind === 'createAccount') {
        const ref = await count('ensureAccount', () =>
          acts.ensureAccount({
            employeeId,
            name: {
              firstNames: record.firstNames,
              lastName: record.lastName,
              ...(record.callingName ? { callingName: record.callingName } : {}),
            },
            ouDn: step.ouDn,
            attributes: step.attributes,
            ...(plan.nameHint && !opts.before ? { nameHint: plan.nameHint } : {}),
          }),
        );
        hintUsed = !opts.before && plan.nameHint !== undefined && byActivity.ensureAccount === 1;
        if (!opts.before) dn = ref.dn ?? plan.accountDn;
      } else if (step.kind === 'addToGroups') {
        await count('addToGroups', () =>
          acts.addToGroups({ employeeId, groups: step.groups, ...(dn ? { dn } : {}) }),
        );
      } else if (step.kind === 'enableAccount') {
        await count('setAccountEnabled', () =>
          acts.setAccountEnabled({ employeeId, enabled: true, ...(dn ? { dn } : {}) }),
        );
      } else {
        throw new Error(`a joiner plans no ${step.kind} step`);
      }
    }
    const enables = plan.steps.some((s) => s.kind === 'enableAccount');
    return { record, byActivity, hintUsed, firstDay: firstDayDue(plan.phase, enables) };
  };
  /** The run's first day: the handover, then the account-ready notice (as activities, attempt 1). */
  const firstDay = async (record: IdentityRecord) => {
    const byActivity: Record<string, number> = {};
    const count = countInto(byActivity);
    const env = new MockActivityEnvironment({ attempt: 1 }, { logger: quiet });
    const before = ldapCallsNow();
    const handed: HandoverResult = await count('handOverCredential', () =>
      env.run(() => handover.handOverCredential({ employeeId: record.employeeId, record })),
    );
    await count('sendNotice', () => env.run(() => notify.sendNotice(accountReadyNotice(record))));
    return {
      total: ldapCallsSince(before),
      byActivity,
      ...('kind' in handed ? { credential: handed.kind } : {}),
    };
  };
  try {
    // A warm worker has the group DNs cached; the first joiner pays for looking them up.
    const warm = await joiner(`C${opts.tag}-0`, 0);
    if (warm.firstDay) await firstDay(warm.record);
    const before = ldapCallsNow();
    const { record, byActivity, hintUsed, firstDay: due } = await joiner(`C${opts.tag}-1`, 1);
    const total = ldapCallsSince(before);
    return {
      total,
      reads: total.search,
      writes: total.add + total.modify + total.del + total.modifyDN,
      binds: total.bind,
      byActivity,
      hintUsed,
      firstDay: due ? await firstDay(record) : { total: zero(), byActivity: {} },
    };
  } finally {
    await handoverLedger.close();
    await noticeLedger.close();
    fs.rmSync(ledgerDir, { recursive: true, force: true });
  }
}

const nothing = () => undefined;
/** The activities' log lines (ids and kinds, no personal data) are not the bench's output. */
const quiet: Logger = {
  log: nothing,
  trace: nothing,
  debug: nothing,
  info: nothing,
  warn: nothing,
  error: nothing,
};

/**
 * The cloud as the first day uses it: mail is taken (and dropped), a Temporary Access Pass is
 * made up. Nothing else is called on the AD-only path; anything else throws.
 */
function firstDayCloud(): CloudDirectory {
  const fake: Partial<CloudDirectory> = {
    sendMail: async () => undefined,
    listTemporaryAccessPasses: async () => [],
    deleteTemporaryAccessPass: async () => undefined,
    createTemporaryAccessPass: async (_employeeId, options) => ({
      id: 'pass',
      temporaryAccessPass: 'not-a-secret',
      startDateTime: new Date().toISOString(),
      lifetimeInMinutes: options.lifetimeInMinutes,
      isUsableOnce: options.isUsableOnce,
    }),
  };
  return new Proxy(fake as CloudDirectory, {
    get(target, name) {
      const value = Reflect.get(target, name) as unknown;
      if (value !== undefined || typeof name !== 'string') return value;
      return () => Promise.reject(new Error(`the first-day cloud has no ${name}`));
    },
  });
}
