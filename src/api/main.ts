import { z } from 'zod';
import { connectClient } from '../client';
import { ConfigError, parseEnv } from '../config';
import { createLogger } from '../logger';
import { describeRecordIndex, openRecordIndex } from '../store/open';
import { loadApiClients } from './auth';
import { createTemporalImports } from './imports';
import { createTemporalIntake } from './intake';
import { DEFAULT_BODY_LIMIT_BYTES, DEFAULT_IMPORT_BODY_LIMIT_BYTES, startApi } from './server';

// `tsx src/api/main.ts`: the HR intake API as a process of its own (composition root).
// Temporal settings come from the shared config (src/config.ts); the API's own are below.

const apiEnvSchema = z.object({
  API_HOST: z.string().default('127.0.0.1'),
  API_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  API_BODY_LIMIT_BYTES: z.coerce.number().int().positive().default(DEFAULT_BODY_LIMIT_BYTES),
  /** Largest CSV snapshot for POST /api/v1/imports. */
  API_IMPORT_BODY_LIMIT_BYTES: z.coerce.number().int().positive().default(DEFAULT_IMPORT_BODY_LIMIT_BYTES),
});
// The record index (RECORD_INDEX_URL or TUNNUS_INDEX_FILE) is in the shared config: the worker's
// import activities open the same one.

async function main(): Promise<void> {
  const env = parseEnv();
  const apiEnv = apiEnvSchema.safeParse(process.env);
  if (!apiEnv.success) {
    throw new ConfigError(apiEnv.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const { API_HOST, API_PORT, API_BODY_LIMIT_BYTES, API_IMPORT_BODY_LIMIT_BYTES } = apiEnv.data;
  const logger = createLogger(env.LOG_LEVEL);
  const clients = loadApiClients();
  if (clients.length === 0) logger.warn('no API clients configured (API_CLIENTS / API_CLIENTS_FILE)');

  const client = await connectClient(env);
  const index = openRecordIndex(env);
  const intake = createTemporalIntake({ client, taskQueue: env.TEMPORAL_TASK_QUEUE });
  const imports = createTemporalImports({ client, staging: index, taskQueue: env.TEMPORAL_TASK_QUEUE });
  const { app, url } = await startApi({
    intake,
    index,
    clients,
    logger,
    bodyLimitBytes: API_BODY_LIMIT_BYTES,
    imports,
    importBodyLimitBytes: API_IMPORT_BODY_LIMIT_BYTES,
    host: API_HOST,
    port: API_PORT,
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

main().catch((err: unknown) => {
  process.stderr.write(`intake API failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
