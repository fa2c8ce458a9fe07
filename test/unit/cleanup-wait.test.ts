import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QueryNotRegisteredError, ServiceError, type Client } from '@temporalio/client';
import type { CleanupReport } from '../../src/domain/cleanup-report';
import { waitForCleanup } from '../../src/ops/cleanup';
import type { PendingApproval } from '../../src/workflows/approval';

// `tunnus cleanup run` follows its run with waitForCleanup (src/ops/cleanup.ts). Under load a
// status question may go unanswered in time: that is not the run's failure, the wait goes on until
// its deadline; a real error still ends it. A fake client stands in for Temporal.

const report = { mode: 'report', managedIdentities: 3 } as unknown as CleanupReport;
/** An error as the SDK throws it for a gRPC status: a ServiceError with the gRPC error as cause. */
const grpcError = (code: number, text: string) =>
  new ServiceError(`Failed to query Workflow`, {
    cause: Object.assign(new Error(`${code} ${text}`), { code }),
  });
const timedOut = () => grpcError(4, 'DEADLINE_EXCEEDED: context deadline exceeded');
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Fake {
  /** Each call to handle.result(): what it settles with, in order (the last repeats). */
  results: (() => Promise<CleanupReport>)[];
  /** Each call to handle.query(): its answer, in order (the last repeats). */
  queries: (() => Promise<PendingApproval | null>)[];
}

function fakeClient(fake: Fake) {
  const calls = { results: 0, queries: 0, deadlines: 0 };
  const next = <T>(list: (() => Promise<T>)[], n: number) => list[Math.min(n, list.length - 1)]!();
  const handle = {
    result: () => next(fake.results, calls.results++),
    query: () => next(fake.queries, calls.queries++),
  };
  const client = {
    workflow: { getHandle: () => handle },
    connection: {
      withDeadline: <T>(_deadline: number, fn: () => Promise<T>) => {
        calls.deadlines++;
        return fn();
      },
    },
  } as unknown as Client;
  return { client, calls };
}

const never = () => new Promise<never>(() => undefined);
const after = <T>(ms: number, value: T) => sleep(ms).then(() => value);

describe('waitForCleanup', () => {
  it('a status query that times out once, then answers: the wait goes on to the report', async () => {
    const { client, calls } = fakeClient({
      results: [() => after(80, report)],
      queries: [() => Promise.reject(timedOut()), () => Promise.resolve(null)],
    });
    const unanswered: unknown[] = [];
    const outcome = await waitForCleanup(client, 'leaver-cleanup-1', {
      pollMs: 10,
      onUnanswered: (err) => unanswered.push(err),
    });
    assert.deepEqual(outcome, { report });
    assert.ok(calls.queries >= 2, `asked again after the timeout (${calls.queries} queries)`);
    assert.equal(calls.deadlines, calls.queries, 'each question has a deadline of its own');
    assert.deepEqual(unanswered, ['4 DEADLINE_EXCEEDED: context deadline exceeded']);
  });

  it('a status query cancelled at its deadline (the server reset the stream first) is unanswered too', async () => {
    const { client } = fakeClient({
      results: [() => after(80, report)],
      queries: [() => Promise.reject(grpcError(1, 'CANCELLED: Call cancelled')), () => Promise.resolve(null)],
    });
    const unanswered: unknown[] = [];
    const outcome = await waitForCleanup(client, 'leaver-cleanup-7', {
      pollMs: 10,
      onUnanswered: (err) => unanswered.push(err),
    });
    assert.deepEqual(outcome, { report });
    assert.deepEqual(unanswered, ['1 CANCELLED: Call cancelled']);
  });

  it('following the result fails with UNAVAILABLE once: it follows again and gets the report', async () => {
    const { client, calls } = fakeClient({
      results: [
        () => Promise.reject(grpcError(14, 'UNAVAILABLE: No connection established')),
        () => after(20, report),
      ],
      queries: [() => Promise.resolve(null)],
    });
    assert.deepEqual(await waitForCleanup(client, 'leaver-cleanup-2', { pollMs: 10 }), { report });
    assert.equal(calls.results, 2);
  });

  it('not yet registered (the first task has not run), then the approval it waits for', async () => {
    const pending = { summary: 'cleanup would change 12 % of identities' } as PendingApproval;
    const { client } = fakeClient({
      results: [never],
      queries: [
        () => Promise.reject(new QueryNotRegisteredError('no such query', 3)),
        () => Promise.resolve(pending),
      ],
    });
    assert.deepEqual(await waitForCleanup(client, 'leaver-cleanup-3', { pollMs: 10 }), {
      waiting: pending.summary,
    });
  });

  it('no answer until the deadline: still running, with the last unanswered question named', async () => {
    const { client } = fakeClient({ results: [never], queries: [() => Promise.reject(timedOut())] });
    const t0 = Date.now();
    const outcome = await waitForCleanup(client, 'leaver-cleanup-4', { pollMs: 10, timeoutMs: 100 });
    assert.ok(Date.now() - t0 >= 100, 'waited until the deadline');
    assert.ok('running' in outcome, JSON.stringify(outcome));
    assert.match(
      outcome.running,
      /^still running after 0 s \(last question unanswered: 4 DEADLINE_EXCEEDED: context deadline exceeded\)$/,
    );
  });

  it('a real error still ends the wait: a query refused, and the run failing', async () => {
    const denied = grpcError(7, 'PERMISSION_DENIED: not allowed');
    const refused = fakeClient({ results: [never], queries: [() => Promise.reject(denied)] });
    await assert.rejects(
      waitForCleanup(refused.client, 'leaver-cleanup-5', { pollMs: 10 }),
      (err) => err === denied,
    );
    const failure = new Error('Workflow execution failed');
    const failed = fakeClient({
      results: [() => Promise.reject(failure)],
      queries: [() => Promise.resolve(null)],
    });
    await assert.rejects(
      waitForCleanup(failed.client, 'leaver-cleanup-6', { pollMs: 10 }),
      (err) => err === failure,
    );
  });
});
