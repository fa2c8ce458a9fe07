import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { cpuSeconds, procStatus, readPid, spawnWorker, treeCpuSeconds } from './proc';

// Issue 11's figures: population-wide operations over N identities (default 50,000) reading the
// identity read model, against Samba AD + the Graph simulator, with the real worker and CLI.
//
//   TUNNUS_STATE_DIR=$PWD/.state/bench-population TUNNUS_DC_HOST=127.0.0.18 \
//     npx tsx bench/population.ts [--people 50000] [--fresh] [--samples 200] [--temporal-port 27600]
//       [--latency-only]   (explain and GET /persons/{id} only, with CPU-ms per call; no worker)
//
// Setup (timed apart, reused across runs of the same --people: a marker in the state dir):
//   - Samba: provisioned, then stopped and filled OFFLINE with Samba's own Python bindings
//     (bench/samba-fill.py: samba.samdb.SamDB, one transaction into private/sam.ldb), users shaped
//     as the worker creates them (employeeID, names, title, department, mail, OU per policy role,
//     enabled or disabled), group membership through each group's member attribute; started again;
//   - the Graph simulator (in this process): a cloud user per cloud identity, fields and licence
//     as a run leaves them;
//   - the read model: one row per identity written through the store's real write (the same
//     completeRow + identities.write recordIdentity does, sealed with each person's key), and the
//     record index entries (putMany of the keyed fingerprints);
//   - the mess the cleanup must find: 1 % orphan accounts (employeeID, no identity), 0.5 % leavers
//     whose cloud user still holds a licence, 0.5 % nurses hand-added to ERP-Physician, 0.2 %
//     past retention; 5 expired name reservations.
// No person workflow is started: the operations under test must not need one per identity.
// Measured (machine load from /proc/loadavg before each):
//   1. `tunnus cleanup run --mode report --json` (the CLI in a child process; the cleanup workflow
//      on the real worker, src/worker.ts in a child process): seconds, worker VmHWM;
//   2. `tunnus plan --policy <nurses gain ERP-Medication> --json` (the CLI in a child process):
//      seconds, the CLI's VmHWM (the plan runs in the CLI) and the worker's;
//   3. `tunnus explain <id> --json` through explainCommand, and GET /api/v1/persons/{id} through
//      buildApi listening on a port, each for --samples random ids, sequentially, warm: p50/p95.
// The bench policy is config/policy.yaml with telephony off (no phone platform is seeded) and
// cleanup.mode report.

const repoRoot = path.resolve(__dirname, '..');
process.env.TUNNUS_STATE_DIR ??= path.join(repoRoot, '.state', 'bench-population');
process.env.TUNNUS_DC_HOST ??= '127.0.0.18';
const stateDir = path.resolve(process.env.TUNNUS_STATE_DIR);
const TASK_QUEUE = 'bench-population';

