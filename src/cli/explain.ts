import { personState } from '../ops/persons';
import { loadPolicy, parseEnv, type Env } from '../config';
import type { Directory } from '../connectors/ldap/directory';
import {
  describeReasons,
  describeUnmet,
  explain as explainPerson,
  type Explanation,
  type ItemExplanation,
  type ItemStatus,
} from '../domain/explain';
import type { IdentityRecord } from '../domain/identity';
import { managedGroupOf, resolveManagedGroups } from '../domain/managed-groups';
import { managedGroups, type Policy } from '../domain/policy';
import { CliContext } from './context';
import { CliError } from './errors';
import { ExitCode } from './exit-codes';
import { runCommandLine } from './run';
import { withTemporal } from './temporal';

// `tunnus explain <employeeId> [--json]`: why the person has each group, licence and OU, and what
// they hold that no rule grants. Reads only: the record from the person workflow, the account
// from AD, licences from Graph. Names go to the operator's console, never to a log.

/* eslint-disable @typescript-eslint/no-require-imports -- the connectors load once Temporal has
   answered, so an unreachable server is reported without waiting for them */
const wiring = () => require('../wiring') as typeof import('../wiring');
/* eslint-enable @typescript-eslint/no-require-imports */

export interface Holdings {
  account: { sAMAccountName: string; displayName?: string; ouDn: string; groups: string[] } | null;
  /** null: Graph not configured; [] also when there is no cloud user. */
  licences: string[] | null;
  cloudUser: boolean;
}

/** `employeeId` is validated and canonical (src/cli/options.ts). */
export async function explain(
  ctx: CliContext,
  employeeId: string,
  options: { json?: boolean },
): Promise<ExitCode> {
  const env = ctx.env;
  const policy = loadPolicy(env.TUNNUS_POLICY_FILE);
  // The record (read model) and what the person holds (AD, Graph) are independent: both read at
  // once. A person unknown to Tunnus is reported as such whatever the directory answers.
  const holdingsRead = readHoldings(employeeId, policy, env);
  holdingsRead.catch(() => undefined); // awaited below, once the record is known
  const state = await identityRecord(env, employeeId);
  if (!state) throw new CliError('not_found', `no person ${employeeId}`);
  if (!state.record) throw new CliError('not_found', `person ${employeeId} has no record yet`);
  const holdings = await holdingsRead;
  const explanation = explainPerson({
    record: state.record,
    policy,
    baseDn: env.LDAP_BASE_DN,
    asOf: ctx.now(),
    actual: {
      ou: holdings.account?.ouDn ?? null,
      groups: holdings.account?.groups ?? [],
      licences: holdings.licences,
    },
  });
  if (options.json) {
    // Business keys and policy names only: safe to paste into a ticket.
    ctx.print(JSON.stringify({ ...explanation, cloudUser: holdings.cloudUser }, null, 2));
  } else {
    ctx.print(formatExplanation(explanation, holdings, state.record));
  }
  return ExitCode.Ok;
}

/**
 * The person's record from the identity read model; a person it has no row of yet (just
 * delivered, or before the first `tunnus index rebuild`) is asked of the workflow.
 */
async function identityRecord(env: Env, employeeId: string): Promise<{ record?: IdentityRecord } | null> {
  const store = wiring().openRecordIndex(env);
  try {
    const row = await store.identities.get(employeeId);
    if (row) return row;
  } finally {
    await store.close();
  }
  return withTemporal(env, (client) => personState(client, employeeId));
}

/** `tunnus explain …` with its arguments, for callers that hold one output stream (tests). */
export async function explainCommand(
  argv: string[],
  out: NodeJS.WritableStream = process.stdout,
  env: Env = parseEnv(),
): Promise<number> {
  return runCommandLine(['explain', ...argv], new CliContext(out, out, () => env));
}

/** What the person holds: AD account, OU and groups (by LDAP); licences (by Graph, if configured). */
export async function readHoldings(employeeId: string, policy: Policy, env: Env): Promise<Holdings> {
  // AD and the cloud at once, and within each every read at once: explain is one person, so its
  // time is the round trips, not the work (p95 under 100 ms at 50,000 identities, issue 11).
  const [account, cloud] = await Promise.all([
    readAccount(employeeId, policy, env),
    readLicences(employeeId, env),
  ]);
  return { account, ...cloud };
}

async function readAccount(employeeId: string, policy: Policy, env: Env): Promise<Holdings['account']> {
  const directory = wiring().createDirectoryFromEnv(
    env,
    undefined,
    'LDAP_BIND_PASSWORD is required to read the directory',
  );
  try {
    const [found, named] = await Promise.all([
      directory.findByEmployeeId(employeeId),
      managedGroupDns(directory, policy),
    ]);
    return (
      found && {
        sAMAccountName: found.sAMAccountName,
        ...(found.displayName ? { displayName: found.displayName } : {}),
        ouDn: found.ou,
        groups: groupNames(policy, named, found.memberOf, env.LDAP_BASE_DN),
      }
    );
  } finally {
    await directory.close();
  }
}

