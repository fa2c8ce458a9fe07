// Escaping for the two places where a person's name becomes LDAP syntax: filter values
// (RFC 4515) and DN attribute values (RFC 4514). The connector builds filters from ldapts filter
// objects (EqualityFilter …), which BER-encode the value as data and need no escaping; the
// string escaper here is for the filter's text form (logs, tests) and anywhere a filter string
// is unavoidable. DN values have no such library helper that is correct (ldapts quotes values
// with leading spaces, an RFC 2253 form RFC 4514 dropped), so they are escaped here.

// Non-ASCII is left as UTF-8 (both RFCs allow it); this is only called for ASCII characters.
const hex = (ch: string): string => '\\' + ch.charCodeAt(0).toString(16).padStart(2, '0');

/** RFC 4515 §3: escapes `*`, `(`, `)`, `\` and NUL in an assertion value. */
export function escapeFilterValue(value: string): string {
  let out = '';
  for (const ch of value) {
    if (ch === '*' || ch === '(' || ch === ')' || ch === '\\' || ch === '\0') out += hex(ch);
    else out += ch;
  }
  return out;
}

// RFC 4514 §2.4 specials. `=` is optional in the RFC but Samba rejects an unescaped one.
const dnSpecials = new Set(['"', '+', ',', ';', '<', '>', '=']);

/**
 * RFC 4514 §2.4: escapes an attribute value for use in a DN (`CN=<here>,OU=…`).
 * A backslash is written as `\5C` rather than `\\`: ldapts splits a new DN for modifyDN at the
 * first comma not preceded by a backslash, which would misread `…\\,OU=`; `\5C` is equivalent.
 * `#` is escaped anywhere (only the leading one must be), matching how Samba writes DNs.
 */
export function escapeDnValue(value: string): string {
  if (value.length === 0) throw new Error('a DN attribute value must not be empty');
  const chars = [...value];
  let out = '';
  chars.forEach((ch, i) => {
    const code = ch.charCodeAt(0);
    if (ch === '\\') out += '\\5C';
    else if (code < 0x20 || code === 0x7f) out += hex(ch);
    else if (dnSpecials.has(ch) || ch === '#') out += '\\' + ch;
    else if (ch === ' ' && (i === 0 || i === chars.length - 1)) out += '\\ ';
    else out += ch;
  });
  return out;
}

/** Reverses RFC 4514 escaping of one attribute value (`\,` and `\2C` forms, UTF-8 hex pairs). */
export function unescapeDnValue(escaped: string): string {
  const bytes: number[] = [];
  const text = Buffer.from(escaped, 'utf8');
  for (let i = 0; i < text.length; i++) {
    const b = text[i] as number;
    if (b !== 0x5c) {
      bytes.push(b);
      continue;
    }
    const pair = text.subarray(i + 1, i + 3).toString('latin1');
    if (/^[0-9a-fA-F]{2}$/.test(pair)) {
      bytes.push(parseInt(pair, 16));
      i += 2;
    } else if (i + 1 < text.length) {
      bytes.push(text[i + 1] as number);
      i += 1;
    } else {
      throw new Error('DN value ends with a lone backslash');
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Index of the first separator (`,` or, with `plus`, `+`) that is not escaped, or -1. */
function firstUnescaped(dn: string, separators: string): number {
  for (let i = 0; i < dn.length; i++) {
    const ch = dn[i] as string;
    if (ch === '\\') {
      i += /^[0-9a-fA-F]{2}$/.test(dn.slice(i + 1, i + 3)) ? 2 : 1;
      continue;
    }
    if (separators.includes(ch)) return i;
  }
  return -1;
}

/** Splits a DN into its first RDN and the parent DN ('' when the DN has one RDN). */
export function splitDn(dn: string): { rdn: string; parent: string } {
  const i = firstUnescaped(dn, ',');
  // No trimming: RFC 4514 has no insignificant spaces, and `\ ` (an escaped trailing space) is data.
  if (i < 0) return { rdn: dn, parent: '' };
  return { rdn: dn.slice(0, i), parent: dn.slice(i + 1) };
}

/** The DN of the container holding the entry. */
export function parentDn(dn: string): string {
  return splitDn(dn).parent;
}

/** Parses a single-valued RDN (`CN=Smith\, John`) into its type and unescaped value. */
export function parseRdn(rdn: string): { type: string; value: string } {
  const eq = rdn.indexOf('=');
  if (eq <= 0) throw new Error('not an RDN (no attribute type)');
  if (firstUnescaped(rdn, '+') >= 0) throw new Error('multi-valued RDNs are not supported');
  return { type: rdn.slice(0, eq), value: unescapeDnValue(rdn.slice(eq + 1)) };
}

/** `<type>=<escaped value>,<parent>`: the DN of a child entry named by a raw value. */
export function childDn(type: string, value: string, parent: string): string {
  return `${type}=${escapeDnValue(value)},${parent}`;
}
