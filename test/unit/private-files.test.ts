import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { openSqliteIndex } from '../../src/store/sqlite-index';
import { ensurePrivateFile, writePrivateFile } from '../../src/store/private-files';

// The files that hold personal data are the owner's only: created 0600 whatever the umask, and
// put back to 0600 when they exist with a wider mode.

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-private-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const modeOf = (file: string) => fs.statSync(file).mode & 0o777;

describe('private files', () => {
  it('a new SQLite index, its WAL and shared-memory files are 0600 even under umask 000', async () => {
    const file = path.join(dir, 'fresh', 'index.sqlite');
    const previous = process.umask(0o000);
    try {
      const index = openSqliteIndex({ file });
      await index.put('E1', 'fp', 'hr');
      for (const f of [file, `${file}-wal`, `${file}-shm`]) assert.equal(modeOf(f), 0o600, f);
      assert.equal(modeOf(path.dirname(file)), 0o700, 'the directory it created');
      await index.close();
    } finally {
      process.umask(previous);
    }
  });

  it('an existing index, WAL and shared-memory file with wider modes are put back to 0600 on open', async () => {
    const file = path.join(dir, 'old.sqlite');
    const first = openSqliteIndex({ file });
    await first.put('E1', 'fp', 'hr'); // the WAL and shm exist while a connection is open
    for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.chmodSync(f, 0o644);
    const second = openSqliteIndex({ file });
    for (const f of [file, `${file}-wal`, `${file}-shm`]) assert.equal(modeOf(f), 0o600, f);
    assert.equal((await second.get('E1'))?.fingerprint, 'fp', 'the content is untouched');
    await second.close();
    await first.close();
  });

  it('ensurePrivateFile keeps an existing file and its content', () => {
    const file = path.join(dir, 'kept');
    fs.writeFileSync(file, 'content', { mode: 0o664 });
    ensurePrivateFile(file);
    assert.equal(modeOf(file), 0o600);
    assert.equal(fs.readFileSync(file, 'utf8'), 'content');
  });

  it('writePrivateFile replaces a world-readable file with a 0600 one and leaves no temp file', () => {
    const file = path.join(dir, 'plan.json');
    fs.writeFileSync(file, 'old', { mode: 0o644 });
    writePrivateFile(file, 'new');
    assert.equal(modeOf(file), 0o600);
    assert.equal(fs.readFileSync(file, 'utf8'), 'new');
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')),
      [],
    );
  });
});
