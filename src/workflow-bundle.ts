import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { WorkflowBundle } from '@temporalio/worker';

// The worker's workflow code, bundled by webpack in a short-lived child process. Bundling in the
// worker itself took its RSS from 150 to 330 MB before the first task (measured), and V8 does not
// give that back: a worker's peak RSS is what a container's memory limit counts, so the bundler's
// memory is spent in a process that exits once the bundle is written.

export interface WorkflowBundleSpec {
  /** Bundle the metrics interceptors (src/metrics) with the workflows. */
  interceptors: boolean;
}

interface ChildArgs extends WorkflowBundleSpec {
  out: string;
}

/** Bundles src/workflows in a child process (same Node flags: tsx) and returns the code. */
export async function bundleWorkflowsInChild(spec: WorkflowBundleSpec): Promise<WorkflowBundle> {
  const out = path.join(os.tmpdir(), `tunnus-workflows-${process.pid}-${randomUUID()}.js`);
  const args: ChildArgs = { ...spec, out };
  const child = fork(__filename, [JSON.stringify(args)], {
    // tsx's loader is what lets the child load TypeScript; test-runner and inspector flags stay out,
    // and so do the worker's heap sizes (WORKER_NODE_FLAGS): webpack's memory is spent and gone.
    execArgv: process.execArgv.filter(
      (a) => !/^--(test|inspect|max-semi-space-size|max-old-space-size)/.test(a),
    ),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (exitCode, signal) => resolve(signal ? 128 : exitCode));
  });
  try {
    if (code !== 0) throw new Error(`bundling the workflows failed in a child process (exit ${code})`);
    return { code: fs.readFileSync(out, 'utf8') };
  } finally {
    fs.rmSync(out, { force: true });
  }
}

/**
 * NOT IN USE (docs/scale-out.md): with these preloaded, the upgrade proof failed with a
 * non-determinism error (TMPRL1100) whose cause is not found. Pure modules of src/domain the
 * workflows use, which `preloadModules` would evaluate once in the workflow thread and share
 * by every workflow. Every other module of the bundle is evaluated
 * again for each workflow the worker caches: its functions, closures and constants are that
 * workflow's own copy (measured ~100 KB per cached person). A module listed here must hold no
 * state of a workflow's: no module-level variable a call changes (a memo of pure results, like
 * dates.ts's formatters, is fine), no workflow API at module scope, no Date or Math.random there.
 */
export const SHARED_WORKFLOW_MODULES = [
  'cleanup-report',
  'crypto-shred',
  'dates',
  'error-types',
  'fingerprint',
  'first-day',
  'identity',
  'identity-key',
  'identity-row',
  'mass-change',
  'notice-events',
  'person-notices',
  'person-state',
  'steps',
  'termination',
].map((name) => require.resolve(`./domain/${name}`));

async function bundleToFile(args: ChildArgs): Promise<void> {
  // Imported here: only this child process loads webpack.
  const { bundleWorkflowCode } = await import('@temporalio/worker');
  const { failureConverterPath } = await import('./crypto/data-converter');
  const { workflowInterceptorModules } = await import('./metrics');
  const noop = () => undefined;
  const warn = (message: string) => process.stderr.write(`workflow bundle: ${message}\n`);
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('./workflows'),
    // Failure messages go into a payload the codec encrypts (src/crypto/failure-converter.ts).
    failureConverterPath,
    // No preloadModules: off until the upgrade proof passes with it (SHARED_WORKFLOW_MODULES).
    ...(args.interceptors ? { workflowInterceptorModules } : {}),
    logger: { log: noop, trace: noop, debug: noop, info: noop, warn, error: warn },
  });
  fs.writeFileSync(args.out, code, { mode: 0o600 });
}

if (require.main === module) {
  bundleToFile(JSON.parse(process.argv[2] ?? '{}') as ChildArgs).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`workflow bundle failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
