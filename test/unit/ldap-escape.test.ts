import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AndFilter, EqualityFilter, FilterParser, BerReader, BerWriter, OrFilter } from 'ldapts';
import {
  childDn,
  escapeDnValue,
  escapeFilterValue,
  parentDn,
  parseRdn,
  splitDn,
  unescapeDnValue,
} from '../../src/connectors/ldap/escape';
import { classifyLdapError, DirectoryError } from '../../src/connectors/ldap/errors';
import {
  AlreadyExistsError,
  BusyError,
  ConstraintViolationError,
  InsufficientAccessError,
  InvalidCredentialsError,
  InvalidDNSyntaxError,
  NoSuchObjectError,
  UnavailableError,
  UnwillingToPerformError,
} from 'ldapts';

// Names become LDAP syntax in two places — filters and DNs. Hostile or merely unusual names must
// stay data: these tests pin the escaped forms and prove they parse back to the same value.

const hostile = ['*)(cn=*', 'Smith, John+', '#Ä\\x', "O'Brien #1", ' lead', 'trail ', 'a\0b', 'x=y;<z>"q"'];

describe('RFC 4515 filter value escaping', () => {
  it('escapes the filter metacharacters and leaves everything else alone', () => {
    assert.equal(escapeFilterValue('*)(cn=*'), '\\2a\\29\\28cn=\\2a');
    assert.equal(escapeFilterValue('C:\\dir'), 'C:\\5cdir');
    assert.equal(escapeFilterValue('a\0b'), 'a\\00b');
    assert.equal(escapeFilterValue("Smith, John+ #Ä O'Brien"), "Smith, John+ #Ä O'Brien");
  });

  it('a hostile value in a filter string is one equality assertion, not extra syntax', () => {
    for (const name of hostile) {
      const text = `(&(objectClass=user)(cn=${escapeFilterValue(name)}))`;
      const parsed = FilterParser.parseString(text);
      assert.ok(parsed instanceof AndFilter, name);
      assert.equal(parsed.filters.length, 2, name);
      const cn = parsed.filters[1];
      assert.ok(cn instanceof EqualityFilter, name);
      assert.equal(cn.attribute, 'cn');
      assert.equal(String(cn.value), name);
    }
  });

  it('ldapts filter objects carry the raw value as data on the wire', () => {
    for (const name of hostile) {
      const filter = new OrFilter({ filters: [new EqualityFilter({ attribute: 'cn', value: name })] });
      // Its text form agrees with our escaper…
      assert.equal(filter.toString(), `(|(cn=${escapeFilterValue(name)}))`);
      // …and the BER encoding decodes back to exactly one assertion with the raw value.
      const writer = new BerWriter();
      filter.write(writer);
      const decoded = FilterParser.parse(new BerReader(writer.buffer));
      assert.ok(decoded instanceof OrFilter);
      assert.equal(decoded.filters.length, 1);
      const only = decoded.filters[0];
      assert.ok(only instanceof EqualityFilter);
      assert.equal(Buffer.isBuffer(only.value) ? only.value.toString('utf8') : only.value, name);
    }
  });
});

