import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { GraphClientOptions } from './connectors/graph/graph-client';
import { parsePolicy, type Policy } from './domain/policy';

// One schema for the environment, parsed once; every problem is listed, each naming its variable.
// Every program (worker, API, CLI, sandbox, benches) reads its settings from here, and
// src/wiring.ts turns them into connectors. The schema has two parts only so that the compose
// check can tell which program reads which variable: envSchema (worker, CLI, shared) and
// apiEnvSchema (the HR intake API alone).

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
  /**
   * Microsoft Graph (docs/graph-permissions.md): tenant, app, and a secret or a certificate.
   * Which of them are required is checked by graphOptions(), when a program builds the client.
   */
  GRAPH_TENANT_ID: z.string().min(1).optional(),
  GRAPH_CLIENT_ID: z.string().min(1).optional(),
  GRAPH_CLIENT_SECRET: z.string().min(1).optional(),
  GRAPH_CLIENT_CERTIFICATE_PATH: z.string().min(1).optional(),
  /** National clouds, the simulator; https only (the SDK sends no token over http). */
  GRAPH_BASE_URL: z.url({ protocol: /^https$/ }).optional(),
  GRAPH_CA_CERT_PATH: z.string().min(1).optional(),
  GRAPH_TIMEOUT_MS: z.coerce.number().int().positive().optional(),
  /** Sandbox and tests only: a fixed bearer token the Graph simulator accepts. */
  GRAPH_STATIC_TOKEN: z.string().optional(),
  /** The telephony platform's REST API (docs/telephony-api.md). */
  PHONE_BASE_URL: z.string().optional(),
  PHONE_API_KEY: z.string().optional(),
  PHONE_CA_CERT: z.string().optional(),
  TUNNUS_POLICY_FILE: z.string().default(path.resolve(__dirname, '..', 'config', 'policy.yaml')),
  /** Notice templates (fi, sv, en) for sendNotice and the credential handover. */
  TUNNUS_NOTICES_FILE: z.string().default(path.resolve(__dirname, '..', 'config', 'notices.yaml')),
  /**
   * The record index (and import staging): a postgres:// URL for PostgreSQL; unset for the SQLite
   * file TUNNUS_INDEX_FILE. Anything else is an error, so a typo never falls back to a local file.
   */
  RECORD_INDEX_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL (unset it for the SQLite file)')
    .optional(),
  TUNNUS_INDEX_FILE: z.string().default(path.resolve(__dirname, '..', '.state', 'record-index.sqlite')),
  /**
   * Per-identity data keys (src/crypto/identity-keys.ts, docs/privacy.md): in RECORD_INDEX_URL's
   * database when set, else this SQLite file (default: identity-keys.sqlite beside the index).
   */
  TUNNUS_KEYS_FILE: z.string().optional(),
  /** The key-encryption key: 32 random bytes in a file (default: `kek` beside the index) … */
  TUNNUS_KEK_FILE: z.string().optional(),
  /** … or base64 in the environment (wins over the file). */
  TUNNUS_KEK: z.string().optional(),
  /** How long a process reuses an unwrapped data key; a key destroyed elsewhere dies within it. */
  TUNNUS_KEY_CACHE_SECONDS: z.coerce.number().min(0).default(30),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  /** How many activities one worker runs at once. */
  WORKER_MAX_ACTIVITIES: z.coerce.number().int().positive().default(100),
  /**
   * Person workflows the worker keeps cached; unset, sized from the worker's memory (cgroup limit or
   * the machine's: src/worker-memory.ts). 0 turns the cache off.
   */
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).optional(),
  /** Workflow tasks one worker runs at once (src/worker-memory.ts, docs/scale-out.md). */
  WORKER_MAX_WORKFLOW_TASKS: z.coerce.number().int().min(2).optional(),
  /** Local activities one worker runs at once. */
  WORKER_MAX_LOCAL_ACTIVITIES: z.coerce.number().int().positive().optional(),
  /** The workflow thread's V8 semi-space in MB (young generation; src/worker-memory.ts): 4. */
  WORKER_SEMI_SPACE_MB: z.coerce.number().int().min(1).max(64).optional(),
  /** The workflow thread's V8 old-space limit in MB (src/worker-memory.ts): 1024. */
  WORKER_OLD_SPACE_MB: z.coerce.number().int().min(128).optional(),
  /**
   * How long a workflow task waits on this worker's sticky queue before any worker may take it:
   * after a worker dies, its cached workflows resume elsewhere after this long (the SDK's 10 s
   * halved, in line with the runs' 5 s workflow task timeout; lower costs replays under load).
   */
  WORKER_STICKY_QUEUE_TIMEOUT_SECONDS: z.coerce.number().positive().default(5),
  /** This worker's name in workflow histories (pod or host name); default pid@hostname. */
  TUNNUS_WORKER_IDENTITY: z.string().min(1).optional(),
  /** The worker's HTTP server for /metrics, /health and /ready (docs/metrics.md). */
  TUNNUS_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  /** Loopback by default; a container sets 0.0.0.0 so Prometheus and the health check reach it. */
  TUNNUS_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  /**
   * The Temporal SDK's own Prometheus exporter, on loopback only: /metrics on the port above
   * serves its figures together with Tunnus's. 0 turns the SDK's metrics off.
   */
  TUNNUS_SDK_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9465),
  /** How long gauges read from Temporal and Graph on scrape are reused (seconds). */
  TUNNUS_METRICS_CACHE_SECONDS: z.coerce.number().min(0).default(30),
  /**
   * Worker versioning (docs/versioning.md): the worker's build id, e.g. the image tag or git commit.
   * Unset: an unversioned worker. With it, the worker polls as version TUNNUS_DEPLOYMENT_NAME:BUILD_ID.
   */
  TUNNUS_BUILD_ID: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/, 'must be letters, digits, . _ - (e.g. a git commit)')
    .optional(),
  TUNNUS_DEPLOYMENT_NAME: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$/, 'must be letters, digits, _ -')
    .default('tunnus'),
});

