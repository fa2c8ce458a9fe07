import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Worker } from '@temporalio/worker';
import { deliverRecord } from '../src/ops/persons';
import { inBatches } from '../src/in-batches';
import { loadPolicy, parseEnv } from '../src/config';
import { identityKeysFor } from '../src/crypto/data-converter';
import { ensureKekFile } from '../src/crypto/kek';
import { helsinkiDate } from '../src/domain/dates';
import { formatCsvErrors, parseHrCsv } from '../src/domain/hr-csv';
import { createLogger } from '../src/logger';
import { sha256Hex } from '../src/api/auth';
import { runCodecServer } from '../src/codec-server/run';
import { createTemporalImports } from '../src/ops/imports';
import { createTemporalIntake } from '../src/ops/temporal-intake';
import { startApi } from '../src/api/server';
import { createWorkerObservability, sdkMetricsBindAddress } from '../src/metrics';
import { installTelemetry } from '../src/telemetry';
import { createDirectoryFromEnv, wire } from '../src/wiring';
import { buildWorker, connectTemporal } from '../src/worker';
import { startSimulators } from './simulators';
import { createTemporalApprovals } from '../src/ops/approve';
import { createTemporalPersonOps } from '../src/ops/terminate';
import { ensureCleanupSchedule, ensurePhoneSyncSchedule } from '../src/ops/schedules';
import { stateDir, repoRoot } from './paths';
import { sampleHrCsv } from './sample-data';
import { ensureSamba } from './samba';
import { ensureTemporalDevServer } from './temporal';

// `npm start`: the whole local sandbox on its defaults — Temporal dev server with its Web UI,
// a Samba AD DC, the worker — then a small sample HR file through it, so runs show in the UI.

