import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { identityKeySchema } from '../../domain/record';
import { MAX_REASON_LENGTH } from '../../domain/termination';
import { apiOperator } from '../../ops/approve';
import type { OpsActionOutcome, PersonOps, TerminateOutcome } from '../../ops/terminate';
import { errorSchema } from '../schemas';

// Operator actions over HTTP (scope ops:write), thin over src/ops/terminate.ts as the CLI is:
// end a person's access now (and lift that), and re-run a failed or stuck run. The operator is
// the token's client (`api:{client}`), recorded in the person's timeline.

export interface OpsRoutesOptions {
  ops: PersonOps;
}

const params = z.object({
  employeeId: identityKeySchema.describe('identity key: HR employee id or S-{student id} (case-insensitive)'),
});
const resultSchema = z.object({
  status: z.enum(['terminated', 'already', 'done', 'noop']),
  message: z.string(),
  termination: z.object({ at: z.string(), operator: z.string(), reason: z.string() }).optional(),
});
const refusals = {
  401: errorSchema,
  403: errorSchema,
  404: errorSchema.describe('Tunnus has never seen this identity'),
  409: errorSchema.describe('refused by the person workflow (the message names the field), or held'),
};

type Answer = [200, z.infer<typeof resultSchema>] | [404 | 409, { error: string; message: string }];

/** The HTTP answer for an outcome of src/ops/terminate.ts. */
function answer(outcome: TerminateOutcome | OpsActionOutcome): Answer {
  switch (outcome.status) {
    case 'not_found':
      return [404, { error: 'not_found', message: outcome.message }];
    case 'refused':
      return [409, { error: 'refused', message: outcome.message }];
    case 'held':
      return [409, { error: 'held_for_approval', message: outcome.message }];
    default: {
      const termination = 'termination' in outcome ? outcome.termination : undefined;
      return [
        200,
        { status: outcome.status, message: outcome.message, ...(termination ? { termination } : {}) },
      ];
    }
  }
}

export const opsRoutes: FastifyPluginAsyncZod<OpsRoutesOptions> = async (app, { ops }) => {
  app.post(
    '/api/v1/persons/:employeeId/termination',
    {
      config: { scope: 'ops:write' },
      schema: {
        summary: "End the person's access now, whatever HR says, until lifted",
        description:
          'The disable-first leaver runs at once; later HR records are stored but do not re-enable the ' +
          'person. Counted by the mass-change guard: past `safety.terminationsPerWindow` terminations in ' +
          'the window it is held (409 held_for_approval, nothing done) unless `approveMass` is set.',
        tags: ['persons'],
        security: [{ bearer: ['ops:write'] }],
        params,
        body: z
          .object({
            reason: z.string().trim().min(1).max(MAX_REASON_LENGTH),
            approveMass: z.boolean().optional(),
          })
          .strict(),
        response: { 200: resultSchema, 400: errorSchema, ...refusals },
      },
    },
    async (request, reply) => {
      const [code, body] = answer(
        await ops.terminate({
          employeeId: request.params.employeeId,
          reason: request.body.reason,
          operator: apiOperator(request.apiClient!.name),
          ...(request.body.approveMass ? { approveMass: true } : {}),
        }),
      );
      return reply.code(code).send(body);
    },
  );

  app.delete(
    '/api/v1/persons/:employeeId/termination',
    {
      config: { scope: 'ops:write' },
      schema: {
        summary: 'Lift a termination: the person is planned again from their records by policy',
        tags: ['persons'],
        security: [{ bearer: ['ops:write'] }],
        params,
        response: { 200: resultSchema, ...refusals },
      },
    },
    async (request, reply) => {
      const [code, body] = answer(
        await ops.lift(request.params.employeeId, apiOperator(request.apiClient!.name)),
      );
      return reply.code(code).send(body);
    },
  );

  app.post(
    '/api/v1/persons/:employeeId/retry',
    {
      config: { scope: 'ops:write' },
      schema: {
        summary:
          "Run the person's failed or held run, or an end of access waiting for its backoff, again now",
        description: 'A no-op (`noop`, with the reason) when nothing is failed or stuck.',
        tags: ['persons'],
        security: [{ bearer: ['ops:write'] }],
        params,
        response: { 200: resultSchema, ...refusals },
      },
    },
    async (request, reply) => {
      const [code, body] = answer(
        await ops.retry(request.params.employeeId, apiOperator(request.apiClient!.name)),
      );
      return reply.code(code).send(body);
    },
  );
};
