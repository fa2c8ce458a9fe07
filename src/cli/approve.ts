import { approveRun, cliOperator } from '../ops/approve';
import type { CliContext } from './context';
import { CliError } from './errors';
import { ExitCode } from './exit-codes';
import { withTemporal } from './temporal';

// `tunnus approve <workflowId> [--by <name>] [--note <text>]`: approves a run (an import, the leaver
// cleanup, the mass-change hold) that the mass-change guard stopped, through the same use-case as
// the API (src/ops/approve.ts). It prints what waits and approves exactly that set: if what waits
// has changed since, the approval is refused.

export async function approve(
  ctx: CliContext,
  workflowId: string,
  options: { by?: string; note?: string },
): Promise<ExitCode> {
  // The operator is always the OS user (`cli:{user}`), never a typed name: --by only says on
  // whose behalf, in the note that history keeps beside the approval.
  const operator = cliOperator();
  const note = [options.by ? `on behalf of ${options.by}` : undefined, options.note]
    .filter(Boolean)
    .join('; ');
  const outcome = await withTemporal(ctx.env, (client) =>
    approveRun(client, workflowId, { operator, ...(note ? { note } : {}) }),
  );
  if (outcome.pending) {
    ctx.print(`${workflowId}: ${outcome.pending.summary}`);
    for (const d of outcome.pending.details) ctx.print(`  ${d}`);
  }
  if (!outcome.ok) {
    if (outcome.reason === 'not_found') throw new CliError('not_found', outcome.message);
    if (outcome.reason === 'not_waiting') throw new CliError('refused', outcome.message);
    throw new CliError('refused', `not approved: ${outcome.message}`);
  }
  const { receipt } = outcome;
  ctx.print(`approved by ${receipt.approvedBy} at ${receipt.approvedAt}: ${receipt.summary}`);
  return ExitCode.Ok;
}
