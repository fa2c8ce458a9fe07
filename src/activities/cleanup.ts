import { ApplicationFailure, Context, log } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { CloudDirectory } from '../connectors/graph/cloud-directory';
import type { Directory } from '../connectors/ldap/directory';
import type { PhoneDirectory } from '../connectors/phone/phone-directory';
import {
  evaluateIdentities,
  findCleanupAndSkips,
  identityIdsToLoad,
  type Evaluated,
  type CloudUserView,
  type Finding,
  type FindingKind,
  type Identity,
  type SkippedIdentity,
} from '../domain/cleanup';
import { findingStillHolds } from '../domain/cleanup';
import { ErrorType } from '../domain/error-types';
import type { Loss } from '../domain/mass-change';
import { managedGroups, type Policy } from '../domain/policy';
import { admitApproved, admitLosses, type Admission } from '../ops/guard';
import { parseEnv } from '../config';
import type { RecordStore } from '../store/import-staging';
import { openRecordIndex } from '../store/open';
import { queryPersonState } from '../ops/persons';
import { createCloudActivities, removeManagedLicences } from './cloud';
import { createDirectoryActivities } from './directory';
import { guard } from './failures';
import { nextTurn } from './next-turn';
import type { IdentityRow } from '../domain/identity-row';
import type { IdentityKeys } from '../crypto/identity-keys';
import { identityKeysFor } from '../crypto/data-converter';
import { isShredded, openFindings, sealFindings } from './cleanup-seal';

// The leaver cleanup's I/O: gather the directory, the cloud and every identity's record, and
// fix findings one by one. The findings themselves come from the pure domain/cleanup.ts.

export interface CleanupDeps {
  client: Client;
  directory: Directory;
  cloud: CloudDirectory;
  phone: PhoneDirectory;
  policy: Policy;
  baseDn: string;
  /** The record store (mass-change ledger); opened from the configuration when first needed. */
  store?: RecordStore | (() => RecordStore);
  /** The identity keys the findings' personal fields are sealed with; by default the configured ones. */
  keys?: IdentityKeys | (() => IdentityKeys);
}

export interface Collected {
  asOf: string;
  /** Each finding's `account`/`dn` sealed under its person's key (src/activities/cleanup-seal.ts). */
  findings: Finding[];
  /** Identities the cleanup could not evaluate (reported, skipped; never taken for orphans). */
  skipped?: SkippedIdentity[];
  managedIdentities: number;
  /** Policy values the workflow needs (it cannot read the policy file itself). */
  mode: 'report' | 'enforce';
  thresholdPercent: number;
  prices: Record<string, number>;
}

export interface Applied {
  done: Partial<Record<FindingKind, number>>;
  /** Findings that no longer held when re-checked right before the fix: left alone. */
  stale?: Partial<Record<FindingKind, number>>;
  licences: Record<string, number>;
}

/** How many person workflows are queried at once (identities the read model has no row of). */
const QUERY_CONCURRENCY = 32;
const QUERY_TIMEOUT_MS = 30_000;
/** Identities read from the read model per round trip. */
const ROWS_PER_READ = 500;
/** Identities evaluated between two turns of the event loop (measured ~17-30 ms a part at 50,000). */
const EVALUATE_PER_PART = 500;

/**
 * Reads the directory, the cloud and every identity's record and returns the findings. Used by
 * the cleanup activity and, read-only, by `tunnus plan --cleanup`. `progress` is called between
 * stages (the activity heartbeats there).
 */
export async function collectCleanupFindings(
  deps: CleanupDeps,
  asOf: Date,
  progress: (stage: string) => void = () => undefined,
): Promise<{
  findings: Finding[];
  skipped: SkippedIdentity[];
  managedIdentities: number;
  identities: number;
  accounts: number;
}> {
  const { directory: dir, cloud, policy, baseDn } = deps;
  // The directory and the cloud at once; the managed groups' members in one pass over the
  // directory (one search per group scanned it once per group: 16 s of 30 at 10,000 people).
  const readGroups = async () => {
    const names = managedGroups(policy);
    const dnOf = await dir.findGroups(names); // one search for all of them
    const members = await dir.listGroupMembers([...dnOf.values()]);
    progress('groups');
    return new Map(names.map((name) => [name, members.get(dnOf.get(name) ?? '') ?? []]));
  };
  const readCloud = async () => {
    const [skus, users] = await Promise.all([cloud.listSubscribedSkus(), cloud.listUsers()]);
    const partOf = new Map(skus.map((s) => [s.skuId, s.skuPartNumber]));
    progress('cloud');
    return users.map((u): CloudUserView => ({
      id: u.id,
      employeeId: u.employeeId,
      accountEnabled: u.accountEnabled,
      skus: u.assignedLicenses.map((l) => partOf.get(l.skuId) ?? l.skuId),
    }));
  };
  const [accounts, groupMembers, cloudUsers] = await Promise.all([
    dir.listAccountSummaries().then((a) => (progress('accounts'), a)),
    readGroups(),
    readCloud(),
  ]);
  const reservations = await dir.listReservations(`${policy.ous.retiredNames},${baseDn}`);
  const base = { policy, baseDn, accounts, cloudUsers, groupMembers, reservations };
  const ids = identityIdsToLoad(base);
  const identities = await loadIdentities(deps, ids, progress);
  const evaluated = await evaluateInParts(identities, policy, baseDn, asOf, progress);
  const { findings, skipped } = findCleanupAndSkips({ ...base, identities, asOf }, evaluated);
  // One definition of a managed identity (src/domain/managed-identity.ts), counted in the read model.
  const managedIdentities = await storeOf(deps).identities.countManaged();
  return { findings, skipped, managedIdentities, identities: identities.size, accounts: accounts.length };
}

