import { educationIdentityId } from '../domain/identity';
import type { EducationRecord } from '../domain/education';
import { canonicalIdentityKey, identityKeyProblem } from '../domain/identity-key';
import { isSealed } from './seal';

// Whose data a payload is. The payload codec sees only payloads, so the identity comes from the
// value itself — `employeeId`/`identityId` at the top level or one level down (a signal's
// `{ record, source }`, a child's `{ employeeId, record, … }`, an activity's `{ record, asOf }`) —
// and, when the value names nobody, from the workflow the payload belongs to (person-E1001,
// joiner-E1001-2 …). test/unit/payload-attribution.test.ts holds this exact over every payload of
// the recorded histories: a payload with personal fields belongs to exactly one identity.

/** Fields that hold a person's name, address, birth date, contact or directory name. */
export const PERSONAL_FIELDS: ReadonlySet<string> = new Set([
  'firstNames',
  'callingName',
  'lastName',
  'name',
  'displayName',
  'givenName',
  'sn',
  'cn',
  'mail',
  'mailNickname',
  'otherMails',
  'userPrincipalName',
  'sAMAccountName',
  'proxyAddresses',
  'account',
  'dn',
  'distinguishedName',
  'dateOfBirth',
  'birthDate',
  'address',
  'streetAddress',
  'postalCode',
  'homeAddress',
  'telephoneNumber',
  'mobile',
  'mobilePhone',
  'businessPhones',
  // A record's fingerprint is its canonical JSON: the names in it.
  'fingerprint',
  'fingerprints',
]);

/** Fields whose value is the identity key of the object that holds them. */
const ID_FIELDS = ['employeeId', 'identityId'] as const;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The canonical key when `raw` is a valid identity key, else undefined. */
function validKey(raw: unknown): string | undefined {
  if (typeof raw !== 'string') return undefined;
  const key = canonicalIdentityKey(raw);
  return identityKeyProblem(key) === undefined ? key : undefined;
}

/** The identity an object names itself: an id field, or an education row's student/HR id. */
export function ownIdentity(o: Record<string, unknown>): string | undefined {
  for (const field of ID_FIELDS) {
    const key = validKey(o[field]);
    if (key) return key;
  }
  if (typeof o.studentId === 'string' || typeof o.hrEmployeeId === 'string') {
    try {
      return validKey(educationIdentityId(o as unknown as EducationRecord));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * The identity a payload's value belongs to: its own id, else the one id its direct children
 * name (a `{ record, source }` signal). Several different ids one level down: nobody's alone.
 */
export function identityOfValue(value: unknown): string | undefined {
  if (!isObject(value)) return undefined;
  const own = ownIdentity(value);
  if (own) return own;
  const below = new Set<string>();
  for (const child of Object.values(value)) {
    const id = isObject(child) ? ownIdentity(child) : undefined;
    if (id) below.add(id);
  }
  return below.size === 1 ? [...below][0] : undefined;
}

/** The runs of a person (src/domain/person-state.ts onRunStarted): `{kind}-{id}-{n}`. */
const RUN_ID = /^(?:joiner|mover|rehire|leaver|delete)-(.+)-\d+$/;

/** The identity a workflow id belongs to: the person workflow and its runs; others none. */
export function identityOfWorkflowId(workflowId: string | undefined): string | undefined {
  if (!workflowId) return undefined;
  if (workflowId.startsWith('person-')) return validKey(workflowId.slice('person-'.length));
  const run = RUN_ID.exec(workflowId);
  return run ? validKey(run[1]) : undefined;
}

export interface PersonalField {
  /** Dotted path to the field from the payload's top. */
  path: string;
  /** The identity the nearest enclosing object names (or the payload's, when none does). */
  owner: string | undefined;
  /** Every string the field holds (a name, an address, a list of them). */
  values: string[];
}

/** Every personal field in a value, with the identity of the nearest object that names one. */
export function personalFields(value: unknown, owner?: string): PersonalField[] {
  const out: PersonalField[] = [];
  const strings = (v: unknown): string[] =>
    typeof v === 'string'
      ? [v]
      : Array.isArray(v)
        ? v.flatMap(strings)
        : isObject(v)
          ? Object.values(v).flatMap(strings)
          : [];
  const walk = (v: unknown, path: string, inherited: string | undefined) => {
    if (Array.isArray(v)) return v.forEach((x, i) => walk(x, `${path}[${i}]`, inherited));
    if (!isObject(v)) return;
    const here = ownIdentity(v) ?? inherited;
    for (const [k, x] of Object.entries(v)) {
      const p = path ? `${path}.${k}` : k;
      if (PERSONAL_FIELDS.has(k)) {
        // A value sealed under its person's key (src/crypto/seal.ts) is ciphertext, not their data.
        const values = strings(x).filter((s) => s !== '' && !isSealed(s));
        if (values.length > 0) out.push({ path: p, owner: here, values });
      } else walk(x, p, here);
    }
  };
  walk(value, '', owner);
  return out;
}

/** Whether a value holds any personal field. */
export const hasPersonalData = (value: unknown): boolean => personalFields(value).length > 0;
