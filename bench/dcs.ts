import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

// Benches run beside other people's tests and sandboxes, each DC on its own loopback address
// (TUNNUS_DC_HOST) and port 636. A bench stops only a DC that would clash with its own: bound to
// the same address, from another state dir. Every other DC keeps running.

const repoRoot = path.resolve(__dirname, '..');

/** The address a provisioned DC binds to, from its smb.conf (`lo` is 127.0.0.1). */
export function dcAddressOf(stateDir: string): string | undefined {
  try {
    const conf = fs.readFileSync(path.join(stateDir, 'samba', 'etc', 'smb.conf'), 'utf8');
    const value = /^\s*interfaces\s*=\s*(\S+)/m.exec(conf)?.[1];
    if (!value) return undefined;
    return value === 'lo' ? '127.0.0.1' : value.replace(/\/\d+$/, '');
  } catch {
    return undefined;
  }
}

/** State dirs under .state (and .state itself) whose DC would take this address's port 636. */
export function clashingDcDirs(ownStateDir: string, address: string): string[] {
  const root = path.join(repoRoot, '.state');
  const candidates = [root];
  for (const entry of fs.existsSync(root) ? fs.readdirSync(root, { withFileTypes: true }) : []) {
    if (entry.isDirectory()) candidates.push(path.join(root, entry.name));
  }
  return candidates.filter(
    (dir) => path.resolve(dir) !== path.resolve(ownStateDir) && dcAddressOf(dir) === address,
  );
}

/**
 * Stops the DCs that clash with this bench's address (only those running), and returns a function
 * that starts them again.
 */
export function stopClashingDcs(
  ownStateDir: string,
  address: string,
  log: (s: string) => void,
): { stopped: string[]; restore: () => void } {
  const stopped: string[] = [];
  const samba = (dir: string, command: string) =>
    spawnSync('npx', ['tsx', 'sandbox/samba-cli.ts', command], {
      cwd: repoRoot,
      env: { ...process.env, TUNNUS_STATE_DIR: dir, TUNNUS_DC_HOST: address },
    });
  for (const dir of clashingDcDirs(ownStateDir, address)) {
    if (samba(dir, 'status').status !== 0) continue;
    const down = samba(dir, 'down');
    if (down.status !== 0) throw new Error(`could not stop the DC of ${dir}: ${String(down.stderr)}`);
    stopped.push(dir);
    log(`stopped the DC of ${path.relative(repoRoot, dir) || '.'} (it binds ${address} too)`);
  }
  return {
    stopped,
    restore: () => {
      for (const dir of stopped) {
        const up = samba(dir, 'up');
        log(
          `restarted the DC of ${path.relative(repoRoot, dir) || '.'}: ${up.status === 0 ? 'ok' : 'failed'}`,
        );
      }
    },
  };
}
