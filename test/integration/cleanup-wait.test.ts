import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startCleanup, waitForCleanup } from '../../src/ops/cleanup';
import { run as cli } from '../../src/starter';
import { eventually, startStack, type Stack } from '../support/stack';

// Following a cleanup run while no worker answers (as under load: the status query times out):
// the wait goes on and gets the report once a worker serves the queue; `tunnus cleanup run` prints
// it and exits 0. Against the Temporal dev server and Samba AD.

/** A stream that keeps what is written to it. */
const capture = () => {
  const chunks: string[] = [];
  const stream = { write: (s: string) => chunks.push(s) > 0 } as unknown as NodeJS.WritableStream;
  return { stream, text: () => chunks.join('') };
};

describe('waiting for a cleanup run that no worker answers for a while', () => {
  let stack: Stack;
  let stopWorker: (() => Promise<void>) | undefined;

  before(async () => {
    stack = await startStack({
      policy: (p) => {
        p.cleanup = { ...p.cleanup, mode: 'report' };
      },
    });
    Object.assign(process.env, stack.childEnv());
  });
  after(async () => {
    await stopWorker?.();
    await stack?.close();
  });

  it('its status query times out with no worker polling; the wait goes on to the report', async () => {
    const workflowId = await startCleanup(stack.client, stack.taskQueue, 'report');
    const unanswered: string[] = [];
    const waiting = waitForCleanup(stack.client, workflowId, {
      pollMs: 200,
      queryTimeoutMs: 1_000,
      onUnanswered: (why) => unanswered.push(why),
    });
    let ended = false;
    void waiting.finally(() => (ended = true));
    await eventually(
      () => Promise.resolve(unanswered.length),
      (n) => n >= 2,
      30_000,
      'two unanswered status queries',
    );
    assert.equal(ended, false, 'the wait did not end on an unanswered query');
    // At the call's deadline the server may reset the stream before the client's own timer fires
    // (seen under load): the client then reports CANCELLED. Either is "not answered in time".
    assert.match(unanswered[0]!, /^(4 DEADLINE_EXCEEDED|1 CANCELLED):/);
    stopWorker = (await stack.startWorker()).stop;
    const outcome = await waiting;
    assert.ok('report' in outcome, JSON.stringify(outcome));
    assert.equal(outcome.report.mode, 'report');
  });

  it('tunnus cleanup run --mode report: the report, exit 0', async () => {
    // Served by the worker the test above starts; its own when that one failed before starting it.
    stopWorker ??= (await stack.startWorker()).stop;
    const out = capture();
    const err = capture();
    const code = await cli(['cleanup', 'run', '--mode', 'report', '--json'], out.stream, err.stream);
    assert.equal(code, 0, out.text() + err.text());
    assert.match(err.text(), /^started leaver-cleanup-manual-/);
    const report = JSON.parse(out.text()) as { mode: string; managedIdentities: number };
    assert.equal(report.mode, 'report');
    assert.equal(typeof report.managedIdentities, 'number');
  });
});
