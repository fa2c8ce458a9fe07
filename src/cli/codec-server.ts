import type { CliContext } from './context';
import { ExitCode } from './exit-codes';

// `tunnus codec-server`: Temporal's remote codec endpoint for the Web UI (docs/codec-server.md).
// Thin: the server is src/codec-server; this starts it and stops it on Ctrl-C.

export async function codecServer(
  ctx: CliContext,
  options: { port?: number; host?: string },
): Promise<ExitCode> {
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded on use (src/cli/program.ts) */
  const { runCodecServer } = require('../codec-server/run') as typeof import('../codec-server/run');
  const { createLogger } = require('../logger') as typeof import('../logger');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const logger = createLogger(ctx.env.LOG_LEVEL);
  const server = await runCodecServer({
    env: ctx.env,
    logger,
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.host !== undefined ? { host: options.host } : {}),
  });
  ctx.note(`codec server listening on ${server.url} (POST /decode, /encode; sign-in: ${server.url}/login)`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  return ExitCode.Ok;
}
