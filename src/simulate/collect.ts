import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { createDirectoryActivities } from '../activities/directory';
import { toFailure } from '../activities/failures';
import { inBatches } from '../in-batches';
import type { CloudDirectory, CloudSku, CloudUser } from '../connectors/graph/cloud-directory';
import { CloudError } from '../connectors/graph/errors';
import type { Directory } from '../connectors/ldap/directory';
import { DirectoryError } from '../connectors/ldap/errors';
import type { PhoneDirectory } from '../connectors/phone/phone-directory';
import { managedAttributeKeys, type DirectoryAccount } from '../domain/account';
import { accountAfterSteps, type ProjectedAccount } from '../domain/account-after';
import { catalogueChange, catalogueEntryFor } from '../domain/catalogue';
import { handoverFor } from '../domain/credentials';
import { firstDayDue } from '../domain/first-day';
import { cloudUserChange, cloudUserPatch, type CloudUserUpdate } from '../domain/cloud-user';
import { leaverLicences, licenceChangeByName, licenceChangeFor } from '../domain/licences';
import type { Plan } from '../domain/plan';
import { planPhoneSync } from '../domain/phone';
import { matchesGroupTemplate, type Policy } from '../domain/policy';
import type { HrRecord } from '../domain/record';
import {
  actionOf,
  describeSteps,
  groupChanges,
  type LicencePlan,
  type ObservedState,
  type PersonPlan,
  type PhonePlan,
} from './model';

// Collects plans: for each record, the real run's plan activity (`planPerson` from
// createDirectoryActivities, called directly, no Temporal) on a read-only view of the directory,
// plus what the run's cloud and telephony ensure-steps would change. Nothing is written: the
// connectors are wrapped so that any write throws.

export interface PlanningDeps {
  directory: Directory;
  cloud: CloudDirectory;
  phone: PhoneDirectory;
  policy: Policy;
  baseDn: string;
}

export class SimulationError extends Error {
  constructor(
    message: string,
    readonly employeeId?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SimulationError';
  }
}

/** Directory methods that only read; every other method is refused in a simulation. */
const READS = new Set([
  'findByEmployeeId',
  'takenNames',
  'findGroup',
  'findGroups',
  'listAccounts',
  'listAccountSummaries',
  'listMembers',
  'listGroupMembers',
  'listReservations',
]);

/**
 * The directory with every write refused: a simulation must never change anything. An allow-list
 * of reads, so a write method added to the interface later is refused too.
 */
export function readOnlyDirectory(dir: Directory): Directory {
  return new Proxy(dir, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      if (prop === 'close') return () => Promise.resolve(); // the owner closes the real one
      if (READS.has(prop)) return (value as (...a: unknown[]) => unknown).bind(target);
      return () => Promise.reject(new Error(`simulation must not write (${prop})`));
    },
  });
}

/**
 * The directory with `findByEmployeeId` answered from one listing of every account, taken once.
 * For plans over many people: AD does not index employeeID, so each lookup scans the users; one
 * paged listing costs about as much as a hundred lookups. Same answers, including the refusal
 * when two accounts carry one employeeID; everything else goes to the directory.
 */
export async function prefetchedDirectory(dir: Directory): Promise<Directory> {
  const byId = new Map<string, DirectoryAccount[]>();
  let accounts: DirectoryAccount[];
  try {
    accounts = await dir.listAccounts();
  } catch (err) {
    throw new SimulationError(
      `cannot list the directory's accounts: ${messageOf(toFailure(err))}`,
      undefined,
      {
        cause: err,
      },
    );
  }
  for (const account of accounts) {
    if (!account.employeeId) continue;
    const key = account.employeeId.toLowerCase(); // AD matches employeeID case-insensitively
    byId.set(key, [...(byId.get(key) ?? []), account]);
  }
  return new Proxy(dir, {
    get(target, prop, receiver) {
      if (prop !== 'findByEmployeeId') return Reflect.get(target, prop, receiver) as unknown;
      return async (id: string) => {
        const found = byId.get(id.toLowerCase()) ?? [];
        if (found.length > 1) {
          throw new DirectoryError(
            'duplicateIdentity',
            'findByEmployeeId: more than one account carries this employeeID',
            false,
          );
        }
        return found[0] ? structuredClone(found[0]) : null;
      };
    },
  });
}

/**
 * The cloud with `findUserByEmployeeId` answered from one listing of every user, taken once: for
 * plans over many people (a policy plan over 50,000 would otherwise make 50,000 filtered Graph
 * calls, each a search in the tenant). Same answers, including the refusal when two cloud users
 * carry one employeeId; everything else goes to the cloud.
 */
