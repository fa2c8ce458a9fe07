import { ensureSamba, sambaDir, sambaStatus, stopSamba } from './samba';

// `tsx sandbox/samba-cli.ts up|down|status` — the sandbox DC for humans and scripts.
// Exit codes: 0 ok; 1 failure; 3 for `status` when the DC is not answering.

async function main(command: string | undefined): Promise<number> {
  switch (command) {
    case 'up': {
      const t0 = Date.now();
      const samba = await ensureSamba();
      const { provisionMs, startMs } = samba.timings;
      console.log(`Samba AD ready in ${Date.now() - t0} ms at ${samba.url}`);
      console.log(`  base DN:  ${samba.baseDn}`);
      console.log(`  bind DN:  ${samba.bindDn}`);
      console.log(`  CA cert:  ${samba.caCertPath}`);
      console.log(`  state:    ${sambaDir()}`);
      console.log(
        `  provision: ${provisionMs === undefined ? 'reused' : `${provisionMs} ms`}; ` +
          `start: ${startMs === undefined ? 'already running' : `${startMs} ms`}`,
      );
      return 0;
    }
    case 'down':
      await stopSamba();
      console.log('Samba AD stopped');
      return 0;
    case 'status': {
      const status = await sambaStatus();
      console.log(JSON.stringify(status));
      return status.ldapsAnswers ? 0 : 3;
    }
    default:
      console.error('usage: tsx sandbox/samba-cli.ts up|down|status');
      return 1;
  }
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
