import fs from 'node:fs';
import { Attribute, Change, Client as LdapClient } from 'ldapts';
import { generatePassword } from '../src/activities/directory';

// The directory's own rate: the writes a joiner needs (add a disabled user with a password, add it
// to its groups, enable it) done straight to Samba with ldapts, N clients each doing one person at
// a time. The "raw" side of every pipeline/raw ratio (bench/joiners.ts, bench/education.ts).
//
// A joiner whose first-day credential is a one-time AD password (no cloud user: the bench's AD-only
// policy) gets a second password write from the handover after the enable: replace unicodePwd and
// pwdLastSet, as setInitialPassword does. `firstDayPassword` adds that write, so that raw makes the
// same writes as such a pipeline. It is the dearest write Samba takes (bench/samba-ops.ts: about
// 28 ms of its CPU for a password reset against 18 ms for the whole add with the first password).

export interface Dc {
  url: string;
  baseDn: string;
  bindDn: string;
  bindPassword: string;
  caCertPath: string;
}

export async function ldapClient(dc: Dc): Promise<LdapClient> {
  const client = new LdapClient({
    url: dc.url,
    timeout: 30_000,
    connectTimeout: 10_000,
    tlsOptions: { ca: [fs.readFileSync(dc.caCertPath)], minVersion: 'TLSv1.2' },
  });
  await client.bind(dc.bindDn, dc.bindPassword);
  return client;
}

export interface RawResult {
  clients: number;
  people: number;
  ms: number;
  peoplePerSec: number;
  writesPerSec: number;
  opMs: { add: number; group: number; enable: number; firstDayPassword?: number };
}

export interface RawPeople {
  /** Unique per phase: account names are `raw<tag>.p<i>`, employeeIDs `R<tag>-<i>`. */
  tag: string;
  people: number;
  clients: number;
  ouDn: string;
  groupDns: string[];
  /** Per-person groups instead of groupDns (pupils: their school's and their class's). */
  groupDnsOf?: (i: number) => string[];
  person: (i: number) => { first: string; last: string; title: string; department: string };
  /** After the enable, the first-day credential's password reset (as the handover's setInitialPassword). */
  firstDayPassword?: boolean;
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);

export async function rawPeopleWrites(dc: Dc, o: RawPeople): Promise<RawResult> {
  const conns = await Promise.all(Array.from({ length: o.clients }, () => ldapClient(dc)));
  const opTimes = {
    add: [] as number[],
    group: [] as number[],
    enable: [] as number[],
    firstDayPassword: [] as number[],
  };
  let next = 0;
  let writes = 0;
  const t0 = performance.now();
  try {
    await Promise.all(
      conns.map(async (c) => {
        while (next < o.people) {
          const i = next++;
          const local = `raw${o.tag}.p${i}`;
          const dn = `CN=${local},${o.ouDn}`;
          const { first, last, title, department } = o.person(i);
          let t = performance.now();
          const attrs: Record<string, string | string[] | Buffer> = {
            objectClass: ['top', 'person', 'organizationalPerson', 'user'],
            sAMAccountName: local,
            userPrincipalName: `${local}@kerava.test`,
            employeeID: `R${o.tag}-${i}`,
            unicodePwd: Buffer.from(`"${generatePassword()}"`, 'utf16le'),
            userAccountControl: '514',
            pwdLastSet: '0',
            mail: `${local}@kerava.fi`,
            givenName: first,
            sn: last,
            displayName: `${first} ${last}`,
            title,
            department,
          };
          await c.add(
            dn,
            Object.entries(attrs).map(
              ([type, v]) =>
                new Attribute({ type, values: Buffer.isBuffer(v) ? [v] : Array.isArray(v) ? v : [v] }),
            ),
          );
          opTimes.add.push(performance.now() - t);
          const groups = o.groupDnsOf?.(i) ?? o.groupDns;
          writes += 2 + groups.length;
          for (const g of groups) {
            t = performance.now();
            await c.modify(
              g,
              new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [dn] }) }),
            );
            opTimes.group.push(performance.now() - t);
          }
          t = performance.now();
          await c.modify(
            dn,
            new Change({
              operation: 'replace',
              modification: new Attribute({ type: 'userAccountControl', values: ['512'] }),
            }),
          );
          opTimes.enable.push(performance.now() - t);
          if (o.firstDayPassword) {
            writes += 1;
            t = performance.now();
            await c.modify(dn, [
              new Change({
                operation: 'replace',
                modification: new Attribute({
                  type: 'unicodePwd',
                  values: [Buffer.from(`"${generatePassword(16)}"`, 'utf16le')],
                }),
              }),
              new Change({
                operation: 'replace',
                modification: new Attribute({ type: 'pwdLastSet', values: ['0'] }),
              }),
            ]);
            opTimes.firstDayPassword.push(performance.now() - t);
          }
        }
      }),
    );
  } finally {
    await Promise.all(conns.map((c) => c.unbind().catch(() => undefined)));
  }
  const ms = performance.now() - t0;
  return {
    clients: o.clients,
    people: o.people,
    ms,
    peoplePerSec: o.people / (ms / 1000),
    writesPerSec: writes / (ms / 1000),
    opMs: {
      add: mean(opTimes.add),
      group: mean(opTimes.group),
      enable: mean(opTimes.enable),
      ...(o.firstDayPassword ? { firstDayPassword: mean(opTimes.firstDayPassword) } : {}),
    },
  };
}
