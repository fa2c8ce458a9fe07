import { Client, Connection } from '@temporalio/client';
import { temporalTls, type Env } from '../config';
import { identityKeysFor, tunnusDataConverter } from '../crypto/data-converter';
import type { IdentityKeys } from '../crypto/identity-keys';

// The one way a Tunnus process outside the worker connects to Temporal (CLI, API, schedules,
// benches): TLS as configured, and every payload through the payload codec.

/**
 * `connectTimeoutMs`: how long to wait for the server (the SDK's default is 10 s). Every payload
 * goes through the payload codec (src/crypto/data-converter.ts), with the keys the environment
 * names unless `keys` are given.
 */
export async function connectClient(
  env: Env,
  options: { connectTimeoutMs?: number; keys?: IdentityKeys } = {},
): Promise<Client> {
  const dataConverter = tunnusDataConverter(options.keys ?? identityKeysFor(env));
  const connection = await Connection.connect({
    address: env.TEMPORAL_ADDRESS,
    ...temporalTls(env),
    ...(options.connectTimeoutMs ? { connectTimeout: options.connectTimeoutMs } : {}),
  });
  return new Client({ connection, namespace: env.TEMPORAL_NAMESPACE, dataConverter });
}

/** Runs `fn` with a deadline on every Temporal call it makes (a query needs a worker). */
export function withDeadline<T>(client: Client, ms: number, fn: () => Promise<T>): Promise<T> {
  return client.connection.withDeadline(Date.now() + ms, fn);
}

/** Throws when the Temporal service cannot be reached (readiness). */
export async function checkTemporal(client: Client): Promise<void> {
  await client.workflowService.getSystemInfo({});
}
