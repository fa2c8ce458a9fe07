import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { parsePolicy, type Policy } from './domain/policy';

// One schema for the environment, parsed once; every problem is listed, each naming its variable.

const envSchema = z.object({
  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default('tunnus'),
  /** PEM files for mTLS to a production cluster (Temporal Cloud or self-hosted with TLS). */
  TEMPORAL_TLS_CERT: z.string().optional(),
  TEMPORAL_TLS_KEY: z.string().optional(),
  TEMPORAL_TLS_CA: z.string().optional(),
  LDAP_URL: z
    .string()
    .regex(/^ldaps:\/\//, 'must be an ldaps:// URL (passwords are only set over TLS)')
    .default('ldaps://localhost:636'),
  LDAP_BIND_DN: z.string().min(1).default('CN=Administrator,CN=Users,DC=kerava,DC=test'),
  LDAP_BIND_PASSWORD: z.string().min(1, 'is required').optional(),
  LDAP_BASE_DN: z.string().min(1).default('DC=kerava,DC=test'),
  /** CA bundle that signed the DC's certificate; the system store is used when unset. */
  LDAP_CA_CERT: z.string().optional(),
  LDAP_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /** Microsoft Graph (docs/graph-permissions.md): tenant, app, and a secret or a certificate. */
  GRAPH_TENANT_ID: z.string().optional(),
  GRAPH_CLIENT_ID: z.string().optional(),
  GRAPH_CLIENT_SECRET: z.string().optional(),
  GRAPH_CLIENT_CERTIFICATE_PATH: z.string().optional(),
  GRAPH_BASE_URL: z.string().optional(),
  GRAPH_CA_CERT_PATH: z.string().optional(),
  GRAPH_TIMEOUT_MS: z.string().optional(),
  /** Sandbox and tests only: a fixed bearer token the Graph simulator accepts. */
  GRAPH_STATIC_TOKEN: z.string().optional(),
  /** The telephony platform's REST API (docs/telephony-api.md). */
  PHONE_BASE_URL: z.string().optional(),
  PHONE_API_KEY: z.string().optional(),
  PHONE_CA_CERT: z.string().optional(),
  TUNNUS_POLICY_FILE: z.string().default(path.resolve(__dirname, '..', 'config', 'policy.yaml')),
  /**
   * The record index (and import staging): a postgres:// URL for PostgreSQL; unset for the SQLite
   * file TUNNUS_INDEX_FILE. Anything else is an error, so a typo never falls back to a local file.
   */
  RECORD_INDEX_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL (unset it for the SQLite file)')
    .optional(),
  TUNNUS_INDEX_FILE: z.string().default(path.resolve(__dirname, '..', '.state', 'record-index.sqlite')),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  /** How many activities one worker runs at once. */
  WORKER_MAX_ACTIVITIES: z.coerce.number().int().positive().default(100),
});

export type Env = z.infer<typeof envSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

export function parseEnv(env: NodeJS.ProcessEnv = process.env): Env {
  const result = envSchema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  return result.data;
}

export function loadPolicy(file: string): Policy {
  return parsePolicy(fs.readFileSync(file, 'utf8'));
}

/** mTLS options for a Temporal connection (client or worker), or nothing when not configured. */
export function temporalTls(env: Env) {
  const cert = readPem('TEMPORAL_TLS_CERT', env.TEMPORAL_TLS_CERT);
  const key = readPem('TEMPORAL_TLS_KEY', env.TEMPORAL_TLS_KEY);
  const ca = readPem('TEMPORAL_TLS_CA', env.TEMPORAL_TLS_CA);
  if (!cert || !key) return {};
  return { tls: { clientCertPair: { crt: cert, key }, ...(ca ? { serverRootCACertificate: ca } : {}) } };
}

/** Reads an optional PEM file named by config, with an error that names the variable. */
export function readPem(variable: string, file: string | undefined): Buffer | undefined {
  if (!file) return undefined;
  try {
    return fs.readFileSync(file);
  } catch {
    throw new ConfigError([`${variable}: cannot read ${file}`]);
  }
}
