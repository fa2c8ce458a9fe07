import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client as TemporalClient, Connection } from '@temporalio/client';
import { Attribute, Change, Client as LdapClient } from 'ldapts';
import YAML from 'yaml';
import { deliverRecord } from '../src/ops/persons';
import { inBatches } from '../src/in-batches';
import { createLdapDirectory } from '../src/connectors/ldap/ldap-directory';
import { baseLocalPart } from '../src/domain/naming';
import { desiredAccount } from '../src/domain/plan';
import { parsePolicy, type Policy } from '../src/domain/policy';
import type { LifecycleStage } from '../src/domain/person-state';
import type { HrRecord } from '../src/domain/record';
import { runPlan } from '../src/cli/plan';
import { collectPlans, createPlanner, prefetchedDirectory } from '../src/simulate/collect';
import { changes } from '../src/simulate/model';
import { managedRecords } from '../src/simulate/records';
import { createCloudDirectory, createPhoneDirectoryFromEnv } from '../src/wiring';
import { parseEnv } from '../src/config';
import { dataConverterFor } from '../src/crypto/data-converter';
import { ensureKekFile } from '../src/crypto/kek';
import { HR_EXPORT_COLUMNS, hrCsv } from '../test/support/hr-csv';
import { stopClashingDcs } from './dcs';
import { removeSandboxState } from './fresh-state';
import { spawnWorker } from './proc';

// Plan time for a policy change over N identities (default 5,000):
//
//   TUNNUS_STATE_DIR=$PWD/.state/bench-plan TUNNUS_DC_HOST=127.0.0.14 npx tsx bench/plan.ts
//     [--people 5000] [--nurses 3000] [--workflows 500] [--concurrency 16] [--temporal-port 27500]
//
// Setup (not timed): a fresh Samba DC and dev server in this bench's own state dir; N accounts
// written straight to Samba exactly as the old policy wants them (OU, attributes, groups,
// enabled); the real worker (child process) with the old policy; W of the N records delivered,
// so W person workflows hold their records (each joiner finds its account in place). W < N only
// because a joiner per person is setup time this shared 2-core machine cannot spare for 5,000.
// The new policy adds ERP-Medication to the nurse role. Measured:
//   1. records: visibility list + `state` query per managed person (W of them; per-person rate);
//   2. plans: N × planPerson with the new policy on one listing of all accounts (the CLI's path
//      from 100 persons on), and once more with one employeeID lookup per person;
//   3. `tunnus plan --policy` end to end over the W managed persons, and `tunnus plan --hr` over
//      all N records with the new policy deployed (the CLI without the records phase).
// The policy has cloud, licences and telephony off (as in bench/joiners.ts): the directory is
// what a policy change over AD groups has to read.

const repoRoot = path.resolve(__dirname, '..');
// sandbox/paths.ts and sandbox/samba.ts read these at import: set them before importing those.
process.env.TUNNUS_STATE_DIR ??= path.join(repoRoot, '.state', 'bench-plan');
process.env.TUNNUS_DC_HOST ??= '127.0.0.14';
const stateDir = path.resolve(process.env.TUNNUS_STATE_DIR);
// The payload codec's keys for this bench's workers and clients, in its state dir (docs/privacy.md).
process.env.TUNNUS_KEK_FILE ??= ensureKekFile(path.join(stateDir, 'kek'));
process.env.TUNNUS_KEYS_FILE ??= path.join(stateDir, 'identity-keys.sqlite');
// The read model too: the repo-wide default holds rows sealed with other keys (npm start's, the
// tests'), which this bench's keys cannot open (UnknownKey).
// Always this bench's own: setup deletes it with the DC and the dev server's database.
const indexFile = path.join(stateDir, 'record-index.sqlite');
process.env.TUNNUS_INDEX_FILE = indexFile;
const TASK_QUEUE = 'bench-plan';

