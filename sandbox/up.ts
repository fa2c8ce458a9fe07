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
  const worker = await buildWorker({
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

  const csv = sampleHrCsv(helsinkiDate(new Date()));
  const file = path.join(stateDir, 'sample-hr.csv');
  fs.writeFileSync(file, csv);
  const { records, errors } = parseHrCsv(csv);
  if (errors.length > 0) throw new Error(`sample data is invalid:\n${formatCsvErrors(errors)}`);
  await inBatches(records, 8, async ({ record }) => void (await deliverRecord(client, record, 'hr')));
  log.info({ people: records.length, file }, 'sample HR snapshot delivered');

  process.stdout.write(
    [
      '',
      `Temporal Web UI:  ${temporal.uiUrl}/namespaces/default/workflows`,
      `Directory:        ${samba.url} (${samba.baseDn}), bind ${samba.bindDn}`,
      'Try:              npx tunnus person show E1001',
      `                  npx tunnus hr import ${path.relative(process.cwd(), file)}`,
      'Stop with Ctrl-C (the Temporal server and Samba keep running; `npm run sandbox:down` stops them).',
      '',
    ].join('\n'),
  );

  const stop = () => worker.shutdown();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await running;
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
