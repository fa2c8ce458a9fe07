import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import autocannon from 'autocannon';
import pino from 'pino';
import { sha256Hex } from '../src/api/auth';
import { createTemporalIntake } from '../src/ops/temporal-intake';
import { type Intake } from '../src/api/intake';
import { MemoryIntake } from '../src/api/memory-intake';
import { startApi } from '../src/api/server';
import type { HrRecord } from '../src/domain/record';
import { indexFingerprint } from '../src/store/record-index';
import { openSqliteIndex } from '../src/store/sqlite-index';
import { ensureTemporalDevServer } from '../sandbox/temporal';

// Intake API throughput: PUT /api/v1/persons/{id} on loopback, measured with autocannon.
//
//   npx tsx bench/api.ts               SQLite index + in-memory intake: the HTTP layer alone
//                                      (routing, auth, validation, fingerprint, index, access log)
//   npx tsx bench/api.ts --temporal    SQLite index + a real Temporal dev server (its own port and
//                                      database, stopped afterwards): new records cost a
//                                      signalWithStart each; no worker runs, so nothing executes
//
// Two paths, each for --duration seconds with --connections connections:
//   unchanged  records already in the (pre-seeded) index: 202 "unchanged", nothing reaches Temporal
//   new        a fresh employee id per request: 202 "accepted", one delivery each
// The API runs in a child process so the load generator does not share its event loop.

// One token for both processes: the parent makes it, the child (forked with this env) reads it.
const TOKEN = (process.env.TUNNUS_BENCH_TOKEN ??= `bench-${randomUUID()}`);
const SEEDED = 50_000;

const seededId = (i: number) => `B${String(i % SEEDED).padStart(6, '0')}`;

function benchRecord(employeeId: string): HrRecord {
  return {
    employeeId,
    firstNames: 'Anna-Maija Liisa',
    callingName: 'Anna-Maija',
    lastName: 'Ääpälä',
    jobTitle: 'Sairaanhoitaja',
    jobCode: 'NURSE',
    orgUnit: 'SOTE-300',
    employmentType: 'permanent',
    startDate: '2030-03-01',
    managerId: 'E0042',
    language: 'fi',
  };
}

// ---- the server (child process) ----

interface ServeOptions {
  indexFile: string;
  temporalAddress?: string;
}

type ToChild = { kind: 'stats' } | { kind: 'stop' };
type FromChild = { kind: 'listening'; url: string } | { kind: 'stats'; deliveries: number };

async function serve({ indexFile, temporalAddress }: ServeOptions): Promise<void> {
  const index = openSqliteIndex({ file: indexFile });
  await index.putMany(
    Array.from({ length: SEEDED }, (_, i) => ({
      employeeId: seededId(i),
      fingerprint: indexFingerprint(benchRecord(seededId(i))),
      source: 'hr' as const,
    })),
  );
  let deliveries = 0;
  let intake: Intake;
  let connection: Connection | undefined;
  if (temporalAddress) {
    connection = await Connection.connect({ address: temporalAddress });
    const temporal = createTemporalIntake({
      client: new Client({ connection }),
      taskQueue: `bench-${randomUUID()}`,
    });
    intake = {
      ...temporal,
      deliver: async (record, source) => {
        const id = await temporal.deliver(record, source);
        deliveries++;
        return id;
      },
    };
  } else {
    const memory = new MemoryIntake();
    intake = memory;
    // Keep no records: a long run would otherwise hold every delivery in memory.
    memory.deliver = async (record) => {
      deliveries++;
      return `person-${record.employeeId}`;
    };
  }
  // The access log is written (its cost is part of the figure), to /dev/null.
  const logger = pino({ level: 'info' }, pino.destination({ dest: os.devNull, sync: false }));
  const { app, url } = await startApi({
    intake,
    index,
    logger,
    clients: [{ name: 'bench', tokenSha256: sha256Hex(TOKEN), scopes: ['hr:write'] }],
    port: 0,
  });
  process.on('message', (message: ToChild) => {
    if (message.kind === 'stats') process.send!({ kind: 'stats', deliveries } satisfies FromChild);
    if (message.kind === 'stop') {
      void app
        .close()
        .then(() => index.close())
        .then(() => connection?.close())
        .then(() => process.exit(0));
    }
  });
  process.send!({ kind: 'listening', url } satisfies FromChild);
}

