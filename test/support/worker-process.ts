import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { workflowPollers } from './pollers';
import { eventually, type Stack } from './stack';

// The real worker program (src/worker.ts) in a child process against a test stack: what a
// deployment runs, and the only kind of worker a test can kill -9.

export interface WorkerProcessOptions {
  /** TUNNUS_WORKER_IDENTITY: the name the worker's tasks carry in history. */
  identity?: string;
  /** Extra environment (e.g. WORKER_MAX_CACHED_WORKFLOWS). */
  env?: NodeJS.ProcessEnv;
}

// The worker logs JSON to stdout: its last lines are kept, so a worker that dies or never polls
// fails the test with its own words instead of a bare timeout (CI once saw only "not reached").
const TAIL_LINES = 40;
const tails = new WeakMap<ChildProcess, string[]>();

export function startChildWorker(stack: Stack, options: WorkerProcessOptions = {}): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.resolve(__dirname, '../../src/worker.ts')], {
    env: {
      ...stack.childEnv(),
      ...(options.identity ? { TUNNUS_WORKER_IDENTITY: options.identity } : {}),
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail: string[] = [];
  tails.set(child, tail);
  const keep = (chunk: Buffer) => {
    tail.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    tail.splice(0, Math.max(0, tail.length - TAIL_LINES));
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return child;
}

/** The worker's last output lines and how it ended, for a failure message. */
export function describeChildWorker(child: ChildProcess): string {
  const ended =
    child.exitCode !== null || child.signalCode !== null
      ? `exited (code ${child.exitCode}, signal ${child.signalCode})`
      : 'still running';
  return `worker process ${child.pid} ${ended}; its last output:\n${(tails.get(child) ?? []).join('\n')}`;
}

/**
 * Waits until the child worker polls the stack's workflow task queue (as the identity named, when
 * given). Fails at once, with the worker's output, if the process ends first.
 */
export async function waitForWorkerPoll(
  stack: Stack,
  child: ChildProcess,
  identity?: string,
  timeoutMs = 120_000,
): Promise<void> {
  try {
    await eventually(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) return -1;
        const pollers = await workflowPollers(stack.client.workflowService, stack.taskQueue);
        return identity ? pollers.filter((p) => p.identity === identity).length : pollers.length;
      },
      (n) => n !== 0,
      timeoutMs,
      `worker ${identity ?? ''} polling`,
    ).then((n) => {
      if (n < 0) throw new Error('the worker process ended before it polled');
    });
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${describeChildWorker(child)}`);
  }
}

/** Kills the process (SIGKILL: no shutdown) and waits until it is gone. */
export async function killNow(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await gone;
}
