import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Payload } from '@temporalio/common';
import { parseEnv } from '../src/config';
import { createPayloadCodec } from '../src/crypto/codec';
import { identityKeysFor } from '../src/crypto/data-converter';
import { ensureKekFile } from '../src/crypto/kek';
import { runCodecServer } from '../src/codec-server/run';
import { createLogger } from '../src/logger';
import { sha256Hex } from '../src/api/auth';
import { recordedHistories } from '../test/replay/histories';
import { historyPayloads } from '../test/support/history-payloads';

// The codec server's decode latency for a 100-event history (issue 13): the server as
// `tunnus codec-server` runs it (runCodecServer: real SQLite key store and KEK file, operator
// check, audit log), fed the payloads of 100 real events of joiner runs — the recorded joiner
// histories (test/replay/histories, real dev-server runs) taken in order until 100 events —
// encrypted by the payload codec with each owner's key, as the worker writes them. Times one
// POST /decode of the whole history, `--requests` times (after one cold request), with the key
// cache on (default 30 s) and off (every decode unwraps from the key store).
//   npx tsx bench/codec-server.ts [--requests 50] [--events 100]

const { values } = parseArgs({
  options: { requests: { type: 'string', default: '50' }, events: { type: 'string', default: '100' } },
});
const requests = Number(values.requests);
const events = Number(values.events);

/** The payloads of the first `events` events of the recorded joiner histories, with their owners. */
function joinerHistoryPayloads(): { payloads: { payload: Payload; owner: string }[]; events: number } {
  const out: { payload: Payload; owner: string }[] = [];
  let taken = 0;
  for (const { workflowId, history } of recordedHistories()) {
    if (!workflowId.startsWith('joiner-') || taken >= events) continue;
    const slice = (history.events ?? []).slice(0, events - taken);
    taken += slice.length;
    const found = historyPayloads({ events: slice }, workflowId).payloads.filter((p) => p.kind === 'payload');
    out.push(...found.map((p) => ({ payload: p.payload, owner: p.ownerWorkflowId })));
  }
  return { payloads: out, events: taken };
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

async function measure(cacheSeconds: number, source: ReturnType<typeof joinerHistoryPayloads>, dir: string) {
  const env = parseEnv({
    ...process.env,
    TUNNUS_KEYS_FILE: path.join(dir, `identity-keys-${cacheSeconds}.sqlite`),
    TUNNUS_KEK_FILE: path.join(dir, 'kek'),
    TUNNUS_KEY_CACHE_SECONDS: String(cacheSeconds),
  });
  const keys = identityKeysFor(env);
  const codec = createPayloadCodec(keys);
  const encoded: Payload[] = [];
  for (const { payload, owner } of source.payloads) {
    encoded.push(...(await codec.encode([payload], { workflowId: owner, namespace: 'default' } as never)));
  }
  const token = randomBytes(32).toString('base64url');
  const server = await runCodecServer({
    env,
    logger: createLogger('warn'),
    operators: [{ name: 'bench-operator', tokenSha256: sha256Hex(token) }],
    host: '127.0.0.1',
    port: 0,
    processEnv: {},
  });
  const body = JSON.stringify({
    payloads: encoded.map((p) => ({
      metadata: Object.fromEntries(
        Object.entries(p.metadata ?? {}).map(([k, v]) => [
          k,
          Buffer.from(v ?? new Uint8Array()).toString('base64'),
        ]),
      ),
      data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
    })),
  });
  const decodeOnce = async () => {
    const t0 = performance.now();
    const res = await fetch(`${server.url}/decode`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-namespace': 'default',
        authorization: `Bearer ${token}`,
        'x-workflow-id': 'joiner-bench',
      },
      body,
    });
    const answer = (await res.json()) as { payloads: unknown[] };
    const ms = performance.now() - t0;
    // The bench checks what it times: every payload came back, none "key destroyed".
    if (res.status !== 200 || answer.payloads.length !== encoded.length)
      throw new Error(`decode: ${res.status}`);
    if (JSON.stringify(answer).includes('key destroyed')) throw new Error('key destroyed');
    return ms;
  };
  try {
    const cold = await decodeOnce();
    const times: number[] = [];
    for (let i = 0; i < requests; i++) times.push(await decodeOnce());
    times.sort((a, b) => a - b);
    return {
      cacheSeconds,
      cold,
      p50: pct(times, 50),
      p95: pct(times, 95),
      max: times.at(-1)!,
      bytes: body.length,
    };
  } finally {
    await server.close();
    await keys.close();
  }
}

async function main() {
  const dir = fs.mkdtempSync(path.join(process.env.TUNNUS_STATE_DIR ?? os.tmpdir(), 'bench-codec-server-'));
  ensureKekFile(path.join(dir, 'kek'));
  const source = joinerHistoryPayloads();
  try {
    const rows = [await measure(30, source, dir), await measure(0, source, dir)];
    console.log(
      `codec server POST /decode of a ${source.events}-event joiner history (${source.payloads.length} payloads, ` +
        `${Math.round(rows[0]!.bytes / 1024)} KiB request), ${requests} requests each:`,
    );
    for (const r of rows) {
      console.log(
        `  key cache ${r.cacheSeconds ? `${r.cacheSeconds} s` : 'off'}: p50 ${r.p50.toFixed(1)} ms, ` +
          `p95 ${r.p95.toFixed(1)} ms, max ${r.max.toFixed(1)} ms (first request ${r.cold.toFixed(1)} ms)`,
      );
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