// ---- the load generator (parent) ----

/** The child's next message of this kind. */
function next<K extends FromChild['kind']>(
  child: ChildProcess,
  kind: K,
): Promise<Extract<FromChild, { kind: K }>> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`API process exited with ${code}`));
    const onMessage = (m: FromChild) => {
      if (m.kind !== kind) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(m as Extract<FromChild, { kind: K }>);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

async function deliveriesSoFar(child: ChildProcess): Promise<number> {
  const reply = next(child, 'stats');
  child.send({ kind: 'stats' } satisfies ToChild);
  return (await reply).deliveries;
}

interface Row {
  mode: string;
  path: string;
  rps: number;
  p50: number;
  p99: number;
  total: number;
  non2xx: number;
  errors: number;
  deliveries: number;
}

async function run(
  child: ChildProcess,
  url: string,
  mode: string,
  which: 'unchanged' | 'new',
  duration: number,
  connections: number,
): Promise<Row> {
  const before = await deliveriesSoFar(child);
  const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
  let counter = 0;
  const runTag = Date.now().toString(36);
  const result = await autocannon({
    url,
    connections,
    duration,
    requests: [
      {
        method: 'PUT',
        setupRequest: (req) => {
          const id = which === 'unchanged' ? seededId(counter++) : `N${runTag}-${counter++}`;
          // Fresh headers each time: autocannon adds Content-Length to the object it was given,
          // which would be stale for the next body.
          return {
            ...req,
            path: `/api/v1/persons/${id}`,
            headers: { ...headers },
            body: JSON.stringify(benchRecord(id)),
          };
        },
      },
    ],
  });
  const after = await deliveriesSoFar(child);
  return {
    mode,
    path: which,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    deliveries: after - before,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      temporal: { type: 'boolean', default: false },
      duration: { type: 'string', default: '10' },
      connections: { type: 'string', default: '50' },
      'temporal-port': { type: 'string', default: '17433' },
      serve: { type: 'string' },
      'temporal-address': { type: 'string' },
    },
  });
  if (values.serve) {
    return serve({
      indexFile: values.serve,
      ...(values['temporal-address'] ? { temporalAddress: values['temporal-address'] } : {}),
    });
  }

  const duration = Number(values.duration);
  const connections = Number(values.connections);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunnus-bench-api-'));
  const port = Number(values['temporal-port']);
  const temporal = values.temporal
    ? await ensureTemporalDevServer({ port, uiPort: port + 1000, dbFile: path.join(dir, 'temporal.sqlite') })
    : undefined;
  const mode = temporal ? 'Temporal dev server' : 'in-memory intake';
  const child = fork(
    __filename,
    [
      '--serve',
      path.join(dir, 'index.sqlite'),
      ...(temporal ? ['--temporal-address', temporal.address] : []),
    ],
    {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  const listening = next(child, 'listening');
  const rows: Row[] = [];
  try {
    const { url } = await listening;
    process.stderr.write(`API (${mode}) at ${url}; ${duration} s per path, ${connections} connections\n`);
    for (const which of ['unchanged', 'new'] as const) {
      rows.push(await run(child, url, mode, which, duration, connections));
    }
  } finally {
    child.send({ kind: 'stop' } satisfies ToChild);
    await new Promise((resolve) => child.once('exit', resolve));
    // Stop the dev server only if this run started it (its database is this run's scratch file).
    if (temporal?.started) await temporal.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }

  console.log(
    [
      `\nPUT /api/v1/persons/{id}, ${mode}, SQLite index (${SEEDED} seeded), ${connections} connections, ` +
        `${duration} s per path, Node ${process.version}, ${os.cpus().length} CPUs\n`,
      '| path | req/s | p50 ms | p99 ms | requests | non-2xx | errors | deliveries |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
      ...rows.map(
        (r) =>
          `| ${r.path} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${r.total} | ${r.non2xx} | ${r.errors} | ${r.deliveries} |`,
      ),
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
