import type { Client } from '@temporalio/client';
import { connectClient } from '../ops/connect';
import { ConfigError, type Env } from '../config';
import { CliError } from './errors';
import { CONNECT_TIMEOUT_MS, unreachable } from './reachability';

// The CLI's Temporal connection. Commands ask src/cli/reachability.ts first (before they load the
// SDK), so a closed port is reported at once; this connect is what finds a server that accepts
// connections but does not answer, within seconds rather than the SDK's default 10 s.

export async function connectTemporal(env: Env): Promise<Client> {
  try {
    return await connectClient(env, { connectTimeoutMs: CONNECT_TIMEOUT_MS });
  } catch (err) {
    // Unreadable TLS files are a setting to fix, not an unreachable server.
    if (err instanceof ConfigError) throw err;
    throw unreachable(env, err instanceof Error ? err.message : String(err));
  }
}

/** Runs `fn` with a connected client and closes the connection after, however `fn` ends. */
export async function withTemporal<T>(env: Env, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = await connectTemporal(env);
  try {
    return await fn(client);
  } catch (err) {
    const cause = (err as { cause?: { code?: unknown; message?: string } }).cause;
    // gRPC UNAVAILABLE (14): the server went away after the connection was made.
    if (cause?.code === 14) {
      throw new CliError(
        'temporal_unreachable',
        `lost the connection to Temporal at ${env.TEMPORAL_ADDRESS}: ${cause.message ?? String(err)}`,
      );
    }
    throw err;
  } finally {
    await client.connection.close();
  }
}
