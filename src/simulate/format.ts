import { changes, type PersonPlan, type PlanSummary } from './model';

// Pure text formatting of a simulation: one row per person, then the counts. Rows carry ids,
// group and licence names and step words only, never names or other personal data.

export interface TableOptions {
  /** Also list persons with nothing to do. */
  all?: boolean;
}

const signed = (plus: string[], minus: string[]) =>
  [...plus.map((x) => `+${x}`), ...minus.map((x) => `−${x}`)].join(' ') || '-';

export function personRow(p: PersonPlan): string[] {
  const actions: string[] = [...p.actions];
  if (p.cloudUser === 'create') actions.push('cloud user');
  else if (p.cloudUser === 'waitForSync') actions.push('wait for sync');
  else if (p.cloudUser === 'update' && p.cloudChange) {
    actions.push(`cloud update (${Object.keys(p.cloudChange).join(',')})`);
  } else if (p.cloudUser) actions.push(`cloud ${p.cloudUser}`);
  if (p.firstDay) actions.push(`first day (${p.firstDay.credential})`);
  const phone = p.phone
    ? [
        p.phone.catalogue ? `catalogue ${p.phone.catalogue}` : '',
        p.phone.ad.length > 0 ? `AD ${p.phone.ad.join(',')}` : '',
        p.phone.cloud.length > 0 ? `cloud ${p.phone.cloud.join(',')}` : '',
      ]
        .filter(Boolean)
        .join('; ') || '-'
    : '-';
  const licences = p.licences
    ? signed(p.licences.add, p.licences.remove) +
      (p.licences.replace.length > 0 ? ` ~${p.licences.replace.join(' ~')}` : '')
    : '-';
  return [
    p.employeeId,
    actions.join(', ') || (changes(p) ? 'services' : 'no change'),
    signed(p.groupsAdded, p.groupsRemoved),
    licences,
    phone,
    p.notBefore ? `from ${p.notBefore.slice(0, 10)}` : '',
  ];
}

const HEADER = ['employee', 'action', 'groups', 'licences', 'phone', 'when'];

export function formatTable(persons: PersonPlan[], options: TableOptions = {}): string {
  const shown = persons.filter((p) => options.all || changes(p));
  if (shown.length === 0) return '(no person would change)';
  const rows = [HEADER, ...shown.map(personRow)];
  const widths = HEADER.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const lines = rows.map((r) =>
    r
      .map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd(),
  );
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  for (const p of shown) for (const w of p.warnings) lines.push(`! ${p.employeeId}: ${w}`);
  return lines.join('\n');
}

const counts = (m: Record<string, number>) =>
  Object.entries(m)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k} ${n}`)
    .join(', ') || '-';

export function formatSummary(s: PlanSummary): string {
  const a = s.actions;
  const mc = s.massChange;
  const lines = [
    `persons planned   ${s.persons} (${s.changing} would change, ${s.unchanged} unchanged)`,
    `accounts          create ${a.create}, move ${a.move}, update ${a.update}, groups ${a.groups}, enable ${a.enable}, disable ${a.disable}, delete ${a.delete}`,
    `groups added      ${counts(s.groupsAdded)}`,
    `groups removed    ${counts(s.groupsRemoved)}`,
    `licences added    ${counts(s.licencesAdded)}`,
    `licences removed  ${counts(s.licencesRemoved)}`,
    `cloud users       ${s.cloudUsersCreated} to create`,
    `telephony         ${s.phoneChanges} persons`,
  ];
  if (s.deferred > 0)
    lines.push(`deferred          ${s.deferred} persons wait for their pre-hire date first`);
  if (s.warnings > 0) lines.push(`warnings          ${s.warnings} (listed with "!" above)`);
  lines.push(
    `mass-change guard ${mc.disables} disables + ${mc.deletes} deletes of ${mc.managed} managed identities (${mc.percent} %, threshold ${mc.thresholdPercent} %)` +
      (mc.trips ? ' — WOULD TRIP: the run would stop for approval' : ' — ok'),
  );
  return lines.join('\n');
}
