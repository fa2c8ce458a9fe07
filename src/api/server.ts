import fastifySwagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyError } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { helsinkiDate } from '../domain/dates';
import { intakeRulesOf, type IntakeRules, type IntakeSender } from '../domain/intake-rules';
import { hrRecordSchema, identityKeySchema, parseHrRecord, type FieldError } from '../domain/record';
import type { Logger } from '../logger';
import { parseEnv, loadPolicy } from '../config';
import type { Policy } from '../domain/policy';
import type { Approvals } from '../ops/approve';
import type { GuardStore } from '../ops/guard';
import type { PersonOps } from '../ops/terminate';
import type { RecordStore } from '../store/import-staging';
import type { RecordIndex } from '../store/record-index';
import { createAuthenticator, type ApiClientConfig, type AuthenticatedClient, type Scope } from './auth';
import { RequestValidationError } from './errors';
import type { ImportRunner } from './imports';
import { IntakeUnavailableError } from '../ops/unavailable';
import { type Intake } from './intake';
import { guardRoutes } from './routes/guard';
import { healthRoutes } from './routes/health';
import { importRoutes } from './routes/imports';
import { opsRoutes } from './routes/ops';
import { personRoutes } from './routes/persons';
import type { ErrorBody } from './schemas';
import { createRecordSubmitter } from './submit';

// The HR intake API: thin routes over the intake (Temporal) and the record index. Composition only;
// the decision "unchanged or deliver" lives in submit.ts.

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The scope a route requires; routes without one (health, OpenAPI) are public. A function picks
     * it per request (imports: by source); undefined from it means any valid token, then validation.
     */
    scope?: Scope | ((request: FastifyRequest) => Scope | undefined);
    /** The content type the route takes, for the 415 message (default application/json). */
    accepts?: string;
  }
  interface FastifyRequest {
    apiClient: AuthenticatedClient | null;
  }
}

export interface ApiDeps {
  intake: Intake;
  /** The record index with the mass-change guard's ledger (the shared record store). */
  index: RecordIndex & GuardStore & Pick<RecordStore, 'identities'>;
  /** The role policy: the door's rules and the mass-change guard; default: TUNNUS_POLICY_FILE. */
  policy?: Policy;
  /** Approvals of stopped runs and the held set (POST /api/v1/approvals/…); route only when given. */
  approvals?: Approvals;
  /** Operator actions (terminate, lift, retry; scope ops:write); the routes exist only when given. */
  personOps?: PersonOps;
  clients: readonly ApiClientConfig[];
  logger: Logger;
  /** Largest request body accepted; a full HR record is well under 2 KiB. */
  bodyLimitBytes?: number;
  /** Snapshot imports (POST/GET /api/v1/imports); the routes exist only when given. */
  imports?: ImportRunner;
  /** Largest CSV snapshot accepted by POST /api/v1/imports. */
  importBodyLimitBytes?: number;
}

/** The door's rules for a sender, as of today (Helsinki): one function for every route. */
export type IntakeRulesFor = (sender: IntakeSender) => IntakeRules;

export const DEFAULT_BODY_LIMIT_BYTES = 16 * 1024;
/** 50,000 HR rows are about 12 MB; room for long names and extra columns. */
export const DEFAULT_IMPORT_BODY_LIMIT_BYTES = 32 * 1024 * 1024;

