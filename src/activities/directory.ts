import { randomInt } from 'node:crypto';
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import type { DirectoryAccount, ManagedAttributes } from '../domain/account';
import { ErrorType } from '../domain/error-types';
import { baseLocalPart, candidateNames, type NameCandidate, type NamingDomains } from '../domain/naming';
import { addDays, helsinkiDate } from '../domain/dates';
import {
  mailHasBase,
  phaseAt,
  planFor,
  scheduleFor,
  type NameHint,
  type Plan,
  type PlanFacts,
} from '../domain/plan';
import { resolveManagedGroups } from '../domain/managed-groups';
import { groupsOu, managedGroups, matchesGroupTemplate, type Policy } from '../domain/policy';
import type { IdentityRecord } from '../domain/identity';
import type { Directory, NameReservation } from '../connectors/ldap/directory';
import { DirectoryError, isNameConflict } from '../connectors/ldap/errors';
import { parentDn } from '../connectors/ldap/escape';
import { boundedFailure, guard } from './failures';

// Directory activities: each one finds the account by employeeID (the idempotency key), then
// makes the directory match. Running any of them twice changes nothing the second time. Since
// issue 12 the plan reads in one search, and the steps after it write to the DN it (or the
// create) saw; a DN that no longer holds the account falls back to the search by employeeID.

export interface DirectoryActivitiesConfig {
  baseDn: string;
  /**
   * 'one-search' (default): the plan reads the person, the manager and the candidate names in
   * one LDAP search. 'per-account': by findByEmployeeId, as before issue 12 (simulations answer
   * those from one listing and record them).
   */
  planReads?: 'one-search' | 'per-account';
}

export interface PlanRequest {
  /** The person's merged record (src/domain/identity.ts); an HR record for HR-only people. */
  record: IdentityRecord;
  /** The workflow's "now": plans depend on time, and workflow time is what counts. */
  asOf: string;
  /** What the person workflow knows beyond the record (when the account was disabled, …). */
  facts?: PlanFacts;
}

export interface PersonName {
  firstNames: string;
  callingName?: string;
  lastName: string;
}

export interface EnsureAccount {
  employeeId: string;
  name: PersonName;
  ouDn: string;
  attributes: ManagedAttributes;
  /** From the plan: names its search found taken (first try only; a conflict searches again). */
  nameHint?: NameHint;
}

/** Every step after the plan may carry the account's DN as the plan (or the create) saw it. */
export interface AtAccount {
  employeeId: string;
  /** Absent or stale (moved, deleted): the activity searches by employeeID as before. */
  dn?: string;
}

export interface AccountRef {
  employeeId: string;
  sAMAccountName: string;
  userPrincipalName: string;
  /** Where the account is now (absent in results recorded before issue 12). */
  dn?: string;
  /** True when this call created it; false when it already existed. */
  created: boolean;
}

export interface GroupChange extends AtAccount {
  groups: string[];
}

/** The first step of every end of access; `alreadyDisabled` is success too (a retry, a rerun). */
export interface DisableResult {
  status: 'disabled' | 'alreadyDisabled';
}

/** How many times a create may lose a race for a name before giving up (and retrying later). */
const CREATE_RACE_LIMIT = 5;
/** Candidates the plan's search checks (a joiner needing number 11+ takes the full path). */
export const PLAN_NAME_WINDOW = 10;
/** Names this worker created, remembered so its next same-name joiner skips them (bounded). */
const RECENT_NAMES_MAX = 20_000;

export const createDirectoryActivities = (
  dir: Directory,
  policy: Policy,
  config: DirectoryActivitiesConfig,
) => {
  const groupDnCache = new Map<string, string>();
  const naming = policy.naming;
  const templateGroupsOuDn = `${groupsOu(policy)},${config.baseDn}`;

  async function groupDn(name: string): Promise<string> {
    const cached = groupDnCache.get(name);
    if (cached) return cached;
    let dn = await dir.findGroup(name);
    // A school's or class's group appears with its first member (createGroup is idempotent, so
    // concurrent joiners of a new class end up in the same group).
    if (!dn && matchesGroupTemplate(policy, name)) {
      dn = await dir.createGroup(name, templateGroupsOuDn);
      log.info('template group created', { group: name });
    }
    if (!dn) {
      throw ApplicationFailure.create({
        type: ErrorType.PolicyTargetMissing,
        message: `group ${name} named by the policy does not exist in the directory`,
        nonRetryable: true,
      });
    }
    groupDnCache.set(name, dn);
    return dn;
  }

  // Joiners in this worker that share a name (80 pupils called Matti Virtanen in one import) take
  // their names one at a time: otherwise all of them pick the same smallest free name, one wins
  // and the rest lose the race to AD over and over (each round costs every loser a retry). AD's
  // own uniqueness check still settles races with other workers.
  const nameQueues = new Map<string, Promise<void>>();
  async function oneNameAtATime<T>(base: string, body: () => Promise<T>): Promise<T> {
    const key = base.toLowerCase();
    const previous = nameQueues.get(key) ?? Promise.resolve();
    let release!: () => void;
    const queued = previous.then(() => new Promise<void>((resolve) => (release = resolve)));
    nameQueues.set(key, queued);
    await previous;
    try {
      return await body();
    } finally {
      release();
      if (nameQueues.get(key) === queued) nameQueues.delete(key);
    }
  }

  // Names this worker created lately (lower case → employeeID): a joiner planned before another
  // took its name skips that name instead of losing the race to AD. Only ever filled from a
  // successful create, so it never marks a free name taken; its own name sends a joiner to the
  // full path (the account exists).
  const recentNames = new Map<string, string>();
  function remember(names: { sAMAccountName: string; userPrincipalName: string }, employeeId: string) {
    for (const n of [names.sAMAccountName, localPartOf(names.userPrincipalName)]) {
      recentNames.delete(n.toLowerCase());
      recentNames.set(n.toLowerCase(), employeeId);
    }
    while (recentNames.size > RECENT_NAMES_MAX) recentNames.delete(recentNames.keys().next().value!);
  }
  const heldRecently = (c: NameCandidate) =>
    recentNames.get(c.sAMAccountName.toLowerCase()) ?? recentNames.get(c.localPart.toLowerCase());

  /**
   * The create from the plan's hint: the smallest number the plan found free (and this worker has
   * not given away since), in one add. Undefined sends the caller to the full path: no usable
   * number, this worker created the person's account already, or AD refused the name (taken since
   * the plan — or by this person's own account from an earlier try whose answer was lost: the
   * name picked from the same hint is the same, so AD refuses the duplicate and the full path
   * finds the account by employeeID; a second account is never made).
   */
  async function createFromHint(cmd: EnsureAccount, hint: NameHint): Promise<AccountRef | undefined> {
    const taken = new Set(hint.taken);
    for (let n = 1; n <= Math.min(hint.checked, MAX_NAME_NUMBER); n++) {
      if (taken.has(n)) continue;
      const candidate = candidateNames(hint.base, n, naming);
      const holder = heldRecently(candidate);
      if (holder === cmd.employeeId) return undefined;
      if (holder !== undefined) continue;
      try {
        const { dn } = await dir.addAccount(newAccountFor(cmd, candidate));
        remember(candidate, cmd.employeeId);
        return {
          employeeId: cmd.employeeId,
          sAMAccountName: candidate.sAMAccountName,
          userPrincipalName: candidate.userPrincipalName,
          dn,
          created: true,
        };
      } catch (err) {
        if (isNameConflict(err)) {
          note('hinted account name taken since the plan; checking the directory', cmd.employeeId);
          return undefined;
        }
        throw createFailure(err);
      }
    }
    return undefined;
  }

  async function requireAccount(employeeId: string): Promise<DirectoryAccount> {
    return requireDirectoryAccount(dir, employeeId);
  }

  /**
   * A write to the DN the command carries; when nothing is there any more (moved, renamed,
   * deleted: noSuchObject) the step runs as before issue 12, from the search by employeeID.
   * Without a DN, that search straight away.
   */
  async function atDn<T>(
    cmd: AtAccount,
    byDn: (dn: string) => Promise<T>,
    bySearch: () => Promise<T>,
  ): Promise<T> {
    if (cmd.dn) {
      try {
        return await byDn(cmd.dn);
      } catch (err) {
        if (!(err instanceof DirectoryError && err.kind === 'noSuchObject')) throw err;
        note('account not at the planned DN; looking it up by employeeID', cmd.employeeId);
      }
    }
    return bySearch();
  }

  /** The plan's read: the person, the manager, and (for a possible create) the candidate names. */
  async function planReads(req: PlanRequest, asOf: Date) {
    const { record } = req;
    if (config.planReads === 'per-account') {
      const account = await dir.findByEmployeeId(record.employeeId);
      const manager = record.managerId ? await dir.findByEmployeeId(record.managerId) : null;
      return { account, manager, nameHint: undefined };
    }
    // Candidate names only when this plan may create the account (the phase needs no directory).
    const phase = phaseAt(scheduleFor(record, policy, req.facts), asOf);
    let base: string | undefined;
    try {
      base = phase === 'prehire' || phase === 'active' ? baseLocalPart(record) : undefined;
    } catch {
      base = undefined; // a name the rule cannot spell: planFor reports it, naming the field
    }
    const checked = base ? PLAN_NAME_WINDOW : 0;
    const candidates = base
      ? Array.from({ length: checked }, (_, i) => candidateNames(base, i + 1, naming))
      : undefined;
    const found = await dir.lookupForPlan({
      employeeId: record.employeeId,
      ...(record.managerId ? { managerId: record.managerId } : {}),
      ...(candidates ? { candidates } : {}),
    });
    const nameHint: NameHint | undefined =
      base && candidates && found.taken
        ? {
            base,
            checked,
            taken: candidates.flatMap((c, i) => (found.taken!.has(c.sAMAccountName) ? [i + 1] : [])),
          }
        : undefined;
    return { account: found.account, manager: found.manager, nameHint };
  }

  /**
   * DN → name of every managed group that exists. Group DNs do not change under a running
   * worker, so they are looked up once per group (not once per plan: that was 9 searches a joiner).
   */
  async function managedGroupsByDn(memberOf: readonly string[] = []): Promise<Map<string, string>> {
    const named = new Map<string, string>();
    for (const name of managedGroups(policy)) {
      const dn = groupDnCache.get(name) ?? (await dir.findGroup(name));
      if (!dn) continue; // a group no rule grants yet may not exist; nothing to remove from it
      groupDnCache.set(name, dn);
      named.set(name, dn);
    }
    // Which of these and of the account's groups are managed is src/domain/managed-groups.ts's
    // decision (template groups by pattern), shared with explain and the plan.
    return resolveManagedGroups(policy, config.baseDn, named, memberOf);
  }

  return {
    /** Desired vs actual → ordered steps. Reads only. */
    async planPerson(req: PlanRequest): Promise<Plan> {
      return guard(async () => {
        const { record } = req;
        const asOf = new Date(req.asOf);
        const { account, manager, nameHint } = await planReads(req, asOf);
        const context = {
          baseDn: config.baseDn,
          asOf,
          ...(manager ? { managerDn: manager.dn } : {}),
          ...(req.facts ? { facts: req.facts } : {}),
        };
        return planFor(record, policy, context, {
          account,
          managedGroupsByDn: await managedGroupsByDn(account?.memberOf),
          ...(nameHint ? { nameHint } : {}),
        });
      });
    },

    /**
     * Creates the account (disabled, with a one-time password) unless it exists. On its first try
     * with the plan's name hint: one add, no search (see createFromHint for why that never makes
     * a second account). Otherwise, or when the hinted name is refused: find by employeeID, pick
     * the smallest free name, create.
     */
    async ensureAccount(cmd: EnsureAccount): Promise<AccountRef> {
      const base = baseLocalPart(cmd.name);
      return guard(() =>
        oneNameAtATime(base, async () => {
          if (cmd.nameHint && cmd.nameHint.base === base && firstAttempt()) {
            const created = await createFromHint(cmd, cmd.nameHint);
            if (created) return created;
          }
          for (let attempt = 1; ; attempt++) {
            const existing = await dir.findByEmployeeId(cmd.employeeId);
            if (existing) return refOf(existing, false);
            const chosen = await allocateFreeName(dir, base, naming, cmd.employeeId);
            try {
              const account = await dir.createAccount(newAccountFor(cmd, chosen));
              remember(account, cmd.employeeId);
              return refOf(account, true);
            } catch (err) {
              // Another joiner took the name between our check and our write: AD refused it. Look
              // again. Only a uniqueness conflict is that race; any other constraint (a value over
              // the schema limit, the password policy) is permanent and names its field.
              const lostRace = isNameConflict(err);
              if (lostRace && attempt < CREATE_RACE_LIMIT) continue;
              if (lostRace) {
                // Many joiners with the same name at once: back off and let Temporal retry later,
                // never fail the joiner for it.
                throw ApplicationFailure.create({
                  type: ErrorType.NameRaceLost,
                  message: `lost the race for a free account name ${CREATE_RACE_LIMIT} times in a row`,
                  cause: err,
                });
              }
              throw createFailure(err);
            }
          }
        }),
      );
    },

    /** Moves the account to the OU; returns where it is now (later steps of the run write there). */
    async moveAccount(cmd: AtAccount & { toOuDn: string }): Promise<{ dn: string }> {
      return guard(async () => {
        const inTarget = (dn: string) => parentDn(dn).toLowerCase() === cmd.toOuDn.toLowerCase();
        // By DN: a stale DN and a missing target OU both answer noSuchObject, so either one takes
        // the full path below, which tells them apart.
        if (cmd.dn && !inTarget(cmd.dn)) {
          try {
            return { dn: await dir.move(cmd.dn, cmd.toOuDn) };
          } catch (err) {
            if (!(err instanceof DirectoryError && err.kind === 'noSuchObject')) throw err;
          }
        }
        const account = await requireAccount(cmd.employeeId);
        if (inTarget(account.dn)) return { dn: account.dn };
        try {
          return { dn: await dir.move(account.dn, cmd.toOuDn) };
        } catch (err) {
          // The account is there (just read), so "no such object" is the target OU.
          if (err instanceof DirectoryError && err.kind === 'noSuchObject') {
            throw ApplicationFailure.create({
              type: ErrorType.PolicyTargetMissing,
              message: 'the OU named by the policy does not exist in the directory',
              nonRetryable: true,
              cause: err,
            });
          }
          throw err;
        }
      });
    },

    async setAttributes(
      cmd: AtAccount & {
        attributes: Partial<ManagedAttributes>;
        clear: (keyof ManagedAttributes)[];
      },
    ): Promise<void> {
      return guard(async () => {
        const change: Partial<Record<keyof ManagedAttributes, string | undefined>> = { ...cmd.attributes };
        for (const key of cmd.clear) change[key] = undefined;
        // A modify is atomic: its success means the attributes read as written (no read-back).
        await atDn(
          cmd,
          (dn) => dir.updateAttributes(dn, change),
          async () => dir.updateAttributes((await requireAccount(cmd.employeeId)).dn, change),
        );
      });
    },

    async addToGroups(cmd: GroupChange): Promise<void> {
      return guard(async () => {
        // By DN without reading memberships first: adding a member it has already is success in
        // the connector (it confirms that case), and AD answers noSuchObject for a member DN that
        // does not exist, so a stale DN is never silently "added".
        if (cmd.dn) {
          const dn = cmd.dn;
          const groups = await Promise.all(cmd.groups.map((name) => groupDn(name)));
          const done = await atDn(
            cmd,
            async () => {
              for (const g of groups) await dir.addToGroup(g, dn);
              return true;
            },
            async () => false,
          );
          if (done) return;
        }
        const account = await requireAccount(cmd.employeeId);
        const held = new Set(account.memberOf.map((dn) => dn.toLowerCase()));
        for (const name of cmd.groups) {
          const dn = await groupDn(name);
          if (!held.has(dn.toLowerCase())) await dir.addToGroup(dn, account.dn);
        }
      });
    },

    async removeFromGroups(cmd: GroupChange): Promise<void> {
      return guard(async () => {
        const account = await requireAccount(cmd.employeeId);
        const held = new Set(account.memberOf.map((dn) => dn.toLowerCase()));
        for (const name of cmd.groups) {
          const dn = await groupDn(name);
          if (held.has(dn.toLowerCase())) await dir.removeFromGroup(dn, account.dn);
        }
      });
    },

    async setAccountEnabled(cmd: AtAccount & { enabled: boolean }): Promise<void> {
      return guard(async () => {
        // End of access stays as it was: by employeeID, disable, read back (never by a stale DN).
        if (!cmd.enabled) return void (await disableDirectoryAccount(dir, cmd.employeeId));
        // An account as the create left it is enabled in one compare-and-swap modify; its success
        // is the check (atomic: userAccountControl now reads enabled), so no read-back.
        if (cmd.dn) {
          const dn = cmd.dn;
          if (
            await atDn(
              cmd,
              () => dir.enableIfAsCreated(dn),
              async () => false,
            )
          )
            return;
        }
        const account = await requireAccount(cmd.employeeId);
        if (account.enabled) return;
        await dir.setEnabled(account.dn, true);
        await expectEnabled(dir, cmd.employeeId, true);
      });
    },

    /**
     * End of access, step one: the AD account disabled — one modify of userAccountControl and
     * nothing else, so no optional attribute can stand in its way. Already disabled is success;
     * the result is read back, not assumed. Call it before any other leaver step.
     */
    async disableAccount(cmd: { employeeId: string }): Promise<DisableResult> {
      return guard(() => disableDirectoryAccount(dir, cmd.employeeId));
    },

    /**
     * A name change: the first free address for the new name becomes primary; every earlier
     * address stays as an alias so mail keeps arriving. sAMAccountName and UPN never change.
     */
    async changePrimaryMail(cmd: AtAccount & { mailBase: string }): Promise<{ mail: string }> {
      return guard(async () => {
        const account = await requireAccount(cmd.employeeId);
        if (account.mail && mailHasBase(account.mail, cmd.mailBase)) return { mail: account.mail };
        const chosen = await allocateFreeName(dir, cmd.mailBase, naming, cmd.employeeId);
        const mail = chosen.mail;
        const aliases = [...account.proxyAddresses, ...(account.mail ? [`smtp:${account.mail}`] : [])]
          .map((p) => p.replace(/^SMTP:/, 'smtp:'))
          .filter((p) => p.slice(5).toLowerCase() !== mail.toLowerCase());
        await dir.setMailAddresses(account.dn, mail, [`SMTP:${mail}`, ...new Set(aliases)]);
        return { mail };
      });
    },

    /**
     * Retention is over: the names are reserved for the quarantine period, then the account is
     * deleted. Reserving first means a retry after a crash still knows the names.
     */
    async deleteAccount(cmd: AtAccount): Promise<{ deleted: boolean }> {
      return guard(async () => {
        const account = await dir.findByEmployeeId(cmd.employeeId);
        if (!account) return { deleted: false };
        if (account.enabled) {
          // Deletion comes only after an end of access: an enabled account here means the disable
          // never happened (or was undone by hand). Never delete someone who may still work here.
          throw ApplicationFailure.create({
            type: ErrorType.AccountStillEnabled,
            message: `account with employeeID ${cmd.employeeId} is enabled: not deleted`,
            nonRetryable: true,
          });
        }
        try {
          await dir.reserveNames(reservationFor(account, policy, config.baseDn, new Date()));
        } catch (err) {
          // Without the reservation a later person could get this person's names: no delete.
          if (err instanceof DirectoryError && err.kind === 'unavailable') throw err;
          if (err instanceof DirectoryError && err.kind === 'credentials') throw err;
          throw ApplicationFailure.create({
            type: ErrorType.NameReservationFailed,
            message: `names not reserved, account not deleted: ${err instanceof Error ? err.message : 'error'}`,
            nonRetryable: true,
            cause: err instanceof Error ? err : undefined,
          });
        }
        await dir.deleteEntry(account.dn);
        log.info('account deleted after retention', { employeeId: cmd.employeeId });
        return { deleted: true };
      });
    },

    /** The person's account as the directory holds it now (for `tunnus person show`). */
    async readAccount(cmd: { employeeId: string }): Promise<DirectoryAccount | null> {
      return guard(() => dir.findByEmployeeId(cmd.employeeId));
    },
  };
};