async function readLicences(employeeId: string, env: Env): Promise<Omit<Holdings, 'account'>> {
  if (!env.GRAPH_STATIC_TOKEN && !env.GRAPH_TENANT_ID) return { licences: null, cloudUser: false };
  const cloud = wiring().createCloudDirectory(env);
  const [user, skus] = await Promise.all([
    cloud.findUserByEmployeeId(employeeId),
    cloud.listSubscribedSkus(),
  ]);
  if (!user) return { licences: [], cloudUser: false };
  const partNumber = (skuId: string) => skus.find((s) => s.skuId === skuId)?.skuPartNumber ?? skuId;
  return { licences: user.assignedLicenses.map((l) => partNumber(l.skuId)), cloudUser: true };
}

/** The DN of every named managed group that exists, in one search. */
async function managedGroupDns(directory: Directory, policy: Policy): Promise<Map<string, string>> {
  return directory.findGroups(managedGroups(policy));
}

/**
 * Group names as the policy writes them (sAMAccountName). Managed groups — named ones, matched by
 * DN since a group's CN may differ from its sAMAccountName, and template groups — are resolved as
 * the run resolves them (src/domain/managed-groups.ts); any other group shows its CN.
 */
function groupNames(
  policy: Policy,
  named: Map<string, string>,
  memberOf: string[],
  baseDn: string,
): string[] {
  const managedByDn = resolveManagedGroups(policy, baseDn, named, memberOf);
  return memberOf.map((dn) => managedGroupOf(managedByDn, dn) ?? commonName(dn));
}

/** "CN=Smith\, John,OU=…" → "Smith, John". */
export function commonName(dn: string): string {
  const match = /^CN=((?:\\.|[^,])+)/i.exec(dn);
  return match ? match[1]!.replace(/\\(.)/g, '$1') : dn;
}

const STATUS_LABEL: Record<ItemStatus, string> = {
  granted: 'granted',
  missing: 'missing',
  unknown: 'unknown',
  'hand-granted': 'HAND-GRANTED',
  unmanaged: 'not managed by Tunnus',
};

function itemLine(item: ItemExplanation, width: number): string[] {
  const head = `  ${item.name.padEnd(width)}  ${STATUS_LABEL[item.status].padEnd(21)}`;
  const lines: string[] = [];
  if (item.grantedBy.length > 0) {
    item.grantedBy.forEach((g, i) =>
      lines.push(
        `${i === 0 ? head : ' '.repeat(head.length)}  role ${g.role}: ${describeReasons(g.because)}`,
      ),
    );
  } else {
    lines.push(`${head}  ${item.status === 'unmanaged' ? '' : (item.note ?? '')}`.trimEnd());
  }
  if (item.grantedBy.length > 0 && item.note) lines.push(`${' '.repeat(head.length)}  ${item.note}`);
  for (const miss of item.otherRules) {
    lines.push(
      `${' '.repeat(head.length)}  role ${miss.role} would grant it, but ${describeUnmet(miss.unmet)}`,
    );
  }
  return lines;
}

export function formatExplanation(
  e: Explanation,
  holdings: Holdings,
  record: { firstNames: string; lastName: string; callingName?: string },
): string {
  const a = e.attributes;
  const who =
    holdings.account?.displayName ?? `${record.callingName ?? record.firstNames} ${record.lastName}`;
  const lines = [
    `person    ${e.employeeId}  ${who}${holdings.account ? ` (${holdings.account.sAMAccountName})` : ' (no AD account)'}`,
    `HR        jobCode ${a.jobCode}, orgUnit ${a.orgUnit}, employmentType ${a.employmentType}`,
    `phase     ${e.phase}  (start ${e.dates.start}${e.dates.end ? `, end ${e.dates.end}, deleted on ${e.dates.deleteOn}` : ''})`,
    `roles     ${
      e.roles
        .filter((r) => r.matches)
        .map((r) => r.role)
        .join(', ') || '(none match)'
    }`,
    '',
  ];
  const ou = e.ou;
  lines.push(
    `OU        ${ou.actual ?? '-'}  ${ou.status}` +
      (ou.grantedBy ? `  role ${ou.grantedBy.role}: ${describeReasons(ou.grantedBy.because)}` : '') +
      (ou.note ? `  (${ou.note})` : ''),
  );
  const width = Math.max(12, ...e.groups.map((g) => g.name.length), ...e.licences.map((l) => l.name.length));
  lines.push('', 'groups');
  if (e.groups.length === 0) lines.push('  (none)');
  for (const g of e.groups) lines.push(...itemLine(g, width));
  lines.push(
    '',
    `licences${e.licencesRead ? (holdings.cloudUser ? '' : '  (no cloud user)') : '  (Graph not configured: held licences unknown)'}`,
  );
  if (e.licences.length === 0) lines.push('  (none)');
  for (const l of e.licences) {
    lines.push(...itemLine(l, width));
    if (l.disabledPlans)
      lines.push(`${' '.repeat(width + 2)}  disabled plans: ${l.disabledPlans.join(', ')}`);
  }
  lines.push(
    '',
    e.flags.length === 0
      ? 'nothing to flag: the person holds what the policy grants'
      : `flags (${e.flags.length})`,
  );
  for (const f of e.flags) lines.push(`  ${f}`);
  return lines.join('\n');
}
