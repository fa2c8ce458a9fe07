import { randomBytes } from 'node:crypto';
import { scopes, sha256Hex, type Scope } from './auth';

// `tsx src/api/token.ts <name> <scope…>`: a new random API token (shown once; give it to the
// client) and the config entry holding only its hash (add it to API_CLIENTS or API_CLIENTS_FILE).

function main(argv: string[]): number {
  const [name, ...wanted] = argv;
  const unknown = wanted.filter((s) => !(scopes as readonly string[]).includes(s));
  if (!name || wanted.length === 0 || unknown.length > 0) {
    process.stderr.write(
      `usage: tsx src/api/token.ts <client-name> <scope>...\n  scopes: ${scopes.join(', ')}\n` +
        (unknown.length > 0 ? `  unknown scope: ${unknown.join(', ')}\n` : ''),
    );
    return 2;
  }
  // 32 random bytes: 256 bits, which is why a plain SHA-256 of it is safe to store.
  const token = `tun_${randomBytes(32).toString('base64url')}`;
  const entry = { name, tokenSha256: sha256Hex(token), scopes: [...new Set(wanted)] as Scope[] };
  process.stdout.write(`token (give to the client; not stored anywhere):\n  ${token}\n`);
  process.stdout.write(
    `config entry (API_CLIENTS / API_CLIENTS_FILE array element):\n  ${JSON.stringify(entry)}\n`,
  );
  return 0;
}

process.exitCode = main(process.argv.slice(2));
