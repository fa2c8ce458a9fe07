import type { AccountSummary } from './account';
import { helsinkiDate } from './dates';
import { desiredAccount, phaseAt, scheduleFor, type Phase } from './plan';
import { managedGroups, managedOus, managedSkus, type Policy } from './policy';
import type { HrRecord } from './record';
import type { Finding } from './cleanup-report';

export * from './cleanup-report';

// The daily leaver cleanup, as a pure function: what the directory, the cloud and the policy say
// about every managed account, compared with what each identity's record says it should be.
// It finds what the person workflows missed (a failed run, a hand edit, an account made outside
// Tunnus); the cleanup workflow reports or fixes it. Same planning code as the person runs.

/** What the cleanup knows of one identity: its latest record (from the person workflow). */
export interface Identity {
  employeeId: string;
  record?: HrRecord;
  /** When the person's end of access disabled the account: retention counts from here. */
  disabledAt?: string;
}

/** An identity the cleanup could not evaluate (e.g. a date it cannot schedule): reported, skipped. */
export interface SkippedIdentity {
  employeeId: string;
  why: string;
}

export interface CloudUserView {
  id: string;
  employeeId: string | null;
  accountEnabled: boolean | null;
  /** Part numbers of the assigned licences. */
  skus: string[];
}

export interface CleanupInput {
  asOf: Date;
  policy: Policy;
  baseDn: string;
  accounts: AccountSummary[];
  /** employeeId → identity; an id absent here has no person workflow at all. */
  identities: Map<string, Identity>;
  cloudUsers: CloudUserView[];
  /** Managed group name → its members. */
  groupMembers: Map<string, { dn: string; employeeId?: string; sAMAccountName?: string }[]>;
  reservations: { dn: string; until: string }[];
}

const lower = (s: string) => s.toLowerCase();

/** The phase an identity's record puts it in now; undefined without a record. */
function phaseOf(identity: Identity | undefined, policy: Policy, asOf: Date): Phase | undefined {
  return identity?.record ? phaseAt(scheduleOf(identity, policy), asOf) : undefined;
}

const scheduleOf = (identity: Identity, policy: Policy) =>
  scheduleFor(identity.record!, policy, identity.disabledAt ? { disabledAt: identity.disabledAt } : {});

/** Accounts Tunnus manages: users in the OUs the policy places accounts in. */
export function managedAccounts<A extends AccountSummary>(
  accounts: A[],
  policy: Policy,
  baseDn: string,
): A[] {
  const ous = new Set(managedOus(policy).map((ou) => lower(`${ou},${baseDn}`)));
  return accounts.filter((a) => ous.has(lower(a.ou)));
}

export function findCleanup(input: CleanupInput): Finding[] {
  return findCleanupAndSkips(input).findings;
}

/** What the cleanup decides from one identity's record: its phase now and the groups it grants. */
export interface IdentityVerdict {
  /** Undefined without a record. */
  phase: Phase | undefined;
  /** The managed groups the record grants (empty without a record). */
  granted: ReadonlySet<string>;
}

export interface Evaluated {
  verdicts: Map<string, IdentityVerdict>;
  /** Identities whose data could not be evaluated: reported, skipped, never taken for orphans. */
  skipped: SkippedIdentity[];
}

/**
 * Each identity's verdict, or its skip when evaluating it throws: one person's bad data never
 * stops the cleanup. Each identity is evaluated once, however often it is met (as an account, a
 * cloud user, a member of several groups). A caller may evaluate in parts and merge them (the
 * activity does, so that 50,000 identities never hold the event loop for seconds).
 */
export function evaluateIdentities(
  identities: Iterable<Identity>,
  policy: Policy,
  baseDn: string,
  asOf: Date,
): Evaluated {
  const verdicts = new Map<string, IdentityVerdict>();
  const skipped: SkippedIdentity[] = [];
  for (const identity of identities) {
    try {
      const phase = phaseOf(identity, policy, asOf);
      const granted = identity.record
        ? new Set(desiredAccount(identity.record, policy, { baseDn, asOf }).groups)
        : new Set<string>();
      verdicts.set(identity.employeeId, { phase, granted });
    } catch (err) {
      skipped.push({
        employeeId: identity.employeeId,
        why: err instanceof Error ? err.message : String(err),
      });
    }
  }
  return { verdicts, skipped };
}

/**
 * The findings, and the identities left out because evaluating them threw. `evaluated`: the
 * verdicts of `input.identities` when the caller has them already (evaluateIdentities).
 */
export function findCleanupAndSkips(
  input: CleanupInput,
  evaluated: Evaluated = evaluateIdentities(
    input.identities.values(),
    input.policy,
    input.baseDn,
    input.asOf,
  ),
): {
  findings: Finding[];
  skipped: SkippedIdentity[];
} {
  const skip = new Set(evaluated.skipped.map((s) => s.employeeId));
  return { findings: collectFindings(input, evaluated.verdicts, skip), skipped: evaluated.skipped };
}

