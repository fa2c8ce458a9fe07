import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { resolveTestServer } from '../../sandbox/temporal';
import { failureConverterPath, tunnusDataConverter } from '../../src/crypto/data-converter';
import { testKeys } from './keys';
import { searchAttributeDefinitions } from '../../src/workflows/messages';

/**
 * The time-skipping test server from the pinned PyPI package (the SDK download is the fallback).
 * `codec`: the env's client encrypts like Tunnus's (workers must then use tunnusDataConverter).
 */
export async function timeSkippingEnv(options: { codec?: boolean } = {}): Promise<TestWorkflowEnvironment> {
  const path = resolveTestServer();
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    ...(path ? { server: { executable: { type: 'existing-path', path } } } : {}),
    ...(options.codec ? { client: { dataConverter: tunnusDataConverter(testKeys()) } } : {}),
  });
  // The workflows upsert these; the test server, like a real cluster, must know them first.
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(
      Object.keys(searchAttributeDefinitions).map((name) => [
        name,
        temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      ]),
    ),
  });
  return env;
}

let bundle: Promise<WorkflowBundle> | undefined;

/** Bundles src/workflows once per test process. */
export function workflowBundle(): Promise<WorkflowBundle> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: require.resolve('../../src/workflows'),
    // As the worker bundles it: failure messages go into a payload the codec encrypts.
    failureConverterPath,
    // No preloadModules: off until the upgrade proof passes with it (src/workflow-bundle.ts).
    logger: quietLogger,
  });
  return bundle;
}

const noop = () => undefined;
const quietLogger = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };
