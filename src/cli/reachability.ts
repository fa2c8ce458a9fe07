import net from 'node:net';
import type { Env } from '../config';
import { CliError } from './errors';

// Is anything listening at TEMPORAL_ADDRESS? A plain TCP connect answers at once when nothing is
// (gRPC would wait out its deadline), and it needs only node:net: a command asks before it loads
// the Temporal SDK, whose loading alone takes a second on a busy machine. The probe sends nothing
// and closes as soon as the connection opens; nothing reaches Temporal.

/** How long the server may take to accept a connection (and, later, to answer on it). */
export const CONNECT_TIMEOUT_MS = 2_000;

type TemporalSettings = Pick<Env, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE'>;

/** The error every command reports when Temporal is not there: the address and its variable. */
export function unreachable(env: TemporalSettings, why: string): CliError {
  return new CliError(
    'temporal_unreachable',
    `cannot reach Temporal at ${env.TEMPORAL_ADDRESS} (namespace ${env.TEMPORAL_NAMESPACE}): ${why}. ` +
      'Is the server running? TEMPORAL_ADDRESS sets the address.',
  );
}

/**
 * Resolves when something accepts a TCP connection at the address; otherwise rejects with the
 * error above. Resolves without probing when gRPC would connect through a proxy (grpc_proxy,
 * https_proxy, http_proxy: the direct route may well be closed) or the address is not host:port;
 * the SDK's own connect (with the same timeout) then decides.
 */
export async function ensureListening(
  env: TemporalSettings,
  timeoutMs = CONNECT_TIMEOUT_MS,
  proxyEnv: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  if (proxyEnv.grpc_proxy || proxyEnv.https_proxy || proxyEnv.http_proxy) return;
  const target = hostAndPort(env.TEMPORAL_ADDRESS);
  if (!target) return;
  await new Promise<void>((resolve, reject) => {
    const socket = net.connect(target);
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(unreachable(env, `no answer within ${timeoutMs / 1000} s`));
    });
    socket.on('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      socket.destroy();
      const what = err.code ? REASONS[err.code] : undefined;
      reject(unreachable(env, what ? `${what} (${err.code})` : err.message));
    });
  });
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'no such host',
  EHOSTUNREACH: 'no route to host',
  ENETUNREACH: 'network unreachable',
};

/** "host:port", "[::1]:7233" → its parts; anything else (e.g. a dns:/// target) → undefined. */
function hostAndPort(address: string): { host: string; port: number } | undefined {
  const match = /^(\[[^\]]+\]|[^:/\s]+):(\d{1,5})$/.exec(address.trim());
  if (!match) return undefined;
  const port = Number(match[2]);
  if (port < 1 || port > 65_535) return undefined;
  return { host: match[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}
