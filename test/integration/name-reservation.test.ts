import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Client } from 'ldapts';
import { ensureSamba, type SambaHandle } from '../../sandbox/samba';
import { createLdapDirectory, type LdapDirectory } from '../../src/connectors/ldap/ldap-directory';
import { hashedReservationCn } from '../../src/connectors/ldap/reservation-hash';

// Name reservations as salted hashes, against real Samba AD: the contact in the retired-names OU
// holds no name in plain text, and still blocks the reuse of the deleted account's logon name,
// UPN and mail; reservations written before hashing (plain names) keep blocking too.

const run = randomUUID().replaceAll('-', '').slice(0, 8);
let samba: SambaHandle;
let hashed: LdapDirectory;
let plain: LdapDirectory;
let admin: Client;
let ouDn: string;
const salt = randomBytes(32);
const created: string[] = [];

before(async () => {
  samba = await ensureSamba();
  const config = {
    url: samba.url,
    bindDn: samba.bindDn,
    bindPassword: samba.bindPassword,
    baseDn: samba.baseDn,
    caCertPath: samba.caCertPath,
    timeoutMs: 5_000,
  };
  hashed = createLdapDirectory({ ...config, reservationSalt: salt });
  plain = createLdapDirectory(config);
  admin = new Client({
    url: samba.url,
    tlsOptions: { ca: [fs.readFileSync(samba.caCertPath)] },
    timeout: 5_000,
  });
  await admin.bind(samba.bindDn, samba.bindPassword);
  ouDn = `OU=Retired Names,OU=Tunnus,${samba.baseDn}`;
});

after(async () => {
  for (const dn of created) await admin.del(dn).catch(() => undefined);
  await admin.unbind();
  await hashed.close();
  await plain.close();
});

/** Every attribute value of every contact in the OU, as text. */
async function contactsText(): Promise<string> {
  const { searchEntries } = await admin.search(ouDn, { filter: '(objectClass=contact)', attributes: ['*'] });
  return JSON.stringify(searchEntries).toLowerCase();
}

describe('name reservations hold salted hashes', () => {
  it('holds no plaintext name, blocks reuse of each reserved name, and merges a second reservation', async () => {
    const name = `hres${run}`;
    const addresses = [`${name}@kerava.test`, `${name}.alias@kerava.fi`];
    await hashed.reserveNames({ name, ouDn, addresses, until: '2030-01-01' });
    const dn = `CN=${hashedReservationCn(salt, name)},${ouDn}`;
    created.push(dn);
    const listed = (await hashed.listReservations(ouDn)).find((r) => r.dn.toLowerCase() === dn.toLowerCase());
    assert.equal(listed?.until, '2030-01-01', 'listed with its end date, under a hashed cn');
    assert.ok(!(await contactsText()).includes(name), 'no reserved name or address in plain text');

    // A second reservation of the same name (retry, earlier holder): extended, not skipped.
    await hashed.reserveNames({ name, ouDn, addresses: [`${name}.b@kerava.fi`], until: '2031-06-01' });
    assert.ok(!(await contactsText()).includes(name));
    const again = await hashed.listReservations(ouDn);
    assert.equal(again.find((r) => r.dn.toLowerCase() === dn.toLowerCase())?.until, '2031-06-01');

    const taken = await hashed.takenNames(
      [
        { sAMAccountName: name, userPrincipalName: `${name}2@kerava.test`, mail: `${name}2@kerava.fi` },
        { sAMAccountName: `${name}u`, userPrincipalName: `${name}@kerava.test`, mail: `${name}u@kerava.fi` },
        {
          sAMAccountName: `${name}m`,
          userPrincipalName: `${name}m@kerava.test`,
          mail: `${name}.b@kerava.fi`,
        },
        { sAMAccountName: `${name}f`, userPrincipalName: `${name}f@kerava.test`, mail: `${name}f@kerava.fi` },
      ],
      'nobody',
    );
    assert.deepEqual(
      [...taken].sort(),
      [name, `${name}m`, `${name}u`],
      'logon name, UPN and merged mail blocked',
    );
    // Without the salt the hashes match nothing: the name is not stored in a findable plain form.
    assert.equal(
      (await plain.takenNames([{ sAMAccountName: name, userPrincipalName: '', mail: '' }], 'x')).size,
      0,
    );
  });

  it('a reservation written before hashing (plain names) still blocks reuse', async () => {
    const name = `pres${run}`;
    await plain.reserveNames({ name, ouDn, addresses: [`${name}@kerava.test`], until: '2030-01-01' });
    created.push(`CN=${name},${ouDn}`);
    const taken = await hashed.takenNames(
      [
        { sAMAccountName: name, userPrincipalName: `${name}2@kerava.test`, mail: '' },
        { sAMAccountName: `${name}u`, userPrincipalName: `${name}@kerava.test`, mail: '' },
        { sAMAccountName: `${name}f`, userPrincipalName: `${name}f@kerava.test`, mail: '' },
      ],
      'nobody',
    );
    assert.deepEqual([...taken].sort(), [name, `${name}u`]);
  });
});
