import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Writable } from 'node:stream';
import { Client as TemporalClient, Connection } from '@temporalio/client';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { helsinkiDate, addDays } from '../src/domain/dates';
import { loadPolicy, parseEnv } from '../src/config';
import { dataConverterFor } from '../src/crypto/data-converter';
import { ensureKekFile } from '../src/crypto/kek';
import { stopClashingDcs } from './dcs';
import { removeSandboxState } from './fresh-state';
import { rawPeopleWrites } from './raw-writes';

// A big education import on this machine (issue 5: "a 5,000-pupil education import creates 5,000
// accounts with unique names"): the real Temporal CLI dev server, Samba AD and a worker built with
// buildWorker (in this process), the Graph and telephony simulators; the CSV goes through
// `tunnus education import` (its run(), in-process), the import workflow and the person workflows.
//
//   TUNNUS_STATE_DIR=$PWD/.state/bench-edu TUNNUS_DC_HOST=127.0.0.17 npx tsx bench/education.ts
//     [--pupils 5000] [--raw-clients 8] [--temporal-port 29233] [--keep-running]
//
// Pupils are in grades 1-6 (no cloud export by policy), start date yesterday, 10 schools; their
// names come from 11 first names × 13 surnames, so each name is shared by ~35 pupils and the
// collision numbering is exercised hard. Measured: the import (validate, stage, deliver) and the
// time until AD holds every account enabled with its school and class groups; then every
// sAMAccountName, UPN and mail is checked for uniqueness. Then, in the same run, the directory's
// own rate for the same pupils: the same writes (add, school and class group, enable) straight to
// Samba with ldapts (bench/raw-writes.ts), for the ratio. The state dir is wiped first.

const repoRoot = path.resolve(__dirname, '..');
process.env.TUNNUS_STATE_DIR ??= path.join(repoRoot, '.state', 'bench-edu');
process.env.TUNNUS_DC_HOST ??= '127.0.0.17';
const stateDir = path.resolve(process.env.TUNNUS_STATE_DIR);
// The payload codec's keys for this bench's workers and clients, in its state dir (docs/privacy.md).
process.env.TUNNUS_KEK_FILE ??= ensureKekFile(path.join(stateDir, 'kek'));
process.env.TUNNUS_KEYS_FILE ??= path.join(stateDir, 'identity-keys.sqlite');
const DEFAULT_TEMPORAL_PORT = process.env.TUNNUS_BENCH_EDU_TEMPORAL_PORT ?? '29233';
const TASK_QUEUE = 'bench-education';

const FIRST = ['Matti', 'Maria', 'Juha', 'Anne', 'Mikko', 'Päivi', 'Timo', 'Tuula', 'Jari', 'Sari', 'Kari'];
const LAST = [
  'Korhonen',
  'Virtanen',
  'Mäkinen',
  'Nieminen',
  'Mäkelä',
  'Hämäläinen',
  'Laine',
  'Heikkinen',
  'Koskinen',
  'Järvinen',
  'Lehtonen',
  'Lehtinen',
  'Saarinen',
];

