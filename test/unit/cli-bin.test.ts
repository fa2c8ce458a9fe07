import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { CliContext } from '../../src/cli/context';
import { allCommands, buildProgram, commandPath, runsItself } from '../../src/cli/program';
import { SAVED_PLAN_FORMAT } from '../../src/simulate/saved';

// The `tunnus` entry point as users run it (bin/tunnus.js through tsx's CommonJS hook). Every
// command and subcommand is taken from the commander program itself, so a new command is tested
// here without anyone listing it: its --help, a bad option, `help <command>`, and — for every
// command that talks to Temporal — how it fails when Temporal is not there.

const repoRoot = path.resolve(__dirname, '../..');
const bin = path.join(repoRoot, 'bin/tunnus.js');

const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
const program = buildProgram(
  new CliContext(sink, sink, () => {
    throw new Error('enumerating commands needs no configuration');
  }),
);
/** '' is `tunnus` itself; then "hire", "hr", "hr import", … */
const commands = ['', ...allCommands(program).map(commandPath)];
const words = (command: string) => (command ? command.split(' ') : []);

/** The environment of a user with only the settings a test gives. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(TEMPORAL_|LDAP_|GRAPH_|PHONE_|TUNNUS_|RECORD_INDEX)/.test(k)) env[k] = v;
  }
  return { ...env, ...extra };
}

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function tunnus(args: string[], env: NodeJS.ProcessEnv = cleanEnv()): Promise<Result> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [bin, ...args], { cwd: repoRoot, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

const show = (r: Result) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

describe('tunnus: help and version', () => {
  it('--version prints the version from package.json', async () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
      version: string;
    };
    const r = await tunnus(['--version']);
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout.trim(), version);
    assert.equal(r.stderr, '');
  });

  it('tunnus --help lists every command in full', async () => {
    const r = await tunnus(['--help']);
    assert.equal(r.code, 0, show(r));
    for (const command of allCommands(program).filter(runsItself)) {
      assert.match(r.stdout, new RegExp(`^  tunnus ${commandPath(command)}\\b`, 'm'), commandPath(command));
    }
  });

  for (const command of commands) {
    it(`tunnus ${command} --help: usage on stdout, exit 0, nothing on stderr`, async () => {
      const r = await tunnus([...words(command), '--help']);
      assert.equal(r.code, 0, show(r));
      assert.match(r.stdout, new RegExp(`^Usage: tunnus ${command}`.trimEnd(), 'm'));
      assert.equal(r.stderr, '');
    });
  }

  for (const command of commands) {
    it(`tunnus help ${command} prints what tunnus ${command} --help prints`, async () => {
      const [viaHelp, viaOption] = [
        await tunnus(['help', ...words(command)]),
        await tunnus([...words(command), '--help']),
      ];
      assert.equal(viaHelp.code, 0, show(viaHelp));
      assert.equal(viaHelp.stderr, '');
      assert.equal(viaHelp.stdout, viaOption.stdout);
    });
  }

  it('--help loads neither Temporal nor a connector (it is fast)', () => {
    const script = [
      "require('tsx/cjs');",
      "const { Writable } = require('node:stream');",
      'const sink = new Writable({ write: (c, e, done) => done() });',
      "require('./src/starter.ts').run(['plan', 'apply', '--help'], sink).then((code) => {",
      '  const heavy = Object.keys(require.cache).filter((f) => /@temporalio|ldapts|microsoft-graph|src[\\\\/]wiring/.test(f));',
      '  process.stdout.write(JSON.stringify({ code, heavy: heavy.slice(0, 3) }));',
      '});',
    ].join('\n');
    const r = spawnSync(process.execPath, ['-e', script], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.deepEqual(JSON.parse(r.stdout), { code: 0, heavy: [] }, r.stderr);
  });
});

describe('tunnus: usage errors', () => {
  for (const command of commands) {
    it(`tunnus ${command} --bogus-option: exit 2, the message on stderr, nothing on stdout`, async () => {
      const r = await tunnus([...words(command), '--bogus-option']);
      assert.equal(r.code, 2, show(r));
      assert.match(r.stderr, /unknown option '--bogus-option'/);
      assert.equal(r.stdout, '');
    });
  }

  for (const [args, expected] of [
    [[], /^Usage: tunnus/m],
    [['hr'], /^Usage: tunnus hr/m],
    [['nonsense'], /unknown command 'nonsense'/],
    [['cleanup', 'bogus'], /unknown command 'bogus'/],
    [['runs', '--stage', 'bogus'], /--stage must be one of joiner, mover, rehire, leaver, delete, cleanup/],
    [['runs', '--since', 'last week'], /--since: "last week" is not a duration/],
    [['runs', '--limit', '0'], /--limit must be a whole number from 1 to 10000/],
    [['cleanup', 'run', '--mode', 'sometimes'], /--mode must be report or enforce/],
    [['explain'], /missing required argument 'employeeId'/],
    [['explain', "E1' OR '1"], /not an employee id/],
    [['person', 'show', 'E1', 'E2'], /too many arguments/],
    [['plan'], /one of --record, --hr, --education or --policy is required/],
    [['plan', '--hr', 'package.json', '--policy', 'config/policy.yaml'], /cannot be used with option/],
    [['plan', '--hr', 'no-such.csv'], /cannot read no-such.csv: ENOENT/],
    [['hr', 'import', 'test'], /cannot read test: not a file/],
    [['plan', '--cleanup'], /--cleanup is not yet available/],
    [['plan', 'apply', 'x.json', '--json'], /unknown option '--json'/],
    [['approve'], /missing required argument 'workflowId'/],
    [['hire', '/nonexistent/record.json'], /cannot read \/nonexistent\/record.json: ENOENT/],
    [['help', 'nonsense'], /no command nonsense/],
    [['terminate', 'E1'], /terminate needs --reason/],
    [['terminate', 'E1', '--lift', '--reason', 'x'], /cannot be used with option/],
  ] as const) {
    it(`tunnus ${args.join(' ')} is refused as a usage error before anything connects`, async () => {
      const r = await tunnus([...args], cleanEnv({ TEMPORAL_ADDRESS: '127.0.0.1:1' }));
      assert.equal(r.code, 2, show(r));
      assert.match(r.stderr, expected);
      assert.doesNotMatch(r.stderr, /cannot reach Temporal/);
      assert.equal(r.stdout, '');
    });
  }

  it('with --json a usage error comes as JSON on stderr', async () => {
    const r = await tunnus(['runs', '--json', '--stage', 'bogus']);
    assert.equal(r.code, 2, show(r));
    assert.equal(r.stdout, '');
    const { error } = JSON.parse(r.stderr) as { error: { code: string; message: string } };
    assert.equal(error.code, 'usage');
    assert.match(error.message, /--stage must be one of/);
  });
});

describe('tunnus with Temporal unreachable', () => {
  let address = '';
  let dir = '';
  before(async () => {
    // A port that was just free: nothing listens there.
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    address = `127.0.0.1:${port}`;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-cli-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const file = (name: string, text: string) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, text);
    return f;
  };
  const record = () =>
    file(
      'record.json',
      JSON.stringify({
        employeeId: 'E9001',
        firstNames: 'Matti',
        lastName: 'Virtanen',
        jobTitle: 'Nurse',
        jobCode: 'SH01',
        orgUnit: 'SOTE-110',
        employmentType: 'permanent',
        startDate: '2030-01-01',
      }),
    );
  const hrCsv = () =>
    file(
      'hr.csv',
      'employee_id;first_names;last_name;job_title;job_code;org_unit;employment_type;start_date;end_date\n' +
        'E9001;Matti;Virtanen;Nurse;SH01;SOTE-110;permanent;2030-01-01;\n',
    );
  const educationCsv = () =>
    file(
      'education.csv',
      'student_id;hr_employee_id;first_names;calling_name;last_name;school_code;class;start_date;end_date\n' +
        '12345;;Liisa;;Korhonen;K01;7A;2030-01-01;\n',
    );
  const savedPlan = () =>
    file(
      'plan.json',
      JSON.stringify({
        format: SAVED_PLAN_FORMAT,
        kind: 'record',
        createdAt: '2030-01-01T00:00:00Z',
        asOf: '2030-01-01T00:00:00Z',
        taskQueue: 'tunnus',
        policy: { sha256: '0', file: 'config/policy.yaml' },
        records: [],
        persons: [],
        summary: {},
      }),
    );

  /**
   * Valid arguments for every command that runs something, so that it gets as far as Temporal;
   * null: the command needs no server. A command missing here fails the test below.
   */
  const argumentsFor: Record<string, (() => string[]) | null> = {
    hire: () => [record()],
    'hr import': () => [hrCsv()],
    'education import': () => [educationCsv()],
    approve: () => ['import-hr-0000000000000000'],
    'person show': () => ['E9001'],
    'person confirm-end': () => ['E9001', '2016-03-31'],
    licences: () => [],
    explain: () => ['E9001'],
    runs: () => ['--stage', 'joiner', '--since', '7d'],
    'cleanup run': () => ['--mode', 'report'],
    'cleanup report': () => [],
    plan: () => ['--record', record()],
    'plan apply': () => [savedPlan()],
    terminate: () => ['E9001', '--reason', 'security incident'],
    retry: () => ['E9001'],
    'index verify': () => ['--sample', '5'],
    'index rebuild': () => [],
    // A server of its own (it does not talk to Temporal); test/unit/codec-server.test.ts runs it.
    'codec-server': null,
    help: null,
  };

  it('every command that runs something is listed here', () => {
    const runnable = allCommands(program).filter(runsItself).map(commandPath).sort();
    assert.deepEqual(Object.keys(argumentsFor).sort(), runnable);
  });

  for (const [command, args] of Object.entries(argumentsFor)) {
    if (!args) continue;
    it(`tunnus ${command} fails within 5 s, naming the address and TEMPORAL_ADDRESS`, async () => {
      // LDAP settings are read only once Temporal answered; a password lets plan get that far.
      const env = cleanEnv({ TEMPORAL_ADDRESS: address, LDAP_BIND_PASSWORD: 'unused' });
      const r = await tunnus([...words(command), ...args()], env);
      assert.equal(r.code, 1, show(r));
      assert.ok(r.ms < 5_000, `took ${r.ms} ms`);
      assert.ok(r.stderr.includes(address), show(r));
      assert.match(r.stderr, /TEMPORAL_ADDRESS/);
      assert.equal(r.stdout, '');
    });
  }

  it('with --json the failure comes as JSON on stderr', async () => {
    const r = await tunnus(['person', 'show', 'E9001', '--json'], cleanEnv({ TEMPORAL_ADDRESS: address }));
    assert.equal(r.code, 1, show(r));
    assert.equal(r.stdout, '');
    const { error } = JSON.parse(r.stderr) as { error: { code: string; message: string } };
    assert.equal(error.code, 'temporal_unreachable');
    assert.ok(error.message.includes(address));
  });
});