const log = (s: string) => process.stderr.write(`[bench-plan] ${s}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const secs = (ms: number) => (ms / 1000).toFixed(1);

const FIRST = ['Aino', 'Eeva', 'Helmi', 'Venla', 'Matti', 'Juha', 'Mikko', 'Sari', 'Päivi', 'Timo'];
const LAST = ['Korhonen', 'Virtanen', 'Mäkinen', 'Nieminen', 'Mäkelä', 'Hämäläinen', 'Laine', 'Koskinen'];

function recordFor(i: number, nurses: number, tag: string): HrRecord {
  const nurse = i < nurses;
  return {
    employeeId: `P${tag}-${i}`,
    firstNames: FIRST[i % FIRST.length]!,
    lastName: LAST[Math.floor(i / FIRST.length) % LAST.length]!,
    jobTitle: nurse ? 'Sairaanhoitaja' : 'Toimistosihteeri',
    jobCode: nurse ? 'SH01' : 'HS01',
    orgUnit: nurse ? 'SOTE-110' : 'HALL-010',
    employmentType: 'permanent',
    startDate: '2024-01-01',
  };
}

/** The sample policy with the cloud, licences and telephony off. */
function directoryOnly(policy: Policy): Policy {
  const p = structuredClone(policy);
  p.telephony.enabled = false;
  for (const role of p.roles) {
    role.cloud = false;
    role.mailbox = false;
    role.licences = [];
  }
  return p;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      people: { type: 'string', default: '5000' },
      nurses: { type: 'string' },
      concurrency: { type: 'string', default: '16' },
      workflows: { type: 'string', default: '500' },
      'temporal-port': { type: 'string', default: '27500' },
    },
  });
  const temporalPort = Number(values['temporal-port']);
  const people = Number(values.people);
  const nurses = Number(values.nurses ?? Math.round(people * 0.6));
  const concurrency = Number(values.concurrency);
  const workflows = Math.min(people, Number(values.workflows));

  const { ensureSamba, stopSamba } = await import('../sandbox/samba');
  const { ensureTemporalDevServer, stopTemporalDevServers } = await import('../sandbox/temporal');
  const { startSimulators } = await import('../sandbox/simulators');

  // Fresh state, in this bench's own directory only.
  await stopSamba();
  await stopTemporalDevServers();
  removeSandboxState(stateDir, indexFile);
  fs.mkdirSync(stateDir, { recursive: true });

  const sample = parsePolicy(fs.readFileSync(path.join(repoRoot, 'config', 'policy.yaml'), 'utf8'));
  const oldPolicy = directoryOnly(sample);
  const newPolicy = structuredClone(oldPolicy);
  newPolicy.roles.find((r) => r.name === 'nurse')!.groups.push('ERP-Medication');
  const oldFile = path.join(stateDir, 'policy-old.yaml');
  const newFile = path.join(stateDir, 'policy-new.yaml');
  fs.writeFileSync(oldFile, YAML.stringify(oldPolicy));
  fs.writeFileSync(newFile, YAML.stringify(newPolicy));

  let t = Date.now();
  const samba = await ensureSamba({ policyFile: newFile }); // every group of both policies exists
  log(`Samba DC ready in ${secs(Date.now() - t)} s at ${samba.url}`);
  const temporal = await ensureTemporalDevServer({ port: temporalPort, uiPort: temporalPort + 1000 });
  const sims = await startSimulators();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: TASK_QUEUE,
    LDAP_URL: samba.url,
    LDAP_BIND_DN: samba.bindDn,
    LDAP_BIND_PASSWORD: samba.bindPassword,
    LDAP_BASE_DN: samba.baseDn,
    LDAP_CA_CERT: samba.caCertPath,
    TUNNUS_POLICY_FILE: oldFile,
    ...sims.env,
    LOG_LEVEL: 'warn',
  };
  const connection = await Connection.connect({ address: temporal.address });
  const client = new TemporalClient({ connection, dataConverter: dataConverterFor(parseEnv()) });
  let worker: ChildProcess | undefined;
  try {
    const tag = Date.now().toString(36).toUpperCase();
    const records = Array.from({ length: people }, (_, i) => recordFor(i, nurses, tag));

    t = Date.now();
    await writeAccounts(samba, oldPolicy, records, tag);
    log(`${people} accounts written to Samba in ${secs(Date.now() - t)} s`);

    // The worker's log lines go to stderr: stdout carries only the results table.
    worker = spawnWorker(env, ['ignore', process.stderr, 'inherit']);
    // Every (N/W)-th person gets a workflow: nurses and others in the same mix.
    const step = people / workflows;
    const managedSet = Array.from({ length: workflows }, (_, k) => records[Math.floor(k * step)]!);
    const managedNurses = managedSet.filter((r) => r.jobCode === 'SH01').length;
    t = Date.now();
    await inBatches(managedSet, 32, async (r) => void (await deliverRecord(client, r, 'hr', TASK_QUEUE)));
    // A joiner runs inside its person workflow (no joiner child since the fifth round): count the
    // persons whose stage is active, and stop with a reason on a held or failed one.
    const personsOnQueue = `WorkflowType = 'personWorkflow' AND TaskQueue = '${TASK_QUEUE}'`;
    // Typed against the domain's stages: a renamed stage fails the type-check, not the wait.
    const stage = (s: LifecycleStage) => `'${s}'`;
    const done = `${personsOnQueue} AND LifecycleStage = ${stage('active')}`;
    const ended = `${personsOnQueue} AND (LifecycleStage IN (${stage('held')}, ${stage('failed')}) OR ExecutionStatus IN ('Failed', 'Terminated', 'Canceled', 'TimedOut'))`;
    const stallMs = 120_000;
    for (let n = 0, last = -1, progressAt = Date.now(); n < workflows;) {
      await sleep(2000);
      n = (await client.workflow.count(done)).count;
      log(`joiners completed: ${n}/${workflows}`);
      if (worker.exitCode !== null) throw new Error(`worker exited with ${worker.exitCode}`);
      const failed = (await client.workflow.count(ended)).count;
      if (failed > 0)
        throw new Error(`${failed} person workflows held, failed or ended (see them in the Temporal UI)`);
      if (n !== last) [last, progressAt] = [n, Date.now()];
      else if (Date.now() - progressAt > stallMs) {
        throw new Error(
          `no joiner completed for ${stallMs / 1000} s (${n}/${workflows}): held or failing, see the Temporal UI`,
        );
      }
    }
    log(`${workflows} person workflows hold their records after ${secs(Date.now() - t)} s`);

    // Phase by phase, with the same modules the CLI uses.
    const config = parseEnv(env);
    const directory = createLdapDirectory({
      url: samba.url,
      bindDn: samba.bindDn,
      bindPassword: samba.bindPassword,
      baseDn: samba.baseDn,
      caCertPath: samba.caCertPath,
    });
    const cloud = createCloudDirectory(config);
    const phone = createPhoneDirectoryFromEnv(config);
    t = Date.now();
    const managed = await managedRecords(client, TASK_QUEUE, { concurrency: 32 });
    const recordsMs = Date.now() - t;
    const byId = new Map(records.map((r) => [r.employeeId, r]));
    if (
      managed.records.length !== workflows ||
      managed.records.some((r) => byId.get(r.employeeId)?.jobCode !== r.jobCode)
    ) {
      throw new Error('the workflows do not hold the records delivered');
    }

    // Plans with one listing of all accounts (what the CLI does from 100 persons on) ...
    t = Date.now();
    const listed = await prefetchedDirectory(directory);
    const listMs = Date.now() - t;
    const planner = createPlanner({
      directory: listed,
      cloud,
      phone,
      policy: newPolicy,
      baseDn: samba.baseDn,
    });
    const persons = await collectPlans(planner, records, { concurrency });
    const planMs = Date.now() - t;
    // ... and with one employeeID lookup per person, as the worker's activity does.
    t = Date.now();
    const perPerson = createPlanner({ directory, cloud, phone, policy: newPolicy, baseDn: samba.baseDn });
    const lookedUp = await collectPlans(perPerson, records, { concurrency });
    const lookupMs = Date.now() - t;
    await directory.close();
    await phone.close();
    const same = persons.every(
      (p, i) => p.fingerprint === lookedUp[i]!.fingerprint && p.steps.join() === lookedUp[i]!.steps.join(),
    );
    if (!same) throw new Error('plans from the listing and from lookups differ');
    const changing = persons.filter(changes).length;
    if (changing !== nurses) throw new Error(`expected ${nurses} persons to change, got ${changing}`);

    // End to end, as an operator runs it.
    const sink = { write: () => true } as unknown as NodeJS.WritableStream;
    const cli = async (args: string[], cliEnv: NodeJS.ProcessEnv) => {
      const t0 = Date.now();
      const code = await runPlan([...args, '--json', '--concurrency', String(concurrency)], cliEnv, sink);
      if (code !== 0) throw new Error(`tunnus plan ${args.join(' ')} exited ${code}`);
      return Date.now() - t0;
    };
    const policyCliMs = await cli(['--policy', newFile], env);
    const csv = path.join(stateDir, 'snapshot.csv');
    fs.writeFileSync(
      csv,
      hrCsv(records, { columns: HR_EXPORT_COLUMNS.slice(0, -1), eol: '\n', finalEol: false }),
    );
    const hrCliMs = await cli(['--hr', csv], { ...env, TUNNUS_POLICY_FILE: newFile });

    const perRecordMs = recordsMs / workflows;
    const estimateMs = perRecordMs * people + planMs;
    console.log(
      `# Plan for a policy change over ${people} identities (${nurses} nurses gain ERP-Medication)\n`,
    );
    console.log('| measure | value |');
    console.log('|---|---:|');
    console.log(
      `| **policy plan over ${people} identities** (records at the measured rate + plans measured) | **${secs(estimateMs)} s** |`,
    );
    console.log(
      `| records: visibility list + \`state\` queries, ${workflows} managed persons (32 in flight) | ${secs(recordsMs)} s (${perRecordMs.toFixed(1)} ms each) |`,
    );
    console.log(
      `| plans: ${people} × planPerson, new policy, one listing of all accounts (${concurrency} in flight) | ${secs(planMs)} s (listing ${secs(listMs)} s) |`,
    );
    console.log(
      `| plans: the same with one employeeID lookup per person | ${secs(lookupMs)} s (${(lookupMs / people).toFixed(1)} ms each) |`,
    );
    console.log(`| \`tunnus plan --hr\` (${people} rows, new policy), end to end | ${secs(hrCliMs)} s |`);
    console.log(
      `| \`tunnus plan --policy\` over the ${workflows} managed persons, end to end | ${secs(policyCliMs)} s (${managedNurses} change) |`,
    );
    console.log(`| persons that would change (of ${people}) | ${changing} |`);
  } finally {
    if (worker && worker.exitCode === null) {
      const exited = new Promise((r) => worker!.once('exit', r));
      worker.kill('SIGTERM');
      await exited;
    }
    await connection.close();
    await sims.close();
    await stopTemporalDevServers();
    await stopSamba();
  }
}

