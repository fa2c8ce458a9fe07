import { stopSamba } from './samba';
import { stopTemporalDevServers } from './temporal';

// `npm run sandbox:down`: stops the DC and every Temporal dev server this state dir started.

async function main(): Promise<void> {
  const quiet = process.argv.includes('--quiet');
  await stopSamba();
  const stopped = await stopTemporalDevServers();
  if (!quiet) process.stdout.write(`stopped Samba AD and ${stopped} Temporal dev server(s)\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
