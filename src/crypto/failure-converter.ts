import { DefaultFailureConverter } from '@temporalio/common';

// Failure messages and stack traces travel in an encoded-attributes payload, so the payload codec
// encrypts them like any other payload (docs/privacy.md). Loaded by path (DataConverter's
// failureConverterPath) in the workflow bundle as well as in clients and workers.
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
