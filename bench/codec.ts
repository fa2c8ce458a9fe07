import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { deliverRecord, personState } from '../src/ops/persons';
import { inBatches } from '../src/in-batches';
import { addDays, helsinkiDate } from '../src/domain/dates';
import type { HrRecord } from '../src/domain/record';
import { buildWorker } from '../src/worker';
import { startStack } from '../test/support/stack';
import { workflowBundle } from '../test/support/temporal';

// The payload codec's cost (issue 13): the same joiners end to end (plan → AD account → groups →
// enable → cloud user → licence → mailbox → phone) on one dev server, DC and simulators, once with
// a plaintext worker and client and once with the codec, in the same run. Run it with a state dir,
// DC address and port of your own (as the integration tests):
//   TUNNUS_STATE_DIR=.state/test-x TUNNUS_DC_HOST=127.0.0.x TUNNUS_TEST_TEMPORAL_PORT=17xxx \
//     npx tsx bench/codec.ts [--people 50] [--in-flight 16]
// (scripts/test.sh provisions that DC first: `npx tsx sandbox/samba-cli.ts up` with the same env).

const { values } = parseArgs({
  options: { people: { type: 'string', default: '50' }, 'in-flight': { type: 'string', default: '16' } },
});
const people = Number(values.people);
const inFlight = Number(values['in-flight']);

/** 0 → "aa", 1 → "ab", … (names have letters only). */
const letters = (i: number) => String.fromCharCode(97 + (Math.floor(i / 26) % 26), 97 + (i % 26));

async function main() {
  const stack = await startStack();
  const plain = new Client({ connection: stack.client.connection });
  const tag = Date.now().toString(36).toUpperCase();
  const today = helsinkiDate(new Date());
  const results: { mode: string; seconds: number; perSec: number }[] = [];
  try {
    for (const mode of ['off', 'on'] as const) {
      const client = mode === 'on' ? stack.client : plain;
      const taskQueue = `bench-codec-${mode}-${randomUUID()}`;
      const connection = await NativeConnection.connect({ address: stack.temporal.address });
      const worker = await buildWorker({
        connection,
        client,
        taskQueue,
        directory: stack.directory,
        cloud: stack.cloud,
        phone: stack.phone,
        policy: stack.policy,
        baseDn: stack.samba.baseDn,
        workflowBundle: await workflowBundle(),
        keys: stack.keys,
        ...(mode === 'off' ? { benchPlaintext: true as const } : {}),
      });
      const running = worker.run();
      const records: HrRecord[] = Array.from({ length: people }, (_, i) => ({
        employeeId: `CB${tag}${mode === 'on' ? 'E' : 'P'}${i}`,
        // The distinct part first: sAMAccountName keeps 20 characters, and names that differ
        // only past them would make the joiners race for numbered names.
        firstNames: `${mode === 'on' ? 'E' : 'P'}${letters(i)}`,
        lastName: `Mitta${tag}`,
        jobTitle: 'Sairaanhoitaja',
        jobCode: 'SH01',
        orgUnit: 'SOTE-120',
        employmentType: 'permanent',
        startDate: addDays(today, -1),
      }));
      const t0 = performance.now();
      await inBatches(records, inFlight, async (r) => void (await deliverRecord(client, r, 'hr', taskQueue)));
      const pending = new Set(records.map((r) => r.employeeId));
      while (pending.size > 0) {
        await inBatches([...pending], 8, async (id) => {
          const s = await personState(client, id).catch(() => null);
          if (s?.stage === 'failed') throw new Error(`${id} failed`);
          if (s && s.runs.length >= 1 && s.runs.every((r) => r.endedAt)) pending.delete(id);
        });
        if (pending.size > 0) await new Promise((r) => setTimeout(r, 500));
      }
      const seconds = (performance.now() - t0) / 1000;
      results.push({ mode, seconds, perSec: people / seconds });
      process.stderr.write(`codec ${mode}: ${people} joiners in ${seconds.toFixed(1)} s\n`);
      worker.shutdown();
      await running;
      await connection.close();
    }
  } finally {
    await stack.close();
  }
  const [off, on] = results as [(typeof results)[0], (typeof results)[0]];
  const slower = (1 - on.perSec / off.perSec) * 100;
  console.log(
    [
      `| codec | joiners | seconds | joiners/s |`,
      `|---|---|---|---|`,
      ...results.map((r) => `| ${r.mode} | ${people} | ${r.seconds.toFixed(1)} | ${r.perSec.toFixed(2)} |`),
      '',
      `with the codec: ${on.perSec.toFixed(2)} vs ${off.perSec.toFixed(2)} joiners/s (${slower >= 0 ? `${slower.toFixed(1)} % slower` : `${(-slower).toFixed(1)} % faster: within noise`})`,
    ].join('\n'),
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
