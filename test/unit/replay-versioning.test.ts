import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