describe('RFC 4514 DN value escaping', () => {
  it('escapes specials, a leading # or space, a trailing space, and backslash as \\5C', () => {
    assert.equal(escapeDnValue('Smith, John+'), 'Smith\\, John\\+');
    assert.equal(escapeDnValue('#Ä\\x'), '\\#Ä\\5Cx');
    assert.equal(escapeDnValue('*)(cn=*'), '*)(cn\\=*');
    assert.equal(escapeDnValue("O'Brien #1"), "O'Brien \\#1");
    assert.equal(escapeDnValue(' lead'), '\\ lead');
    assert.equal(escapeDnValue('trail '), 'trail\\ ');
    assert.equal(escapeDnValue('mid dle'), 'mid dle');
    assert.equal(escapeDnValue('a;b<c>d"e'), 'a\\;b\\<c\\>d\\"e');
    assert.equal(escapeDnValue('a\0b'), 'a\\00b');
    assert.throws(() => escapeDnValue(''));
  });

  it('every escaped value parses back to itself and never adds an RDN', () => {
    for (const name of hostile) {
      const dn = childDn('CN', name, 'OU=Staff,OU=Tunnus,DC=kerava,DC=test');
      const { rdn, parent } = splitDn(dn);
      assert.equal(parent, 'OU=Staff,OU=Tunnus,DC=kerava,DC=test', name);
      assert.deepEqual(parseRdn(rdn), { type: 'CN', value: name });
    }
  });

  it('unescapes both the \\c and the hex-pair forms, including UTF-8 sequences', () => {
    assert.equal(unescapeDnValue('Smith\\, John\\+'), 'Smith, John+');
    assert.equal(unescapeDnValue('Smith\\2C John\\2b'), 'Smith, John+');
    assert.equal(unescapeDnValue('\\#\\C3\\84\\\\x'), '#Ä\\x');
    assert.equal(unescapeDnValue('\\#Ä\\5Cx'), '#Ä\\x');
    assert.throws(() => unescapeDnValue('dangling\\'));
  });

  it('splits DNs the way the server writes them, including a value ending in a backslash', () => {
    // Samba writes a backslash as `\\`: the comma after it is a separator.
    assert.deepEqual(splitDn('CN=trail\\\\,CN=Users,DC=kerava,DC=test'), {
      rdn: 'CN=trail\\\\',
      parent: 'CN=Users,DC=kerava,DC=test',
    });
    assert.deepEqual(parseRdn('CN=trail\\\\'), { type: 'CN', value: 'trail\\' });
    assert.equal(parentDn('CN=Smith\\, John\\+,OU=Staff,DC=kerava,DC=test'), 'OU=Staff,DC=kerava,DC=test');
    assert.equal(parentDn('CN=a\\2Cb,OU=x'), 'OU=x');
    assert.equal(parentDn('DC=test'), '');
    assert.throws(() => parseRdn('CN=a+sn=b'), /multi-valued/);
  });
});

describe('LDAP error classification', () => {
  const kindOf = (err: unknown) => {
    const e = classifyLdapError(err, 'op');
    return [e.kind, e.retryable, e.ldapCode];
  };

  it('maps result codes to kinds; only load and transport problems are retryable', () => {
    assert.deepEqual(kindOf(new BusyError('x')), ['unavailable', true, 51]);
    assert.deepEqual(kindOf(new UnavailableError('x')), ['unavailable', true, 52]);
    assert.deepEqual(kindOf(new ConstraintViolationError('x')), ['constraint', false, 19]);
    assert.deepEqual(kindOf(new AlreadyExistsError('x')), ['alreadyExists', false, 68]);
    assert.deepEqual(kindOf(new UnwillingToPerformError('x')), ['constraint', false, 53]);
    assert.deepEqual(kindOf(new InsufficientAccessError('x')), ['permission', false, 50]);
    assert.deepEqual(kindOf(new InvalidCredentialsError('x')), ['permission', false, 49]);
    assert.deepEqual(kindOf(new InvalidDNSyntaxError('x')), ['invalid', false, 34]);
    assert.deepEqual(kindOf(new NoSuchObjectError('x')), ['noSuchObject', false, 32]);
  });

  it('treats refused, reset, closed and timed-out connections as unavailable', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:636'), { code: 'ECONNREFUSED' });
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    assert.deepEqual(kindOf(refused), ['unavailable', true, undefined]);
    assert.deepEqual(kindOf(reset), ['unavailable', true, undefined]);
    for (const message of [
      'Connection closed before message response was received. Message type: SearchRequest (0x63)',
      'SearchRequest: Operation timed out',
      'Connection timeout',
    ]) {
      assert.deepEqual(kindOf(new Error(message)), ['unavailable', true, undefined], message);
    }
  });

  it('never copies the server text (which names people) into the message', () => {
    const e = classifyLdapError(
      new AlreadyExistsError("00002071: samldb: samAccountName 'matti.virtanen' already in use!"),
      'createAccount',
    );
    assert.ok(e instanceof DirectoryError);
    assert.doesNotMatch(e.message, /matti/);
    assert.match(e.message, /createAccount/);
    assert.match(e.message, /68/);
  });
});
