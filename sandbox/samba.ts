import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { Attribute, Change, Client, ResultCodeError } from 'ldapts';
import { managedGroups, managedOus, parsePolicy, type Policy } from '../src/domain/policy';
import { caCertPath as sandboxCaCertPath, ensureServerCert } from './ca';
import { indexEmployeeId, schemaMarker } from './schema';
import { repoRoot, stateDir } from './paths';

// A real Samba AD domain controller for the tests and the local sandbox: provisioned once into
// <state>/samba, bound to loopback only, LDAPS with a certificate from the sandbox CA, and only
// the LDAP service running (password sets over LDAPS happen inside it; no KDC, DNS or SMB needed).

const run = promisify(execFile);

export const realm = 'KERAVA.TEST';
export const netbiosDomain = 'KERAVA';
export const baseDn = 'DC=kerava,DC=test';
export const ldapsPort = 636;
/**
 * The loopback address the DC binds to. LDAPS has a fixed port, so parallel test runs (each with
 * its own TUNNUS_STATE_DIR) each take their own 127.0.0.x.
 */
export const dcHost = process.env.TUNNUS_DC_HOST ?? '127.0.0.1';
const defaultHost = dcHost === '127.0.0.1';
export const ldapsUrl = `ldaps://${defaultHost ? 'localhost' : dcHost}:${ldapsPort}`;
export const adminBindDn = `CN=Administrator,CN=Users,${baseDn}`;
/** Sandbox only: meets the default AD policy (length ≥ 7, three character classes). */
export const adminPassword = 'Tunnus-Sandbox-2024!';
/** Where the policy's groups are created (relative to the base DN). */
export const groupsOu = 'OU=Groups,OU=Tunnus';

// AD constants: global security group; "password never expires" (the Administrator would
// otherwise expire after the default 42 days and a long-lived sandbox would stop binding).
const GROUP_TYPE_GLOBAL_SECURITY = '-2147483646';
const UF_DONT_EXPIRE_PASSWD = 0x10000;

export interface SambaHandle {
  url: string;
  baseDn: string;
  bindDn: string;
  bindPassword: string;
  caCertPath: string;
  /** Kills the daemon and waits until the LDAPS port is closed. */
  stop(): Promise<void>;
  /** Starts the daemon (if not running) and waits until an LDAPS bind succeeds. */
  start(): Promise<void>;
  /** What this call did and how long it took (absent when it reused existing state). */
  timings: { provisionMs?: number; startMs?: number };
}

export interface SambaOptions {
  /** Policy whose OUs and groups must exist; defaults to config/policy.yaml. */
  policyFile?: string;
}

export const sambaDir = (): string => path.join(stateDir, 'samba');
const confPath = (dir: string) => path.join(dir, 'etc', 'smb.conf');
const pidFile = (dir: string) => path.join(dir, 'run', 'samba.pid');
const provisionedMarker = (dir: string) => path.join(dir, '.provisioned');

/**
 * Provisions (once), starts (unless running) and prepares the sandbox DC. Safe to call from
 * several processes at once: a lock file in the state directory serialises them.
 */
export async function ensureSamba(options: SambaOptions = {}): Promise<SambaHandle> {
  if (process.getuid?.() !== 0) throw new Error('Samba AD needs root (samba-tool and the samba daemon)');
  const dir = sambaDir();
  const timings: SambaHandle['timings'] = {};
  const policy = loadPolicy(options.policyFile ?? path.join(repoRoot, 'config', 'policy.yaml'));
  await withLock(path.join(stateDir, 'samba.lock'), async () => {
    if (!fs.existsSync(provisionedMarker(dir))) {
      const t0 = Date.now();
      await provision(dir);
      timings.provisionMs = Date.now() - t0;
    }
    // employeeID indexed (sandbox/schema.ts): offline, so a sandbox provisioned before the
    // change gets it once, with its daemon stopped for that moment.
    if (!fs.existsSync(schemaMarker(dir))) {
      if (runningPid(dir) !== undefined) await stopSamba();
      await indexEmployeeId(dir, baseDn);
    }
    writeConfig(dir);
    if (runningPid(dir) === undefined) {
      const t0 = Date.now();
      await startDaemon(dir);
      timings.startMs = Date.now() - t0;
    } else {
      await waitForLdaps(30_000);
    }
    await prepareDirectory(policy);
  });
  return {
    url: ldapsUrl,
    baseDn,
    bindDn: adminBindDn,
    bindPassword: adminPassword,
    caCertPath: sandboxCaCertPath(),
    stop: () => stopSamba(),
    start: async () => {
      if (runningPid(dir) === undefined) await startDaemon(dir);
      else await waitForLdaps(30_000);
    },
    timings,
  };
}

