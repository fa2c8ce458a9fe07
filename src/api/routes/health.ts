import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { RecordIndex } from '../../store/record-index';
import type { Intake } from '../intake';

export interface HealthRoutesOptions {
  intake: Intake;
  index: RecordIndex;
  /** Each readiness check gives up after this long. */
  checkTimeoutMs?: number;
}

const checkResult = z.enum(['ok', 'unavailable']);

// Liveness says the process answers; readiness says it can do its job (Temporal and the record
// index both answer), so a load balancer sends intake elsewhere while either is down.
export const healthRoutes: FastifyPluginAsyncZod<HealthRoutesOptions> = async (
  app,
  { intake, index, checkTimeoutMs = 2_000 },
) => {
  app.get(
    '/health',
    {
      schema: {
        summary: 'Liveness: the process is up',
        tags: ['health'],
        response: { 200: z.object({ status: z.literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  const readySchema = z.object({
    status: z.enum(['ready', 'not_ready']),
    checks: z.object({ temporal: checkResult, index: checkResult }),
  });
  app.get(
    '/ready',
    {
      schema: {
        summary: 'Readiness: Temporal and the record index answer',
        tags: ['health'],
        response: { 200: readySchema, 503: readySchema },
      },
    },
    async (request, reply) => {
      const [temporal, idx] = await Promise.all([
        probe(() => intake.check(), checkTimeoutMs),
        probe(() => index.check(), checkTimeoutMs),
      ]);
      if (temporal !== 'ok') request.log.warn({ check: 'temporal' }, 'readiness check failed');
      if (idx !== 'ok') request.log.warn({ check: 'index' }, 'readiness check failed');
      const ready = temporal === 'ok' && idx === 'ok';
      return reply
        .code(ready ? 200 : 503)
        .send({ status: ready ? 'ready' : 'not_ready', checks: { temporal, index: idx } });
    },
  );
};

async function probe(check: () => Promise<void>, timeoutMs: number): Promise<'ok' | 'unavailable'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'unavailable'>((resolve) => {
    timer = setTimeout(() => resolve('unavailable'), timeoutMs);
  });
  try {
    return await Promise.race([check().then(() => 'ok' as const), timeout]);
  } catch {
    return 'unavailable';
  } finally {
    clearTimeout(timer);
  }
}