async function main(): Promise<void> {
  // Lines for a person at a terminal; the worker and the API on their own write JSON.
  const log = createLogger(process.env.LOG_LEVEL ?? 'info', { pretty: true });
  installTelemetry(log.child({ component: 'temporal-sdk' }, { level: 'warn' }), {
    sdkMetricsBindAddress: sdkMetricsBindAddress(parseEnv()),
  });
  // The Web UI decodes payloads through the codec server started below (docs/codec-server.md).
  const codecPort = Number(process.env.CODEC_SERVER_PORT ?? 8234);
  const temporal = await ensureTemporalDevServer({ uiCodecEndpoint: `http://127.0.0.1:${codecPort}` });
  log.info(
    { address: temporal.address, ui: temporal.uiUrl, started: temporal.started },
    'Temporal dev server ready',
  );
  const samba = await ensureSamba();
  log.info({ url: samba.url }, 'Samba AD ready');

  const policyFile = process.env.TUNNUS_POLICY_FILE ?? path.join(repoRoot, 'config', 'policy.yaml');
  const policy = loadPolicy(policyFile);
  // Fixed ports so the CLI and a separately started worker can find them too.
  const sims = await startSimulators({ graphPort: 8443, phonePort: 8444 });
  log.info({ graph: sims.graph.url, phone: sims.phone.url }, 'Graph and telephony simulators ready');
  // The sandbox's settings, which the CLI reads too (written to .state/sandbox.env below).
  const sandboxEnv = {
    LDAP_URL: samba.url,
    LDAP_BIND_DN: samba.bindDn,
    LDAP_BIND_PASSWORD: samba.bindPassword,
    LDAP_BASE_DN: samba.baseDn,
    LDAP_CA_CERT: samba.caCertPath,
    TUNNUS_POLICY_FILE: policyFile,
    // The payload codec's key store and a random KEK (0600) made once for this sandbox (docs/privacy.md).
    TUNNUS_KEYS_FILE: process.env.TUNNUS_KEYS_FILE ?? path.join(stateDir, 'identity-keys.sqlite'),
    TUNNUS_KEK_FILE: ensureKekFile(process.env.TUNNUS_KEK_FILE ?? path.join(stateDir, 'kek')),
    ...sims.env,
  };
  const env = parseEnv({
    ...process.env,
    ...sandboxEnv,
    TEMPORAL_ADDRESS: temporal.address,
    // One record index for the worker's import activities, the API and the CLI (same file).
    TUNNUS_INDEX_FILE: process.env.TUNNUS_INDEX_FILE ?? path.join(stateDir, 'record-index.sqlite'),
  });
  const deps = await wire({ env, policy }, { log: log.child({ component: 'ldap' }) });
  const { client } = deps;
  const store = deps.store();
  // The worker's /metrics, /health and /ready, as a production worker serves them (loopback).
  const probeDirectory = createDirectoryFromEnv(env);
  let worker: Worker | undefined = undefined; // set once built; probes before that say 503
  const observability = createWorkerObservability({
    env,
    policy,
    client,
    cloud: deps.cloud,
    probeDirectory,
    workerRunning: () => worker?.getState() === 'RUNNING',
    cacheMs: env.TUNNUS_METRICS_CACHE_SECONDS * 1000,
  });
  const metricsServer = await observability.start();
  const connection = await connectTemporal(env);
  await ensurePhoneSyncSchedule(client, policy, env.TEMPORAL_TASK_QUEUE);
  await ensureCleanupSchedule(client, policy, env.TEMPORAL_TASK_QUEUE);
  worker = await buildWorker({
    store,
    connection,
    client,
    directory: deps.directory,
    cloud: deps.cloud,
    phone: deps.phone,
    policy,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    baseDn: env.LDAP_BASE_DN,
    keys: identityKeysFor(env),
    metrics: observability.metrics,
  });
  const running = worker.run();
  log.info({ metrics: `${metricsServer.url}/metrics` }, 'worker running');

  // The intake API with a token made for this sandbox run (every scope; printed below, and kept in
  // .state/sandbox-api-token for scripts). Real clients get theirs from src/api/token.ts.
  const apiToken = `tun_sandbox_${randomBytes(24).toString('base64url')}`;
  fs.writeFileSync(path.join(stateDir, 'sandbox-api-token'), `${apiToken}\n`, { mode: 0o600 });
  const api = await startApi({
    intake: createTemporalIntake({ client, taskQueue: env.TEMPORAL_TASK_QUEUE }),
    index: store,
    imports: createTemporalImports({ client, staging: store, taskQueue: env.TEMPORAL_TASK_QUEUE }),
    // POST /api/v1/approvals/{workflowId}: approvals of what the mass-change guard stopped.
    approvals: createTemporalApprovals(client),
    // tunnus terminate / retry over HTTP (scope ops:write).
    personOps: createTemporalPersonOps({ client, store, policy }),
    clients: [
      {
        name: 'sandbox',
        tokenSha256: sha256Hex(apiToken),
        scopes: ['hr:write', 'education:write', 'ops:read', 'ops:approve', 'ops:write'],
      },
    ],
    logger: log,
    host: '127.0.0.1',
    port: Number(process.env.API_PORT ?? 8080),
  });
  log.info({ url: api.url }, 'intake API listening');

  // The codec server for the Web UI, with one operator whose token is made for this run
  // (.state/sandbox-codec-token): sign in at /login, then the UI shows decoded payloads.
  const codecToken = `tun_codec_${randomBytes(24).toString('base64url')}`;
  fs.writeFileSync(path.join(stateDir, 'sandbox-codec-token'), `${codecToken}\n`, { mode: 0o600 });
  const uiOrigin = new URL(temporal.uiUrl).origin;
  const codec = await runCodecServer({
    env,
    logger: log,
    operators: [{ name: 'sandbox-operator', tokenSha256: sha256Hex(codecToken) }],
    port: codecPort,
    uiOrigins: [uiOrigin, uiOrigin.replace('127.0.0.1', 'localhost')],
  });
  log.info({ url: codec.url }, 'codec server listening');

  const csv = sampleHrCsv(helsinkiDate(new Date()));
  const file = path.join(stateDir, 'sample-hr.csv');
  fs.writeFileSync(file, csv);
  const { records, errors } = parseHrCsv(csv);
  if (errors.length > 0) throw new Error(`sample data is invalid:\n${formatCsvErrors(errors)}`);
  await inBatches(
    records,
    8,
    async ({ record }) => void (await deliverRecord(client, record, 'hr', env.TEMPORAL_TASK_QUEUE)),
  );
  log.info({ people: records.length, file }, 'sample HR snapshot delivered');

  // The CLI commands that read AD and the cloud themselves (explain, plan) need the same settings
  // as the worker: one file to source. Sandbox credentials only, readable by the owner alone.
  const envFile = path.join(stateDir, 'sandbox.env');
  fs.writeFileSync(
    envFile,
    Object.entries(sandboxEnv)
      .map(([k, v]) => `${k}='${String(v)}'\n`)
      .join(''),
    { mode: 0o600 },
  );

  process.stdout.write(
    [
      '',
      `Temporal Web UI:  ${temporal.uiUrl}/namespaces/default/workflows`,
      `Directory:        ${samba.url} (${samba.baseDn}), bind ${samba.bindDn}`,
      'Try:              npx tunnus person show E1001',
      `                  set -a; . ${path.relative(process.cwd(), envFile)}; set +a   # then: npx tunnus explain E1002`,
      `                  npx tunnus hr import ${path.relative(process.cwd(), file)}`,
      `Worker metrics:   ${metricsServer.url}/metrics  (health: ${metricsServer.url}/ready)`,
      `Intake API:       ${api.url}/api/v1/openapi.json (sandbox token, this run only:)`,
      `                  export TOKEN=${apiToken}`,
      `                  curl -H "Authorization: Bearer $TOKEN" ${api.url}/api/v1/persons/E1001`,
      `                  curl -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: text/csv' \\`,
      `                    --data-binary @${path.relative(process.cwd(), file)} '${api.url}/api/v1/imports?source=hr'`,
      `                  curl -H "Authorization: Bearer $TOKEN" ${api.url}/api/v1/imports/<importId>`,
      `Codec server:     ${codec.url} (the Web UI's payloads decoded for a signed-in operator)`,
      `                  sign in at ${codec.url}/login with the token in .state/sandbox-codec-token, then in`,
      "                  the UI's codec server settings turn on 'Include cross-origin credentials'",
      'Stop with Ctrl-C (the Temporal server and Samba keep running; `npm run sandbox:down` stops them).',
      '',
    ].join('\n'),
  );

  const stop = () => worker.shutdown();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await running;
  await api.app.close();
  await codec.close();
  await metricsServer.close();
  await probeDirectory.close();
  await deps.close();
  await sims.close();
  await connection.close();
}

main().catch((err: unknown) => {
  process.stderr.write(
    `sandbox failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
