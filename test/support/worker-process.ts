import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { eventually, type Stack } from './stack';

// The real worker program (src/worker.ts) in a child process against a test stack: what a
// deployment runs, and the only kind of worker a test can kill -9.

export interface WorkerProcessOptions {
  /** TUNNUS_WORKER_IDENTITY: the name the worker's tasks carry in history. */
  identity?: string;
  /** Extra environment (e.g. WORKER_MAX_CACHED_WORKFLOWS). */
  env?: NodeJS.ProcessEnv;
}

export function startChildWorker(stack: Stack, options: WorkerProcessOptions = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', path.resolve(__dirname, '../../src/worker.ts')], {
    env: {
      ...stack.childEnv(),
      ...(options.identity ? { TUNNUS_WORKER_IDENTITY: options.identity } : {}),
      ...options.env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** Waits until a worker polls the stack's workflow task queue (the one named, when given). */
export async function waitForWorkerPoll(stack: Stack, identity?: string): Promise<void> {
  await eventually(
    async () => {
      const res = await stack.client.workflowService.describeTaskQueue({
        namespace: 'default',
        taskQueue: { name: stack.taskQueue },
        taskQueueType: 1, // workflow
      });
      const pollers = res.pollers ?? [];
      return identity ? pollers.filter((p) => p.identity === identity).length : pollers.length;
    },
    (n) => n > 0,
    90_000,
    `worker ${identity ?? ''} polling`,
  );
}

/** Kills the process (SIGKILL: no shutdown) and waits until it is gone. */
export async function killNow(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await gone;
}