interface Dc {
  url: string;
  baseDn: string;
  bindDn: string;
  bindPassword: string;
  caCertPath: string;
}

/**
 * The accounts the old policy wants, written directly (8 clients): enabled without a password
 * (UF_PASSWD_NOTREQD: nobody signs in here), then the group members in bulk.
 */
async function writeAccounts(dc: Dc, policy: Policy, records: HrRecord[], tag: string): Promise<void> {
  const members = new Map<string, string[]>();
  const conns = await Promise.all(
    Array.from({ length: 8 }, async () => {
      const c = new LdapClient({
        url: dc.url,
        timeout: 60_000,
        connectTimeout: 10_000,
        tlsOptions: { ca: [fs.readFileSync(dc.caCertPath)], minVersion: 'TLSv1.2' },
      });
      await c.bind(dc.bindDn, dc.bindPassword);
      return c;
    }),
  );
  const asOf = new Date();
  let next = 0;
  try {
    await Promise.all(
      conns.map(async (c) => {
        while (next < records.length) {
          const i = next++;
          const r = records[i]!;
          const want = desiredAccount(r, policy, { baseDn: dc.baseDn, asOf });
          const sam = `b${tag.slice(-6)}${i}`.toLowerCase();
          const dn = `CN=${sam},${want.ouDn}`;
          const attrs: Record<string, string | string[]> = {
            objectClass: ['top', 'person', 'organizationalPerson', 'user'],
            sAMAccountName: sam,
            userPrincipalName: `${sam}@kerava.test`,
            // The plan compares the mail's name part with the record's; the number is a collision suffix.
            mail: `${baseLocalPart(r)}${i + 2}@kerava.fi`,
            employeeID: r.employeeId,
            userAccountControl: String(0x200 | 0x20),
            ...Object.fromEntries(Object.entries(want.attributes).filter(([, v]) => v !== undefined)),
          };
          await c.add(
            dn,
            Object.entries(attrs).map(([type, v]) => new Attribute({ type, values: [v].flat() })),
          );
          for (const g of want.groups) {
            if (!members.has(g)) members.set(g, []);
            members.get(g)!.push(dn);
          }
          if (i % 1000 === 999) log(`accounts written: ${i + 1}`);
        }
      }),
    );
    for (const [group, dns] of members) {
      const groupDn = `CN=${group},OU=Groups,OU=Tunnus,${dc.baseDn}`;
      for (let i = 0; i < dns.length; i += 250) {
        await conns[0]!.modify(
          groupDn,
          new Change({
            operation: 'add',
            modification: new Attribute({ type: 'member', values: dns.slice(i, i + 250) }),
          }),
        );
      }
    }
  } finally {
    await Promise.all(conns.map((c) => c.unbind().catch(() => undefined)));
  }
}

// Only a DC on this bench's own address would clash (port 636); every other one keeps running.
// Restored however main ends, a failed setup included.
const clashing = stopClashingDcs(stateDir, process.env.TUNNUS_DC_HOST, log);
main()
  .catch((err: unknown) => {
    process.stderr.write(
      `bench/plan failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 1;
  })
  .finally(() => clashing.restore());