export async function prefetchedCloud(cloud: CloudDirectory): Promise<CloudDirectory> {
  const byId = new Map<string, CloudUser[]>();
  let users: CloudUser[];
  try {
    users = await cloud.listUsers();
  } catch (err) {
    throw new SimulationError(`cannot list the cloud users: ${messageOf(toFailure(err))}`, undefined, {
      cause: err,
    });
  }
  for (const user of users) {
    if (!user.employeeId) continue;
    const key = user.employeeId.toLowerCase(); // Graph's eq on strings ignores case
    byId.set(key, [...(byId.get(key) ?? []), user]);
  }
  return new Proxy(cloud, {
    get(target, prop, receiver) {
      if (prop !== 'findUserByEmployeeId') return Reflect.get(target, prop, receiver) as unknown;
      return async (id: string) => {
        const found = byId.get(id.toLowerCase()) ?? [];
        if (found.length > 1) {
          throw new CloudError('findUserByEmployeeId: more than one cloud user carries the employeeId', {
            kind: 'conflict',
            retryable: false,
            property: 'employeeId',
          });
        }
        return found[0] ? structuredClone(found[0]) : null;
      };
    },
  });
}

/** Accounts read while planning one person, keyed by employeeID (the person and their manager). */
type Reads = Map<string, DirectoryAccount | null>;

export interface Planner {
  /** Plans one person as of the instant; throws SimulationError when any source cannot be read. */
  plan(record: HrRecord, asOf: Date): Promise<PersonPlan>;
}

