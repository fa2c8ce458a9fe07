import { addDays, helsinkiDate } from '../src/domain/dates';
import { recordFingerprint } from '../src/domain/fingerprint';
import { baseLocalPart } from '../src/domain/naming';
import type { LifecycleStage, PersonState } from '../src/domain/person-state';
import { desiredAccount, scheduleFor } from '../src/domain/plan';
import { entitlementsFor, type Policy } from '../src/domain/policy';
import type { HrRecord } from '../src/domain/record';

// The identities of the population benches (bench/cleanup.ts, bench/population-data.ts): N people
// with the roles' shares and a planted mess, each with the account, groups and licence its last
// run left, and the person state that run left. Deterministic: the same N gives the same people
// (a bench reuses the state dir of its last run).

export const FIRST_NAMES = [
  'Aino',
  'Eeva',
  'Helmi',
  'Venla',
  'Matti',
  'Juha',
  'Mikko',
  'Sari',
  'Päivi',
  'Timo',
  'Onni',
];
export const LAST_NAMES = [
  'Korhonen',
  'Virtanen',
  'Mäkinen',
  'Nieminen',
  'Mäkelä',
  'Hämäläinen',
  'Laine',
  'Koskinen',
  'Heikkinen',
];
const ROLES: { jobCode: string; orgUnit: string; jobTitle: string; share: number }[] = [
  { jobCode: 'SH01', orgUnit: 'SOTE-110', jobTitle: 'Sairaanhoitaja', share: 8 },
  { jobCode: 'LK01', orgUnit: 'SOTE-120', jobTitle: 'Lääkäri', share: 1 },
  { jobCode: 'SO01', orgUnit: 'SOTE-140', jobTitle: 'Sosiaalityöntekijä', share: 1 },
  { jobCode: 'OP01', orgUnit: 'KASV-210', jobTitle: 'Opettaja', share: 4 },
  { jobCode: 'HS01', orgUnit: 'HALL-010', jobTitle: 'Toimistosihteeri', share: 6 },
];
const ROLE_CYCLE = ROLES.flatMap((r) => Array.from({ length: r.share }, () => r));
const ascii = (s: string) =>
  s
    .normalize('NFD')
    .replace(/[^A-Za-z.]/g, '')
    .toLowerCase();

export type Kind = 'active' | 'licenceLeaver' | 'pastRetention' | 'orphan';

export interface Person {
  employeeId: string;
  kind: Kind;
  /** The HR record (none for an orphan account). */
  record?: HrRecord;
  sam: string;
  mail: string;
  ouDn: string;
  enabled: boolean;
  groups: string[];
  /** The account's text attributes as the policy wants them (an orphan: a consultant's). */
  attributes: Record<string, string>;
  /** Part number of the licence its cloud user holds; undefined: no licence. */
  sku?: string;
  cloudUser: boolean;
  /** Active person hand-added to a managed group no rule grants them. */
  handAdded?: string;
}

/** How many of each planted problem. */
export type Mess = {
  orphans: number;
  licenceLeavers: number;
  pastRetention: number;
  handAdded: number;
  reservations: number;
};

/**
 * 1 % orphan accounts, 0.5 % leavers whose cloud user still holds a licence, 0.5 % active nurses
 * hand-added to ERP-Physician, 0.2 % leavers past retention, 5 expired name reservations.
 */
export function messFor(people: number): Mess {
  const share = (p: number) => Math.max(1, Math.round((people * p) / 100));
  return {
    orphans: share(1),
    licenceLeavers: share(0.5),
    pastRetention: share(0.2),
    handAdded: share(0.5),
    reservations: 5,
  };
}

/** A bench's own names, so its accounts and workflows stay apart from another bench's. */
export interface Naming {
  /** Employee ids `{idPrefix}{i}`, i zero-padded to `idDigits`; orphans `{idPrefix}X{j}`. */
  idPrefix: string;
  idDigits: number;
  firstNames: readonly string[];
  lastNames: readonly string[];
  /** Length of the name part of an account's sAMAccountName (the index follows). */
  samLength: number;
}

