import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Scope } from '../auth';
import { importIdPattern, prepareImport, type ImportRunner } from '../imports';
import { errorSchema } from '../schemas';
import type { IntakeRulesFor } from '../server';

// Snapshot imports over HTTP: the CSV is the body; validation is complete before anything starts.

export interface ImportRoutesOptions {
  imports: ImportRunner;
  /** Largest CSV accepted; 50,000 HR rows are about 12 MB. */
  bodyLimitBytes: number;
  /** The door's rules for the requesting client (whether it may link staff rows, dates …). */
  rulesFor: IntakeRulesFor;
}

const sourceSchema = z.enum(['hr', 'education']);
const querySchema = z.object({
  source: sourceSchema.describe('which system the snapshot comes from'),
  acceptValidRows: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true')
    .describe('import the valid rows of a file with errors (the bad rows are listed and left out)'),
});

const csvErrorSchema = z.object({ line: z.number().int(), field: z.string(), message: z.string() });
const invalidCsvSchema = z.object({
  error: z.literal('invalid_csv'),
  message: z.string(),
  errorCount: z.number().int(),
  errors: z.array(csvErrorSchema).describe('line (header = 1), snake_case column ("" = the row), problem'),
});

const acceptedSchema = z.object({
  importId: z.string().describe('the import workflow id; GET /api/v1/imports/{importId}'),
  status: z.enum(['started', 'already_running']),
  rows: z.number().int().describe('valid rows staged for the import'),
  rejectedRows: z.number().int(),
  errors: z.array(csvErrorSchema).describe('the rows left out (acceptValidRows=true)'),
});

const failureSchema = z.object({ employeeId: z.string(), line: z.number().int(), message: z.string() });
const progressSchema = z.object({
  importId: z.string(),
  source: sourceSchema,
  phase: z.enum(['analysing', 'awaiting approval', 'delivering', 'completed']),
  total: z.number().int(),
  rejectedRows: z.number().int(),
  processed: z.number().int(),
  unchanged: z.number().int(),
  delivered: z.number().int(),
  failed: z.number().int(),
  failures: z.array(failureSchema),
  analysis: z
    .object({
      total: z.number().int(),
      unchanged: z.number().int(),
      changed: z.number().int(),
      new: z.number().int(),
      disables: z.number().int(),
      managedIdentities: z.number().int(),
      missingFromSnapshot: z.number().int(),
      thresholdPercent: z.number(),
      asOf: z.string(),
    })
    .optional(),
  guard: z
    .object({
      verdict: z.enum(['ok', 'needsApproval']),
      percent: z.number(),
      thresholdPercent: z.number(),
      disables: z.number().int(),
      deletes: z.number().int(),
      managedIdentities: z.number().int(),
      reason: z.string().optional(),
    })
    .optional(),
  approval: z
    .object({
      approvedBy: z.string(),
      approvedAt: z.string(),
      note: z.string().optional(),
      summary: z.string(),
    })
    .optional(),
  notInSnapshot: z.string().optional(),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
});
const statusSchema = z.object({
  importId: z.string(),
  status: z.enum(['running', 'completed', 'failed', 'cancelled', 'terminated', 'timed_out']),
  progress: progressSchema.nullable(),
  details: z.string().optional().describe('what the run is doing now (the Web UI current details)'),
  error: z.string().optional(),
});

const scopeOfSource = (request: FastifyRequest): Scope | undefined => {
  const source = (request.query as { source?: unknown } | undefined)?.source;
  return source === 'hr' ? 'hr:write' : source === 'education' ? 'education:write' : undefined;
};

export const importRoutes: FastifyPluginAsyncZod<ImportRoutesOptions> = async (
  app,
  { imports, bodyLimitBytes, rulesFor },
) => {
  // Only inside this plugin: the person routes stay JSON-only.
  app.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: bodyLimitBytes }, (_req, body, done) =>
    done(null, body),
  );

  // Before the body is read: a JSON (or any other) body is refused, not parsed and then misread.
  app.addHook('preParsing', async (request, reply) => {
    if (request.method !== 'POST') return;
    const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'text/csv') {
      return reply.code(415).send({ error: 'unsupported_media_type', message: 'send text/csv' });
    }
  });

  app.post(
    '/api/v1/imports',
    {
      bodyLimit: bodyLimitBytes,
      config: { scope: scopeOfSource, accepts: 'text/csv' },
      schema: {
        summary: 'Import a full snapshot (CSV body, UTF-8, ";" or ",")',
        description:
          'The whole file is validated first; a file with errors applies nothing (400, every bad row ' +
          'with its line and column) unless acceptValidRows=true. Otherwise an import workflow starts: it ' +
          'delivers only new and changed persons, and waits for approval when it would disable more than ' +
          'the policy threshold. Scope hr:write for source=hr, education:write for source=education. ' +
          'An identical upload while the first runs answers already_running with the same importId.',
        tags: ['imports'],
        security: [{ bearer: ['hr:write'] }, { bearer: ['education:write'] }],
        querystring: querySchema,
        body: z.string().describe('the CSV file (Content-Type: text/csv)'),
        response: {
          202: acceptedSchema,
          400: z.union([invalidCsvSchema, errorSchema]),
          401: errorSchema,
          403: errorSchema,
          413: errorSchema,
          415: errorSchema,
          503: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const { source, acceptValidRows } = request.query;
      const client = request.apiClient!; // the route's scope rule authenticated it
      const rules = rulesFor({ kind: 'api', client: client.name, scopes: client.scopes });
      const prepared = prepareImport(source, request.body, acceptValidRows, rules);
      if (!prepared.ok) {
        return reply.code(400).send({
          error: 'invalid_csv' as const,
          message: `${prepared.errors.length} error(s) in the file; nothing was applied`,
          errorCount: prepared.errors.length,
          errors: prepared.errors.slice(0, 1000),
        });
      }
      const started = await imports.start(prepared);
      request.log.info(
        { importId: started.importId, rows: prepared.rows.length, rejectedRows: prepared.rejectedRows },
        started.alreadyRunning ? 'import already running' : 'import started',
      );
      return reply
        .code(202)
        .header('location', `/api/v1/imports/${started.importId}`)
        .send({
          importId: started.importId,
          status: started.alreadyRunning ? ('already_running' as const) : ('started' as const),
          rows: prepared.rows.length,
          rejectedRows: prepared.rejectedRows,
          errors: prepared.errors.slice(0, 1000),
        });
    },
  );

  app.get(
    '/api/v1/imports/:importId',
    {
      config: { scope: 'ops:read' },
      schema: {
        summary: "An import's progress (running) or result (finished)",
        tags: ['imports'],
        security: [{ bearer: ['ops:read'] }],
        params: z.object({ importId: z.string().regex(importIdPattern, 'must be an import id') }),
        response: {
          200: statusSchema,
          400: errorSchema,
          401: errorSchema,
          403: errorSchema,
          404: errorSchema,
          503: errorSchema.describe('Temporal or a worker did not answer; retry later'),
        },
      },
    },
    async (request, reply) => {
      const status = await imports.status(request.params.importId);
      if (!status) return reply.code(404).send({ error: 'not_found' });
      return reply.code(200).send(status);
    },
  );
};
