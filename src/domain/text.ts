// What a text field from HR or the education system may hold, before any field-specific rule.
// Real exports carry invisible characters that survive every eye check and then live in AD and
// mail addresses for years: bidi overrides that make a name read differently from what it is,
// zero-width characters that make two equal-looking names different, C1 controls from a
// mis-decoded Windows-1252 file, lone surrogates from a truncated UTF-16 export. Pure.

/** Why the raw value may not be used as text at all, or undefined. Names the offending code point. */
export function hiddenCharacterProblem(raw: string): string | undefined {
  if (!anyHidden.test(raw)) return undefined; // the common case, one scan
  if (!isWellFormed(raw)) return 'contains a lone surrogate (the text is not valid Unicode)';
  for (const ch of raw) {
    const kind = hiddenKind(ch.codePointAt(0)!);
    if (kind) return `contains ${kind} (${codePoint(ch)})`;
  }
  return undefined;
}

// Everything hiddenKind names: controls, format characters (bidi, zero-width …), private use,
// surrogates, noncharacters, line and paragraph separators.
const anyHidden = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Noncharacter_Code_Point}\u2028\u2029]/u;

function hiddenKind(cp: number): string | undefined {
  if (cp <= 0x1f || cp === 0x7f) return 'a control character';
  if (cp >= 0x80 && cp <= 0x9f) return 'a C1 control character'; // typically a Windows-1252 file read as Latin-1
  if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp === 0x200e || cp === 0x200f) {
    return 'a bidirectional control character';
  }
  if (cp === 0x061c) return 'a bidirectional control character';
  if ((cp >= 0x200b && cp <= 0x200d) || cp === 0x2060 || cp === 0xfeff) return 'a zero-width character';
  if (cp === 0x2028 || cp === 0x2029) return 'a line or paragraph separator';
  if ((cp >= 0xe000 && cp <= 0xf8ff) || cp >= 0xf0000) return 'a private-use character';
  if ((cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe) return 'a noncharacter';
  // The remaining invisible format characters (soft hyphen, tags, interlinear annotation …).
  if (/\p{Cf}/u.test(String.fromCodePoint(cp))) return 'an invisible formatting character';
  return undefined;
}

/**
 * The stored form of a text value: Unicode NFC (a macOS export's decomposed "ä" equals the
 * precomposed one), every space separator (no-break space from spreadsheets) as an ordinary space,
 * runs of spaces as one, trimmed.
 */
export function normaliseText(raw: string): string {
  return raw
    .normalize('NFC')
    .replace(/\p{Zs}+/gu, ' ')
    .trim();
}

/** "U+202E": how a character is shown in an error, never the raw (possibly invisible) character. */
export const codePoint = (ch: string): string =>
  `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/** How a visible character is quoted in an error: `"@" (U+0040)`. */
export const showCharacter = (ch: string): string => `"${ch}" (${codePoint(ch)})`;

// Letters, combining marks, the separators names use (space, hyphens, apostrophes, full stop) and
// ASCII digits (test and legacy data carry them; the naming rule keeps them).
export const APOSTROPHES = "'\u2019\u02BC\u2018\u02BB`\u00B4";
/**
 * Letters to Unicode that names write as apostrophes: ʼ ʻ ʽ, the hamza and ayin of Arabic in
 * Latin script (ʾ ʿ ˀ ˁ ʔ ʕ ˤ ꜣ ꜥ), the saltillo (ꞌ) and the Skolt Sámi softness mark (ʹ). Part of
 * a name, but they spell nothing in an account name, as an apostrophe does not.
 */
export const APOSTROPHE_LETTERS =
  /[\u02B9\u02BB-\u02BF\u02C0\u02C1\u02E4\u0294\u0295\uA722-\uA725\uA78B\uA78C]/u;
const HYPHENS = '\\-\u2010-\u2015\u2212\uFE63\uFF0D';
const nameSeparator = new RegExp(`[ .0-9${APOSTROPHES}${HYPHENS}]`, 'u');
// A name of Latin letters (and marks) and separators with at least one letter: nothing to report.
const commonName = new RegExp(
  `^[ .0-9${APOSTROPHES}${HYPHENS}]*\\p{Script=Latin}[\\p{Script=Latin}\\p{M} .0-9${APOSTROPHES}${HYPHENS}]*$`,
  'u',
);

/**
 * Why a (normalised) value cannot be a person's name, or undefined. A name holds at least one
 * letter; letters outside the Latin script are refused unless the policy lets the naming rule
 * transliterate them (naming.transliterateNonLatin).
 */
export function nameProblem(value: string, allowNonLatin: boolean): string | undefined {
  if (commonName.test(value)) return undefined; // the common case, one scan
  let letters = 0;
  for (const ch of value) {
    if (/\p{L}/u.test(ch)) {
      if (APOSTROPHE_LETTERS.test(ch)) continue;
      letters++;
      if (!allowNonLatin && !/\p{Script=Latin}/u.test(ch)) {
        return `is not in the Latin script (${showCharacter(ch)}); the policy does not transliterate other scripts (naming.transliterateNonLatin)`;
      }
    } else if (/\p{M}/u.test(ch)) {
      continue; // a combining mark NFC could not compose; it goes with the letter before it
    } else if (!nameSeparator.test(ch)) {
      return `contains ${showCharacter(ch)}, which is not part of a name`;
    }
  }
  return letters === 0 ? 'has no letters' : undefined;
}

/** Codes (job code, org unit, school code, manager and other ids) keep to this safe set. */
export const CODE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const CODE_RULE = 'letters A-Z, digits, . _ - (starting with a letter or digit)';

// String.prototype.isWellFormed (ES2024) exists in Node 20+, but the compile target is ES2022.
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();
