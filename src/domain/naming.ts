// The naming rule (DESIGN.md "Naming rule"): how a person's names become an account's names.
// Pure and deterministic, so the plan activity and tests compute the same answer every time.

/** The parts of a record the naming rule reads. */
export interface PersonName {
  firstNames: string;
  callingName?: string;
  lastName: string;
}

export interface NamingDomains {
  upnDomain: string;
  mailDomain: string;
}

/** One candidate set of names for an account; the caller checks all of them for collisions. */
export interface NameCandidate {
  /** `given.last`, plus the collision number from 2 on. */
  localPart: string;
  cn: string;
  sAMAccountName: string;
  userPrincipalName: string;
  mail: string;
}

export type NameField = 'firstNames' | 'callingName' | 'lastName';

/** A name part leaves nothing after transliteration; the caller reports it as an InvalidRecord. */
export class NamingError extends Error {
  constructor(
    readonly field: NameField,
    message: string,
  ) {
    super(message);
    this.name = 'NamingError';
  }
}

/** Every candidate from 1 to maxN is taken; the caller reports it as a NameCollision. */
export class NameExhaustedError extends Error {
  constructor(
    readonly base: string,
    readonly maxN: number,
  ) {
    super(`every name candidate for "${base}" from 1 to ${maxN} is taken`);
    this.name = 'NameExhaustedError';
  }
}

/** AD caps sAMAccountName at 20 characters; UPN and mail keep the full local part. */
export const SAM_ACCOUNT_NAME_MAX = 20;

// Letters NFKD does not decompose (ø, æ, ß) or that the rule spells out explicitly. Keys are
// lower-case: the input is lower-cased first ('ẞ'.toLowerCase() is 'ß', 'Ø' → 'ø').
const explicit: Record<string, string> = {
  å: 'a',
  ä: 'a',
  ö: 'o',
  ü: 'u',
  ø: 'o',
  æ: 'ae',
  ß: 'ss',
  é: 'e',
  è: 'e',
};
const explicitPattern = /[åäöüøæßéè]/g;
const combiningMarks = /\p{M}/gu;
// Typographic hyphens and dashes in HR data mean the same as '-' ("Anna‑Maija" with U+2011).
const unicodeHyphens = /[\u2010-\u2015\u2212\uFE63\uFF0D]/g;
const apostrophesAndSpaces = /['\u2019\u02BC\u2018\u02BB`\u00B4\s]/gu;
const notKept = /[^a-z0-9-]/g;

/** Rule 2: a name as the ASCII `a-z 0-9 -` it contributes to an account name ("" if nothing). */
export function transliterate(s: string): string {
  return s
    .toLowerCase()
    .replace(explicitPattern, (c) => explicit[c] ?? c)
    .normalize('NFKD')
    .replace(combiningMarks, '')
    .toLowerCase() // NFKD can yield capitals from compatibility forms (e.g. full-width letters)
    .replace(unicodeHyphens, '-')
    .replace(apostrophesAndSpaces, '')
    .replace(notKept, '')
    .replace(/-{2,}/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** Rule 1: the calling name if given, else the first whitespace-separated token of the first names. */
export function givenNameFor(name: { firstNames: string; callingName?: string }): string {
  const calling = name.callingName?.trim().replace(/\s+/g, ' ');
  if (calling) return calling;
  return name.firstNames.trim().split(/\s+/)[0] ?? '';
}

/** Rule 3: `given.last`. Throws NamingError naming the field whose part transliterates to nothing. */
export function baseLocalPart(name: PersonName): string {
  const givenField: NameField = name.callingName?.trim() ? 'callingName' : 'firstNames';
  const given = transliterate(givenNameFor(name));
  if (given === '') {
    throw new NamingError(givenField, `${givenField} has no letters or digits usable in an account name`);
  }
  const last = transliterate(name.lastName);
  if (last === '') {
    throw new NamingError('lastName', 'lastName has no letters or digits usable in an account name');
  }
  return `${given}.${last}`;
}

/** Rules 4–6: the names for collision number n (1 = the base itself, n ≥ 2 appends n). */
export function candidateNames(base: string, n: number, domains: NamingDomains): NameCandidate {
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`collision number must be an integer ≥ 1, got ${n}`);
  const suffix = n === 1 ? '' : String(n);
  const localPart = base + suffix;
  // The digits must survive the 20-character cut, so the stem gives way to them.
  const stem = trimTrailingDotsAndHyphens(base.slice(0, SAM_ACCOUNT_NAME_MAX - suffix.length));
  return {
    localPart,
    cn: localPart,
    sAMAccountName: stem + suffix,
    userPrincipalName: `${localPart}@${domains.upnDomain}`,
    mail: `${localPart}@${domains.mailDomain}`,
  };
}

/**
 * Rule 5: the candidate with the smallest free n. The caller supplies `isTaken`, which checks the
 * candidate's sAMAccountName, UPN, mail and proxyAddresses against other identities.
 */
export function allocateName(
  base: string,
  domains: NamingDomains,
  isTaken: (candidate: NameCandidate) => boolean,
  maxN = 999,
): NameCandidate {
  for (let n = 1; n <= maxN; n++) {
    const candidate = candidateNames(base, n, domains);
    if (!isTaken(candidate)) return candidate;
  }
  throw new NameExhaustedError(base, maxN);
}

/** `Given Last` in the original spelling ("Anna-Maija Ääpälä"), whitespace tidied. */
export function displayNameFor(name: PersonName): string {
  return `${givenNameFor(name)} ${name.lastName.trim().replace(/\s+/g, ' ')}`;
}

function trimTrailingDotsAndHyphens(s: string): string {
  return s.replace(/[.-]+$/, '');
}