export function createPlanner(deps: PlanningDeps): Planner {
  const reads = new AsyncLocalStorage<Reads>();
  const base = readOnlyDirectory(deps.directory);
  // The plan activity reads through this view, so the fingerprint covers exactly what it saw.
  const recording = new Proxy(base, {
    get(target, prop, receiver) {
      if (prop !== 'findByEmployeeId') return Reflect.get(target, prop, receiver) as unknown;
      return async (id: string) => {
        const account = await target.findByEmployeeId(id);
        reads.getStore()?.set(id, account);
        return account;
      };
    },
  });
  // Per-account reads: those are what the prefetched listing answers and this view records.
  const activities = createDirectoryActivities(recording, deps.policy, {
    baseDn: deps.baseDn,
    planReads: 'per-account',
  });
  const policy = deps.policy;

  let skus: Promise<CloudSku[]> | undefined;
  const subscribedSkus = () => (skus ??= deps.cloud.listSubscribedSkus());
  const groupExists = new Map<string, Promise<boolean>>();
  const checkGroup = (name: string) => {
    let known = groupExists.get(name);
    if (!known) groupExists.set(name, (known = deps.directory.findGroup(name).then((dn) => dn !== null)));
    return known;
  };

  return {
    async plan(record, asOf) {
      const id = record.employeeId;
      const seen: Reads = new Map();
      let plan: Plan;
      try {
        plan = await reads.run(seen, () => activities.planPerson({ record, asOf: asOf.toISOString() }));
      } catch (err) {
        throw new SimulationError(`cannot plan ${id}: ${messageOf(err)}`, id, { cause: err });
      }
      const account = seen.get(id) ?? null;
      const { added, removed } = groupChanges(plan.steps);
      const warnings: string[] = [];
      // A held plan (an end date far in the past, a deletion of an enabled account) runs nothing.
      if (plan.hold) warnings.push(`${plan.hold.reason}: the run would wait for an operator`);
      for (const g of added) {
        // A school's or class's group is created by the run with its first member.
        if (matchesGroupTemplate(policy, g)) continue;
        if (!(await checkGroup(g).catch(rethrowAs(id, 'read the directory')))) {
          warnings.push(
            `group ${g} does not exist in the directory: the run would fail (PolicyTargetMissing)`,
          );
        }
      }

      let user: CloudUser | null = null;
      if (plan.services.cloud) {
        user = await deps.cloud.findUserByEmployeeId(id).catch(rethrowAs(id, 'read the cloud user'));
      }
      let cloudUser: PersonPlan['cloudUser'] = null;
      let cloudChange: CloudUserUpdate | undefined;
      let licences: LicencePlan | null = null;
      // The account as the directory steps leave it: what the run's cloud and telephony steps read.
      const after = accountAfterSteps(account, plan.steps);
      // Leavers and deletions end the services instead (converge's endServices).
      const ending = plan.phase === 'left' || plan.phase === 'deleted';
      if (plan.services.cloud && !plan.hold) {
        const all = await subscribedSkus().catch(rethrowAs(id, 'read the licence pool'));
        // Every decision below is the run's own function (src/domain/cloud-user.ts, licences.ts).
        if (ending) {
          const managedHeld = user ? leaverLicences(user.assignedLicenses, all, policy) : [];
          if (user && plan.phase === 'deleted') cloudUser = 'delete';
          else if (user && (user.accountEnabled !== false || managedHeld.length > 0)) cloudUser = 'retire';
          licences = {
            add: [],
            remove: managedHeld.map((s) => s.skuPartNumber),
            replace: [],
            shortOfSeats: [],
            unknown: [],
          };
        } else {
          if (!user) cloudUser = policy.cloud.mode === 'direct' ? 'create' : 'waitForSync';
          else {
            cloudChange = cloudUserPatch(cloudUserChange(user, after, policy));
            if (Object.keys(cloudChange).length > 0) cloudUser = 'update';
          }
          const current = user?.assignedLicenses ?? [];
          const change = licenceChangeFor(current, plan.services.licences, policy, all);
          licences = {
            ...licenceChangeByName(current, change, all),
            shortOfSeats: change.shortOfSeats,
            unknown: [...change.unknownSkus, ...change.unknownPlans],
          };
          if (licences.unknown.length > 0) {
            warnings.push(`licences the tenant lacks: ${licences.unknown.join(', ')}: the run would fail`);
          }
          if (licences.shortOfSeats.length > 0) {
            warnings.push(`no free seat of ${licences.shortOfSeats.join(', ')}: the run would wait for one`);
          }
        }
      }

      let phone: PhonePlan | null = null;
      if (plan.services.telephony) {
        phone = await (
          ending
            ? deps.phone
                .getCatalogueEntry(id)
                .then((entry): PhonePlan => ({ catalogue: entry ? 'remove' : null, ad: [], cloud: [] }))
            : planPhone(deps.phone, plan, account, after, plan.services.cloud ? user : null)
        ).catch(rethrowAs(id, 'read the telephony platform'));
      }

      const state: ObservedState = {
        account: account ? observeAccount(account) : null,
        ...(record.managerId ? { managerDn: seen.get(record.managerId)?.dn ?? null } : {}),
        ...(plan.services.cloud
          ? {
              cloud: {
                exists: user !== null,
                usageLocation: user?.usageLocation ?? null,
                // What the cloud-user decision reads: a change to any of these moves the plan.
                ...(user ? { fields: cloudFieldsOf(user) } : {}),
                licences: (user?.assignedLicenses ?? [])
                  .map((l) => `${l.skuId}:${[...l.disabledPlans].sort().join(',')}`)
                  .sort(),
              },
            }
          : {}),
      };
      // The run waits for the pre-hire date, and for the date of a change HR dated ahead.
      const dates: { provisionAt: string; effectiveAt?: string } = plan.schedule;
      const waitsUntil = [dates.provisionAt, dates.effectiveAt]
        .filter((d): d is string => d !== undefined && asOf.getTime() < Date.parse(d))
        .sort()
        .pop();
      return {
        employeeId: id,
        plan,
        steps: describeSteps(plan.steps),
        actions: [...new Set(plan.steps.map(actionOf))],
        groupsAdded: added,
        groupsRemoved: removed,
        cloudUser,
        ...(cloudChange && Object.keys(cloudChange).length > 0 ? { cloudChange } : {}),
        licences,
        phone,
        ...(firstDayDue(
          plan.phase,
          plan.steps.some((s) => s.kind === 'enableAccount'),
        )
          ? { firstDay: { credential: handoverFor(policy, record)?.kind ?? 'none', notice: 'account-ready' } }
          : {}),
        ...(waitsUntil ? { notBefore: waitsUntil } : {}),
        warnings,
        state,
        fingerprint: fingerprintOf(state),
      };
    },
  };
}

