import { ApplicationFailure, Context, log } from '@temporalio/activity';
import type { CloudDirectory, CloudSku, CloudUser } from '../connectors/graph/cloud-directory';
import { CloudError } from '../connectors/graph/errors';
import { catalogueEntryFor } from '../domain/catalogue';
import { cloudUserChange } from '../domain/cloud-user';
import { leaverLicences, licenceChangeFor } from '../domain/licences';
import type { Directory } from '../connectors/ldap/directory';
import type { PhoneDirectory } from '../connectors/phone/phone-directory';
import { ErrorType } from '../domain/error-types';
import {
  latestPerEmployee,
  planPhoneSync,
  type PhonePageRequest,
  type PhonePageResult,
  type PhoneNumber,
} from '../domain/phone';
import { managedSkus, type Policy } from '../domain/policy';
import { generatePassword, requireDirectoryAccount } from './directory';
import { boundedFailure, guard, toFailure } from './failures';

// Cloud (Graph) and telephony activities. Each looks the person up by employeeId first, so a
// write that committed but answered 504 is found, not repeated. Waiting on a business condition
// (directory sync, a free seat, mailbox provisioning) is returned as a status, not thrown: the
// workflow then waits durably and visibly instead of failing or spinning.

export interface EnsureCloudUser {
  employeeId: string;
}

export type CloudUserResult =
  { status: 'ready'; userId: string; created: boolean } | { status: 'notYetSynced' };

export interface EnsureLicences {
  employeeId: string;
  licences: { sku: string; disabledPlans: string[] }[];
}

export type LicenceResult =
  { status: 'done'; added: string[]; removed: string[] } | { status: 'waitingForSeats'; skus: string[] };

/** Changes per page of the telephony feed (the platform's maximum). */
const PHONE_PAGE_SIZE = 500;

/** End of access in the cloud: sign-in blocked (direct mode) and sessions revoked. */
// status and sessionsRevoked are always set here; optional so that test fakes may answer `found` only.
export interface BlockSignInResult {
  /** Whether the person has a cloud user at all. */
  found: boolean;
  /**
   * blocked: this call set accountEnabled false; alreadyBlocked: it was; syncedFromAd: a synced
   * user, whose sign-in follows the disabled AD account through directory sync; noCloudUser.
   */
  status?: 'blocked' | 'alreadyBlocked' | 'syncedFromAd' | 'noCloudUser';
  sessionsRevoked?: boolean;
}

export interface CloudActivitiesOptions {
  /** How often the purge looks at the recycle bin before giving up this attempt (default 8). */
  purgePolls?: number;
  /** First wait between those looks, doubling up to 5 s (default 500 ms). */
  purgePollMs?: number;
}

export interface SkuPool {
  sku: string;
  seats: number;
  used: number;
  free: number;
}