/** The HR intake API's own settings (src/api/main.ts); the record index is in envSchema. */
const apiEnvSchema = z.object({
  API_HOST: z.string().default('127.0.0.1'),
  API_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Largest JSON body (one record); unset: the server's default (16 KiB). */
  API_BODY_LIMIT_BYTES: z.coerce.number().int().positive().optional(),
  /** Largest CSV snapshot for POST /api/v1/imports; unset: the server's default (32 MiB). */
  API_IMPORT_BODY_LIMIT_BYTES: z.coerce.number().int().positive().optional(),
});

const configSchema = envSchema.extend(apiEnvSchema.shape);

export type Env = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

export function parseEnv(env: NodeJS.ProcessEnv = process.env): Env {
  const result = configSchema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  return result.data;
}

/** The parsed environment and the policy file it names: what wire() builds connectors from. */
export interface Config {
  env: Env;
  policy: Policy;
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const env = parseEnv(source);
  return { env, policy: loadPolicy(env.TUNNUS_POLICY_FILE) };
}

export function loadPolicy(file: string): Policy {
  return parsePolicy(fs.readFileSync(file, 'utf8'));
}

/**
 * Graph client options: the simulator's static token when set (sandbox, tests), else the app's
 * credentials, where tenant, client id and exactly one of secret or certificate are required.
 * Every problem is listed; secret values never appear in the message.
 */
export function graphOptions(env: Env): GraphClientOptions {
  const common = {
    ...(env.GRAPH_BASE_URL ? { baseUrl: env.GRAPH_BASE_URL } : {}),
    ...(env.GRAPH_CA_CERT_PATH ? { caCertPath: env.GRAPH_CA_CERT_PATH } : {}),
    ...(env.GRAPH_TIMEOUT_MS ? { timeoutMs: env.GRAPH_TIMEOUT_MS } : {}),
  };
  if (env.GRAPH_STATIC_TOKEN)
    return { auth: { kind: 'staticToken', token: env.GRAPH_STATIC_TOKEN }, ...common };
  const problems: string[] = [];
  if (!env.GRAPH_TENANT_ID) problems.push('GRAPH_TENANT_ID: is required');
  if (!env.GRAPH_CLIENT_ID) problems.push('GRAPH_CLIENT_ID: is required');
  const secret = env.GRAPH_CLIENT_SECRET;
  const certificatePath = env.GRAPH_CLIENT_CERTIFICATE_PATH;
  if (Boolean(secret) === Boolean(certificatePath)) {
    problems.push(
      'GRAPH_CLIENT_SECRET: set exactly one of GRAPH_CLIENT_SECRET or GRAPH_CLIENT_CERTIFICATE_PATH',
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const tenantId = env.GRAPH_TENANT_ID!;
  const clientId = env.GRAPH_CLIENT_ID!;
  return {
    auth: secret
      ? { kind: 'clientSecret', tenantId, clientId, clientSecret: secret }
      : { kind: 'clientCertificate', tenantId, clientId, certificatePath: certificatePath! },
    ...common,
  };
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
