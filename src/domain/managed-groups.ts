import { parseRdn, splitDn } from '../connectors/ldap/escape';
import { groupsOu, managedGroups, matchesGroupTemplate, type Policy } from './policy';

// Which AD groups Tunnus manages, decided once for the run (planPerson's actual state), explain
// and the plan: the groups the policy names (looked up by name, since a group's CN may differ
// from its sAMAccountName), and groups a template makes (Class-{schoolCode}-{class}), managed by
// pattern in the groups OU, read from the account's own memberships without a search per class.

/** Whether a group (by name) is one Tunnus manages: named by the policy or made from a template. */
export function isManagedGroup(policy: Policy, name: string): boolean {
  return managedGroups(policy).includes(name) || matchesGroupTemplate(policy, name);
}

/** The full DN of the OU where template groups live. */
export const templateGroupsOuDn = (policy: Policy, baseDn: string): string => `${groupsOu(policy)},${baseDn}`;

/** The name of a template group from its DN, when it sits in the groups OU and fits a template. */
export function templateGroupName(policy: Policy, baseDn: string, dn: string): string | undefined {
  try {
    const { rdn, parent } = splitDn(dn);
    if (parent.toLowerCase() !== templateGroupsOuDn(policy, baseDn).toLowerCase()) return undefined;
    const { value } = parseRdn(rdn);
    return matchesGroupTemplate(policy, value) ? value : undefined;
  } catch {
    return undefined; // not a DN we can read: not ours
  }
}

/**
 * DN → name of every managed group: `named` holds the DNs found for the policy's named groups
 * (name → DN; a group that does not exist is simply absent), `memberOf` the account's groups,
 * among which template groups are recognised.
 */
export function resolveManagedGroups(
  policy: Policy,
  baseDn: string,
  named: ReadonlyMap<string, string>,
  memberOf: readonly string[] = [],
): Map<string, string> {
  const byDn = new Map<string, string>();
  for (const name of managedGroups(policy)) {
    const dn = named.get(name);
    if (dn) byDn.set(dn, name);
  }
  for (const dn of memberOf) {
    const name = templateGroupName(policy, baseDn, dn);
    if (name) byDn.set(dn, name);
  }
  return byDn;
}

/** The managed group a DN is, if any (DNs compare case-insensitively in AD). */
export function managedGroupOf(byDn: ReadonlyMap<string, string>, dn: string): string | undefined {
  const exact = byDn.get(dn);
  if (exact) return exact;
  for (const [key, name] of byDn) if (key.toLowerCase() === dn.toLowerCase()) return name;
  return undefined;
}