export const createCloudActivities = (
  cloud: CloudDirectory,
  dir: Directory,
  phone: PhoneDirectory,
  policy: Policy,
  options: CloudActivitiesOptions = {},
) => {
  const purgePolls = options.purgePolls ?? 8;
  const purgePollMs = options.purgePollMs ?? 500;

  async function requireAdAccount(employeeId: string) {
    return requireDirectoryAccount(dir, employeeId);
  }

  /** Sign-in blocked by a PATCH of accountEnabled alone, read back; then sessions revoked. */
  async function blockSignIn(employeeId: string): Promise<BlockSignInResult> {
    const user = await cloud.findUserByEmployeeId(employeeId);
    if (!user) return { found: false, status: 'noCloudUser', sessionsRevoked: false };
    let status: NonNullable<BlockSignInResult['status']> = 'syncedFromAd';
    if (policy.cloud.mode === 'direct' && !user.onPremisesSyncEnabled) {
      status = 'alreadyBlocked';
      if (user.accountEnabled !== false) {
        // Nothing else in this request: an optional property Graph refuses must never keep a
        // leaver able to sign in.
        await cloud.updateUser(user.id, { accountEnabled: false });
        const after = await cloud.getUser(user.id);
        if (after && after.accountEnabled !== false) {
          throw new CloudError('blockSignIn: the user still reads as enabled', {
            kind: 'unavailable',
            retryable: true,
          });
        }
        status = 'blocked';
      }
    }
    // Its own call, every time: revoking again is harmless, and a retry after a crash between
    // the block and the revoke must not skip it.
    await cloud.revokeSessions(user.id);
    log.info('cloud sign-in ended', { employeeId, status });
    return { found: true, status, sessionsRevoked: true };
  }

  async function requireCloudUser(employeeId: string) {
    const user = await cloud.findUserByEmployeeId(employeeId);
    // Just created: Graph replicates for a while. A retry finds it.
    if (!user) throw new CloudError('cloud user not visible yet', { kind: 'unavailable', retryable: true });
    return user;
  }

  return {
    /**
     * direct: creates the cloud user unless one with the employeeId exists; synced: reports
     * whether directory sync has created it yet. Either way sets usageLocation (licences need it).
     */
    async ensureCloudUser(cmd: EnsureCloudUser): Promise<CloudUserResult> {
      return guard(async () => {
        const existing = await cloud.findUserByEmployeeId(cmd.employeeId);
        const usageLocation = policy.cloud.usageLocation;
        if (existing) {
          // In direct mode the cloud user follows the AD account: enabled state (start date,
          // leaver, rehire), names and job (mover), and a rehire shows in the address list again.
          // The decision is src/domain/cloud-user.ts's, which `tunnus plan` reports too.
          const account = policy.cloud.mode === 'direct' ? await dir.findByEmployeeId(cmd.employeeId) : null;
          const { accountEnabled, fields, showInAddressList } = cloudUserChange(existing, account, policy);
          // Sign-in state is a request of its own (never bundled), the address list best-effort.
          if (accountEnabled !== undefined) await cloud.updateUser(existing.id, { accountEnabled });
          if (Object.keys(fields).length > 0) await cloud.updateUser(existing.id, fields);
          if (showInAddressList !== undefined) {
            await bestEffortAddressList(cloud, existing.id, showInAddressList, cmd.employeeId);
          }
          return { status: 'ready', userId: existing.id, created: false };
        }
        if (policy.cloud.mode === 'synced') return { status: 'notYetSynced' };
        const account = await requireAdAccount(cmd.employeeId);
        const created = await cloud.createUser({
          employeeId: cmd.employeeId,
          userPrincipalName: account.userPrincipalName,
          mailNickname: account.sAMAccountName,
          displayName: account.displayName ?? account.sAMAccountName,
          ...(account.givenName ? { givenName: account.givenName } : {}),
          ...(account.sn ? { surname: account.sn } : {}),
          ...(account.title ? { jobTitle: account.title } : {}),
          ...(account.department ? { department: account.department } : {}),
          usageLocation,
          accountEnabled: account.enabled,
          password: generatePassword(),
          forceChangePasswordNextSignIn: true,
        });
        log.info('cloud user created', { employeeId: cmd.employeeId });
        return { status: 'ready', userId: created.id, created: true };
      });
    },

    /**
     * End of access, step one in the cloud (src/workflows/converge.ts runs it beside the AD
     * disable, before every other leaver step): in direct mode sign-in blocked by a PATCH of
     * accountEnabled alone, read back; then sessions revoked as a call of its own. A synced
     * user's sign-in follows the disabled AD account through directory sync; its sessions are
     * revoked here. Already blocked is success.
     */
    async disableCloudSignIn(cmd: { employeeId: string }): Promise<BlockSignInResult> {
      return guard(() => blockSignIn(cmd.employeeId));
    },

    /**
     * Leaver, after the end of access: sign-in blocked and sessions revoked (again: harmless, and
     * safe if the run skipped disableCloudSignIn), hidden from the address list (best-effort: Graph
     * documents showInAddressList as not for use, so a refusal is logged, not a failure), managed
     * licences removed (their seats go back to the pool).
     */
    async retireCloudUser(cmd: {
      employeeId: string;
    }): Promise<{ found: boolean; licencesRemoved: string[]; hiddenFromAddressList?: boolean }> {
      return guard(async () => {
        const blocked = await blockSignIn(cmd.employeeId);
        if (blocked.status === 'noCloudUser') return { found: false, licencesRemoved: [] };
        const user = await cloud.findUserByEmployeeId(cmd.employeeId);
        if (!user) return { found: false, licencesRemoved: [] };
        const direct = policy.cloud.mode === 'direct' && !user.onPremisesSyncEnabled;
        let hidden = user.showInAddressList === false;
        if (direct && !hidden) hidden = await bestEffortAddressList(cloud, user.id, false, cmd.employeeId);
        const removed = await removeManagedLicences(cloud, user, await cloud.listSubscribedSkus(), policy);
        log.info('cloud user retired', { employeeId: cmd.employeeId, licencesRemoved: removed.length });
        return {
          found: true,
          licencesRemoved: removed,
          ...(direct ? { hiddenFromAddressList: hidden } : {}),
        };
      });
    },

    /**
     * Retention is over: the cloud user is deleted and purged from the recycle bin, and the purge
     * is verified — the deleted item must have been seen and then be gone. Recycle-bin reads lag
     * behind the delete, so the purge waits (bounded) for the item to appear; an item that never
     * appears or never leaves is a CloudPurgeUnverified failure, never a silent skip.
     */
    async deleteCloudUser(cmd: { employeeId: string }): Promise<{ deleted: boolean; purged?: boolean }> {
      return guard(async () => {
        const progress = purgeProgress();
        const live = await cloud.findUserByEmployeeId(cmd.employeeId);
        if (live) {
          if (
            policy.cloud.mode === 'direct' &&
            !live.onPremisesSyncEnabled &&
            live.accountEnabled !== false
          ) {
            throw ApplicationFailure.create({
              type: ErrorType.AccountStillEnabled,
              message: `cloud user with employeeId ${cmd.employeeId} can still sign in: not deleted`,
              nonRetryable: true,
            });
          }
          // Recorded before the delete: a retry after a crash still knows which item to purge.
          progress.record({ userId: live.id });
          await cloud.deleteUser(live.id);
        }
        let userId = progress.state.userId;
        if (!userId) {
          // No live user and no earlier attempt of ours: soft-deleted by an earlier run, by hand,
          // or never there. On a retry, give the recycle bin time to show an item we deleted.
          const soft = await pollFor(
            () => cloud.findDeletedUserByEmployeeId(cmd.employeeId),
            (u) => u !== null,
            progress.attempt > 1 ? purgePolls : 1,
          );
          if (!soft) return { deleted: false, purged: false };
          userId = soft.id;
          progress.record({ userId });
        }
        let purgeSent = progress.state.purgeSent === true;
        for (let look = 1; look <= purgePolls; look++) {
          const item = await cloud.getDeletedUser(userId);
          if (item) {
            progress.record({ userId, purgeSent: true });
            await cloud.purgeDeletedUser(userId);
            purgeSent = true;
          } else if (purgeSent) {
            // Gone by id after our purge; the listing by employeeId must agree.
            const listed = await cloud.findDeletedUserByEmployeeId(cmd.employeeId);
            if (!listed || listed.id !== userId) {
              log.info('cloud user deleted and purged', { employeeId: cmd.employeeId });
              return { deleted: true, purged: true };
            }
          }
          await pause(Math.min(purgePollMs * 2 ** (look - 1), 5_000));
        }
        throw boundedFailure(
          ErrorType.CloudPurgeUnverified,
          purgeSent
            ? 'the purged cloud user still reads from the recycle bin'
            : 'the deleted cloud user did not appear in the recycle bin',
        );
      });
    },

    /** The person leaves the phone catalogue (numbers are released by telephony's own process). */
    async removeCatalogueEntry(cmd: { employeeId: string }): Promise<{ removed: boolean }> {
      return guard(async () => ({
        removed: (await phone.removeCatalogueEntry(cmd.employeeId)) === 'removed',
      }));
    },

    /** mail and proxyAddresses on the AD account: the mailbox's addresses come from there. */
    async ensureMailAddresses(cmd: { employeeId: string }): Promise<void> {
      return guard(async () => {
        const account = await requireAdAccount(cmd.employeeId);
        if (!account.mail) return;
        const primary = `SMTP:${account.mail}`;
        // Earlier primaries stay as aliases (a surname change keeps the old address working).
        const aliases = account.proxyAddresses
          .filter((p) => p.toLowerCase() !== primary.toLowerCase())
          .map((p) => (p.startsWith('SMTP:') ? `smtp:${p.slice(5)}` : p));
        const wanted = [primary, ...aliases];
        const same =
          wanted.length === account.proxyAddresses.length &&
          wanted.every((p) => account.proxyAddresses.includes(p));
        if (!same) await dir.setMailAddresses(account.dn, account.mail, wanted);
      });
    },

    /**
     * Makes the user's managed licences equal the role's: adds missing, removes those the policy
     * manages but no longer grants, keeps hand-granted ones. No free seat → a status, not an error.
     */
    async ensureLicences(cmd: EnsureLicences): Promise<LicenceResult> {
      return guard(async () => {
        const user = await requireCloudUser(cmd.employeeId);
        const skus = await cloud.listSubscribedSkus();
        const change = licenceChangeFor(user.assignedLicenses, cmd.licences, policy, skus);
        if (change.unknownSkus.length > 0 || change.unknownPlans.length > 0) {
          throw ApplicationFailure.create({
            type: ErrorType.UnknownSku,
            message: `policy names licences the tenant lacks: ${[...change.unknownSkus, ...change.unknownPlans].join(', ')}`,
            nonRetryable: true,
          });
        }
        if (change.shortOfSeats.length > 0) {
          log.warn('licence pool exhausted: joiner waits for a free seat', { skus: change.shortOfSeats });
          return { status: 'waitingForSeats', skus: change.shortOfSeats };
        }
        if (change.add.length > 0 || change.remove.length > 0) {
          await cloud.assignLicenses(user.id, change.add, change.remove);
        }
        const partOf = (id: string) => skus.find((s) => s.skuId === id)?.skuPartNumber ?? id;
        return {
          status: 'done',
          added: change.add.map((a) => partOf(a.skuId)),
          removed: change.remove.map(partOf),
        };
      });
    },

    async mailboxReady(cmd: { employeeId: string }): Promise<boolean> {
      return guard(async () => cloud.mailboxReady((await requireCloudUser(cmd.employeeId)).id));
    },

    /** Seats per managed SKU, for `tunnus licences`. */
    async licencePool(): Promise<SkuPool[]> {
      return guard(async () => {
        const managed = new Set(managedSkus(policy));
        return (await cloud.listSubscribedSkus())
          .filter((s) => managed.has(s.skuPartNumber))
          .map((s) => ({ sku: s.skuPartNumber, seats: s.enabled, used: s.consumed, free: s.available }));
      });
    },

    /**
     * The telephony catalogue entry (name, title, unit, e-mail) and the person's numbers into AD
     * and, when the person is in the cloud, the cloud user. Writes only what differs.
     */
    async syncPhone(cmd: {
      employeeId: string;
      catalogue: boolean;
      cloud: boolean;
    }): Promise<{ changed: boolean }> {
      return guard(async () => syncNumbers(cmd));
    },

    /** One page of the telephony change feed (the sync before paging; kept for replays of its runs). */
    async phoneChanges(cmd: {
      cursor?: string;
    }): Promise<{ employeeIds: string[]; next: string; hasMore: boolean }> {
      return guard(async () => {
        const page = await phone.changesSince(cmd.cursor);
        return {
          employeeIds: [...new Set(page.changes.map((c) => c.employeeId))],
          next: page.next,
          hasMore: page.hasMore,
        };
      });
    },

    /**
     * One page of the change feed, applied: each person's numbers (as the last change of the page
     * carries them) into AD and the cloud user. A change that a target refuses for good (a
     * number AD or Graph rejects, a person whose account vanished) is skipped and reported, so
     * one bad number never holds back the cursor; anything transient retries the whole page,
     * which is idempotent. Returns the cursor after the page for the workflow to carry.
     */
    async syncPhonePage(cmd: PhonePageRequest): Promise<PhonePageResult> {
      return guard(async () => {
        const page = await phone.changesSince(cmd.cursor, cmd.limit ?? PHONE_PAGE_SIZE);
        const latest = latestPerEmployee(page.changes);
        const result: PhonePageResult = {
          next: page.next,
          hasMore: page.hasMore,
          changes: page.changes.length,
          people: 0,
          changed: 0,
          rejected: [],
        };
        for (const [i, change] of latest.entries()) {
          try {
            const { changed } = await syncNumbers(
              { employeeId: change.employeeId, catalogue: false, cloud: true },
              change.numbers,
            );
            result.people++;
            if (changed) result.changed++;
          } catch (err) {
            const failure = toFailure(err);
            if (!(failure instanceof ApplicationFailure) || !failure.nonRetryable) throw failure;
            // Business keys and the classified reason only: never the number itself.
            result.rejected.push({
              employeeId: change.employeeId,
              sequence: change.sequence,
              type: failure.type ?? 'Error',
              reason: failure.message,
            });
            log.warn('phone change skipped: a target refused it', {
              employeeId: change.employeeId,
              sequence: change.sequence,
              type: failure.type,
            });
          }
          heartbeat(i + 1);
        }
        return result;
      });
    },
  };

  /**
   * The person's numbers into AD and (when asked) the cloud user; the catalogue entry too when
   * asked. `numbers` from a change-feed item saves asking the platform again.
   */
  async function syncNumbers(
    cmd: { employeeId: string; catalogue: boolean; cloud: boolean },
    known?: PhoneNumber[],
  ): Promise<{ changed: boolean }> {
    const found = await dir.findByEmployeeId(cmd.employeeId);
    // The periodic sync sees everyone the platform knows; people without an account are not ours.
    if (!found && !cmd.catalogue) return { changed: false };
    const account = found ?? (await requireAdAccount(cmd.employeeId));
    if (cmd.catalogue) {
      await phone.upsertCatalogueEntry(catalogueEntryFor(cmd.employeeId, account));
    }
    const numbers = known ?? (await phone.numbersFor(cmd.employeeId)) ?? [];
    const user = cmd.cloud ? await cloud.findUserByEmployeeId(cmd.employeeId) : null;
    const plan = planPhoneSync(numbers, {
      ad: {
        ...(account.telephoneNumber ? { telephoneNumber: account.telephoneNumber } : {}),
        ...(account.mobile ? { mobile: account.mobile } : {}),
      },
      cloud: user ? { businessPhones: user.businessPhones, mobilePhone: user.mobilePhone } : {},
    });
    if (Object.keys(plan.ad).length > 0) {
      const next = {
        telephoneNumber: 'telephoneNumber' in plan.ad ? plan.ad.telephoneNumber : account.telephoneNumber,
        mobile: 'mobile' in plan.ad ? plan.ad.mobile : account.mobile,
      };
      await dir.setPhoneNumbers(account.dn, {
        ...(next.telephoneNumber ? { telephoneNumber: next.telephoneNumber } : {}),
        ...(next.mobile ? { mobile: next.mobile } : {}),
      });
    }
    if (user && Object.keys(plan.cloud).length > 0) await cloud.updateUser(user.id, plan.cloud);
    return { changed: !plan.inSync };
  }
};

