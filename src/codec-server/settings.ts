import { z } from 'zod';
import { ConfigError } from '../config';

// The codec server's own settings (docs/codec-server.md); the keys it decodes with come from the
// same configuration as the worker's (openIdentityKeys: TUNNUS_INDEX_FILE / RECORD_INDEX_URL,
// TUNNUS_KEK_FILE / TUNNUS_KEK).

const origin = z
  .string()
  .trim()
  .regex(/^https?:\/\/[^/\s]+$/, 'must be an origin: scheme://host[:port], no path');

const schema = z.object({
  CODEC_SERVER_HOST: z.string().default('127.0.0.1'),
  CODEC_SERVER_PORT: z.coerce.number().int().min(0).max(65535).default(8234),
  /** The Web UI's origins, comma-separated: the only pages whose requests are answered. */
  CODEC_UI_ORIGINS: z
    .string()
    .default('http://127.0.0.1:8233,http://localhost:8233')
    .transform((s) => s.split(',').filter((o) => o.trim() !== ''))
    .pipe(z.array(origin).min(1, 'names no origin')),
});

export type CodecServerSettings = z.infer<typeof schema>;

export function codecServerSettings(env: NodeJS.ProcessEnv = process.env): CodecServerSettings {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  return parsed.data;
}
