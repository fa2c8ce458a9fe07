import type { FieldError } from '../domain/record';

/** A request part failed validation; each field is named. Fastify answers it with 400. */
export class RequestValidationError extends Error {
  readonly statusCode = 400;
  constructor(
    /** invalid_record (the body), invalid_path or invalid_request. */
    readonly kind: string,
    readonly fields: FieldError[],
  ) {
    super(`${kind}: ${fields.map((f) => f.field).join(', ')}`);
    this.name = 'RequestValidationError';
  }
}