/** What the run's syncPhone would write, given the account as it will be after the directory steps. */
async function planPhone(
  phone: PhoneDirectory,
  plan: Plan,
  account: DirectoryAccount | null,
  after: ProjectedAccount | null,
  user: CloudUser | null,
): Promise<PhonePlan> {
  const id = plan.employeeId;
  const [numbers, entry] = await Promise.all([phone.numbersFor(id), phone.getCatalogueEntry(id)]);
  let catalogue: PhonePlan['catalogue'] = entry ? null : 'create';
  const newMail = plan.steps.some((s) => s.kind === 'changePrimaryMail');
  if (entry && account && after && !newMail) {
    // The entry syncPhone writes (src/domain/catalogue.ts) from the account after the steps.
    catalogue = catalogueChange(
      entry,
      catalogueEntryFor(id, {
        sAMAccountName: account.sAMAccountName,
        userPrincipalName: account.userPrincipalName,
        ...after, // cleared attributes are absent here, as in AD after the run
      }),
    );
  } else if (entry) {
    // A new account's names, or a new primary address the run picks: written again.
    catalogue = 'update';
  }
  const sync = planPhoneSync(numbers ?? [], {
    ad: {
      ...(account?.telephoneNumber ? { telephoneNumber: account.telephoneNumber } : {}),
      ...(account?.mobile ? { mobile: account.mobile } : {}),
    },
    // A cloud user the run creates starts without phones; no cloud user at all: nothing written.
    cloud: user
      ? { businessPhones: user.businessPhones, mobilePhone: user.mobilePhone }
      : { businessPhones: [], mobilePhone: null },
  });
  return {
    catalogue,
    ad: Object.keys(sync.ad),
    cloud: plan.services.cloud ? Object.keys(sync.cloud) : [],
  };
}

function cloudFieldsOf(user: CloudUser): Record<string, string | boolean | null> {
  return {
    accountEnabled: user.accountEnabled,
    showInAddressList: user.showInAddressList,
    displayName: user.displayName,
    givenName: user.givenName,
    surname: user.surname,
    jobTitle: user.jobTitle,
    department: user.department,
  };
}

export function observeAccount(account: DirectoryAccount): NonNullable<ObservedState['account']> {
  return {
    dn: account.dn,
    ou: account.ou,
    enabled: account.enabled,
    attributes: Object.fromEntries(managedAttributeKeys.map((k) => [k, account[k] ?? null])),
    groups: [...account.memberOf].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())),
  };
}

/** SHA-256 of the state in a canonical form (sorted keys): equal states, equal fingerprints. */
export function fingerprintOf(state: ObservedState): string {
  return createHash('sha256').update(canonicalJson(state)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export interface CollectOptions {
  asOf?: Date;
  /** Persons planned at once (each plan is a few directory, cloud and telephony reads). */
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
  /** A person whose plan takes longer fails the simulation rather than hanging it. */
  personTimeoutMs?: number;
}

/**
 * Plans every record. Any person that cannot be planned fails the whole simulation: a partial
 * plan would read as "nothing to do" for the persons left out.
 */
export async function collectPlans(
  planner: Planner,
  records: HrRecord[],
  options: CollectOptions = {},
): Promise<PersonPlan[]> {
  const asOf = options.asOf ?? new Date();
  const timeoutMs = options.personTimeoutMs ?? 120_000;
  const out = new Array<PersonPlan>(records.length);
  const indexed = records.map((record, i) => ({ record, i }));
  let failure: unknown;
  let fail: (err: unknown) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => undefined); // observed through the race below
  const work = inBatches(
    indexed,
    options.concurrency ?? 16,
    async ({ record, i }) => {
      if (failure) return; // the first failure decides the outcome
      try {
        out[i] = await withTimeout(
          planner.plan(record, asOf),
          timeoutMs,
          () => new SimulationError(`cannot plan ${record.employeeId}: no answer within ${timeoutMs} ms`),
        );
      } catch (err) {
        if (failure === undefined) {
          failure = err;
          fail(err);
        }
      }
    },
    (done) => options.onProgress?.(done, records.length),
  );
  // Return on the first failure without waiting for reads still in flight: with a DC gone, a
  // read may not settle for a long time, and the outcome is already decided.
  await Promise.race([work, failed]);
  return out;
}

function withTimeout<T>(promise: Promise<T>, ms: number, error: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    // unref: a read abandoned after a failure must not keep the process alive until it fires
    timer = setTimeout(() => reject(error()), ms).unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function rethrowAs(employeeId: string, what: string) {
  return (err: unknown): never => {
    throw new SimulationError(`cannot plan ${employeeId}: cannot ${what}: ${messageOf(err)}`, employeeId, {
      cause: err,
    });
  };
}

function messageOf(err: unknown): string {
  if (err instanceof Error) {
    const type = (err as { type?: string }).type;
    return type ? `${type}: ${err.message}` : err.message;
  }
  return String(err);
}
