import { Client as LdapClient } from 'ldapts';
import { createDirectoryActivities } from '../src/activities/directory';
import type { Directory } from '../src/connectors/ldap/directory';
import type { IdentityRecord } from '../src/domain/identity';
import type { Policy } from '../src/domain/policy';

// Where a joiner's LDAP operations go: the real directory activities run in-process, in the order
// the joiner workflow runs them, with the DN and name hint passed as the workflow passes them
// (plan → ensureAccount with plan.nameHint → every later step with dn: ref.dn ?? plan.accountDn).
// Every ldapts Client call this process makes is counted, by method.

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
  const joiner = async (employeeId: string, i: number) => {
    const record = opts.record(employeeId, i);
    const byActivity: Record<string, number> = {};
    const count = async <T>(name: string, body: () => Promise<T>): Promise<T> => {
      const before = ldapCallsNow();
      const result = await body();
      byActivity[name] = (byActivity[name] ?? 0) + totalOf(ldapCallsSince(before));
      return result;
    };
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
    return { byActivity, hintUsed };
  };
  // A warm worker has the group DNs cached; the first joiner pays for looking them up.
  await joiner(`C${opts.tag}-0`, 0);
  const before = ldapCallsNow();
  const { byActivity, hintUsed } = await joiner(`C${opts.tag}-1`, 1);
  const total = ldapCallsSince(before);
  return {
    total,
    reads: total.search,
    writes: total.add + total.modify + total.del + total.modifyDN,
    binds: total.bind,
    byActivity,
    hintUsed,
  };
}