/** `people` identities (the past-retention leavers first, then the licence leavers), then the orphans. */
export function buildPeople(
  people: number,
  mess: Mess,
  policy: Policy,
  baseDn: string,
  naming: Naming,
): Person[] {
  const { idPrefix, idDigits, firstNames, lastNames, samLength } = naming;
  const today = helsinkiDate(new Date());
  const asOf = new Date();
  const out: Person[] = [];
  let handAdded = 0;
  for (let i = 0; i < people; i++) {
    const kind: Kind =
      i < mess.pastRetention
        ? 'pastRetention'
        : i < mess.pastRetention + mess.licenceLeavers
          ? 'licenceLeaver'
          : 'active';
    const role = ROLE_CYCLE[i % ROLE_CYCLE.length]!;
    const first = firstNames[i % firstNames.length]!;
    const last = lastNames[Math.floor(i / firstNames.length) % lastNames.length]!;
    const endDate =
      kind === 'pastRetention'
        ? addDays(today, -200)
        : kind === 'licenceLeaver'
          ? addDays(today, -30)
          : undefined;
    const record: HrRecord = {
      employeeId: `${idPrefix}${String(i).padStart(idDigits, '0')}`,
      firstNames: first,
      lastName: last,
      jobTitle: role.jobTitle,
      jobCode: role.jobCode,
      orgUnit: role.orgUnit,
      employmentType: 'permanent',
      startDate: '2020-01-01',
      ...(endDate ? { endDate } : {}),
    };
    const want = desiredAccount(record, policy, { baseDn, asOf });
    let extra: string | undefined;
    if (kind === 'active' && role.jobCode === 'SH01' && handAdded < mess.handAdded) {
      extra = 'ERP-Physician';
      handAdded++;
    }
    out.push({
      employeeId: record.employeeId,
      kind,
      record,
      sam: `${ascii(`${first}.${last}`).slice(0, samLength)}${i}`,
      // The plan compares the mail's name part with the record's; the number is a collision suffix.
      mail: `${baseLocalPart(record)}${i + 2}@kerava.fi`,
      ouDn: want.ouDn,
      enabled: kind === 'active',
      groups: [...want.groups, ...(extra ? [extra] : [])],
      attributes: Object.fromEntries(
        Object.entries(want.attributes).filter((e): e is [string, string] => typeof e[1] === 'string'),
      ),
      ...(kind === 'pastRetention' ? {} : { sku: entitlementsFor(policy, record).licences[0]?.sku }),
      cloudUser: true,
      ...(extra ? { handAdded: extra } : {}),
    });
  }
  for (let j = 0; j < mess.orphans; j++) {
    const sam = `ext.${ascii(lastNames[j % lastNames.length]!)}${j}`;
    out.push({
      employeeId: `${idPrefix}X${String(j).padStart(idDigits - 1, '0')}`,
      kind: 'orphan',
      sam,
      mail: `${sam}@kerava.fi`,
      ouDn: `${policy.roles.find((r) => r.name === 'office')?.ou ?? policy.ous.default},${baseDn}`,
      enabled: true,
      groups: [],
      attributes: { givenName: 'Ulkoinen', sn: 'Konsultti', displayName: 'Ulkoinen Konsultti' },
      cloudUser: false,
    });
  }
  return out;
}

/**
 * The person state a person's last run left (not for an orphan): active, or left; past
 * retention, its delete run failed, so the person waits for ops (no timer re-runs it).
 */
export function personStateOf(p: Person, policy: Policy): PersonState {
  const record = p.record!;
  const schedule = scheduleFor(record, policy);
  const stage: LifecycleStage =
    p.kind === 'active' ? 'active' : p.kind === 'licenceLeaver' ? 'left' : 'failed';
  return {
    employeeId: p.employeeId,
    stage,
    source: 'hr',
    record,
    fingerprint: recordFingerprint(record),
    version: 1,
    recordsReceived: 1,
    duplicatesIgnored: 0,
    account: {
      employeeId: p.employeeId,
      sAMAccountName: p.sam,
      userPrincipalName: `${p.sam}@kerava.test`,
      created: true,
    },
    phase: p.kind === 'active' ? 'active' : 'left',
    schedule,
    ...(p.kind === 'pastRetention' ? { failedDueAt: schedule.deleteAt! } : {}),
    runs: [],
    timeline: [],
    runSeq: p.kind === 'active' ? 1 : 2,
  };
}
