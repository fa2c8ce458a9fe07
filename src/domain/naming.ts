// The naming rule (docs/architecture.md "Naming rule"): how a person's names become an account's names.
// Pure and deterministic, so the plan activity and tests compute the same answer every time.

import anyAscii from 'any-ascii';
import { APOSTROPHE_LETTERS, APOSTROPHES, codePoint } from './text';

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

/** A name part the rule cannot spell; the caller reports it as an InvalidRecord (field named). */
export class NamingError extends Error {
  constructor(
    readonly field: NameField,
    /** What is wrong, without the field name ("has no letters …"). */
    readonly reason: string,
  ) {
    super(`${field} ${reason}`);
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
/** UPN and mail local parts (and AD cn) hold 64 characters. */
export const LOCAL_PART_MAX = 64;
/** A base local part leaves room for a collision number up to 999 (allocateName's maxN). */
export const BASE_LOCAL_PART_MAX = LOCAL_PART_MAX - 3;

// The Nordic rule first (docs/architecture.md, naming rule 2): letters NFKD does not decompose (ø, æ, ß) or that the
// rule spells out explicitly. Keys are lower-case: the input is lower-cased first ('ẞ' → 'ß').
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
  // docs/architecture.md: ŋ → n (Sámi "Iŋgá" is Inga); any-ascii would write "ng".
  ŋ: 'n',
};
const explicitPattern = /[åäöüøæßéèŋ]/g;
const combiningMarks = /\p{M}/gu;
// Typographic hyphens and dashes in HR data mean the same as '-' ("Anna‑Maija" with U+2011).
const unicodeHyphens = /[\u2010-\u2015\u2212\uFE63\uFF0D]/g;
const apostrophesAndSpaces = new RegExp(`[${APOSTROPHES}\\s]|${APOSTROPHE_LETTERS.source}`, 'gu');
const notKept = /[^a-z0-9-]/g;
const letter = /\p{L}/u;

/**
 * Rule 2: a name as the ASCII `a-z 0-9 -` it contributes to an account name ("" if nothing).
 * The Nordic letters by the rule's own table, then NFKD without marks (ñ → n, č → c), then
 * any-ascii for every other letter (ł → l, đ → d, þ → th, ı → i, ŋ → ng, œ → oe, and other scripts,
 * which validation admits only when the policy allows it). Every letter spells at least one
 * character: unspellableLetter finds one that would not, and baseLocalPart refuses it.
 */
export function transliterate(s: string): string {
  return anyAscii(prepare(s))
    .toLowerCase()
    .replace(apostrophesAndSpaces, '')
    .replace(notKept, '')
    .replace(/-{2,}/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** The first letter of `s` that the rule would spell as nothing, or undefined (there is none). */
export function unspellableLetter(s: string): string | undefined {
  if (/^[ -~]*$/.test(s)) return undefined; // printable ASCII spells itself
  for (const ch of s) if (!spells(ch)) return ch;
  return undefined;
}

// Per character, computed once: whether it is a letter that spells nothing.
const spelled = new Map<string, boolean>();
function spells(ch: string): boolean {
  let ok = spelled.get(ch);
  if (ok === undefined) {
    ok =
      !letter.test(ch) || APOSTROPHE_LETTERS.test(ch) || /[a-z0-9]/.test(anyAscii(prepare(ch)).toLowerCase());
    if (spelled.size < 10_000) spelled.set(ch, ok);
  }
  return ok;
}

function prepare(s: string): string {
  return s
    .toLowerCase()
    .replace(explicitPattern, (c) => explicit[c] ?? c)
    .normalize('NFKD')
    .replace(combiningMarks, '')
    .replace(unicodeHyphens, '-')
    .replace(apostrophesAndSpaces, '');
}

/** Rule 1: the calling name if given, else the first whitespace-separated token of the first names. */
export function givenNameFor(name: { firstNames: string; callingName?: string }): string {
  const calling = name.callingName?.trim().replace(/\s+/g, ' ');
  if (calling) return calling;
  return name.firstNames.trim().split(/\s+/)[0] ?? '';
}

/** Rule 3: `given.last`. Throws NamingError naming the field the rule cannot spell. */
export function baseLocalPart(name: PersonName): string {
  return `${spell(givenFieldOf(name), givenNameFor(name))}.${spell('lastName', name.lastName)}`;
}

/**
 * The base local parts an existing account's mail may carry for these names without that being a
 * name change: this rule's, and the rule's before it kept every letter (it dropped ł, đ, ŋ …).
 * A plan compares the account's mail with these, so the rule change alone never moves anyone to
 * a new address; only a real change of name does.
 */
export function knownBaseLocalParts(name: PersonName): string[] {
  const current = baseLocalPart(name);
  const given = legacyTransliterate(givenNameFor(name));
  const last = legacyTransliterate(name.lastName);
  const legacy = given && last ? `${given}.${last}` : undefined;
  return legacy && legacy !== current ? [current, legacy] : [current];
}

const givenFieldOf = (name: PersonName): NameField =>
  name.callingName?.trim() ? 'callingName' : 'firstNames';

function spell(field: NameField, value: string): string {
  const unspelled = unspellableLetter(value);
  if (unspelled !== undefined) {
    throw new NamingError(field, `has a letter the naming rule cannot spell (${codePoint(unspelled)})`);
  }
  const out = transliterate(value);
  if (out === '') throw new NamingError(field, 'has no letters or digits usable in an account name');
  return out;
}

/** The rule before issue 10 (NFKD only: letters without a decomposition were dropped). */
function legacyTransliterate(s: string): string {
  return s
    .toLowerCase()
    .replace(explicitPattern, (c) => explicit[c] ?? c)
    .normalize('NFKD')
    .replace(combiningMarks, '')
    .toLowerCase()
    .replace(unicodeHyphens, '-')
    .replace(apostrophesAndSpaces, '')
    .replace(notKept, '')
    .replace(/-{2,}/g, '-')
    .replace(/^-+|-+$/g, '');
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
