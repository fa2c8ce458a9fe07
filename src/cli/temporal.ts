import net from 'node:net';
import type { Client } from '@temporalio/client';
import { connectClient } from '../client';
import { ConfigError, type Env } from '../config';
import { CliError } from './errors';

// The CLI's Temporal connection. An operator at a terminal should learn within seconds that the
// server is not there, and which setting points at it, rather than wait the SDK's 10 s deadline.

/** Enough for a handshake with a remote cluster (TLS included); short enough to fail fast. */
export const CONNECT_TIMEOUT_MS = 2_000;

export async function connectTemporal(env: Env): Promise<Client> {
  const connecting = connectClient(env, { connectTimeoutMs: CONNECT_TIMEOUT_MS });
  // gRPC waits for the deadline even when the port is closed; a plain TCP probe knows at once.
  const probe = probeListener(env.TEMPORAL_ADDRESS);
  try {
    return await Promise.race([connecting, probe.refused]);
  } catch (err) {
    // Unreadable TLS files are a setting to fix, not an unreachable server.
    if (err instanceof ConfigError) throw err;
    // The connection that lost the race must not outlive the command.
    connecting.then((client) => client.connection.close()).catch(() => {});
    const why = err instanceof Error ? err.message : String(err);
    throw new CliError(
      'temporal_unreachable',
      `cannot reach Temporal at ${env.TEMPORAL_ADDRESS} (namespace ${env.TEMPORAL_NAMESPACE}): ${why}. ` +
        'Is the server running? TEMPORAL_ADDRESS sets the address.',
    );
  } finally {
    probe.stop();
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

/** Errors that mean nothing listens there (as opposed to a slow network, which gRPC waits out). */
const NOTHING_THERE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * `refused` rejects as soon as a TCP connect to `host:port` says nothing listens; otherwise it
 * never settles. The probe sends nothing: it closes as soon as the connection opens.
 */
function probeListener(address: string): { refused: Promise<never>; stop: () => void } {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(address.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 65_535) {
    return { refused: new Promise<never>(() => {}), stop: () => {} };
  }
  let socket: net.Socket | undefined;
  const refused = new Promise<never>((_, reject) => {
    socket = net.connect({ host, port });
    socket.unref();
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket?.destroy());
    socket.on('connect', () => socket?.destroy());
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code && NOTHING_THERE.has(err.code)) {
        reject(
          new Error(`${err.code === 'ENOTFOUND' ? 'no such host' : 'connection refused'} (${err.code})`),
        );
      }
    });
  });
  return { refused, stop: () => socket?.destroy() };
}