export function buildApi({
  intake,
  index,
  clients,
  logger,
  bodyLimitBytes = DEFAULT_BODY_LIMIT_BYTES,
  imports,
  importBodyLimitBytes = DEFAULT_IMPORT_BODY_LIMIT_BYTES,
  policy,
  approvals,
  personOps,
}: ApiDeps) {
  // The mass-change guard classifies every change with the role policy: the given one, else the
  // configured file (TUNNUS_POLICY_FILE), never none — no intake path skips the guard.
  const guardPolicy = policy ?? loadPolicy(parseEnv().TUNNUS_POLICY_FILE);
  // The door's rules (dates, sentinels, scripts, who may link staff rows) from the same policy.
  const rulesFor: IntakeRulesFor = (sender) => intakeRulesOf(guardPolicy, sender, helsinkiDate(new Date()));
  const app = Fastify({
    loggerInstance: logger.child({ component: 'api' }),
    // Fastify's own request log carries the raw URL; ours (below) carries the route template.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: bodyLimitBytes,
    requestTimeout: 30_000,
    return503OnClosing: true,
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(({ schema, httpPart }) => {
    // The record goes through parseHrRecord: the one place that says what a valid record is
    // (empty optionals count as absent; unknown keys are named as fields).
    if (schema === hrRecordSchema) {
      return (data: unknown) => {
        // An HR record carries no staff link, so the sender does not change its rules.
        const result = parseHrRecord(data, rulesFor({ kind: 'operator' }));
        return result.ok
          ? { value: result.value }
          : { error: new RequestValidationError('invalid_record', recordFieldErrors(result.errors)) };
      };
    }
    const zodSchema = schema as z.ZodType;
    const kind = httpPart === 'params' ? 'invalid_path' : 'invalid_request';
    return (data: unknown) => {
      const result = zodSchema.safeParse(data);
      if (result.success) return { value: result.data };
      const fields = result.error.issues.map((i) => ({
        field: i.path.length > 0 ? i.path.join('.') : '(request)',
        message: i.message,
      }));
      return { error: new RequestValidationError(kind, fields) };
    };
  });
  app.setSerializerCompiler(serializerCompiler);
  // JSON only: Fastify also parses text/plain by default, which a record never is (→ 415).
  app.removeContentTypeParser('text/plain');

  void app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Tunnus HR intake API',
        version: '1.0.0',
        description:
          'HR delivers full current person records; Tunnus keeps the directory, cloud, licences and ' +
          'phone catalogue in step. Bearer tokens per client, with scopes hr:write, education:write, ops:read.',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'per-client API token' } },
      },
      tags: [{ name: 'persons' }, { name: 'imports' }, { name: 'guard' }, { name: 'health' }],
    },
    transform: jsonSchemaTransform,
  });

  app.decorateRequest('apiClient', null);
  const authenticate = createAuthenticator(clients);
  app.addHook('onRequest', async (request, reply) => {
    const rule = request.routeOptions.config.scope;
    if (!rule) return;
    const scope = typeof rule === 'function' ? rule(request) : rule;
    const client = authenticate(request.headers.authorization);
    if (!client) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="tunnus"')
        .send({ error: 'unauthorized', message: 'a valid bearer token is required' });
    }
    request.apiClient = client;
    if (scope && !client.scopes.has(scope)) {
      return reply
        .code(403)
        .header('www-authenticate', `Bearer realm="tunnus", error="insufficient_scope", scope="${scope}"`)
        .send({ error: 'forbidden', message: `the token lacks the scope ${scope}` });
    }
  });

  // The access log: method, route template, status, duration, client name and the employee id.
  // The employee id is a pseudonymous business key (it is already in workflow ids, search
  // attributes and worker logs) and ties a request to its workflow. Never logged: the raw URL
  // (query strings), bodies, names, the Authorization header.
  app.addHook('onResponse', async (request, reply) => {
    const employeeId = (request.params as { employeeId?: unknown } | undefined)?.employeeId;
    request.log.info(
      {
        method: request.method,
        route: request.routeOptions.url ?? '(no route)',
        ...(typeof employeeId === 'string' && identityKeySchema.safeParse(employeeId).success
          ? { employeeId }
          : {}),
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        ...(request.apiClient ? { client: request.apiClient.name } : {}),
      },
      'request',
    );
  });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const send = (status: number, body: ErrorBody) => reply.code(status).send(body);
    if (err instanceof RequestValidationError) return send(400, { error: err.kind, fields: err.fields });
    if (err instanceof IntakeUnavailableError) {
      request.log.warn(
        {
          errorType: err.name,
          error: err.message,
          cause: err.cause instanceof Error ? err.cause.message : undefined,
        },
        'workflow service unavailable',
      );
      return reply.header('retry-after', '5').code(503).send({ error: 'unavailable', message: err.message });
    }
    switch (err.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return send(413, {
          error: 'payload_too_large',
          message: `the body exceeds ${request.routeOptions.bodyLimit ?? bodyLimitBytes} bytes`,
        });
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return send(415, {
          error: 'unsupported_media_type',
          message: `send ${request.routeOptions.config.accepts ?? 'application/json'}`,
        });
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
        return send(400, { error: 'invalid_json', message: 'the body is not valid JSON' });
    }
    if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
      // JSON syntax errors and the like: Fastify's message describes the request, not its data.
      return send(err.statusCode, { error: 'bad_request', message: err.message });
    }
    // Type and message only: a stack is noise here, and nothing from the request is logged.
    request.log.error({ errorType: err.name, error: err.message }, 'request failed');
    return send(500, { error: 'internal' });
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: 'not_found' }));

  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  void app.register(healthRoutes, { intake, index });
  void app.register(personRoutes, {
    intake,
    index,
    submitter: createRecordSubmitter(intake, index, guardPolicy),
  });
  void app.register(guardRoutes, { store: index, policy: guardPolicy, ...(approvals ? { approvals } : {}) });
  if (personOps) void app.register(opsRoutes, { ops: personOps });
  if (imports) void app.register(importRoutes, { imports, bodyLimitBytes: importBodyLimitBytes, rulesFor });
  return app;
}

/** The Fastify instance buildApi returns (pino logger, zod type provider). */
export type ApiServer = ReturnType<typeof buildApi>;

/**
 * One entry per bad field, its first problem only (a malformed date is not also "not a real
 * date"), and each unknown key as a field of its own.
 */
function recordFieldErrors(errors: readonly FieldError[]): FieldError[] {
  const out: FieldError[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    const unknownKeys = /^Unrecognized keys?/.test(e.message);
    for (const field of unknownKeys ? e.field.split(', ') : [e.field]) {
      if (seen.has(field)) continue;
      seen.add(field);
      out.push({ field, message: unknownKeys ? 'is not a field of the HR record' : e.message });
    }
  }
  return out;
}

export interface StartApiOptions extends ApiDeps {
  host?: string;
  port?: number;
}

/** Builds the API and listens; loopback unless told otherwise. */
export async function startApi({
  host = '127.0.0.1',
  port = 8080,
  ...deps
}: StartApiOptions): Promise<{ app: ApiServer; url: string }> {
  const app = buildApi(deps);
  const url = await app.listen({ host, port });
  return { app, url };
}
