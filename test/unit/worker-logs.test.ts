import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/logger';
import { sanitizeMeta } from '../../src/telemetry';

// Production logs are JSON, one object per line, on stdout, and carry ids — never names or
// secrets. (That Core's own warnings come out as JSON too, with Temporal gone mid-run, is shown
// by test/integration/metrics.test.ts against a real server.)

const repoRoot = path.resolve(__dirname, '../..');

function runWorker(env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src/worker.ts')], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

function collect(): { stream: Writable; lines: () => string[] } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, lines: () => text.split('\n').filter((l) => l.trim() !== '') };
}

describe('worker logs', () => {
  it('a worker that cannot start says why in one JSON line on stdout, naming the variable, and nothing on stderr', async () => {
    const { code, stdout, stderr } = await runWorker({
      LDAP_URL: 'ldap://dc.example.test',
      LDAP_BIND_PASSWORD: 'Secret-Pa55',
      LOG_LEVEL: 'info',
    });
    assert.equal(code, 1);
    assert.equal(stderr, '');
    const lines = stdout.split('\n').filter((l) => l.trim() !== '');
    assert.ok(lines.length > 0);
    const entries = lines.map((l) => JSON.parse(l) as { level: number; msg: string; error?: string });
    const fatal = entries.find((e) => e.level === 60);
    assert.equal(fatal?.msg, 'worker failed');
    assert.match(fatal?.error ?? '', /LDAP_URL: must be an ldaps:\/\/ URL/);
    assert.ok(!stdout.includes('Secret-Pa55'), 'the password is never logged');
  });

  it('JSON lines redact passwords, tokens and records however they were passed', () => {
    const out = collect();
    const log = createLogger('info', { destination: out.stream });
    log.info(
      { password: 'p', nested: { token: 't' }, record: { lastName: 'Virtanen' }, identityId: 'E1001' },
      'x',
    );
    const [line] = out.lines();
    const entry = JSON.parse(line!) as Record<string, unknown>;
    assert.equal(entry.password, '[redacted]');
    assert.deepEqual(entry.nested, { token: '[redacted]' });
    assert.equal(entry.record, '[redacted]');
    assert.equal(entry.identityId, 'E1001');
    assert.equal(entry.service, 'tunnus');
  });

  it('an unknown LOG_LEVEL falls back to info instead of stopping the process', () => {
    assert.equal(createLogger('verbose', { destination: collect().stream }).level, 'info');
  });

  it('the sandbox gets human-readable lines with the same redaction', () => {
    const out = collect();
    const log = createLogger('info', { pretty: true, destination: out.stream });
    log.info({ identityId: 'E1001', password: 'p' }, 'account created');
    const text = out.lines().join('\n');
    assert.match(text, /account created/);
    assert.match(text, /identityId: "E1001"/);
    assert.ok(!text.includes('"p"'), 'password redacted');
    assert.throws(() => JSON.parse(out.lines()[0]!));
  });

  it("SDK log metadata keeps ids and Core's error string, and drops failures and payloads", () => {
    assert.deepEqual(
      sanitizeMeta({
        workflowId: 'joiner-E1001-1',
        activityType: 'ensureAccount',
        attempt: 2,
        failure: { message: 'name Matti Virtanen taken' },
        args: [{ firstNames: 'Matti' }],
      }),
      { workflowId: 'joiner-E1001-1', activityType: 'ensureAccount', attempt: 2 },
    );
    assert.deepEqual(
      sanitizeMeta({
        sdkComponent: 'core',
        target: 'temporalio_sdk_core::worker',
        error: 'status: Unavailable',
      }),
      { sdkComponent: 'core', target: 'temporalio_sdk_core::worker', error: 'status: Unavailable' },
    );
    assert.deepEqual(sanitizeMeta({ sdkComponent: 'worker', error: { message: 'x' } }), {
      sdkComponent: 'worker',
    });
  });
});
