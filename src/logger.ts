import pino from 'pino';
import pretty from 'pino-pretty';

// Structured logs: a short message plus ids and counts. Names, addresses and passwords never
// appear; the redact list is a safety net for fields that should not have been logged at all.
// Production processes (worker, API) write one JSON object per line to stdout; the sandbox asks
// for `pretty` lines a person reads in a terminal (same fields, same redaction).

export type Logger = pino.Logger;

export interface LoggerOptions {
  /** Human-readable lines (the sandbox; coloured on a terminal); JSON otherwise. */
  pretty?: boolean;
  /** Where lines go; stdout by default. */
  destination?: NodeJS.WritableStream;
}

export const REDACTED_PATHS = [
  'password',
  '*.password',
  'unicodePwd',
  '*.unicodePwd',
  'record',
  '*.record',
  'token',
  '*.token',
  'apiKey',
  '*.apiKey',
  'authorization',
  '*.authorization',
];

export function createLogger(
  level: string = process.env.LOG_LEVEL ?? 'info',
  options: LoggerOptions = {},
): Logger {
  const settings: pino.LoggerOptions = {
    // An unknown level (a typo in LOG_LEVEL) must not stop the process from reporting it.
    level: level in pino.levels.values || level === 'silent' ? level : 'info',
    base: { service: 'tunnus' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  if (options.pretty) {
    // In-process (not a transport thread): lines stay in order with the sandbox's own output.
    const stream = pretty({
      translateTime: 'HH:MM:ss',
      ignore: 'pid,hostname,service',
      destination: options.destination ?? process.stdout,
      sync: true,
    });
    return pino(settings, stream);
  }
  return options.destination ? pino(settings, options.destination as pino.DestinationStream) : pino(settings);
}
