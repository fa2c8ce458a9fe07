import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createDirectoryActivities } from '../../src/activities/directory';
import { managedGroups, type Policy } from '../../src/domain/policy';
import type { HrRecord } from '../../src/domain/record';
import { personWorkflowId, recordSignal, stateQuery, type PersonState } from '../../src/workflows/messages';
import { personWorkflow } from '../../src/workflows/person';
import { MemoryDirectory } from './memory-directory';
import { timeSkippingEnv, workflowBundle } from './temporal';

/** Drives person workflows on the time-skipping server: deliver records, skip time, read state. */
export function personHarness(env: TestWorkflowEnvironment, taskQueue: string) {
  const now = async () => Number(await env.currentTimeMs());
  const state = (id: string) => env.client.workflow.getHandle(personWorkflowId(id)).query(stateQuery);
  return {
    now,
    state,
    /** An HR record to the person's workflow, starting it if needed. */
    deliver: (record: HrRecord) =>
      env.client.workflow.signalWithStart(personWorkflow, {
        workflowId: personWorkflowId(record.employeeId),
        taskQueue,
        args: [{ employeeId: record.employeeId }],
        signal: recordSignal,
        signalArgs: [{ record, source: 'hr' }],
      }),
    /** Skips time to an instant plus an offset (the server fires due timers as it goes). */
    skipTo: async (instant: Date, offsetMs = 60_000) => {
      const wait = instant.getTime() + offsetMs - (await now());
      if (wait > 0) await env.sleep(wait);
    },
    /** Polls the person's state until the predicate holds (workflows run in real time between skips). */
    until: async (id: string, predicate: (s: PersonState) => boolean) => {
      // Generous: CI machines are small and the worker shares them with two servers.
      for (let i = 0; i < 600; i++) {
        const s = await state(id);
        if (predicate(s)) return s;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`condition not reached for ${id}: ${JSON.stringify(await state(id))}`);
    },
  };
}

/**
 * The time-skipping server with a worker running the workflows over an in-memory directory (no
 * cloud or telephony activities: policies given here keep those off). Stop it in `after`.
 */
export async function startDirectoryWorker(policy: Policy, name: string) {
  const env = await timeSkippingEnv();
  const directory = new MemoryDirectory(managedGroups(policy));
  const taskQueue = `${name}-${randomUUID()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: createDirectoryActivities(directory, policy, { baseDn: directory.baseDn }),
  });
  const running = worker.run();
  return {
    env,
    directory,
    taskQueue,
    stop: async () => {
      worker.shutdown();
      await running;
      await env.teardown();
    },
  };
}
