import path from 'node:path';
import type { DataConverter } from '@temporalio/common';
import type { Env } from '../config';
import { createPayloadCodec } from './codec';
import { keyPaths, openIdentityKeys, type IdentityKeys } from './identity-keys';

// The one data converter every Temporal client and worker Tunnus builds uses (docs/privacy.md):
// the payload codec over the identity keys, and a failure converter that moves failure messages
// and stacks into a payload so that the codec encrypts them too.

/** Bundled into the workflow code too (the worker passes it to its bundler; tests' bundles use it). */
export const failureConverterPath = require.resolve('./failure-converter');

export function tunnusDataConverter(keys: IdentityKeys): DataConverter {
  return { payloadCodecs: [createPayloadCodec(keys)], failureConverterPath };
}

type KeyEnv = Parameters<typeof openIdentityKeys>[0];
const opened = new Map<string, IdentityKeys>();

/**
 * The identity keys the configuration names, opened once per process and store (every client,
 * worker and codec server in a process shares one cache, so a destroy here is seen at once).
 */
export function identityKeysFor(env: KeyEnv): IdentityKeys {
  const where = env.RECORD_INDEX_URL ?? path.resolve(keyPaths(env).keysFile);
  const id = `${where}\n${env.TUNNUS_KEK ? 'env' : path.resolve(keyPaths(env).kekFile)}`;
  let keys = opened.get(id);
  if (!keys) {
    keys = openIdentityKeys(env);
    opened.set(id, keys);
  }
  return keys;
}

/** `tunnusDataConverter` over the configuration's keys. */
export const dataConverterFor = (env: Pick<Env, keyof KeyEnv>): DataConverter =>
  tunnusDataConverter(identityKeysFor(env));
