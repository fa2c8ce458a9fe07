import type { WorkflowService } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

// Who polls a task queue, for tests and benches that wait for a worker. A task queue has 4
// partitions by default (the server's matching.numTaskqueueReadPartitions); a worker's pollers
// land on any of them, so the root partition alone may not list a worker for a minute or more
// (CI saw it: a worker missing from the root partition for 90 s). Every partition is asked.

const PARTITIONS = 4;
const partitionName = (taskQueue: string, n: number) => (n === 0 ? taskQueue : `/_sys/${taskQueue}/${n}`);

export type Poller = temporal.api.taskqueue.v1.IPollerInfo;

/** The workflow-task pollers of every partition of the queue. */
export async function workflowPollers(
  service: WorkflowService,
  taskQueue: string,
  namespace = 'default',
): Promise<Poller[]> {
  const partitions = await Promise.all(
    Array.from({ length: PARTITIONS }, (_, n) =>
      service.describeTaskQueue({
        namespace,
        taskQueue: { name: partitionName(taskQueue, n) },
        taskQueueType: 1, // workflow
      }),
    ),
  );
  return partitions.flatMap((res) => res.pollers ?? []);
}
