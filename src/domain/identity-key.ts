// The canonical identity key (docs/architecture.md "Identity is keyed by the source's unique identifier"):
// the one form of a person's id at every edge — workflow id `person-{key}`, record index key, AD
// employeeID, Graph employeeId, API paths and CLI arguments. Pure and tiny: workflows import it.
//
// - Case-folded to upper case (ids look like E1001) and trimmed: AD matches employeeID
//   case-insensitively, so `e1001` *is* `E1001`, and Tunnus must not see two people there.
// - At most 16 characters: AD's employeeID and Graph's employeeId hold 16. A longer source id is
//   refused at the door (with the field named) rather than mapped to a surrogate: a surrogate
//   would need a durable mapping table, and ops could no longer search AD by the HR id.
// - Two spaces that cannot collide by construction: HR ids, and pupils' `S-{student id}`. An HR
//   id that starts with `S-` could be read as a pupil's, so it is refused at validation.

/** AD `employeeID` and Graph `employeeId` hold at most 16 characters. */
export const IDENTITY_KEY_MAX = 16;

/** Pupils' identity keys are `S-{studentId}`; HR ids never start with it. */
export const PUPIL_ID_PREFIX = 'S-';

/** A student id leaves room for the prefix within the 16 characters. */
export const STUDENT_ID_MAX = IDENTITY_KEY_MAX - PUPIL_ID_PREFIX.length;

/**
 * The canonical form of an id as it arrives: trimmed, ASCII letters upper-cased. Only ASCII is
 * folded ('ı'.toUpperCase() is 'I', 'ß' becomes 'SS'): any other character stays and is refused
 * by identityKeyProblem, so two different raw ids never fold into one. Total and idempotent.
 */
export function canonicalIdentityKey(raw: string): string {
  return raw.trim().replace(/[a-z]+/g, (s) => s.toUpperCase());
}

const KEY_PATTERN = /^[A-Z0-9][A-Z0-9-]*$/;

/** Why a canonical key is not a valid identity key, or undefined when it is. */
export function identityKeyProblem(key: string, max = IDENTITY_KEY_MAX): string | undefined {
  if (key === '') return 'is required';
  if (!KEY_PATTERN.test(key)) return `must be letters A-Z, digits or - (starting with a letter or digit)`;
  if (key.length > max) {
    return `must be at most ${max} characters (AD employeeID and Graph employeeId hold ${IDENTITY_KEY_MAX}); got ${key.length}`;
  }
  return undefined;
}

/** Whether a canonical key is in the pupils' space. */
export const isPupilKey = (key: string): boolean => key.startsWith(PUPIL_ID_PREFIX);

/** Why a canonical key is not a valid HR employee id (identity rules plus the HR space). */
export function hrEmployeeIdProblem(key: string): string | undefined {
  return (
    identityKeyProblem(key) ??
    (isPupilKey(key)
      ? `must not start with ${PUPIL_ID_PREFIX} (those ids are pupils from the education system)`
      : undefined)
  );
}

/** Why a canonical student id cannot make a pupil key, or undefined. */
export function studentIdProblem(key: string): string | undefined {
  return identityKeyProblem(key, STUDENT_ID_MAX);
}

/** A pupil's identity key: `S-{student id}`, canonical. */
export const pupilIdentityKey = (studentId: string): string =>
  `${PUPIL_ID_PREFIX}${canonicalIdentityKey(studentId)}`;