/**
 * Every identity's verdict, a part at a time with the event loop free in between: the worker's
 * main thread also carries every workflow task and heartbeat, and 50,000 identities evaluated in
 * one go held it for 6 s (workflow tasks past their 5 s timeout, the status query unanswered).
 */
async function evaluateInParts(
  identities: Map<string, Identity>,
  policy: Policy,
  baseDn: string,
  asOf: Date,
  progress: (stage: string) => void,
): Promise<Evaluated> {
  const all = [...identities.values()];
  const evaluated: Evaluated = { verdicts: new Map(), skipped: [] };
  for (let i = 0; i < all.length; i += EVALUATE_PER_PART) {
    const part = evaluateIdentities(all.slice(i, i + EVALUATE_PER_PART), policy, baseDn, asOf);
    for (const [id, verdict] of part.verdicts) evaluated.verdicts.set(id, verdict);
    evaluated.skipped.push(...part.skipped);
    progress(`evaluated ${Math.min(i + EVALUATE_PER_PART, all.length)}/${all.length}`);
    await nextTurn();
  }
  return evaluated;
}

/**
 * The identities' records from the identity read model, a page of ids per round trip. An id the
 * read model has no row of (a person not written yet, before the first `tunnus index rebuild`) is
 * asked of its workflow: never guessed to be an orphan.
 */
async function loadIdentities(
  deps: CleanupDeps,
  ids: readonly string[],
  progress: (stage: string) => void,
): Promise<Map<string, Identity>> {
  const model = storeOf(deps).identities;
  const identities = new Map<string, Identity>();
  const missing: string[] = [];
  for (let i = 0; i < ids.length; i += ROWS_PER_READ) {
    const batch = ids.slice(i, i + ROWS_PER_READ);
    const rows = await model.getMany(batch);
    for (const id of batch) {
      const row = rows.get(id);
      if (row) identities.set(id, identityOf(row));
      else missing.push(id);
    }
    progress(`identities ${Math.min(i + ROWS_PER_READ, ids.length)}/${ids.length}`);
    await nextTurn(); // SQLite and the row decryption answer at once: 50,000 rows held it for seconds
  }
  for (let i = 0; i < missing.length; i += QUERY_CONCURRENCY) {
    const batch = missing.slice(i, i + QUERY_CONCURRENCY);
    const loaded = await Promise.all(batch.map((id) => loadIdentity(deps.client, id)));
    loaded.forEach((identity) => identity && identities.set(identity.employeeId, identity));
    progress(`identities without a row ${Math.min(i + QUERY_CONCURRENCY, missing.length)}/${missing.length}`);
  }
  return identities;
}

/** What the cleanup needs of a read model row. */
const identityOf = (row: IdentityRow): Identity => ({
  employeeId: row.identityId,
  ...(row.record ? { record: row.record } : {}),
  ...(row.disabledAt ? { disabledAt: row.disabledAt } : {}),
});

/** The record store the deps name, else the configured one (opened once per process). */
let configuredStore: RecordStore | undefined;
function storeOf(deps: CleanupDeps): RecordStore {
  if (typeof deps.store === 'function') return deps.store();
  return deps.store ?? (configuredStore ??= openRecordIndex(parseEnv()));
}

let configuredKeys: IdentityKeys | undefined;
function keysOf(deps: CleanupDeps): IdentityKeys {
  if (typeof deps.keys === 'function') return deps.keys();
  return deps.keys ?? (configuredKeys ??= identityKeysFor(parseEnv()));
}

/** The person's latest record, from their entity workflow; undefined when there is none. */
async function loadIdentity(client: Client, employeeId: string): Promise<Identity | undefined> {
  try {
    const state = await queryPersonState(client, employeeId, QUERY_TIMEOUT_MS);
    if (!state) return undefined;
    return {
      employeeId,
      ...(state.record ? { record: state.record } : {}),
      ...(state.disabledAt ? { disabledAt: state.disabledAt } : {}),
    };
  } catch (err) {
    // Never guess: a person whose workflow cannot answer now is not an orphan. Retry later.
    throw ApplicationFailure.create({
      type: ErrorType.TemporalUnavailable,
      message: `cannot read identity ${employeeId}: ${(err as Error).message}`,
    });
  }
}

