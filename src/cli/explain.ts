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
  const state = await identityRecord(env, employeeId);
  if (!state) throw new CliError('not_found', `no person ${employeeId}`);
  if (!state.record) throw new CliError('not_found', `person ${employeeId} has no record yet`);
  const policy = loadPolicy(env.TUNNUS_POLICY_FILE);
  const holdings = await readHoldings(employeeId, policy, env);
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
  const { createCloudDirectory, createDirectoryFromEnv } = wiring();
  const directory = createDirectoryFromEnv(
    env,
    undefined,
    'LDAP_BIND_PASSWORD is required to read the directory',
  );
  let account: Holdings['account'];
  try {
    const found = await directory.findByEmployeeId(employeeId);
    account = found && {
      sAMAccountName: found.sAMAccountName,
      ...(found.displayName ? { displayName: found.displayName } : {}),
      ouDn: found.ou,
      groups: await groupNames(directory, policy, found.memberOf, env.LDAP_BASE_DN),
    };
  } finally {
    await directory.close();
  }
  if (!env.GRAPH_STATIC_TOKEN && !env.GRAPH_TENANT_ID) return { account, licences: null, cloudUser: false };
  const cloud = createCloudDirectory(env);
  const user = await cloud.findUserByEmployeeId(employeeId);
  if (!user) return { account, licences: [], cloudUser: false };
  const skus = await cloud.listSubscribedSkus();
  const partNumber = (skuId: string) => skus.find((s) => s.skuId === skuId)?.skuPartNumber ?? skuId;
  return { account, licences: user.assignedLicenses.map((l) => partNumber(l.skuId)), cloudUser: true };
}

/**
 * Group names as the policy writes them (sAMAccountName). Managed groups — named ones, matched by
 * DN since a group's CN may differ from its sAMAccountName, and template groups — are resolved as
 * the run resolves them (src/domain/managed-groups.ts); any other group shows its CN.
 */
async function groupNames(
  directory: Directory,
  policy: Policy,
  memberOf: string[],
  baseDn: string,
): Promise<string[]> {
  const named = new Map<string, string>();
  for (const name of managedGroups(policy)) {
    const dn = await directory.findGroup(name);
    if (dn) named.set(name, dn);
  }
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
