import type { Env } from '../config';
import { createPayloadCodec } from '../crypto/codec';
import { identityKeysFor } from '../crypto/data-converter';
import type { Logger } from '../logger';
import { loadCodecOperators, operatorAuthenticator, type CodecOperator } from './operators';
import { codecServerSettings } from './settings';
import { startCodecServer, type CodecServer } from './server';

// The codec server as a process: the payload codec every Tunnus client and worker uses (the same
// key store and KEK), behind the HTTP protocol of server.ts. For `tunnus codec-server` and npm start.

export interface RunCodecServerOptions {
  env: Env;
  logger: Logger;
  /** Operators besides CODEC_OPERATORS(_FILE): the sandbox adds its own. */
  operators?: readonly CodecOperator[];
  /** Overrides of CODEC_SERVER_HOST/PORT and CODEC_UI_ORIGINS. */
  host?: string;
  port?: number;
  uiOrigins?: readonly string[];
  processEnv?: NodeJS.ProcessEnv;
}

export async function runCodecServer(options: RunCodecServerOptions): Promise<CodecServer> {
  const processEnv = options.processEnv ?? process.env;
  const settings = codecServerSettings(processEnv);
  const operators = [...loadCodecOperators(processEnv), ...(options.operators ?? [])];
  if (operators.length === 0) {
    options.logger.warn(
      'no codec operators configured (CODEC_OPERATORS / CODEC_OPERATORS_FILE): every request is refused',
    );
  }
  // The process's shared key store (a destroy by this process's worker is seen at once).
  const keys = identityKeysFor(options.env);
  const server = await startCodecServer({
    codec: createPayloadCodec(keys),
    authenticate: operatorAuthenticator(operators),
    uiOrigins: options.uiOrigins ?? settings.CODEC_UI_ORIGINS,
    logger: options.logger.child({ component: 'codec-server' }),
    host: options.host ?? settings.CODEC_SERVER_HOST,
    port: options.port ?? settings.CODEC_SERVER_PORT,
  });
  return {
    url: server.url,
    close: () => server.close(),
  };
}
