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
    // tsx's loader is what lets the child load TypeScript; test-runner and inspector flags stay out.
    execArgv: process.execArgv.filter((a) => !/^--(test|inspect)/.test(a)),
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