/** Stops the sandbox DC if it runs; waits until the process is gone and the port is closed. */
export async function stopSamba(): Promise<void> {
  const dir = sambaDir();
  const pid = runningPid(dir);
  if (pid !== undefined) {
    process.kill(pid, 'SIGTERM');
    if (!(await waitUntil(() => !isAlive(pid), 10_000))) {
      process.kill(pid, 'SIGKILL');
      await waitUntil(() => !isAlive(pid), 5_000);
    }
  }
  if (!(await waitUntilAsync(async () => !(await portOpen(ldapsPort)), 10_000))) {
    throw new Error(`port ${ldapsPort} is still open after stopping Samba`);
  }
}

export interface SambaStatus {
  provisioned: boolean;
  pid?: number;
  ldapsAnswers: boolean;
}

export async function sambaStatus(): Promise<SambaStatus> {
  const dir = sambaDir();
  const pid = runningPid(dir);
  return {
    provisioned: fs.existsSync(provisionedMarker(dir)),
    ...(pid !== undefined ? { pid } : {}),
    ldapsAnswers: pid !== undefined && (await ldapsBinds()),
  };
}

function loadPolicy(file: string): Policy {
  return parsePolicy(fs.readFileSync(file, 'utf8'));
}

async function provision(dir: string): Promise<void> {
  // A half-provisioned directory (no marker) is unusable: start over.
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    await run(
      'samba-tool',
      [
        'domain',
        'provision',
        `--realm=${realm}`,
        `--domain=${netbiosDomain}`,
        '--server-role=dc',
        '--dns-backend=NONE',
        '--use-rfc2307',
        `--targetdir=${dir}`,
        '--host-name=dc1',
        `--adminpass=${adminPassword}`,
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    const tail = `${e.stdout ?? ''}\n${e.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    throw new Error(`samba-tool domain provision failed: ${e.message}\n${tail}`);
  }
  fs.writeFileSync(provisionedMarker(dir), new Date().toISOString() + '\n');
}

/** Replaces the provision's smb.conf with the sandbox one (loopback, LDAPS, LDAP service only). */
function writeConfig(dir: string): void {
  const cert = defaultHost
    ? ensureServerCert('samba', ['localhost', 'dc1.kerava.test'])
    : ensureServerCert(`samba-${dcHost}`, ['dc1.kerava.test'], [dcHost]);
  for (const sub of ['etc', 'run', 'log', 'cache', 'state', 'private']) {
    fs.mkdirSync(path.join(dir, sub), { recursive: true });
  }
  const conf = `# Written by sandbox/samba.ts on every start; edits are overwritten.
[global]
\tnetbios name = DC1
\trealm = ${realm}
\tworkgroup = ${netbiosDomain}
\tserver role = active directory domain controller
\tserver services = ldap
\tinterfaces = ${defaultHost ? 'lo' : `${dcHost}/8`}
\tbind interfaces only = yes
\tprivate dir = ${path.join(dir, 'private')}
\tstate directory = ${path.join(dir, 'state')}
\tcache directory = ${path.join(dir, 'cache')}
\tlock directory = ${dir}
\tpid directory = ${path.join(dir, 'run')}
\tbinddns dir = ${path.join(dir, 'bind-dns')}
\tlog file = ${path.join(dir, 'log', 'samba.log')}
\tlogging = file
\tlog level = 1
\tmax log size = 1000
\tidmap_ldb:use rfc2307 = yes
\ttls enabled = yes
\ttls certfile = ${cert.cert}
\ttls keyfile = ${cert.key}
\ttls cafile = ${sandboxCaCertPath()}
`;
  const file = confPath(dir);
  if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== conf) fs.writeFileSync(file, conf);
}

async function startDaemon(dir: string): Promise<void> {
  if (await portOpen(ldapsPort)) {
    throw new Error(
      `port ${ldapsPort} is in use by a process that is not the sandbox Samba (no live pid file)`,
    );
  }
  fs.rmSync(pidFile(dir), { force: true });
  // -D daemonises and returns; "single" keeps it to one process (2-core CI machines).
  await run('samba', ['-s', confPath(dir), '-D', '-M', 'single']);
  await waitForLdaps(30_000, dir);
}

/** The pid of the sandbox samba daemon if its pid file names a live samba process. */
function runningPid(dir: string): number | undefined {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile(dir), 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
  try {
    const comm = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    if (!comm.startsWith('samba')) return undefined;
  } catch {
    return undefined;
  }
  return pid;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie still answers kill(0); it is gone for our purposes.
  try {
    return !/^\S+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: dcHost, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.setTimeout(1_000, () => done(false));
  });
}

function adminClient(): Client {
  return new Client({
    url: ldapsUrl,
    timeout: 10_000,
    connectTimeout: 3_000,
    tlsOptions: { ca: [fs.readFileSync(sandboxCaCertPath())] },
  });
}

async function ldapsBinds(): Promise<boolean> {
  const client = adminClient();
  try {
    await client.bind(adminBindDn, adminPassword);
    return true;
  } catch {
    return false;
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

async function waitForLdaps(timeoutMs: number, dir?: string): Promise<void> {
  if (await waitUntilAsync(ldapsBinds, timeoutMs)) return;
  const log = dir ? path.join(dir, 'log', 'samba.log') : 'the samba log';
  throw new Error(`Samba LDAPS did not accept a bind within ${timeoutMs} ms (see ${log})`);
}

/** OUs (parents first), the policy's groups, and a non-expiring admin password. Idempotent. */
export async function prepareDirectory(policy: Policy): Promise<void> {
  const client = adminClient();
  try {
    await client.bind(adminBindDn, adminPassword);
    const ous = new Set<string>();
    for (const ou of [...managedOus(policy), groupsOu]) {
      const parts = ou.split(',');
      for (let i = parts.length - 1; i >= 0; i--) ous.add(parts.slice(i).join(','));
    }
    // Sorting by depth creates every parent before its children.
    const byDepth = [...ous].sort((a, b) => a.split(',').length - b.split(',').length);
    for (const ou of byDepth) {
      await addIfMissing(client, `${ou},${baseDn}`, { objectClass: ['top', 'organizationalUnit'] });
    }
    for (const group of managedGroups(policy)) {
      await addIfMissing(client, `CN=${group},${groupsOu},${baseDn}`, {
        objectClass: ['top', 'group'],
        sAMAccountName: group,
        groupType: GROUP_TYPE_GLOBAL_SECURITY,
      });
    }
    const { searchEntries } = await client.search(adminBindDn, {
      scope: 'base',
      attributes: ['userAccountControl'],
    });
    const uac = Number(searchEntries[0]?.userAccountControl ?? 0);
    if ((uac & UF_DONT_EXPIRE_PASSWD) === 0) {
      await client.modify(
        adminBindDn,
        new Change({
          operation: 'replace',
          modification: new Attribute({
            type: 'userAccountControl',
            values: [String(uac | UF_DONT_EXPIRE_PASSWD)],
          }),
        }),
      );
    }
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

async function addIfMissing(client: Client, dn: string, attributes: Record<string, string | string[]>) {
  try {
    await client.add(dn, attributes);
  } catch (err) {
    // 68: the entry (or, for a group, its sAMAccountName) already exists.
    if (!(err instanceof ResultCodeError && err.code === 68)) throw err;
  }
}

async function withLock<T>(lockPath: string, fn: () => Promise<T>): Promise<T> {
  fs.mkdirSync(path.dirname(lockPath), { recursive: true });
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      fs.writeFileSync(lockPath, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readLockHolder(lockPath);
      // An empty file is a lock being written right now, unless it is old (its writer died).
      const stale = holder === 0 ? lockAgeMs(lockPath) > 5_000 : holder !== undefined && !isAlive(holder);
      if (stale || holder === undefined) {
        if (stale) fs.rmSync(lockPath, { force: true }); // left behind by a process that died
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lockPath} (held by pid ${holder})`);
      await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lockPath, { force: true });
  }
}

/** The pid in the lock file; 0 while it is being written; undefined if it just disappeared. */
function readLockHolder(lockPath: string): number | undefined {
  try {
    return Number(fs.readFileSync(lockPath, 'utf8').trim() || '0');
  } catch {
    return undefined;
  }
}

function lockAgeMs(lockPath: string): number {
  try {
    return Date.now() - fs.statSync(lockPath).mtimeMs;
  } catch {
    return 0;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  return waitUntilAsync(async () => check(), timeoutMs);
}

async function waitUntilAsync(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
}
