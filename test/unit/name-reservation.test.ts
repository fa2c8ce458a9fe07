import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { reservationFor } from '../../src/activities/directory';
import type { DirectoryAccount } from '../../src/domain/account';
import { parsePolicy } from '../../src/domain/policy';

// The name quarantine after a deletion: every name the account held, whatever its form.

const policy = parsePolicy(fs.readFileSync(path.resolve(__dirname, '../../config/policy.yaml'), 'utf8'));

const account = (over: Partial<DirectoryAccount> = {}): DirectoryAccount => ({
  dn: 'CN=anna-maija.virtanen-korhonen,OU=Staff,OU=Tunnus,DC=kerava,DC=test',
  ou: 'OU=Staff,OU=Tunnus,DC=kerava,DC=test',
  employeeId: 'E1001',
  sAMAccountName: 'anna-maija.virtanen',
  userPrincipalName: 'anna-maija.virtanen-korhonen@kerava.fi',
  mail: 'Anna-Maija.Virtanen-Korhonen@kerava.fi',
  proxyAddresses: [
    'SMTP:anna-maija.virtanen-korhonen@kerava.fi',
    'smtp:anna-maija.korhonen@kerava.fi',
    'sip:anna-maija.virtanen-korhonen@kerava.fi',
    'X500:/o=ExchangeLabs/ou=Exchange Administrative Group/cn=Recipients/cn=abc',
  ],
  enabled: false,
  memberOf: [],
  ...over,
});

describe('name reservation of a deleted account', () => {
  it('holds the sAMAccountName cut to 20 characters as the name, and every address once, in lower case', () => {
    const r = reservationFor(account(), policy, 'DC=kerava,DC=test', new Date('2026-12-01T10:00:00Z'));
    assert.equal(r.name, 'anna-maija.virtanen');
    assert.equal(r.ouDn, `${policy.ous.retiredNames},DC=kerava,DC=test`);
    assert.deepEqual(r.addresses.sort(), [
      'anna-maija.korhonen@kerava.fi',
      'anna-maija.virtanen-korhonen@kerava.fi',
    ]);
    assert.match(r.until, /^\d{4}-\d{2}-\d{2}$/);
  });

  it('keeps addresses of any prefix (sip:, SMTP:, smtp:) but not X.400/X.500 routing entries', () => {
    const r = reservationFor(
      account({ proxyAddresses: ['sip:other.name@kerava.fi', 'X400:c=FI;a= ;p=Kerava;o=Exchange;s=Name;'] }),
      policy,
      'DC=kerava,DC=test',
      new Date('2026-12-01T10:00:00Z'),
    );
    assert.ok(r.addresses.includes('other.name@kerava.fi'));
    assert.ok(!r.addresses.some((a) => /x400|c=fi/i.test(a)));
  });
});
