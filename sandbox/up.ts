import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { deliverRecord, inBatches } from '../src/client';
import { loadPolicy, parseEnv } from '../src/config';
import { createLdapDirectory } from '../src/connectors/ldap/ldap-directory';
import { helsinkiDate } from '../src/domain/dates';
import { formatCsvErrors, parseHrCsv } from '../src/domain/hr-csv';
import { createLogger } from '../src/logger';
import { sha256Hex } from '../src/api/auth';
import { createTemporalImports } from '../src/api/imports';
import { createTemporalIntake } from '../src/api/intake';
import { startApi } from '../src/api/server';
import { openRecordIndex } from '../src/store/open';
import {
  buildWorker,
  createCloudDirectory,
  createPhoneDirectoryFromEnv,
  installRuntimeLogger,
} from '../src/worker';
import { startSimulators } from './simulators';
import { ensureCleanupSchedule, ensurePhoneSyncSchedule } from '../src/schedules';
import { stateDir, repoRoot } from './paths';
import { sampleHrCsv } from './sample-data';
import { ensureSamba } from './samba';
import { ensureTemporalDevServer } from './temporal';

// `npm start`: the whole local sandbox on its defaults — Temporal dev server with its Web UI,
// a Samba AD DC, the worker — then a small sample HR file through it, so runs show in the UI.

async function main(): Promise<void> {
  const log = createLogger(process.env.LOG_LEVEL ?? 'info');
  installRuntimeLogger(log.child({ component: 'temporal-sdk' }, { level: 'warn' }));
  const temporal = await ensureTemporalDevServer();
  log.info(
    { address: temporal.address, ui: temporal.uiUrl, started: temporal.started },
    'Temporal dev server ready',
  );
  const samba = await ensureSamba();
  log.info({ url: samba.url }, 'Samba AD ready');

  const policyFile = process.env.TUNNUS_POLICY_FILE ?? path.join(repoRoot, 'config', 'policy.yaml');
  const policy = loadPolicy(policyFile);
  const directory = createLdapDirectory(
    {
      url: samba.url,
      bindDn: samba.bindDn,
      bindPassword: samba.bindPassword,
      baseDn: samba.baseDn,
      caCertPath: samba.caCertPath,
    },
    log.child({ component: 'ldap' }),
  );
  // Fixed ports so the CLI and a separately started worker can find them too.
  const sims = await startSimulators({ graphPort: 8443, phonePort: 8444 });
  log.info({ graph: sims.graph.url, phone: sims.phone.url }, 'Graph and telephony simulators ready');
  const simEnv = parseEnv({ ...process.env, ...sims.env });
  const cloud = createCloudDirectory(simEnv);
  const phone = createPhoneDirectoryFromEnv(simEnv);
  const connection = await NativeConnection.connect({ address: temporal.address });
  const client = new Client({ connection: await Connection.connect({ address: temporal.address }) });
  await ensurePhoneSyncSchedule(client, policy);
  await ensureCleanupSchedule(client, policy);
  // One record index for the worker's import activities, the API and the CLI (same file).
  const store = openRecordIndex({
    ...parseEnv(),
    TUNNUS_INDEX_FILE: process.env.TUNNUS_INDEX_FILE ?? path.join(stateDir, 'record-index.sqlite'),
  });
  const worker = await buildWorker({
    store,
    connection,
    client,
    directory,
    cloud,
    phone,
    policy,
    baseDn: samba.baseDn,
  });
  const running = worker.run();
  log.info('worker running');

  // The intake API with a token made for this sandbox run (every scope; printed below, and kept in
  // .state/sandbox-api-token for scripts). Real clients get theirs from src/api/token.ts.
  const apiToken = `tun_sandbox_${randomBytes(24).toString('base64url')}`;
  fs.writeFileSync(path.join(stateDir, 'sandbox-api-token'), `${apiToken}\n`, { mode: 0o600 });
  const api = await startApi({
    intake: createTemporalIntake({ client }),
    index: store,
    imports: createTemporalImports({ client, staging: store }),
    clients: [
      {
        name: 'sandbox',
        tokenSha256: sha256Hex(apiToken),
        scopes: ['hr:write', 'education:write', 'ops:read'],
      },
    ],
    logger: log,
    host: '127.0.0.1',
    port: Number(process.env.API_PORT ?? 8080),
  });
  log.info({ url: api.url }, 'intake API listening');

  const csv = sampleHrCsv(helsinkiDate(new Date()));
  const file = path.join(stateDir, 'sample-hr.csv');
  fs.writeFileSync(file, csv);
  const { records, errors } = parseHrCsv(csv);
  if (errors.length > 0) throw new Error(`sample data is invalid:\n${formatCsvErrors(errors)}`);
  await inBatches(records, 8, async ({ record }) => void (await deliverRecord(client, record, 'hr')));
  log.info({ people: records.length, file }, 'sample HR snapshot delivered');

  // The CLI commands that read AD and the cloud themselves (explain, plan) need the same settings
  // as the worker: one file to source. Sandbox credentials only, readable by the owner alone.
  const envFile = path.join(stateDir, 'sandbox.env');
  const cliEnv = {
    LDAP_URL: samba.url,
    LDAP_BIND_DN: samba.bindDn,
    LDAP_BIND_PASSWORD: samba.bindPassword,
    LDAP_BASE_DN: samba.baseDn,
    LDAP_CA_CERT: samba.caCertPath,
    TUNNUS_POLICY_FILE: policyFile,
    ...sims.env,
  };
  fs.writeFileSync(
    envFile,
    Object.entries(cliEnv)
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
      `Intake API:       ${api.url}/api/v1/openapi.json (sandbox token, this run only:)`,
      `                  export TOKEN=${apiToken}`,
      `                  curl -H "Authorization: Bearer $TOKEN" ${api.url}/api/v1/persons/E1001`,
      `                  curl -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: text/csv' \\`,
      `                    --data-binary @${path.relative(process.cwd(), file)} '${api.url}/api/v1/imports?source=hr'`,
      `                  curl -H "Authorization: Bearer $TOKEN" ${api.url}/api/v1/imports/<importId>`,
      'Stop with Ctrl-C (the Temporal server and Samba keep running; `npm run sandbox:down` stops them).',
      '',
    ].join('\n'),
  );

  const stop = () => worker.shutdown();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await running;
  await api.app.close();
  await store.close();
  await directory.close();
  await phone.close();
  await sims.close();
  await connection.close();
}

main().catch((err: unknown) => {
  process.stderr.write(
    `sandbox failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
