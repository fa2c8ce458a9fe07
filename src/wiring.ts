import { createHmac } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { connectClient } from './ops/connect';
import { ConfigError, graphOptions, type Config, type Env } from './config';
import { GraphCloudDirectory, type CloudDirectory } from './connectors/graph/cloud-directory';
import { createGraphClient } from './connectors/graph/graph-client';
import {
  createLdapDirectory,
  type DirectoryLogger,
  type LdapDirectory,
} from './connectors/ldap/ldap-directory';
import { identityKeysFor } from './crypto/data-converter';
import { createPhoneDirectory, type PhoneDirectory } from './connectors/phone/phone-directory';
import type { RecordStore } from './store/import-staging';
import { openRecordIndex } from './store/open';

// Wiring: the one place that turns the parsed configuration (src/config.ts) into connectors and
// clients, for the worker, the API, the CLI, the sandbox and the benches. Nothing here starts
// work; nothing else builds a connector from settings. The Temporal *worker* connection lives in
// src/worker.ts, so programs that only talk to Temporal as a client never load the worker package.

export { connectClient } from './ops/connect';
export { openRecordIndex } from './store/open';

/**
 * The LDAP directory the environment names (connects on first use). `missingPassword` is the
 * error when no bind password is set: callers say what they need it for.
 */
export function createDirectoryFromEnv(
  env: Env,
  log?: DirectoryLogger,
  missingPassword = 'LDAP_BIND_PASSWORD is required',
): LdapDirectory {
  if (!env.LDAP_BIND_PASSWORD) throw new Error(missingPassword);
  return createLdapDirectory(
    {
      url: env.LDAP_URL,
      bindDn: env.LDAP_BIND_DN,
      bindPassword: env.LDAP_BIND_PASSWORD,
      baseDn: env.LDAP_BASE_DN,
      timeoutMs: env.LDAP_TIMEOUT_MS,
      ...(env.LDAP_CA_CERT ? { caCertPath: env.LDAP_CA_CERT } : {}),
      // Name reservations hold salted hashes; the salt is per deployment, from the shared key
      // (never rotated), read only when a reservation is written or checked.
      reservationSalt: async () =>
        createHmac('sha256', (await identityKeysFor(env).sharedKey()).key)
          .update('tunnus name-reservation salt')
          .digest(),
    },
    log,
  );
}

/** Graph with the app's credentials; the simulator's static token only when explicitly set. */
export function createCloudDirectory(env: Env): CloudDirectory {
  return new GraphCloudDirectory(createGraphClient(graphOptions(env)).client);
}

export function createPhoneDirectoryFromEnv(env: Env): PhoneDirectory {
  if (!env.PHONE_BASE_URL || !env.PHONE_API_KEY) {
    throw new ConfigError(['PHONE_BASE_URL and PHONE_API_KEY: both are required']);
  }
  return createPhoneDirectory({
    baseUrl: env.PHONE_BASE_URL,
    apiKey: env.PHONE_API_KEY,
    ...(env.PHONE_CA_CERT ? { caCertPath: env.PHONE_CA_CERT } : {}),
  });
}

/** Everything the worker's activities talk to, built from one configuration. */
export interface Deps {
  config: Config;
  directory: LdapDirectory;
  cloud: CloudDirectory;
  phone: PhoneDirectory;
  /** A Temporal client (visibility reads, schedules, child operations from activities). */
  client: Client;
  /** The record index and import staging, opened when first needed. */
  store: () => RecordStore;
  /** Closes what was opened, in reverse order. */
  close(): Promise<void>;
}

export interface WireOptions {
  /** Where the LDAP connector logs operation names and result codes. */
  log?: DirectoryLogger;
}

/**
 * `const deps = await wire(config)`: the connectors and the Temporal client. Settings are checked
 * before anything connects, so a misconfigured process fails at once, listing what is wrong.
 */
export async function wire(config: Config, options: WireOptions = {}): Promise<Deps> {
  const { env } = config;
  const directory = createDirectoryFromEnv(env, options.log);
  const cloud = createCloudDirectory(env);
  const phone = createPhoneDirectoryFromEnv(env);
  const client = await connectClient(env);
  let store: RecordStore | undefined;
  return {
    config,
    directory,
    cloud,
    phone,
    client,
    store: () => (store ??= openRecordIndex(env)),
    async close() {
      await store?.close();
      await phone.close();
      await directory.close();
      await client.connection.close();
    },
  };
}
