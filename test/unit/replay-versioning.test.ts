import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildIdOption } from '../../src/cli/options';
import { formatRuns } from '../../src/cli/runs';
import { runsQuery, type RunRow } from '../../src/ops/runs';
import { ConfigError, parseEnv } from '../../src/config';
import { deploymentFromEnv, deploymentOptions } from '../../src/worker';

// Worker versioning is off unless TUNNUS_BUILD_ID names the worker's version (docs/versioning.md).

describe('worker versioning from the environment', () => {
  it('without TUNNUS_BUILD_ID the worker is unversioned', () => {
    const deployment = deploymentFromEnv(parseEnv({}));
    assert.equal(deployment, undefined);
    assert.deepEqual(deploymentOptions(deployment), {});
  });

  it('with TUNNUS_BUILD_ID the worker polls as that version of the deployment, every workflow AUTO_UPGRADE', () => {
    const deployment = deploymentFromEnv(parseEnv({ TUNNUS_BUILD_ID: '2026.12.1-3f9c2a1' }));
    assert.deepEqual(deployment, { deploymentName: 'tunnus', buildId: '2026.12.1-3f9c2a1' });
    assert.deepEqual(deploymentOptions(deployment), {
      workerDeploymentOptions: {
        useWorkerVersioning: true,
        version: { deploymentName: 'tunnus', buildId: '2026.12.1-3f9c2a1' },
        defaultVersioningBehavior: 'AUTO_UPGRADE',
      },
    });
    assert.equal(
      deploymentFromEnv(parseEnv({ TUNNUS_BUILD_ID: 'b7', TUNNUS_DEPLOYMENT_NAME: 'tunnus-kerava' }))
        ?.deploymentName,
      'tunnus-kerava',
    );
  });

  it('a build id or deployment name the server would misread is refused, naming the variable', () => {
    assert.throws(
      () => parseEnv({ TUNNUS_BUILD_ID: 'v1:bad', TUNNUS_DEPLOYMENT_NAME: 'a.b' }),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.problems.some((p) => p.startsWith('TUNNUS_BUILD_ID:')) &&
        err.problems.some((p) => p.startsWith('TUNNUS_DEPLOYMENT_NAME:')),
    );
  });
});

describe('tunnus runs and worker versions', () => {
  const row: RunRow = {
    workflowId: 'joiner-E1001-1',
    runId: 'r1',
    type: 'joinerWorkflow',
    status: 'running',
    startTime: '2026-12-01T08:00:00.000Z',
    employeeId: 'E1001',
  };

  it('--build-id filters on the version Temporal keeps per run', () => {
    assert.equal(
      runsQuery({ stage: 'joiner', version: 'tunnus:2026.12.1' }),
      "WorkflowType = 'joinerWorkflow' AND TemporalWorkerDeploymentVersion = 'tunnus:2026.12.1'",
    );
    assert.equal(buildIdOption('2026.12.1-3f9c2a1'), '2026.12.1-3f9c2a1');
    assert.throws(() => buildIdOption("x' OR WorkflowType != '"), /--build-id must be/);
  });

  it('the table shows a version column only when runs are versioned', () => {
    const unversioned = formatRuns([row]);
    assert.doesNotMatch(unversioned, /version/);
    assert.match(unversioned.split('\n')[0]!, /EmployeeId$/);
    const versioned = formatRuns([
      { ...row, version: 'tunnus:b8' },
      { ...row, workflowId: 'person-E1001' },
    ]);
    assert.match(versioned.split('\n')[0]!, /EmployeeId {4}version$/);
    assert.match(versioned, /E1001 {9}tunnus:b8/);
    assert.match(versioned.split('\n')[2]!, /E1001 {9}-$/);
  });
});