export type DirectoryActivities = ReturnType<typeof createDirectoryActivities>;

/** How many candidates one collision query checks; Finland has many Matti Virtanens. */
const NAME_WINDOW = 50;
const MAX_NAME_NUMBER = 999;

/** The smallest free candidate, checking AD in windows of candidates, one query per window. */
async function allocateFreeName(dir: Directory, base: string, domains: NamingDomains, employeeId: string) {
  for (let first = 1; first <= MAX_NAME_NUMBER; first += NAME_WINDOW) {
    const window = Array.from({ length: NAME_WINDOW }, (_, i) => candidateNames(base, first + i, domains));
    const taken = await dir.takenNames(window, employeeId);
    const free = window.find((c) => !taken.has(c.sAMAccountName));
    if (free) return free;
  }
  throw ApplicationFailure.create({
    type: ErrorType.NameCollision,
    message: `every account name candidate up to ${MAX_NAME_NUMBER} is taken`,
    nonRetryable: true,
  });
}

/**
 * The names an account answered to, reserved until the end of the quarantine: the
 * sAMAccountName as it is (cut to 20 characters or not: the contact's name), the UPN, mail and
 * every address of every proxyAddresses entry (smtp:, sip:, … — X.400/X.500 hold no names).
 */
export function reservationFor(
  account: DirectoryAccount,
  policy: Policy,
  baseDn: string,
  now: Date,
): NameReservation {
  const proxies = account.proxyAddresses
    .map((p) => /^([a-z0-9]+):(.+@.+)$/i.exec(p))
    .filter((m): m is RegExpExecArray => m !== null && !/^x[45]00$/i.test(m[1]!))
    .map((m) => m[2]!);
  const addresses = [
    ...new Set(
      [account.userPrincipalName, ...(account.mail ? [account.mail] : []), ...proxies]
        .filter((a) => a !== '')
        .map((a) => a.toLowerCase()),
    ),
  ];
  return {
    name: account.sAMAccountName,
    ouDn: `${policy.ous.retiredNames},${baseDn}`,
    addresses,
    until: addDays(helsinkiDate(now), policy.lifecycle.nameQuarantineDays),
  };
}

