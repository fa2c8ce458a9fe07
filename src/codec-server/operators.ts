import fs from 'node:fs';
import { z } from 'zod';
import { createAuthenticator, type Authenticator } from '../api/auth';

// Who may read decoded payloads: operators, each a name and the SHA-256 of a bearer token, the
// way the intake API keeps its clients (src/api/auth.ts: a 256-bit random token needs no slow
// hash). Config holds only the hashes; a token is made with `tunnus-token`-style randomness
// (the sandbox makes one per run, .state/sandbox-codec-token).

const operatorSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits, ., _ or -'),
    tokenSha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'must be the SHA-256 of the token as 64 lower-case hex digits'),
  })
  .strict();

export type CodecOperator = z.infer<typeof operatorSchema>;

export class CodecOperatorsError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid codec operator configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'CodecOperatorsError';
  }
}

export function parseCodecOperators(json: string, origin: string): CodecOperator[] {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new CodecOperatorsError([`${origin}: is not valid JSON`]);
  }
  const result = z.array(operatorSchema).safeParse(value);
  if (!result.success) {
    throw new CodecOperatorsError(
      result.error.issues.map(
        (i) => `${origin}${i.path.map((p) => `[${String(p)}]`).join('')}: ${i.message}`,
      ),
    );
  }
  const names = new Set<string>();
  for (const [i, o] of result.data.entries()) {
    if (names.has(o.name)) throw new CodecOperatorsError([`${origin}[${i}].name: is repeated`]);
    names.add(o.name);
  }
  return result.data;
}

/** Operators from CODEC_OPERATORS (JSON array) and/or CODEC_OPERATORS_FILE (a file holding one). */
export function loadCodecOperators(env: NodeJS.ProcessEnv = process.env): CodecOperator[] {
  const operators: CodecOperator[] = [];
  if (env.CODEC_OPERATORS) operators.push(...parseCodecOperators(env.CODEC_OPERATORS, 'CODEC_OPERATORS'));
  if (env.CODEC_OPERATORS_FILE) {
    let text: string;
    try {
      text = fs.readFileSync(env.CODEC_OPERATORS_FILE, 'utf8');
    } catch {
      throw new CodecOperatorsError([`CODEC_OPERATORS_FILE: cannot read ${env.CODEC_OPERATORS_FILE}`]);
    }
    operators.push(...parseCodecOperators(text, 'CODEC_OPERATORS_FILE'));
  }
  return operators;
}

/** Bearer token → operator name (constant-time over every configured hash, as the API does). */
export function operatorAuthenticator(
  operators: readonly CodecOperator[],
): (authorization?: string) => string | undefined {
  const authenticate: Authenticator = createAuthenticator(
    operators.map((o) => ({ name: o.name, tokenSha256: o.tokenSha256, scopes: ['ops:read'] })),
  );
  return (authorization) => authenticate(authorization)?.name;
}
