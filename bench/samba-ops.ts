import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Attribute, Change, type Client as LdapClient } from 'ldapts';
import { generatePassword } from '../src/activities/directory';
import { createLdapDirectory } from '../src/connectors/ldap/ldap-directory';
import { candidateNames } from '../src/domain/naming';
import { stopClashingDcs } from './dcs';
import { cpuSeconds } from './proc';
import { ldapClient, type Dc } from './raw-writes';

// Samba's CPU per LDAP operation type, one type at a time: the operations a joiner makes (the
// plan's search, the add with a password, the group adds, the enable, the first-day password and
// its reads) each run N times on one connection while the DC's CPU (utime + stime from /proc) is
// read before and after. The DC runs `-M single`, so its process is all of its CPU.
//
//   TUNNUS_STATE_DIR=.state/samba-ops TUNNUS_DC_HOST=127.0.0.x npx tsx bench/samba-ops.ts [--n 100] [--population 500]
//
// --population users are added first (into All-Staff, as the joiner bench's earlier phases leave
// it) so that the group and the domain have a realistic size.

const repoRoot = path.resolve(__dirname, '..');
process.env.TUNNUS_STATE_DIR ??= path.join(repoRoot, '.state', 'samba-ops');
const stateDir = path.resolve(process.env.TUNNUS_STATE_DIR);

const log = (s: string) => process.stderr.write(`[samba-ops] ${s}\n`);
const round = (n: number, digits = 1) => Number(n.toFixed(digits));

const OU = 'OU=Office,OU=Staff,OU=Tunnus';
const GROUPS_OU = 'OU=Groups,OU=Tunnus';

