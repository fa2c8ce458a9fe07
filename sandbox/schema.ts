import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

// The sandbox DC's one schema change (docs/directory-schema.md): employeeID indexed, as a city's
// AD should have it. Every directory step finds accounts by employeeID; unindexed, each such
// search reads every object in the domain. Applied offline, right after provisioning and before
// the daemon starts, with ldbmodify on the DC's own database (schema updates allowed for that
// one call); the daemon then rebuilds @INDEXLIST from the schema when it starts.

const run = promisify(execFile);

export const schemaDn = (baseDn: string) => `CN=Schema,CN=Configuration,${baseDn}`;
export const employeeIdSchemaDn = (baseDn: string) => `CN=Employee-ID,${schemaDn(baseDn)}`;
/** searchFlags bit 0 (fATTINDEX, MS-ADTS 2.2.9): the attribute is indexed. */
export const FATTINDEX = 0x1;

const samLdb = (sambaDir: string) => path.join(sambaDir, 'private', 'sam.ldb');
/** Written once the change is in: an older sandbox without it gets it on its next start. */
export const schemaMarker = (sambaDir: string) => path.join(sambaDir, '.schema-employeeid-indexed');

/** searchFlags of employeeID as the DC's database holds it. */
export async function employeeIdSearchFlags(sambaDir: string, baseDn: string): Promise<number> {
  const { stdout } = await run('ldbsearch', [
    '-H',
    samLdb(sambaDir),
    '-s',
    'base',
    '-b',
    employeeIdSchemaDn(baseDn),
    'searchFlags',
  ]);
  const m = /^searchFlags: (\d+)$/m.exec(stdout);
  if (!m) throw new Error('employeeID attributeSchema has no searchFlags in the sandbox DC');
  return Number(m[1]);
}

/** Whether the DC's @INDEXLIST (what LDB actually indexes) names the attribute. */
export async function ldbIndexes(sambaDir: string, attribute: string): Promise<boolean> {
  const { stdout } = await run('ldbsearch', ['-H', samLdb(sambaDir), '-s', 'base', '-b', '@INDEXLIST'], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout.split('\n').some((l) => l.trim().toLowerCase() === `@idxattr: ${attribute.toLowerCase()}`);
}

/**
 * Sets fATTINDEX on employeeID's attributeSchema, keeping the other bits. The daemon must not be
 * running (the caller provisions or stops it first). Idempotent; verified by reading it back.
 */
export async function indexEmployeeId(sambaDir: string, baseDn: string): Promise<void> {
  const flags = await employeeIdSearchFlags(sambaDir, baseDn);
  if ((flags & FATTINDEX) === 0) {
    const ldif = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-schema-')), 'index.ldif');
    fs.writeFileSync(
      ldif,
      `dn: ${employeeIdSchemaDn(baseDn)}\nchangetype: modify\nreplace: searchFlags\nsearchFlags: ${flags | FATTINDEX}\n`,
    );
    try {
      await run('ldbmodify', ['-H', samLdb(sambaDir), '--option=dsdb:schema update allowed=true', ldif]);
    } finally {
      fs.rmSync(path.dirname(ldif), { recursive: true, force: true });
    }
    const after = await employeeIdSearchFlags(sambaDir, baseDn);
    if ((after & FATTINDEX) === 0) throw new Error('employeeID searchFlags did not take the index bit');
  }
  fs.writeFileSync(schemaMarker(sambaDir), new Date().toISOString() + '\n');
}
