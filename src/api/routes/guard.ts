import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Policy } from '../../domain/policy';
import { apiOperator, type Approvals } from '../../ops/approve';
import { guardStatus, type GuardStore } from '../../ops/guard';
import { errorSchema } from '../schemas';

// The mass-change guard over HTTP: what the window holds and what waits in the held set, and the
// approval of a stopped run or the held set, in the name of the token's client.

export interface GuardRoutesOptions {
  store: GuardStore;
  policy: Policy;
  approvals?: Approvals;
}

const statusSchema = z.object({
  asOf: z.string(),
  activeIdentities: z.number().int(),
  windowHours: z.number().int(),
  thresholdPercent: z.number(),
  groupThresholds: z.array(z.object({ groups: z.string(), thresholdPercent: z.number() })),
  inWindow: z.number().int().describe('identities whose loss of access was admitted in the window'),
  percent: z.number(),
  held: z
    .array(
      z.object({
        identityId: z.string(),
        kind: z.enum(['disable', 'delete', 'roleChange']),
        groups: z.array(z.string()),
        ref: z.string(),
        at: z.string(),
      }),
    )
    .describe('changes waiting for approval in the held set (workflow mass-change-hold)'),
});

const receiptSchema = z.object({
  workflowId: z.string(),
  approvedBy: z.string(),
  approvedAt: z.string(),
  summary: z.string(),
  setHash: z.string(),
});

export const guardRoutes: FastifyPluginAsyncZod<GuardRoutesOptions> = async (
  app,
  { store, policy, approvals },
) => {
  app.get(
    '/api/v1/mass-change',
    {
      config: { scope: 'ops:read' },
      schema: {
        summary: "The mass-change guard: the window's losses of access and the held set",
        tags: ['guard'],
        security: [{ bearer: ['ops:read'] }],
        response: { 200: statusSchema, 401: errorSchema, 403: errorSchema },
      },
    },
    async () => guardStatus({ store, policy }),
  );

  if (!approvals) return;
  app.post(
    '/api/v1/approvals/:workflowId',
    {
      config: { scope: 'ops:approve' },
      schema: {
        summary: 'Approve exactly the set a stopped run (or the held set) waits with',
        description:
          "The approval names the token's client as the operator (`api:{client}`) and is bound to `setHash` " +
          "(from the run's pending approval): a set that moved since is refused (409) — look again.",
        tags: ['guard'],
        security: [{ bearer: ['ops:approve'] }],
        params: z.object({ workflowId: z.string().regex(/^[A-Za-z0-9._-]{1,200}$/) }),
        body: z.object({ setHash: z.string().min(1).max(64), note: z.string().max(500).optional() }).strict(),
        response: {
          200: receiptSchema,
          401: errorSchema,
          403: errorSchema,
          404: errorSchema,
          409: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const outcome = await approvals.approve(request.params.workflowId, {
        operator: apiOperator(request.apiClient!.name),
        setHash: request.body.setHash,
        ...(request.body.note ? { note: request.body.note } : {}),
      });
      if (outcome.ok) {
        const r = outcome.receipt;
        return reply.code(200).send({
          workflowId: r.workflowId,
          approvedBy: r.approvedBy,
          approvedAt: r.approvedAt,
          summary: r.summary,
          setHash: r.setHash,
        });
      }
      const code = outcome.reason === 'not_found' ? 404 : 409;
      return reply.code(code).send({ error: outcome.reason, message: outcome.message });
    },
  );
};
