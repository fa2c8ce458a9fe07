import { createTemporalImports } from '../ops/imports';
import { describeCsvErrors, prepareImport, type ImportRunner, type ImportStatus } from '../api/imports';
import { IntakeUnavailableError } from '../ops/unavailable';
import { openRecordIndex } from '../store/open';
import type { ImportProgress } from '../workflows/import';
import type { Source } from '../workflows/messages';
import type { CliContext } from './context';
import { CliError } from './errors';
import { ExitCode } from './exit-codes';
import { readInputFile } from './files';
import { withTemporal } from './temporal';

// `tunnus hr import <file.csv> [--accept-valid-rows] [--detach]` (and `tunnus education import`, the
// same for the education snapshot): validate the whole file, start the import workflow, follow it
// (a progress bar on a terminal, plain lines otherwise) and print the result. The import id and
// the result go to the output; rejected rows, progress and waits to the error stream.

export async function importSnapshot(
  ctx: CliContext,
  source: Source,
  file: string,
  options: { acceptValidRows?: boolean; detach?: boolean },
  pollMs = 500,
): Promise<ExitCode> {
  const accept = options.acceptValidRows === true;
  const prepared = prepareImport(source, readInputFile(file), accept, ctx.intakeRules());
  if (!prepared.ok) {
    throw new CliError(
      'invalid_input',
      `${describeCsvErrors(prepared.errors)}\n` +
        `${prepared.errors.length} error(s) in ${file}: nothing was applied` +
        (accept ? ' (no valid rows)' : '; --accept-valid-rows imports the valid rows only'),
    );
  }
  if (prepared.errors.length > 0) {
    ctx.note(describeCsvErrors(prepared.errors));
    ctx.note(`${prepared.rejectedRows} row(s) rejected; importing the ${prepared.rows.length} valid rows`);
  }

  const env = ctx.env;
  return withTemporal(env, async (client) => {
    const store = openRecordIndex(env);
    try {
      const runner = createTemporalImports({ client, staging: store, taskQueue: env.TEMPORAL_TASK_QUEUE });
      const started = await runner.start(prepared);
      ctx.print(
        started.alreadyRunning
          ? `import ${started.importId} is already running (same file): following it`
          : `import ${started.importId} started: ${prepared.rows.length} rows`,
      );
      if (options.detach) {
        ctx.note(`follow it with: curl …/api/v1/imports/${started.importId}, or the Web UI`);
        return ExitCode.Ok;
      }
      const final = await follow(runner, started.importId, ctx.err, pollMs);
      if (final.status !== 'completed') throw new CliError('failed', formatResult(final));
      ctx.print(formatResult(final));
      const failed = final.progress?.failed ?? 0;
      if (failed > 0) throw new CliError('failed', `${failed} row(s) of import ${final.importId} failed`);
      return ExitCode.Ok;
    } finally {
      await store.close();
    }
  });
}

/** Polls the import until it ends, drawing progress on `out`; returns the final status. */
async function follow(
  runner: ImportRunner,
  importId: string,
  out: NodeJS.WritableStream,
  pollMs: number,
): Promise<ImportStatus> {
  const tty = (out as NodeJS.WriteStream).isTTY === true;
  let lastLine = '';
  let lastDecile = -1;
  let toldApproval = false;
  let barShown = false;
  let unanswered = 0;
  const endBar = () => {
    if (barShown) out.write('\n');
    barShown = false;
  };
  for (;;) {
    let status: ImportStatus | null;
    try {
      status = await runner.status(importId);
    } catch (err) {
      // A busy or restarting worker: the import is durable, keep following.
      if (err instanceof IntakeUnavailableError) {
        if (++unanswered === Math.ceil(15_000 / pollMs)) {
          endBar();
          out.write('no worker has answered for 15 s; the import waits for one (Ctrl-C leaves it queued)\n');
        }
        await sleep(pollMs);
        continue;
      }
      unanswered = 0;
      throw err;
    }
    if (!status) throw new Error(`import ${importId} not found`);
    if (status.status !== 'running') {
      // The last figures, even when the run finished between two polls.
      const p = status.progress;
      if (p && tty) out.write(`\r${bar(p)}\n`);
      else if (p && progressLine(p) !== lastLine) out.write(`${progressLine(p)}\n`);
      return status;
    }
    const p = status.progress;
    if (p?.phase === 'awaiting approval' && !toldApproval) {
      endBar();
      out.write(
        `waiting for approval: ${p.guard && 'reason' in p.guard ? p.guard.reason : ''}\n` +
          `  approve with: tunnus approve ${importId}   (Ctrl-C leaves the import waiting)\n`,
      );
      toldApproval = true;
    }
    if (p && p.phase === 'delivering') {
      if (tty) {
        out.write(`\r${bar(p)}`);
        barShown = true;
      } else {
        const decile = p.total === 0 ? 10 : Math.floor((p.processed / p.total) * 10);
        const line = progressLine(p);
        if (decile !== lastDecile && line !== lastLine) out.write(`${line}\n`);
        lastDecile = decile;
        lastLine = line;
      }
    }
    await sleep(pollMs);
  }
}

const counts = (p: ImportProgress) =>
  `${p.delivered} delivered, ${p.unchanged} unchanged, ${p.failed} failed`;

export function progressLine(p: ImportProgress): string {
  return `${p.processed}/${p.total} rows: ${counts(p)}`;
}

export function bar(p: ImportProgress, width = 30): string {
  const share = p.total === 0 ? 1 : p.processed / p.total;
  const filled = Math.round(share * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(share * 100)).padStart(3)}% ${progressLine(p)}`;
}

export function formatResult(s: ImportStatus): string {
  const p = s.progress;
  if (s.status !== 'completed' || !p)
    return `import ${s.importId} ${s.status}${s.error ? `: ${s.error}` : ''}`;
  const lines = [
    `import ${s.importId} completed`,
    `  rows        ${p.total}${p.rejectedRows > 0 ? ` (+${p.rejectedRows} rejected by validation)` : ''}`,
    `  delivered   ${p.delivered} (new or changed: their person workflows plan and apply the change)`,
    `  unchanged   ${p.unchanged}`,
    `  failed      ${p.failed}`,
  ];
  for (const f of p.failures) lines.push(`    line ${f.line} ${f.employeeId}: ${f.message}`);
  if (p.approval) lines.push(`  approved    by ${p.approval.approvedBy} at ${p.approval.approvedAt}`);
  if (p.notInSnapshot) lines.push(`  note        ${p.notInSnapshot}`);
  return lines.join('\n');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
