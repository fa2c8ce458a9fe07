import { loadPolicy } from '../config';
import { rebuildReadModel, verifyReadModel, type ReadModelOpsDeps } from '../ops/read-model';
import { openRecordIndex } from '../store/open';
import type { CliContext } from './context';
import { ExitCode } from './exit-codes';
import { withTemporal } from './temporal';

// `tunnus index verify [--sample N | --full]` and `tunnus index rebuild`: the identity read model
// against the person workflows (src/ops/read-model.ts). Both safe while the service runs.

export interface VerifyOptions {
  sample?: number;
  full?: boolean;
  json?: boolean;
}

/** Exit 1 when any row drifted from its workflow's state; the fields are named. */
export async function indexVerify(ctx: CliContext, options: VerifyOptions): Promise<ExitCode> {
  const report = await withDeps(ctx, (deps) =>
    verifyReadModel(deps, options.full || options.sample === undefined ? {} : { sample: options.sample }),
  );
  if (options.json) ctx.print(JSON.stringify(report, null, 2));
  else {
    for (const d of report.drift) ctx.print(`drift  ${d.identityId}  ${d.fields.join(', ')}`);
    for (const id of report.unreadable) ctx.print(`unread ${id}  (the workflow did not answer)`);
    ctx.print(
      `${report.checked} identities checked: ${report.drift.length} drifted, ${report.unreadable.length} unreadable` +
        (report.drift.length > 0 ? '; repair with: tunnus index rebuild' : ''),
    );
  }
  return report.drift.length > 0 || report.unreadable.length > 0 ? ExitCode.Failure : ExitCode.Ok;
}

export async function indexRebuild(ctx: CliContext, options: { json?: boolean }): Promise<ExitCode> {
  const report = await withDeps(ctx, (deps) => rebuildReadModel(deps));
  if (options.json) ctx.print(JSON.stringify(report, null, 2));
  else {
    ctx.print(
      `${report.written} rows written, ${report.newer} already newer (left), ${report.unreadable.length} unreadable`,
    );
    for (const id of report.unreadable) ctx.print(`unread ${id}  (the workflow did not answer)`);
  }
  return report.unreadable.length > 0 ? ExitCode.Failure : ExitCode.Ok;
}

async function withDeps<T>(ctx: CliContext, fn: (deps: ReadModelOpsDeps) => Promise<T>): Promise<T> {
  const env = ctx.env;
  const policy = loadPolicy(env.TUNNUS_POLICY_FILE);
  const store = openRecordIndex(env);
  try {
    return await withTemporal(env, (client) =>
      fn({
        client,
        model: store.identities,
        policy,
        taskQueue: env.TEMPORAL_TASK_QUEUE,
        progress: progressBar(ctx),
      }),
    );
  } finally {
    await store.close();
  }
}

/** `[#####.....] 512/1000` on stderr, redrawn in place (never part of the result). */
function progressBar(ctx: CliContext): (done: number, total: number) => void {
  let shown = -1;
  return (done, total) => {
    const width = 30;
    const filled = total === 0 ? width : Math.round((done / total) * width);
    if (filled === shown && done !== total) return;
    shown = filled;
    ctx.err.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
    if (done === total) ctx.err.write('\n');
  };
}