const log = (s: string) => process.stderr.write(`[bench-population] ${s}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const secs = (ms: number) => Number((ms / 1000).toFixed(1));
const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
const loadavg = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      people: { type: 'string', default: '50000' },
      fresh: { type: 'boolean', default: false },
      samples: { type: 'string', default: '200' },
      'temporal-port': { type: 'string', default: '27600' },
      'keep-running': { type: 'boolean', default: false },
      // Only explain and GET /persons/{id} (no worker, no cleanup, no plan): for iterating on them.
      'latency-only': { type: 'boolean', default: false },
    },
  });
  if (!path.basename(stateDir).startsWith('bench')) {
    throw new Error(`TUNNUS_STATE_DIR ${stateDir} is not a bench state dir (.state/bench-…)`);
  }
  const people = Number(values.people);
  const samples = Number(values.samples);
  const temporalPort = Number(values['temporal-port']);
  fs.mkdirSync(stateDir, { recursive: true });
  // The payload codec's and the store's keys, in this bench's state dir (docs/privacy.md).
  const { ensureKekFile } = await import('../src/crypto/kek');
  process.env.TUNNUS_KEK_FILE ??= ensureKekFile(path.join(stateDir, 'kek'));
  process.env.TUNNUS_KEYS_FILE ??= path.join(stateDir, 'identity-keys.sqlite');
  process.env.TUNNUS_INDEX_FILE = path.join(stateDir, 'record-index.sqlite');

  const { ensureSamba, stopSamba, sambaDir } = await import('../sandbox/samba');
  const { ensureTemporalDevServer, stopTemporalDevServers } = await import('../sandbox/temporal');
  const { startSimulators } = await import('../sandbox/simulators');
  const { parsePolicy } = await import('../src/domain/policy');
  const population = await import('./population-data');

  const marker = path.join(stateDir, 'population.json');
  if (
    values.fresh ||
    !fs.existsSync(marker) ||
    (JSON.parse(fs.readFileSync(marker, 'utf8')) as { people: number }).people !== people
  ) {
    await stopSamba();
    await stopTemporalDevServers();
    for (const sub of [
      'samba',
      'temporal',
      'record-index.sqlite',
      'identity-keys.sqlite',
      'population.json',
    ]) {
      fs.rmSync(path.join(stateDir, sub), { recursive: true, force: true });
    }
    for (const f of fs.readdirSync(stateDir)) {
      if (/^(record-index|identity-keys)\.sqlite-(wal|shm)$/.test(f)) fs.rmSync(path.join(stateDir, f));
    }
  }
  const fresh = !fs.existsSync(marker);

  // The policies: the sample's, telephony off, report mode; the change adds a nurse group.
  const sample = YAML.parse(fs.readFileSync(path.join(repoRoot, 'config', 'policy.yaml'), 'utf8')) as Record<
    string,
    Record<string, unknown>
  >;
  sample.telephony = { ...sample.telephony, enabled: false };
  sample.cleanup = { ...sample.cleanup, mode: 'report' };
  const oldFile = path.join(stateDir, 'policy-old.yaml');
  fs.writeFileSync(oldFile, YAML.stringify(sample));
  const oldPolicy = parsePolicy(fs.readFileSync(oldFile, 'utf8'));
  const changed = structuredClone(sample) as unknown as { roles: { name: string; groups?: string[] }[] };
  const nurse = changed.roles.find((r) => r.name === 'nurse')!;
  nurse.groups = [...(nurse.groups ?? []), 'ERP-Medication'];
  const newFile = path.join(stateDir, 'policy-new.yaml');
  fs.writeFileSync(newFile, YAML.stringify(changed));
  parsePolicy(fs.readFileSync(newFile, 'utf8'));

  const setup: Record<string, number> = {};
  let t = Date.now();
  const samba = await ensureSamba({ policyFile: newFile }); // every group of both policies exists
  setup.sambaS = secs(Date.now() - t);
  const plan = population.buildPopulation(people, oldPolicy, samba.baseDn);
  log(`${plan.people.length} accounts planned (${plan.identities} identities), load ${loadavg()}`);

  if (fresh) {
    // Offline fill: the DC stopped, Samba's own tools write into its database, the DC started.
    t = Date.now();
    await samba.stop();
    const fillFile = path.join(stateDir, 'fill.json');
    fs.writeFileSync(fillFile, JSON.stringify(population.fillOf(plan.people, samba.baseDn)));
    const dir = sambaDir();
    const out = spawnSync(
      '/usr/bin/python3',
      [
        path.join(__dirname, 'samba-fill.py'),
        path.join(dir, 'etc', 'smb.conf'),
        path.join(dir, 'private', 'sam.ldb'),
        fillFile,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 },
    );
    if (out.status !== 0) throw new Error(`samba-fill.py failed (exit ${out.status})`);
    fs.rmSync(fillFile);
    setup.fillSambaS = secs(Date.now() - t);
    log(`Samba filled offline: ${out.stdout.trim()} in ${setup.fillSambaS} s`);
    t = Date.now();
    await samba.start();
    setup.sambaRestartS = secs(Date.now() - t);
    await population.reserveExpiredNames(samba, oldPolicy, 5);
  }

  t = Date.now();
  const dev = await ensureTemporalDevServer({ port: temporalPort, uiPort: temporalPort + 1000 });
  setup.temporalS = secs(Date.now() - t);
  const sims = await startSimulators({
    skus: ['SPE_E3', 'SPE_F1', 'M365EDU_A3_FACULTY'].map((sku) => ({
      skuPartNumber: sku,
      enabled: people * 2,
    })),
  });
  t = Date.now();
  const cloudUsers = population.seedCloud(sims.graph.state, plan.people, oldPolicy);
  setup.cloudS = secs(Date.now() - t);
  log(`Graph simulator: ${cloudUsers} cloud users in ${setup.cloudS} s`);

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: dev.address,
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
  const { parseEnv } = await import('../src/config');
  const config = parseEnv(env);

  if (fresh) {
    t = Date.now();
    const written = await population.writeReadModel(config, plan.people, oldPolicy);
    setup.readModelS = secs(Date.now() - t);
    log(`read model: ${written} rows + index entries in ${setup.readModelS} s`);
    fs.writeFileSync(marker, JSON.stringify({ people, at: new Date().toISOString(), setup }));
  }

  let worker: ChildProcess | undefined;
  const results: Record<string, unknown> = {};
  try {
    if (values['latency-only']) {
      // CPU per call as well as latency: on a shared machine the wall time is mostly waiting
      // for a core, the CPU-ms (this process, the Graph simulator included, and Samba) are not.
      const ids = population.sampleIds(plan.people, samples);
      const sambaPid = readPid(path.join(stateDir, 'samba', 'run', 'samba.pid'));
      const perCall = (ms: number) => Number((ms / (ids.length + 10)).toFixed(1));
      for (const [name, time] of [
        ['explain', population.timeExplain],
        ['get', population.timeGet],
      ] as const) {
        const cpu0 = process.cpuUsage();
        const samba0 = treeCpuSeconds(sambaPid);
        const figures = await time(config, ids);
        const cpu = process.cpuUsage(cpu0);
        results[name] = {
          ...figures,
          cpuMsPerCall: perCall((cpu.user + cpu.system) / 1000),
          sambaCpuMsPerCall: perCall((treeCpuSeconds(sambaPid) - samba0) * 1000),
        };
        log(`${name}: ${JSON.stringify(results[name])}`);
      }
      return;
    }
    worker = spawnWorker(env, ['ignore', process.stderr, 'inherit']);
    const workerPid = worker.pid!;
    await population.waitForPoller(config, TASK_QUEUE, workerPid);
    // Idle for 15 s after it polls: what the worker holds before any operation (start-up done).
    await sleep(15_000);
    const rssAtReady = procStatus(workerPid, 'VmRSS') ?? 0;
    log(
      `worker ${workerPid} polling, RSS ${mb(rssAtReady)} MB after 15 s idle, VmHWM ${mb(procStatus(workerPid, 'VmHWM') ?? 0)} MB`,
    );
    const sambaPid = readPid(path.join(stateDir, 'samba', 'run', 'samba.pid'));
    // VmHWM covers the worker's whole life (its start-up included); VmRSS sampled every 100 ms
    // during each operation is that operation's own peak.
    let opPeak = 0;
    const sampler = setInterval(() => (opPeak = Math.max(opPeak, procStatus(workerPid, 'VmRSS') ?? 0)), 100);
    sampler.unref();
    const resetPeak = () => (opPeak = procStatus(workerPid, 'VmRSS') ?? 0);

    // 1. The cleanup, report mode, through the CLI.
    const cleanupLoad = loadavg();
    const cpu0 = { worker: cpuSeconds(workerPid), samba: cpuSeconds(sambaPid) };
    resetPeak();
    const cleanup = await runCli(['cleanup', 'run', '--mode', 'report', '--json'], env);
    const cleanupPeak = opPeak;
    const report = JSON.parse(cleanup.stdout) as {
      counts?: Record<string, number>;
      managedIdentities?: number;
    };
    results.cleanup = {
      seconds: secs(cleanup.ms),
      load: cleanupLoad,
      workerHwmMb: mb(procStatus(workerPid, 'VmHWM') ?? 0),
      workerPeakRssMb: mb(cleanupPeak),
      cliHwmMb: mb(cleanup.hwm),
      workerCpuS: Number((cpuSeconds(workerPid) - cpu0.worker).toFixed(1)),
      sambaCpuS: Number((cpuSeconds(sambaPid) - cpu0.samba).toFixed(1)),
      counts: report.counts,
      managedIdentities: report.managedIdentities,
    };
    log(`cleanup: ${JSON.stringify(results.cleanup)}`);

    // 2. The policy plan, through the CLI.
    const planLoad = loadavg();
    resetPeak();
    const planned = await runCli(['plan', '--policy', newFile, '--json'], env);
    const planPeak = opPeak;
    const planJson = JSON.parse(planned.stdout) as {
      summary: Record<string, unknown>;
      persons: { employeeId: string; actions: string[]; groupsAdded: string[] }[];
    };
    const changing = planJson.persons.filter((p) => p.actions.length > 0);
    const byReason = new Map<string, number>();
    for (const p of changing) {
      const key = p.actions.join('+') + (p.groupsAdded.length ? `:${p.groupsAdded.join(',')}` : '');
      byReason.set(key, (byReason.get(key) ?? 0) + 1);
    }
    results.plan = {
      seconds: secs(planned.ms),
      load: planLoad,
      cliHwmMb: mb(planned.hwm),
      workerPeakRssMb: mb(planPeak),
      persons: planJson.persons.length,
      changing: changing.length,
      expectedChanging: plan.activeNurses,
      changes: Object.fromEntries(byReason),
    };
    log(`plan: ${JSON.stringify(results.plan)}`);

    // 3. Explain and GET /persons/{id}, warm, sequential.
    const ids = population.sampleIds(plan.people, samples);
    results.explain = await population.timeExplain(config, ids);
    log(`explain: ${JSON.stringify(results.explain)}`);
    results.get = await population.timeGet(config, ids);
    log(`GET: ${JSON.stringify(results.get)}`);
    clearInterval(sampler);
    results.workerHwmMb = mb(procStatus(workerPid, 'VmHWM') ?? 0);
    results.rssAtReadyMb = mb(rssAtReady);
  } finally {
    if (worker && worker.exitCode === null) {
      const exited = new Promise((r) => worker!.once('exit', r));
      worker.kill('SIGTERM');
      await Promise.race([exited, sleep(30_000)]);
    }
    await sims.close();
    if (!values['keep-running']) {
      await stopTemporalDevServers();
      await stopSamba();
    }
  }
  const stored = JSON.parse(fs.readFileSync(marker, 'utf8')) as { setup: Record<string, number> };
  print({ people, plan, setup: { ...stored.setup, ...setup }, results });
}

/** `tunnus …` in a child process, as an operator runs it: wall time, stdout, its VmHWM. */
async function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ ms: number; stdout: string; hwm: number }> {
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(repoRoot, 'src', 'starter.ts'), ...args],
    {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let stdout = '';
  let hwm = 0;
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (c: string) => (stdout += c));
  const timer = setInterval(() => (hwm = Math.max(hwm, procStatus(child.pid!, 'VmHWM') ?? 0)), 100);
  // 'close', not 'exit': the child's last stdout chunks may still be in the pipe at its exit.
  const code = await new Promise<number | null>((r) => child.once('close', r));
  clearInterval(timer);
  const ms = performance.now() - t0;
  fs.writeFileSync(path.join(stateDir, `out-${args[0]}.txt`), stdout);
  if (code !== 0) throw new Error(`tunnus ${args.join(' ')} exited ${code}: ${stdout.slice(0, 2000)}`);
  return { ms, stdout, hwm };
}

function print(r: {
  people: number;
  plan: { identities: number; people: unknown[]; mess: Record<string, number> };
  setup: Record<string, number>;
  results: Record<string, unknown>;
}): void {
  type Figures = Record<string, string | number>;
  const c = r.results.cleanup as Figures;
  const p = r.results.plan as Figures;
  const e = r.results.explain as Figures;
  const g = r.results.get as Figures;
  const idle = r.results.rssAtReadyMb as number;
  const nproc = spawnSync('nproc').stdout.toString().trim();
  const lines = [
    `### Population-wide operations over ${r.people} identities (${new Date().toISOString()})`,
    '',
    `Machine: nproc ${nproc}, ${os.cpus()[0]?.model ?? '?'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}.`,
    `Directory: ${r.plan.people.length} accounts (${r.plan.identities} identities), mess ${JSON.stringify(r.plan.mess)}.`,
    '',
    '| measure | value | target |',
    '|---|---:|---:|',
    `| setup (not measured): ${Object.entries(r.setup)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')} | | |`,
    `| **cleanup, report mode** (\`tunnus cleanup run --mode report\`, end to end) | **${c.seconds} s** (load ${c.load}) | < 60 s |`,
    `| … worker peak RSS during the run (VmRSS, 100 ms) / VmHWM since start-up / idle before it | **${c.workerPeakRssMb} MB** / ${c.workerHwmMb} MB / ${idle} MB | < 500 MB |`,
    `| … worker / Samba CPU-s | ${c.workerCpuS} / ${c.sambaCpuS} | |`,
    `| … findings | ${JSON.stringify(c.counts)}; managed ${c.managedIdentities} | |`,
    `| **\`tunnus plan --policy\`** (nurses gain ERP-Medication, end to end) | **${p.seconds} s** (load ${p.load}) | < 60 s |`,
    `| … CLI peak RSS (VmHWM; the plan runs there) / worker during it (VmRSS) | **${p.cliHwmMb} MB** / ${p.workerPeakRssMb} MB | < 500 MB |`,
    `| … persons planned / changing (expected) | ${p.persons} / ${p.changing} (${p.expectedChanging}) | |`,
    `| **\`tunnus explain\`**, ${e.samples} random ids, sequential, warm | p50 **${e.p50} ms**, p95 **${e.p95} ms** (load ${e.load}) | p95 < 100 ms |`,
    `| **GET /api/v1/persons/{id}**, same ids | p50 **${g.p50} ms**, p95 **${g.p95} ms** (load ${g.load}) | p95 < 100 ms |`,
  ];
  console.log(lines.join('\n'));
  console.log(JSON.stringify({ bench: 'population', people: r.people, setup: r.setup, ...r.results }));
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench/population failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
