import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

// src/ops is the one room that talks to Temporal from outside: workflow starts, signals, queries,
// updates, visibility and schedules. Everywhere else in src the client package is imported for its
// types only, and no code reaches through a client to the workflow service. (The worker builds its
// own worker connection; workflow code cannot import the client at all: eslint.config.mjs.)

const src = path.resolve(__dirname, '../../src');
const allowed = (file: string) =>
  file.startsWith('ops/') || file === 'worker.ts' || file.startsWith('workflows/');

function sources(dir: string, prefix = ''): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const rel = `${prefix}${e.name}`;
    if (e.isDirectory()) return sources(path.join(dir, e.name), `${rel}/`);
    return e.name.endsWith('.ts') ? [rel] : [];
  });
}

/** Value imports of @temporalio/client: `import { X }` where some X is not `type X`. */
export function valueImportsOfClient(text: string): string[] {
  const found: string[] = [];
  const re = /import\s+(type\s+)?(\{[^}]*\}|\*\s+as\s+\w+|\w+)\s+from\s+'@temporalio\/client'/g;
  for (const m of text.matchAll(re)) {
    if (m[1]) continue;
    const names = m[2]!.startsWith('{')
      ? m[2]!
          .slice(1, -1)
          .split(',')
          .map((n) => n.trim())
          .filter(Boolean)
      : [m[2]!];
    const values = names.filter((n) => !n.startsWith('type '));
    if (values.length > 0) found.push(values.join(', '));
  }
  if (/require\(\s*'@temporalio\/client'\s*\)|import\(\s*'@temporalio\/client'\s*\)/.test(text))
    found.push('require');
  return found;
}

/**
 * Calls through a client to Temporal: workflow/schedule handles, visibility, the raw service, a
 * connection's deadlines. (Closing the connection a program opened is not talking to Temporal.)
 */
const reaching =
  /\bclient\??\.(workflow|schedule|workflowService|connection(?!\.close\(\)))\b|\.getHandle\(|signalWithStart\(/;

describe('src/ops is the one room that talks to Temporal from outside', () => {
  const files = sources(src).filter((f) => !allowed(f));

  it('no file outside src/ops imports @temporalio/client for anything but types', () => {
    const offenders = files
      .map((f) => [f, valueImportsOfClient(fs.readFileSync(path.join(src, f), 'utf8'))] as const)
      .filter(([, v]) => v.length > 0)
      .map(([f, v]) => `${f}: ${v.join('; ')}`);
    assert.deepEqual(offenders, []);
  });

  it('no file outside src/ops calls Temporal through a client', () => {
    const offenders = files.flatMap((f) =>
      fs
        .readFileSync(path.join(src, f), 'utf8')
        .split('\n')
        .flatMap((line, i) =>
          reaching.test(line) && !/^\s*(\/\/|\*)/.test(line) ? [`${f}:${i + 1}: ${line.trim()}`] : [],
        ),
    );
    assert.deepEqual(offenders, []);
  });

  it('the check itself finds a value import and lets a type import pass', () => {
    assert.deepEqual(valueImportsOfClient(`import { Client, type Connection } from '@temporalio/client';`), [
      'Client',
    ]);
    assert.deepEqual(valueImportsOfClient(`import type { Client } from '@temporalio/client';`), []);
    assert.deepEqual(valueImportsOfClient(`import { type Client } from '@temporalio/client';`), []);
    assert.ok(reaching.test('await client.workflow.start(x)'));
    assert.ok(!reaching.test('await startCleanup(client, queue)'));
    assert.ok(!reaching.test('await client.connection.close();'));
    assert.ok(reaching.test('client.connection.withDeadline(d, fn)'));
  });
});