const log = (s: string) => process.stderr.write(`[bench-edu] ${s}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const secs = (ms: number) => Number((ms / 1000).toFixed(1));

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      pupils: { type: 'string', default: '5000' },
      'raw-clients': { type: 'string', default: '8' },
      'temporal-port': { type: 'string', default: DEFAULT_TEMPORAL_PORT },
      'keep-running': { type: 'boolean' },
    },
  });
  const n = Number(values.pupils);
  const rawClients = Number(values['raw-clients']);
  const TEMPORAL_PORT = Number(values['temporal-port']);
  // Only a DC on this bench's own address would clash (port 636); every other one keeps running.
  const clashing = stopClashingDcs(stateDir, process.env.TUNNUS_DC_HOST!, log);
  // Imported only now: these modules read TUNNUS_STATE_DIR / TUNNUS_DC_HOST when loaded.
  const { ensureSamba, stopSamba } = await import('../sandbox/samba');
  const { ensureTemporalDevServer, stopTemporalDevServers } = await import('../sandbox/temporal');
  const { startSimulators } = await import('../sandbox/simulators');
  const { createLdapDirectory } = await import('../src/connectors/ldap/ldap-directory');
  const { buildWorker } = await import('../src/worker');
  const { createCloudDirectory, createPhoneDirectoryFromEnv } = await import('../src/wiring');
  const { run: cli } = await import('../src/starter');

  // A fresh DC and Temporal database: names from an earlier run would skew the numbering.
  await stopSamba();
  await stopTemporalDevServers(); // only those this state dir started
  removeSandboxState(stateDir, path.join(stateDir, 'record-index.sqlite'));
  const t0 = Date.now();
  const temporal = await ensureTemporalDevServer({ port: TEMPORAL_PORT, uiPort: TEMPORAL_PORT + 1000 });
  const samba = await ensureSamba();
  log(`dev server and DC up in ${secs(Date.now() - t0)} s`);

  const sims = await startSimulators({ skus: [{ skuPartNumber: 'STANDARDWOFFPACK_STUDENT', enabled: n }] });
  Object.assign(process.env, sims.env, {
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: TASK_QUEUE,
    LDAP_URL: samba.url,
    LDAP_BIND_DN: samba.bindDn,
    LDAP_BIND_PASSWORD: samba.bindPassword,
    LDAP_BASE_DN: samba.baseDn,
    LDAP_CA_CERT: samba.caCertPath,
    TUNNUS_POLICY_FILE: path.join(repoRoot, 'config', 'policy.yaml'),
    TUNNUS_INDEX_FILE: path.join(stateDir, 'record-index.sqlite'),
    LOG_LEVEL: 'warn',
  });
  delete process.env.RECORD_INDEX_URL;
  const env = parseEnv();
  const policy = loadPolicy(env.TUNNUS_POLICY_FILE);
  const noop = () => undefined;
  const warn = (m: string) => process.stderr.write(`[temporal-sdk] ${m}\n`);
  Runtime.install({ logger: { log: noop, trace: noop, debug: noop, info: noop, warn, error: warn } });

  const directory = createLdapDirectory({
    url: samba.url,
    bindDn: samba.bindDn,
    bindPassword: samba.bindPassword,
    baseDn: samba.baseDn,
    caCertPath: samba.caCertPath,
  });
  const cloud = createCloudDirectory(env);
  const phone = createPhoneDirectoryFromEnv(env);
  const connection = await Connection.connect({ address: temporal.address });
  const client = new TemporalClient({ connection, dataConverter: dataConverterFor(parseEnv()) });
  const nativeConnection = await NativeConnection.connect({ address: temporal.address });
  const worker = await buildWorker({
    connection: nativeConnection,
    client,
    taskQueue: TASK_QUEUE,
    directory,
    cloud,
    phone,
    policy,
    baseDn: samba.baseDn,
  });
  const running = worker.run();

  // The snapshot: one school in ten, grades 1-6, start date yesterday (accounts due at once).
  const start = addDays(helsinkiDate(new Date()), -1);
  const rows = Array.from({ length: n }, (_, i) => {
    const first = FIRST[i % FIRST.length]!;
    const last = LAST[Math.floor(i / FIRST.length) % LAST.length]!;
    return `${100000 + i};;${first};;${last};K${String(i % 10).padStart(2, '0')};${1 + (i % 6)}${'ABC'[i % 3]};${start};`;
  });
  const file = path.join(stateDir, 'education-bench.csv');
  fs.mkdirSync(stateDir, { recursive: true });
  fs.writeFileSync(
    file,
    [
      'student_id;hr_employee_id;first_names;calling_name;last_name;school_code;class;start_date;end_date',
      ...rows,
    ].join('\n') + '\n',
  );
  const ids = new Set(rows.map((r) => `S-${r.split(';')[0]}`));

  const tImport = Date.now();
  const out = new Capture();
  const code = await cli(['education', 'import', file], out);
  const importSeconds = secs(Date.now() - tImport);
  if (code !== 0) throw new Error(`education import failed (${code}):\n${out.text}`);
  log(`import delivered ${n} rows in ${importSeconds} s`);

  let done: Awaited<ReturnType<typeof directory.listAccounts>> = [];
  let lastLog = 0;
  const deadline = Date.now() + 60 * 60_000;
  let pollErrors = 0;
  for (;;) {
    let accounts: Awaited<ReturnType<typeof directory.listAccounts>>;
    try {
      accounts = (await directory.listAccounts()).filter((a) => ids.has(a.employeeId));
    } catch (err) {
      // A busy DC may refuse one paged search (Samba: 53); the next poll asks again.
      pollErrors++;
      log(`poll failed (${(err as Error).message}); retrying`);
      await sleep(15_000);
      continue;
    }
    done = accounts.filter((a) => a.enabled && a.memberOf.length === 2);
    if (done.length === n) break;
    if (Date.now() - lastLog > 30_000) {
      log(`${accounts.length} accounts, ${done.length} enabled with groups, ${secs(Date.now() - tImport)} s`);
      lastLog = Date.now();
    }
    if (Date.now() > deadline) throw new Error(`only ${done.length}/${n} accounts after an hour`);
    await sleep(15_000);
  }
  const totalSeconds = secs(Date.now() - tImport);
  log(`every account enabled after ${totalSeconds} s; now the same writes straight to Samba`);

  // The directory's own rate for the same pupils (5,000 more users, into the groups the import
  // made), after the import: the raw side runs on the bigger directory. The same writes: a pupil
  // without a cloud user gets a one-time AD password for the school contact on the day the account
  // is enabled, a second password write (bench/raw-writes.ts), so raw makes it too.
  const rawPupil = (i: number) => rows[i]!.split(';');
  const raw = await rawPeopleWrites(samba, {
    tag: 'E',
    people: n,
    clients: rawClients,
    firstDayPassword: true,
    ouDn: `OU=Pupils,OU=Tunnus,${samba.baseDn}`,
    groupDns: [],
    person: (i) => ({
      first: rawPupil(i)[2]!,
      last: rawPupil(i)[4]!,
      title: 'Oppilas',
      department: rawPupil(i)[5]!,
    }),
    groupDnsOf: (i) => {
      const [, , , , , school, klass] = rawPupil(i);
      return [
        `CN=Pupils-${school},OU=Groups,OU=Tunnus,${samba.baseDn}`,
        `CN=Class-${school}-${klass},OU=Groups,OU=Tunnus,${samba.baseDn}`,
      ];
    },
  });

  const unique = (values: (string | undefined)[]) => new Set(values.map((v) => v?.toLowerCase())).size;
  const names = {
    sAMAccountName: unique(done.map((a) => a.sAMAccountName)),
    userPrincipalName: unique(done.map((a) => a.userPrincipalName)),
    mail: unique(done.map((a) => a.mail)),
  };
  const highest = Math.max(...done.map((a) => Number(/(\d+)@/.exec(a.userPrincipalName)?.[1] ?? 1)));
  const classGroups = new Set(
    done.flatMap((a) => a.memberOf.map((dn) => /^CN=(Class-[^,]+)/.exec(dn)?.[1]).filter(Boolean)),
  ).size;
  const result = {
    pupils: n,
    accountsCreated: done.length,
    uniqueNames: names,
    allNamesUnique: Object.values(names).every((c) => c === n),
    distinctPersonNames: FIRST.length * LAST.length,
    highestCollisionNumber: highest,
    classGroupsCreatedOnDemand: classGroups,
    importSeconds,
    secondsUntilAllAccountsEnabled: totalSeconds,
    accountsPerSecond: Number((n / totalSeconds).toFixed(2)),
    rawWrites: {
      clients: rawClients,
      seconds: secs(raw.ms),
      pupilsPerSecond: Number(raw.peoplePerSec.toFixed(2)),
      directoryUsers: `${n}→${2 * n} pupils`,
    },
    ratioToRaw: Number((n / totalSeconds / raw.peoplePerSec).toFixed(2)),
    pollErrors,
  };
  console.log(JSON.stringify(result, null, 2));

  worker.shutdown();
  await running;
  await nativeConnection.close();
  await connection.close();
  await directory.close();
  await phone.close();
  await sims.close();
  if (!values['keep-running']) {
    await temporal.stop();
    await stopSamba();
    clashing.restore();
  }
  if (!result.allNamesUnique || result.accountsCreated !== n) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
