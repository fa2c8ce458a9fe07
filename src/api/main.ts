import { loadPolicy, parseEnv } from '../config';
import { createLogger, type Logger } from '../logger';
import { describeRecordIndex } from '../store/open';
import { connectClient, openRecordIndex } from '../wiring';
import { loadApiClients } from './auth';
import { createTemporalImports } from '../ops/imports';
import { createTemporalIntake } from '../ops/temporal-intake';
import { createTemporalApprovals } from '../ops/approve';
import { createTemporalPersonOps } from '../ops/terminate';
import { startApi } from './server';

// `tsx src/api/main.ts`: the HR intake API as a process of its own (composition root). Its
// settings (API_HOST, API_PORT, body limits) are part of the one configuration, src/config.ts;
// the record index there is the same one the worker's import activities open.

async function main(logger: Logger): Promise<void> {
  const env = parseEnv();
  logger.level = env.LOG_LEVEL;
  const clients = loadApiClients();
  if (clients.length === 0) logger.warn('no API clients configured (API_CLIENTS / API_CLIENTS_FILE)');

  const client = await connectClient(env);
  const index = openRecordIndex(env);
  const intake = createTemporalIntake({ client, taskQueue: env.TEMPORAL_TASK_QUEUE });
  const policy = loadPolicy(env.TUNNUS_POLICY_FILE);
  const imports = createTemporalImports({ client, staging: index, taskQueue: env.TEMPORAL_TASK_QUEUE });
  const { app, url } = await startApi({
    intake,
    index,
    clients,
    logger,
    imports,
    // The door's rules (dates, sentinels, scripts, who may link staff rows) come from the policy.
    policy,
    // POST /api/v1/approvals/{workflowId} (scope ops:approve): the mass-change guard's approvals.
    approvals: createTemporalApprovals(client),
    // POST/DELETE /api/v1/persons/{id}/termination, POST …/retry (scope ops:write).
    personOps: createTemporalPersonOps({ client, store: index, policy }),
    ...(env.API_BODY_LIMIT_BYTES ? { bodyLimitBytes: env.API_BODY_LIMIT_BYTES } : {}),
    ...(env.API_IMPORT_BODY_LIMIT_BYTES ? { importBodyLimitBytes: env.API_IMPORT_BODY_LIMIT_BYTES } : {}),
    host: env.API_HOST,
    port: env.API_PORT,
  });
  logger.info({ url, clients: clients.length, index: describeRecordIndex(env) }, 'intake API listening');

  const stop = () => {
    void app
      .close()
      .then(() => index.close())
      .then(() => client.connection.close())
      .then(() => logger.info('intake API stopped'));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

// Every line the API writes is JSON, its last words included.
const log = createLogger(process.env.LOG_LEVEL ?? 'info');
main(log).catch((err: unknown) => {
  log.fatal({ error: err instanceof Error ? err.message : String(err) }, 'intake API failed');
  process.exitCode = 1;
});
