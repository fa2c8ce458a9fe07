import { createHash, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import { z } from 'zod';

// Bearer tokens per client, each with scopes. Config holds only the SHA-256 of each token.
//
// A plain, unsalted SHA-256 is the right tool here and a password hash (bcrypt, scrypt) is not:
// tokens are 256-bit random strings (see token.ts), so there is nothing to brute-force or look up
// in a table, and a slow hash would only cost CPU on every request.

// ops:approve: approving changes the mass-change guard stopped (src/api/routes/guard.ts).
// ops:write: operator actions on one person — terminate, lift, retry (src/api/routes/ops.ts).
export const scopes = ['hr:write', 'education:write', 'ops:read', 'ops:approve', 'ops:write'] as const;
export type Scope = (typeof scopes)[number];

const clientSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits, ., _ or -'),
    tokenSha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'must be the SHA-256 of the token as 64 lower-case hex digits'),
    scopes: z.array(z.enum(scopes, { message: `must be one of ${scopes.join(', ')}` })).min(1),
  })
  .strict();

const clientsSchema = z.array(clientSchema).superRefine((clients, ctx) => {
  const names = new Set<string>();
  const hashes = new Set<string>();
  clients.forEach((c, i) => {
    if (names.has(c.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: 'is repeated' });
    if (hashes.has(c.tokenSha256)) {
      ctx.addIssue({ code: 'custom', path: [i, 'tokenSha256'], message: 'is shared with another client' });
    }
    names.add(c.name);
    hashes.add(c.tokenSha256);
  });
});

export type ApiClientConfig = z.infer<typeof clientSchema>;

export class ApiClientsError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid API client configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ApiClientsError';
  }
}

/** Validates a JSON array of `{ name, tokenSha256, scopes }`; `origin` names it in errors. */
export function parseApiClients(json: string, origin: string): ApiClientConfig[] {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new ApiClientsError([`${origin}: is not valid JSON`]);
  }
  const result = clientsSchema.safeParse(value);
  if (!result.success) {
    throw new ApiClientsError(
      result.error.issues.map(
        (i) => `${origin}${i.path.map((p) => `[${String(p)}]`).join('')}: ${i.message}`,
      ),
    );
  }
  return result.data;
}

/**
 * Clients from `API_CLIENTS` (a JSON array) or `API_CLIENTS_FILE` (a file holding one); both may
 * be set, and the lists are joined. No clients means no request is ever authorised.
 */
export function loadApiClients(env: NodeJS.ProcessEnv = process.env): ApiClientConfig[] {
  const clients: ApiClientConfig[] = [];
  if (env.API_CLIENTS) clients.push(...parseApiClients(env.API_CLIENTS, 'API_CLIENTS'));
  if (env.API_CLIENTS_FILE) {
    let text: string;
    try {
      text = fs.readFileSync(env.API_CLIENTS_FILE, 'utf8');
    } catch {
      throw new ApiClientsError([`API_CLIENTS_FILE: cannot read ${env.API_CLIENTS_FILE}`]);
    }
    clients.push(...parseApiClients(text, 'API_CLIENTS_FILE'));
  }
  return parseApiClients(JSON.stringify(clients), 'API_CLIENTS + API_CLIENTS_FILE');
}

export const sha256Hex = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

export interface AuthenticatedClient {
  name: string;
  scopes: ReadonlySet<Scope>;
}

export type Authenticator = (authorization: string | undefined) => AuthenticatedClient | undefined;

/**
 * Returns the client whose token hash matches the bearer token, or undefined. Every configured
 * hash is compared, each in constant time, so the time taken says nothing about which (if any)
 * client came close.
 */
export function createAuthenticator(clients: readonly ApiClientConfig[]): Authenticator {
  const known = clients.map((c) => ({
    hash: Buffer.from(c.tokenSha256, 'hex'),
    client: { name: c.name, scopes: new Set(c.scopes) } satisfies AuthenticatedClient,
  }));
  return (authorization) => {
    const match = /^Bearer ([\x21-\x7e]{1,512})$/.exec(authorization ?? '');
    if (!match) return undefined;
    const presented = createHash('sha256').update(match[1]!, 'utf8').digest();
    let found: AuthenticatedClient | undefined;
    for (const k of known) if (timingSafeEqual(k.hash, presented)) found = k.client;
    return found;
  };
}