/**
 * The account a step works on. Missing although the plan saw it: replication, or deleted by hand.
 * A few retries cover the first; then AccountMissing, non-retryable, for a person to decide.
 */
export async function requireDirectoryAccount(dir: Directory, employeeId: string): Promise<DirectoryAccount> {
  const account = await dir.findByEmployeeId(employeeId);
  if (!account) throw boundedFailure(ErrorType.AccountMissing, `no account with employeeID ${employeeId}`);
  return account;
}

/** Disables the account (userAccountControl only) and reads it back. */
export async function disableDirectoryAccount(dir: Directory, employeeId: string): Promise<DisableResult> {
  const account = await requireDirectoryAccount(dir, employeeId);
  if (!account.enabled) return { status: 'alreadyDisabled' };
  await dir.setEnabled(account.dn, false);
  await expectEnabled(dir, employeeId, false);
  log.info('account disabled', { employeeId });
  return { status: 'disabled' };
}

async function expectEnabled(dir: Directory, employeeId: string, enabled: boolean): Promise<void> {
  const after = await requireDirectoryAccount(dir, employeeId);
  if (after.enabled !== enabled) {
    // The write answered success but the account does not read so: try the whole step again.
    throw ApplicationFailure.create({
      type: ErrorType.DirectoryUnavailable,
      message: `account still reads as ${after.enabled ? 'enabled' : 'disabled'} after the change`,
    });
  }
}