export const createCleanupActivities = (deps: CleanupDeps) => {
  const { directory: dir, cloud, policy, baseDn } = deps;
  const dirActs = createDirectoryActivities(dir, policy, { baseDn });
  const cloudActs = createCloudActivities(cloud, dir, deps.phone, policy);
  const store = () => storeOf(deps);

  return {
    /** Reads everything and returns the findings. Read-only. */
    async collectCleanup(cmd: { asOf: string }): Promise<Collected> {
      return guard(async () => {
        const collected = await collectCleanupFindings(deps, new Date(cmd.asOf), (stage) =>
          Context.current().heartbeat(stage),
        );
        log.info('cleanup collected', {
          accounts: collected.accounts,
          identities: collected.identities,
          findings: collected.findings.length,
          skipped: collected.skipped.length,
        });
        for (const s of collected.skipped) {
          log.warn('alert: cleanup skipped an identity', { employeeId: s.employeeId });
        }
        return {
          asOf: cmd.asOf,
          findings: await sealFindings(keysOf(deps), collected.findings),
          ...(collected.skipped.length > 0 ? { skipped: collected.skipped } : {}),
          managedIdentities: collected.managedIdentities,
          mode: policy.cleanup.mode,
          thresholdPercent: policy.safety.massChangeThresholdPercent,
          prices: policy.cleanup.monthlyPrices,
        };
      });
    },

    /** Fixes findings. Each fix is an ensure: a retried batch changes nothing twice. */
    /**
     * The mass-change guard over the losses the fixes would cause (with the window's earlier ones,
     * against the active identities): admitted into the window when ok; with `approvedBy`, written
     * as that operator's approval.
     */
    async admitCleanupLosses(cmd: { ref: string; losses: Loss[]; approvedBy?: string }): Promise<Admission> {
      return guard(async () => {
        const guardDeps = { store: store(), policy };
        if (!cmd.approvedBy) return admitLosses(guardDeps, cmd.ref, cmd.losses);
        await admitApproved(guardDeps, cmd.ref, cmd.losses, cmd.approvedBy);
        const verdict = await admitLosses(guardDeps, cmd.ref, []);
        return { ...verdict, admitted: true };
      });
    },

    async applyCleanup(cmd: { findings: Finding[]; asOf?: string }): Promise<Applied> {
      return guard(async () => {
        // Opened here, never in the workflow; a shredded person's line has nothing left to fix.
        const findings = await openFindings(keysOf(deps), cmd.findings);
        const done: Applied['done'] = {};
        const stale: Applied['done'] = {};
        const licences: Record<string, number> = {};
        const count = (kind: FindingKind) => (done[kind] = (done[kind] ?? 0) + 1);
        // Each finding is checked again against the identity as it is now, right before its fix:
        // asked of the person workflow itself (the authority), since a fix takes access away;
        // these are the findings' few people, not the population.
        const asOf = new Date();
        const current = new Map<string, Identity | undefined>();
        const ids = [...new Set(findings.map((f) => ('employeeId' in f ? f.employeeId : undefined)))];
        await Promise.all(
          ids
            .filter((id): id is string => !!id)
            .map(async (id) => current.set(id, await loadIdentity(deps.client, id))),
        );
        const holds = (f: Finding) =>
          findingStillHolds(
            f,
            'employeeId' in f && f.employeeId ? current.get(f.employeeId) : undefined,
            policy,
            baseDn,
            asOf,
          );
        // Read once per batch, not once per finding: the SKU list and group DNs do not change here.
        let tenantSkus: Awaited<ReturnType<CloudDirectory['listSubscribedSkus']>> | undefined;
        const groupDns = new Map<string, string | null>();
        for (const [i, f] of findings.entries()) {
          if (isShredded(f) || !holds(f)) {
            stale[f.kind] = (stale[f.kind] ?? 0) + 1;
            Context.current().heartbeat(i + 1);
            continue;
          }
          switch (f.kind) {
            case 'pastRetention':
              await dirActs.deleteAccount({ employeeId: f.employeeId });
              await cloudActs.deleteCloudUser({ employeeId: f.employeeId });
              if (policy.telephony.enabled)
                await cloudActs.removeCatalogueEntry({ employeeId: f.employeeId });
              count(f.kind);
              break;
            case 'licenceOnLeaver': {
              const user = await cloud.getUser(f.userId);
              if (!user) break;
              const skus = (tenantSkus ??= await cloud.listSubscribedSkus());
              for (const sku of await removeManagedLicences(cloud, user, skus, policy)) {
                licences[sku] = (licences[sku] ?? 0) + 1;
              }
              count(f.kind);
              break;
            }
            case 'orphanAccount':
              await dir.setEnabled(f.dn, false);
              count(f.kind);
              break;
            case 'ungrantedMember': {
              if (!groupDns.has(f.group)) groupDns.set(f.group, await dir.findGroup(f.group));
              const groupDn = groupDns.get(f.group);
              if (groupDn) await dir.removeFromGroup(groupDn, f.dn);
              count(f.kind);
              break;
            }
            case 'expiredReservation':
              await dir.deleteEntry(f.dn);
              count(f.kind);
              break;
          }
          Context.current().heartbeat(i + 1);
        }
        return { done, licences, ...(Object.keys(stale).length > 0 ? { stale } : {}) };
      });
    },
  };
};

export type CleanupActivities = ReturnType<typeof createCleanupActivities>;
