import pino from 'pino';

// Structured logs: a short message plus ids and counts. Names, addresses and passwords never
// appear; the redact list is a safety net for fields that should not have been logged at all.

export type Logger = pino.Logger;

export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    base: { service: 'tunnus' },
    redact: {
      paths: [
        'password',
        '*.password',
        'unicodePwd',
        '*.unicodePwd',
        'record',
        '*.record',
        'token',
        '*.token',
      ],
      censor: '[redacted]',
    },
  });
}