export type CloudActivities = ReturnType<typeof createCloudActivities>;

/**
 * Sets showInAddressList alone. Graph documents the property as "do not use", so a refusal is
 * logged and reported, never a failure of the step around it; transient errors still retry.
 */
async function bestEffortAddressList(
  cloud: CloudDirectory,
  userId: string,
  show: boolean | null,
  employeeId: string,
): Promise<boolean> {
  try {
    await cloud.updateUser(userId, { showInAddressList: show });
    return true;
  } catch (err) {
    if (err instanceof CloudError && !err.retryable) {
      log.warn('address list visibility not changed: Graph refused showInAddressList', {
        employeeId,
        kind: err.kind,
        status: err.status,
      });
      return false;
    }
    throw err;
  }
}

interface PurgeState {
  userId?: string;
  purgeSent?: boolean;
}

/** What the purge did in earlier attempts (heartbeat details), and a way to record progress. */
function purgeProgress() {
  let ctx: Context | undefined;
  try {
    ctx = Context.current();
  } catch {
    ctx = undefined; // called outside an activity (tests, tools): nothing to resume from
  }
  const earlier = ctx?.info.heartbeatDetails as PurgeState | undefined;
  const state: PurgeState = { ...(earlier ?? {}) };
  const progress = {
    attempt: ctx?.info.attempt ?? 1,
    state,
    record(next: PurgeState) {
      progress.state = next;
      ctx?.heartbeat(next);
    },
  };
  return progress;
}

