import { spawn } from 'node:child_process';
import path from 'node:path';

// `npm run bench`: the joiner benchmark (bench/joiners.ts: AD only with the failover phase, then
// with every service), then the others, each in a child process of its own; prints every result
// at the end. Arguments after `--` go to both joiners.ts runs (e.g. `npm run bench -- --people 200`).
// Parallel runs: TUNNUS_STATE_DIR, TUNNUS_DC_HOST and TUNNUS_BENCH_TEMPORAL_PORT (and
// TUNNUS_BENCH_EDU_TEMPORAL_PORT) give the joiner and education benches a place of their own.

interface Result {
  name: string;
  code: number | null;
  stdout: string;
  seconds: number;
}

function runChild(name: string, script: string, args: string[]): Promise<Result> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, script), ...args], {
      cwd: path.resolve(__dirname, '..'),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      process.stdout.write(chunk);
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ name, code, stdout, seconds: (Date.now() - t0) / 1000 }));
  });
}

async function main(): Promise<void> {
  const results: Result[] = [];
  process.stderr.write('== bench/joiners.ts ==\n');
  results.push(await runChild('Joiners (bench/joiners.ts)', 'joiners.ts', process.argv.slice(2)));
  // Full joiners (cloud user, licence, mailbox, phone) and their Graph calls; the failover is
  // measured once, in the AD-only run above.
  process.stderr.write('== bench/joiners.ts --with-services ==\n');
  results.push(
    await runChild('Full joiners (bench/joiners.ts --with-services)', 'joiners.ts', [
      ...process.argv.slice(2),
      '--with-services',
      '--failover',
      '0',
    ]),
  );
  process.stderr.write('== bench/api.ts ==\n');
  results.push(await runChild('Intake API (bench/api.ts)', 'api.ts', []));
  results.push(await runChild('Plan for a policy change (bench/plan.ts)', 'plan.ts', []));
  results.push(await runChild('Snapshot diff (bench/snapshot.ts)', 'snapshot.ts', ['--postgres']));
  results.push(await runChild('Education import, 5,000 pupils (bench/education.ts)', 'education.ts', []));
  results.push(await runChild('Leaver cleanup, 5,000 identities (bench/cleanup.ts)', 'cleanup.ts', []));
  // Issue 11's population figures (bench/population.ts): opt-in, since filling Samba with 50,000
  // accounts takes long on a small machine: BENCH_POPULATION=50000 npm run bench.
  if (process.env.BENCH_POPULATION) {
    const people = process.env.BENCH_POPULATION;
    results.push(
      await runChild(
        `Population-wide operations, ${people} identities (bench/population.ts)`,
        'population.ts',
        ['--people', people],
      ),
    );
  }
  results.push(
    await runChild(
      'Codec server, decode of a 100-event history (bench/codec-server.ts)',
      'codec-server.ts',
      [],
    ),
  );

  console.log('\n================ results ================\n');
  for (const r of results) {
    console.log(
      `## ${r.name}: ${r.code === 0 ? 'ok' : `FAILED (exit ${r.code})`}, ${Math.round(r.seconds)} s\n`,
    );
    console.log(r.stdout.trim() || '(no output)');
    console.log('');
  }
  if (results.some((r) => r.code !== 0)) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
