import fs from 'node:fs';
import path from 'node:path';

// Files that hold personal data (the SQLite record index with its import staging, its WAL and
// shared-memory files, saved plans) are readable by their owner only: created 0600, and put back
// to 0600 when they exist with a wider mode (an older version, a copy, a restore, a umask).

export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/** Makes `file` 0600 if it exists with any group or other bit; absent files are left alone. */
export function fixPrivateMode(file: string): void {
  let mode: number;
  try {
    mode = fs.statSync(file).mode & 0o777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if ((mode & 0o077) !== 0) fs.chmodSync(file, mode & 0o700);
}

/**
 * Creates `file` empty and 0600 when absent (and its directory, 0700, when that is absent), or
 * fixes its mode when present. Creating it ourselves, before a library opens it, is what makes the
 * mode independent of the process's umask.
 */
export function ensurePrivateFile(file: string): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: PRIVATE_DIR_MODE });
  try {
    fs.closeSync(
      fs.openSync(
        file,
        fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY,
        PRIVATE_FILE_MODE,
      ),
    );
    // The umask may have taken bits away, never added them; chmod states the mode exactly.
    fs.chmodSync(file, PRIVATE_FILE_MODE);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    fixPrivateMode(file);
  }
}

/**
 * Writes `text` to `file`, 0600 whether or not the file existed: a new file is created 0600 and
 * renamed over the old one, so there is no moment when the content sits under a wider mode.
 */
export function writePrivateFile(file: string, text: string): void {
  const dir = path.dirname(path.resolve(file));
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  fs.writeFileSync(temp, text, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
  try {
    fs.chmodSync(temp, PRIVATE_FILE_MODE);
    fs.renameSync(temp, file);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    throw err;
  }
}