function collectFindings(
  input: CleanupInput,
  verdicts: Map<string, IdentityVerdict>,
  skip: Set<string>,
): Finding[] {
  const { asOf, policy, baseDn, identities } = input;
  const findings: Finding[] = [];
  const managed = managedAccounts(input.accounts, policy, baseDn);
  const byEmployeeId = new Map(input.accounts.filter((a) => a.employeeId).map((a) => [a.employeeId, a]));
  const phase = (employeeId?: string) => (employeeId ? verdicts.get(employeeId)?.phase : undefined);

  for (const account of managed) {
    if (skip.has(account.employeeId)) continue;
    const p = phase(account.employeeId);
    if (p === 'deleted') {
      const schedule = scheduleOf(identities.get(account.employeeId)!, policy);
      findings.push({
        kind: 'pastRetention',
        employeeId: account.employeeId,
        account: account.sAMAccountName,
        deleteAt: schedule.deleteAt!,
      });
    } else if (account.enabled && p !== 'active') {
      // Enabled but no identity says this person works here today.
      const why = !account.employeeId
        ? 'no employeeID'
        : p === undefined
          ? 'no identity for this employeeID'
          : `identity is ${p}`;
      findings.push({
        kind: 'orphanAccount',
        ...(account.employeeId ? { employeeId: account.employeeId } : {}),
        account: account.sAMAccountName,
        dn: account.dn,
        why,
      });
    }
  }

  // Licences on people who should not hold them: disabled or departed, except before a start date
  // (a joiner gets licences early so the mailbox is ready on day one).
  const skus = new Set(managedSkus(policy));
  for (const user of input.cloudUsers) {
    const held = user.skus.filter((s) => skus.has(s));
    if (held.length === 0 || !user.employeeId || skip.has(user.employeeId)) continue;
    const p = phase(user.employeeId);
    if (p === 'prehire' || p === 'pending' || p === 'active') continue;
    const account = byEmployeeId.get(user.employeeId);
    const why =
      p === 'left' || p === 'deleted'
        ? `identity is ${p}`
        : !account
          ? 'no AD account'
          : !account.enabled
            ? 'AD account disabled'
            : undefined;
    if (why)
      findings.push({
        kind: 'licenceOnLeaver',
        employeeId: user.employeeId,
        userId: user.id,
        skus: held,
        why,
      });
  }

  // Managed groups hold only members the policy grants them to: care-ERP access by job duties.
  for (const group of managedGroups(policy)) {
    for (const member of input.groupMembers.get(group) ?? []) {
      if (member.employeeId && skip.has(member.employeeId)) continue;
      // No identity: no verdict; an identity without a record grants nothing (empty set).
      const granted = !!member.employeeId && !!verdicts.get(member.employeeId)?.granted.has(group);
      if (!granted) {
        findings.push({
          kind: 'ungrantedMember',
          ...(member.employeeId ? { employeeId: member.employeeId } : {}),
          account: member.sAMAccountName ?? member.dn,
          dn: member.dn,
          group,
        });
      }
    }
  }

  const today = helsinkiDate(asOf);
  for (const r of input.reservations) {
    if (r.until < today) findings.push({ kind: 'expiredReservation', dn: r.dn, until: r.until });
  }
  return findings;
}

/** Employee ids the cleanup needs identities for: managed accounts, group members, cloud users. */
export function identityIdsToLoad(input: Omit<CleanupInput, 'identities' | 'asOf'>): string[] {
  const ids = new Set<string>();
  for (const a of managedAccounts(input.accounts, input.policy, input.baseDn))
    if (a.employeeId) ids.add(a.employeeId);
  for (const members of input.groupMembers.values())
    for (const m of members) if (m.employeeId) ids.add(m.employeeId);
  for (const u of input.cloudUsers) if (u.employeeId && u.skus.length > 0) ids.add(u.employeeId);
  return [...ids].sort();
}

/**
 * Whether a finding still holds for the identity as it is now (re-read right before the fix is
 * applied): HR may have corrected the record since the cleanup looked, and a fix against a stale
 * finding would take access from someone who should keep it. Findings without an identity (no
 * employeeID, expired reservations) stand as found.
 */
export function findingStillHolds(
  finding: Finding,
  identity: Identity | undefined,
  policy: Policy,
  baseDn: string,
  asOf: Date,
): boolean {
  const p = phaseOf(identity, policy, asOf);
  switch (finding.kind) {
    case 'pastRetention':
      return p === 'deleted';
    case 'orphanAccount':
      return !finding.employeeId || p !== 'active';
    case 'licenceOnLeaver':
      return p !== 'prehire' && p !== 'pending' && p !== 'active';
    case 'ungrantedMember':
      return !(
        identity?.record !== undefined &&
        desiredAccount(identity.record, policy, { baseDn, asOf }).groups.includes(finding.group)
      );
    case 'expiredReservation':
      return true;
  }
}