async function pollFor<T>(read: () => Promise<T>, ok: (v: T) => boolean, looks: number): Promise<T> {
  let value = await read();
  for (let look = 1; look < looks && !ok(value); look++) {
    await pause(Math.min(500 * 2 ** (look - 1), 5_000));
    value = await read();
  }
  return value;
}

function heartbeat(details: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // outside an activity: nobody to tell
  }
}

/** Sleeps inside an activity (cancellable) or outside one. */
async function pause(ms: number): Promise<void> {
  let ctx: Context | undefined;
  try {
    ctx = Context.current();
  } catch {
    ctx = undefined;
  }
  if (ctx) await ctx.sleep(ms);
  else await new Promise((r) => setTimeout(r, ms));
}

/**
 * Takes back every licence the policy manages from a user (seats return to the pool); licences
 * granted by hand outside the policy stay. Returns the part numbers removed.
 */
export async function removeManagedLicences(
  cloud: CloudDirectory,
  user: CloudUser,
  tenantSkus: CloudSku[],
  policy: Policy,
): Promise<string[]> {
  const remove = leaverLicences(user.assignedLicenses, tenantSkus, policy);
  if (remove.length > 0) {
    await cloud.assignLicenses(
      user.id,
      [],
      remove.map((s) => s.skuId),
    );
  }
  return remove.map((s) => s.skuPartNumber);
}

/** Kept for callers of the activity module; the decision is src/domain/cloud-user.ts's. */
export { cloudUserDrift } from '../domain/cloud-user';
