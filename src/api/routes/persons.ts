import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { SHREDDED_TEXT } from '../../ops/persons';
import { z } from 'zod';
import { employeeIdSchema, hrRecordSchema, identityKeySchema } from '../../domain/record';
import type { RecordStore } from '../../store/import-staging';
import type { RecordIndex } from '../../store/record-index';
import type { Intake } from '../intake';
import { acceptedSchema, errorSchema, personView, personViewSchema, viewSourceOfRow } from '../schemas';
import type { RecordSubmitter } from '../submit';

export interface PersonRoutesOptions {
  intake: Intake;
  index: RecordIndex & Pick<RecordStore, 'identities'>;
  submitter: RecordSubmitter;
}

// Path ids are canonical identity keys (src/domain/identity-key.ts): `e1001` is `E1001`. A PUT
// takes HR ids only (an `S-` id is a pupil's); a GET reads any identity, pupils included.
const params = z.object({ employeeId: employeeIdSchema.describe('HR employee id (case-insensitive)') });
const readParams = z.object({
  employeeId: identityKeySchema.describe('identity key: HR employee id or S-{student id} (case-insensitive)'),
});

export const personRoutes: FastifyPluginAsyncZod<PersonRoutesOptions> = async (
  app,
  { intake, index, submitter },
) => {
  app.put(
    '/api/v1/persons/:employeeId',
    {
      config: { scope: 'hr:write' },
      schema: {
        summary: 'Deliver the full current HR record of one person',
        description:
          'Idempotent: a record equal to the last accepted one answers `unchanged` and starts nothing. ' +
          'Otherwise the record is signalled to the person workflow (which it starts if needed) — unless it ' +
          'takes access away beyond the mass-change threshold: then it is `held` for approval ' +
          '(GET /api/v1/mass-change), and a later record for the same person joins or replaces it.',
        tags: ['persons'],
        security: [{ bearer: ['hr:write'] }],
        params,
        body: hrRecordSchema,
        response: {
          202: acceptedSchema,
          400: errorSchema.describe('invalid_record: every bad field is named'),
          401: errorSchema,
          403: errorSchema,
          409: errorSchema.describe('the employeeId in the body differs from the path'),
          413: errorSchema,
          503: errorSchema.describe('the workflow service is unavailable; retry later'),
        },
      },
    },
    async (request, reply) => {
      const record = request.body;
      if (record.employeeId !== request.params.employeeId) {
        return reply.code(409).send({
          error: 'id_mismatch',
          message: 'employeeId in the body differs from the one in the path',
          fields: [{ field: 'employeeId', message: 'differs from the path' }],
        });
      }
      // The guard names the operator by the token's client (src/ops/intake.ts).
      return reply.code(202).send(await submitter.submit(record, 'hr', `api:${request.apiClient!.name}`));
    },
  );

  app.get(
    '/api/v1/persons/:employeeId',
    {
      config: { scope: 'ops:read' },
      schema: {
        summary: "The person's state: account, pending dated events, last runs",
        tags: ['persons'],
        security: [{ bearer: ['ops:read'] }],
        params: readParams,
        response: {
          200: personViewSchema,
          400: errorSchema,
          401: errorSchema,
          403: errorSchema,
          404: errorSchema.describe('Tunnus has never seen this employee id'),
          410: errorSchema.describe(
            'shredded: the person was deleted at the end of retention and their data key destroyed; nothing of them can be read',
          ),
          503: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const { employeeId } = request.params;
      // The identity read model's row; a person it has no row of yet (just delivered, or before
      // the first `tunnus index rebuild`) is asked of the workflow.
      const [row, entry] = await Promise.all([index.identities.get(employeeId), index.get(employeeId)]);
      if (row) return reply.code(200).send(personView(viewSourceOfRow(row), entry, new Date()));
      const reading = await intake.readPerson(employeeId);
      if (reading.kind === 'unknown') return reply.code(404).send({ error: 'not_found' });
      if (reading.kind === 'shredded')
        return reply.code(410).send({ error: 'shredded', message: SHREDDED_TEXT });
      const source = reading.state;
      return reply.code(200).send(personView(source, entry, new Date()));
    },
  );
};