function refOf(account: DirectoryAccount, created: boolean): AccountRef {
  return {
    employeeId: account.employeeId,
    sAMAccountName: account.sAMAccountName,
    userPrincipalName: account.userPrincipalName,
    dn: account.dn,
    created,
  };
}

function newAccountFor(cmd: EnsureAccount, chosen: NameCandidate) {
  return {
    employeeId: cmd.employeeId,
    ou: cmd.ouDn,
    cn: chosen.cn,
    sAMAccountName: chosen.sAMAccountName,
    userPrincipalName: chosen.userPrincipalName,
    mail: chosen.mail,
    attributes: cmd.attributes,
    password: generatePassword(),
  };
}

/** A create refused for anything but a name race: a missing OU is the policy's, the rest as is. */
function createFailure(err: unknown): unknown {
  if (err instanceof DirectoryError && err.kind === 'noSuchObject') {
    return ApplicationFailure.create({
      type: ErrorType.PolicyTargetMissing,
      message: 'the OU named by the policy does not exist in the directory',
      nonRetryable: true,
    });
  }
  return err;
}

/**
 * Whether this is the activity's first try. Outside an activity (a bench, a direct call) it is.
 * A local activity re-run after a worker crash is a first try again: createFromHint is safe then.
 */
function firstAttempt(): boolean {
  try {
    return Context.current().info.attempt <= 1;
  } catch {
    return true;
  }
}

/** An info line from inside an activity; outside one (a bench run in-process) there is no logger. */
function note(message: string, employeeId: string): void {
  try {
    Context.current();
  } catch {
    return;
  }
  log.info(message, { employeeId });
}

const localPartOf = (address: string) => address.slice(0, Math.max(0, address.lastIndexOf('@'))) || address;

const PASSWORD_SETS = ['ABCDEFGHJKLMNPQRSTUVWXYZ', 'abcdefghijkmnopqrstuvwxyz', '23456789', '!#%+-=?@_'];

/**
 * A one-time password meeting AD complexity (all four character classes, 20 characters). It lives
 * only inside ensureAccount: never logged, never returned, never in workflow history. People get
 * their first sign-in through the city's onboarding channel (e.g. self-service reset).
 */
export function generatePassword(length = 20): string {
  const chars = PASSWORD_SETS.map((set) => set[randomInt(set.length)]!);
  const all = PASSWORD_SETS.join('');
  while (chars.length < length) chars.push(all[randomInt(all.length)]!);
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}
