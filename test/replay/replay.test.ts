import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { bundleWorkflowCode, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import type { temporal } from '@temporalio/proto';
import { workflowInterceptorModules } from '../../src/metrics';
import * as workflows from '../../src/workflows';
import { readHistory, readManifest, recordedHistories, type Manifest } from './histories';

// Every recorded history (scripts/record-histories.ts: real runs on the dev server, fetched while
// the workflow was waiting in that phase) replays against the workflows as they are now. A change
// that would break a running person, joiner, import … fails here, before it reaches a worker.
// docs/versioning.md says what to do then: patched(), or a new workflow type.

type History = temporal.api.history.v1.History;

const noop = () => undefined;
const quietLogger = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };
// The replay workers' state changes and the expected non-determinism would fill the test output.
Runtime.install({ logger: quietLogger });

/** Replays each history; the failures by name (empty: all replayed). */
async function replay(
  bundle: WorkflowBundle,
  histories: { name: string; workflowId: string; history: History }[],
): Promise<Record<string, Error>> {
  const failures: Record<string, Error> = {};
  const results = Worker.runReplayHistories(
    { workflowBundle: bundle, replayName: 'tunnus-replay' },
    histories.map(({ workflowId, history }) => ({ workflowId, history })),
  );
  // One result per history, in order (a kept history may share its workflow id with a new one).
  let i = 0;
  for await (const result of results) {
    const name = histories[i++]?.name ?? result.workflowId;
    if (result.error) failures[name] = result.error;
  }
  return failures;
}

/** The history with its workflow type renamed (to replay it against a variant of that type). */
function asType(history: History, workflowType: string): History {
  const copy = structuredClone(history);
  copy.events[0]!.workflowExecutionStartedEventAttributes!.workflowType!.name = workflowType;
  return copy;
}

describe('replay of recorded histories', () => {
  let manifest: Manifest;
  before(() => {
    manifest = readManifest();
  });

  it('covers every workflow type that waits across an upgrade, in at least 15 phases', () => {
    const types = new Set(Object.values(manifest).map((h) => h.workflowType));
    assert.ok(Object.keys(manifest).length >= 15, `${Object.keys(manifest).length} histories`);
    for (const type of [
      'personWorkflow',
      'joinerWorkflow',
      'moverWorkflow',
      'leaverWorkflow',
      'deleteWorkflow',
      'importWorkflow',
      'cleanupWorkflow',
      'phoneSyncWorkflow',
      'rehireWorkflow',
      'massChangeHoldWorkflow',
    ]) {
      assert.ok(types.has(type), `no recorded history of ${type}`);
    }
  });

  it('a new workflow type comes with its recorded phases (or is listed here as one that never waits)', () => {
    // shredWorkflow: three activities in a row; its one wait is an activity's retry (no timer, no
    // signal), so a recorded history would only hold a scheduled activity.
    const neverWaits = new Set(['licencePoolWorkflow', 'shredWorkflow']);
    const recorded = new Set(Object.values(manifest).map((h) => h.workflowType));
    const missing = Object.entries(workflows)
      .filter(([name, value]) => typeof value === 'function' && !neverWaits.has(name) && !recorded.has(name))
      .map(([name]) => name);
    assert.deepEqual(
      missing,
      [],
      'record them: a block in scripts/record-histories.ts, then npm run replay:record',
    );
  });

  it('every recorded history replays against the current workflows without a non-determinism error', async () => {
    // As the production worker bundles them: with the metrics interceptor (src/worker.ts).
    const production = await bundleWorkflowCode({
      workflowsPath: require.resolve('../../src/workflows'),
      workflowInterceptorModules,
      // No preloadModules: off until the upgrade proof passes with it (src/workflow-bundle.ts).
      logger: quietLogger,
    });
    const failures = await replay(production, recordedHistories(manifest));
    const described = Object.entries(failures).map(([name, err]) => `${name}: ${err.name}: ${err.message}`);
    assert.deepEqual(described, [], 're-record only for a change that running workflows never see');
  });

  describe('a change that running workflows would see', () => {
    let variants: WorkflowBundle;
    before(async () => {
      variants = await bundleWorkflowCode({
        workflowsPath: require.resolve('./variants/reordered'),
        logger: quietLogger,
      });
    });
    const one = (name: string, workflowType?: string) => {
      const entry = manifest[name];
      assert.ok(entry, `no recorded history ${name}`);
      const history = readHistory(name);
      return [
        {
          name,
          workflowId: entry.workflowId,
          history: workflowType ? asType(history, workflowType) : history,
        },
      ];
    };

    it('a phone sync with its first two commands swapped fails replay with a DeterminismViolationError', async () => {
      const failures = await replay(variants, one('phone-sync-mid-feed'));
      const error = failures['phone-sync-mid-feed'];
      assert.ok(error instanceof DeterminismViolationError, String(error));
      // The order, not something else, is what replay caught.
      assert.match(error.message, /Activity type of scheduled event '\w+' does not match/);
    });

    it('a joiner with a step added before the plan, not behind patched(), fails replay', async () => {
      const failures = await replay(variants, one('joiner-waiting-to-create-account'));
      const error = failures['joiner-waiting-to-create-account'];
      assert.ok(error instanceof DeterminismViolationError, String(error));
      // The added timer is what replay caught: it meets the run's first recorded command, a
      // timer in histories before the joiner's patches, a patch marker since (joiner-local-steps).
      assert.match(error.message, /Timer|timer|patch marker encountered/);
    });

    it('the same step behind patched() replays: running joiners keep the old path', async () => {
      const failures = await replay(
        variants,
        one('joiner-waiting-to-create-account', 'joinerWithPatchWorkflow'),
      );
      assert.deepEqual(failures, {});
    });
  });
});