interface Row {
  op: string;
  n: number;
  sambaMsPerOp: number;
  wallMsPerOp: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      n: { type: 'string', default: '100' },
      population: { type: 'string', default: '500' },
    },
  });
  const n = Number(values.n);
  const population = Number(values.population);
  const clashing = stopClashingDcs(stateDir, process.env.TUNNUS_DC_HOST ?? '127.0.0.1', log);
  const samba = await import('../sandbox/samba');
  try {
    const dc: Dc = await samba.ensureSamba();
    const pid = Number(fs.readFileSync(path.join(stateDir, 'samba', 'run', 'samba.pid'), 'utf8'));
    const c = await ldapClient(dc);
    const tag = Date.now().toString(36).toUpperCase();
    const ouDn = `${OU},${dc.baseDn}`;
    const allStaff = `CN=All-Staff,${GROUPS_OU},${dc.baseDn}`;
    const office = `CN=Office-Staff,${GROUPS_OU},${dc.baseDn}`;
    const rows: Row[] = [];

    /** Runs body(i) for i < count, one after another, and records Samba's CPU per call. */
    const measure = async (op: string, count: number, body: (i: number) => Promise<unknown>) => {
      const cpu0 = cpuSeconds(pid);
      const t0 = performance.now();
      for (let i = 0; i < count; i++) await body(i);
      const wall = performance.now() - t0;
      const row = {
        op,
        n: count,
        sambaMsPerOp: round(((cpuSeconds(pid) - cpu0) * 1000) / count, 2),
        wallMsPerOp: round(wall / count, 2),
      };
      rows.push(row);
      log(`${op}: samba ${row.sambaMsPerOp} ms/op, wall ${row.wallMsPerOp} ms/op (${count})`);
    };

    const userAttrs = (local: string, employeeId: string, password: boolean) =>
      Object.entries({
        objectClass: ['top', 'person', 'organizationalPerson', 'user'],
        sAMAccountName: local,
        userPrincipalName: `${local}@kerava.test`,
        employeeID: employeeId,
        ...(password ? { unicodePwd: Buffer.from(`"${generatePassword()}"`, 'utf16le') } : {}),
        userAccountControl: '514',
        pwdLastSet: '0',
        mail: `${local}@kerava.fi`,
        givenName: 'Matti',
        sn: 'Korhonen',
        displayName: 'Matti Korhonen',
        title: 'Toimistosihteeri',
        department: 'HALL-010',
      }).map(
        ([type, v]) => new Attribute({ type, values: Buffer.isBuffer(v) ? [v] : Array.isArray(v) ? v : [v] }),
      );
    const dnOf = (kind: string, i: number) => `CN=ops${tag}${kind}.${i},${ouDn}`;
    const add = (cl: LdapClient, kind: string, i: number, password: boolean) =>
      cl.add(dnOf(kind, i), userAttrs(`ops${tag}${kind}.${i}`, `O${tag}${kind}-${i}`, password));
    const member = (group: string, dn: string) =>
      c.modify(
        group,
        new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [dn] }) }),
      );

    // The population: users in All-Staff, as the bench's raw phase leaves the directory. A DC
    // kept from an earlier run has more: the labels give the counts as read.
    const count = async (filter: string) =>
      (await c.search(dc.baseDn, { scope: 'sub', filter, attributes: ['1.1'], paged: { pageSize: 500 } }))
        .searchEntries.length;
    const members0 = await count(`(memberOf=${allStaff})`);
    await measure(`population: add with password (${population})`, population, (i) => add(c, 'P', i, true));
    await measure(
      `population: member add to All-Staff (${members0}→${members0 + population})`,
      population,
      (i) => member(allStaff, dnOf('P', i)),
    );

    await measure('add, with unicodePwd (as ensureAccount / raw)', n, (i) => add(c, 'A', i, true));
    await measure('add, no unicodePwd', n, (i) => add(c, 'B', i, false));
    await measure('password set: replace unicodePwd + pwdLastSet (as setInitialPassword)', n, (i) =>
      c.modify(dnOf('A', i), [
        new Change({
          operation: 'replace',
          modification: new Attribute({
            type: 'unicodePwd',
            values: [Buffer.from(`"${generatePassword()}"`, 'utf16le')],
          }),
        }),
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'pwdLastSet', values: ['0'] }),
        }),
      ]),
    );
    const pwd = () =>
      new Change({
        operation: 'replace',
        modification: new Attribute({
          type: 'unicodePwd',
          values: [Buffer.from(`"${generatePassword()}"`, 'utf16le')],
        }),
      });
    await measure('password set: replace unicodePwd only', n, (i) => c.modify(dnOf('A', i), [pwd()]));
    await measure('password set: first password, on an account added without one', n, (i) =>
      c.modify(dnOf('B', i), [pwd()]),
    );
    await measure('password set: replace unicodePwd, third time', n, (i) => c.modify(dnOf('A', i), [pwd()]));
    const members1 = members0 + population;
    await measure(`member add, All-Staff (${members1}→${members1 + n} members)`, n, (i) =>
      member(allStaff, dnOf('A', i)),
    );
    await measure(`member add, Office-Staff (small)`, n, (i) => member(office, dnOf('A', i)));
    const half = Math.floor(n / 2);
    await measure('enable: delete 514 + add 512 (enableIfAsCreated)', half, (i) =>
      c.modify(dnOf('A', i), [
        new Change({
          operation: 'delete',
          modification: new Attribute({ type: 'userAccountControl', values: ['514'] }),
        }),
        new Change({
          operation: 'add',
          modification: new Attribute({ type: 'userAccountControl', values: ['512'] }),
        }),
      ]),
    );
    await measure('enable: replace 512 (raw)', n - half, (i) =>
      c.modify(
        dnOf('A', half + i),
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'userAccountControl', values: ['512'] }),
        }),
      ),
    );

    // Reads, through the real connector (with a reservation salt, as the worker has).
    const dir = createLdapDirectory({
      url: dc.url,
      bindDn: dc.bindDn,
      bindPassword: dc.bindPassword,
      baseDn: dc.baseDn,
      caCertPath: dc.caCertPath,
      reservationSalt: Buffer.alloc(32, 7),
    });
    const dirNoSalt = createLdapDirectory({
      url: dc.url,
      bindDn: dc.bindDn,
      bindPassword: dc.bindPassword,
      baseDn: dc.baseDn,
      caCertPath: dc.caCertPath,
    });
    const domains = { upnDomain: 'kerava.test', mailDomain: 'kerava.fi' };
    const candidates = (i: number) =>
      Array.from({ length: 10 }, (_, k) => candidateNames(`fresh${tag}.p${i}`, k + 1, domains));
    await dir.findByEmployeeId('warm-up');
    await dirNoSalt.findByEmployeeId('warm-up');
    await measure('plan search: lookupForPlan, 10 candidates, salted (the worker)', n, (i) =>
      dir.lookupForPlan({ employeeId: `Q${tag}-${i}`, candidates: candidates(i) }),
    );
    await measure('plan search: lookupForPlan, 10 candidates, no salt', n, (i) =>
      dirNoSalt.lookupForPlan({ employeeId: `Q${tag}-${i}`, candidates: candidates(i) }),
    );
    await measure('plan search: lookupForPlan, no candidates', n, (i) =>
      dir.lookupForPlan({ employeeId: `Q${tag}-${i}` }),
    );
    await measure('findByEmployeeId (existing account)', n, (i) => dir.findByEmployeeId(`O${tag}A-${i}`));
    await measure('base read of one attribute (pwdLastSet)', n, (i) =>
      c.search(dnOf('A', i), { scope: 'base', attributes: ['pwdLastSet'] }),
    );
    await measure('substring poll: employeeID=prefix* and enabled (bench countEnabled)', 5, () =>
      c.search(dc.baseDn, {
        scope: 'sub',
        filter: `(&(objectClass=user)(employeeID=O${tag}A-*)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))`,
        attributes: ['1.1'],
        paged: { pageSize: 500 },
      }),
    );
    const users = await count('(&(objectClass=user)(!(objectClass=computer)))');
    await dir.close();
    await dirNoSalt.close();
    await c.unbind();

    const out = [
      `Samba CPU per LDAP operation (one connection, sequential; ${users} users in the domain at the end)`,
      '',
      '| operation | n | Samba CPU ms/op | wall ms/op |',
      '|---|---:|---:|---:|',
      ...rows.map((r) => `| ${r.op} | ${r.n} | ${r.sambaMsPerOp} | ${r.wallMsPerOp} |`),
    ].join('\n');
    process.stdout.write(out + '\n');
  } finally {
    await samba.stopSamba();
    clashing.restore();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
