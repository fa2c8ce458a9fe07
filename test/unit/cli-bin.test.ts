import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';

// The `tunnus` entry point as users run it (bin/tunnus.js through tsx's CommonJS hook): every
// subcommand must load there, not only when a test imports its module. Bad usage is refused before
// anything connects, so no server is needed.

const bin = path.resolve(__dirname, '../../bin/tunnus.js');
const tunnus = (...args: string[]) => {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, text: `${r.stdout}${r.stderr}` };
};

describe('the tunnus command', () => {
  it('--help lists the subcommands', () => {
    const r = tunnus('--help');
    assert.equal(r.code, 0, r.text);
    for (const c of [
      'hire',
      'hr import',
      'education import',
      'explain',
      'runs',
      'cleanup run',
      'plan',
      'approve',
    ]) {
      assert.match(r.text, new RegExp(`tunnus ${c}`), c);
    }
  });

  for (const [args, expected] of [
    [['runs', '--stage', 'bogus'], /--stage must be one of/],
    [['cleanup', 'bogus'], /tunnus cleanup run/],
    [['cleanup', 'run', '--mode', 'sometimes'], /--mode must be report or enforce/],
    [['explain'], /usage: tunnus explain/],
    [['plan'], /tunnus plan --record/],
    [['approve'], /usage: tunnus approve/],
  ] as const) {
    it(`tunnus ${args.join(' ')} loads and is refused as a usage error`, () => {
      const r = tunnus(...args);
      assert.equal(r.code, 2, r.text);
      assert.match(r.text, expected);
    });
  }
});
