import path from 'node:path';
import { z } from 'zod';
import { connectClient } from '../client';
import { ConfigError, parseEnv } from '../config';
import { createLogger } from '../logger';
import { openSqliteIndex } from '../store/sqlite-index';
import { loadApiClients } from './auth';
import { createTemporalIntake } from './intake';
import { DEFAULT_BODY_LIMIT_BYTES, startApi } from './server';

// `tsx src/api/main.ts`: the HR intake API as a process of its own (composition root).
// Temporal settings come from the shared config (src/config.ts); the API's own are below.

const apiEnvSchema = z.object({
  API_HOST: z.string().default('127.0.0.1'),
  API_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  API_BODY_LIMIT_BYTES: z.coerce.number().int().positive().default(DEFAULT_BODY_LIMIT_BYTES),
  /** The record index (SQLite); survives restarts. */
  TUNNUS_INDEX_FILE: z.string().default(path.resolve(__dirname, '..', '..', '.state', 'record-index.sqlite')),
});

async function main(): Promise<void> {
  const env = parseEnv();
  const apiEnv = apiEnvSchema.safeParse(process.env);
  if (!apiEnv.success) {
    throw new ConfigError(apiEnv.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const { API_HOST, API_PORT, API_BODY_LIMIT_BYTES, TUNNUS_INDEX_FILE } = apiEnv.data;
  const logger = createLogger(env.LOG_LEVEL);
  const clients = loadApiClients();
  if (clients.length === 0) logger.warn('no API clients configured (API_CLIENTS / API_CLIENTS_FILE)');

  const client = await connectClient(env);
  const index = openSqliteIndex({ file: TUNNUS_INDEX_FILE });
  const intake = createTemporalIntake({ client, taskQueue: env.TEMPORAL_TASK_QUEUE });
  const { app, url } = await startApi({
    intake,
    index,
    clients,
    logger,
    bodyLimitBytes: API_BODY_LIMIT_BYTES,
    host: API_HOST,
    port: API_PORT,
  });
  logger.info({ url, clients: clients.length }, 'intake API listening');

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
