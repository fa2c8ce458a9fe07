import fs from 'node:fs';
import path from 'node:path';

/**
 * Removes a bench's sandbox state so a run starts from nothing: the DC, the Temporal dev server's
 * database and the record index. The index goes with its SQLite `-wal`/`-shm` files, so no row of
 * an earlier run (sealed with other keys) survives. Only inside the bench's own state dir.
 */
export function removeSandboxState(stateDir: string, indexFile: string): void {
  for (const sub of ['samba', 'temporal'])
    fs.rmSync(path.join(stateDir, sub), { recursive: true, force: true });
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(indexFile + suffix, { force: true });
}
