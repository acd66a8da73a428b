import type {
  MethodDefinition,
  ServerUnaryCall,
  ServerWritableStream,
  ServiceDefinition,
  UntypedServiceImplementation,
  sendUnaryData,
} from '@grpc/grpc-js';
import { GpumuxError } from '../errors.js';
import { toServiceError } from './status.js';

/**
 * A request message that is not valid protobuf is the client's fault: grpc-js answers a throwing
 * deserializer with INTERNAL, the status of a server's own failure. So the service's deserializers never
 * throw — they hand the handler a marker — and every handler answers the marker with BAD_REQUEST
 * (INVALID_ARGUMENT, `gpumux-code`) from the error table before it runs.
 */

const MALFORMED = Symbol('malformed protobuf message');

interface Malformed {
  [MALFORMED]: Error;
}

function malformedError(request: unknown): GpumuxError | null {
  if (typeof request !== 'object' || request === null || !(MALFORMED in request)) return null;
  const cause = (request as Malformed)[MALFORMED];
  return new GpumuxError('BAD_REQUEST', `malformed protobuf message: ${cause.message}`, { cause });
}

/** `definition` with deserializers that return a marker instead of throwing. */
export function tolerantDefinition(definition: ServiceDefinition): ServiceDefinition {
  const out: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(definition)) {
    const deserialize = method.requestDeserialize as (bytes: Buffer) => unknown;
    out[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return deserialize(bytes);
        } catch (err) {
          return { [MALFORMED]: err instanceof Error ? err : new Error(String(err)) } satisfies Malformed;
        }
      },
    };
  }
  return out;
}

type Handler = (call: unknown, callback?: sendUnaryData<unknown>) => void;

/** `implementation` whose unary and server-streaming handlers answer a malformed message with 400's status. */
export function refuseMalformed(
  definition: ServiceDefinition,
  implementation: UntypedServiceImplementation,
): UntypedServiceImplementation {
  const out: UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(implementation)) {
    const method = definition[name];
    if (!method || method.requestStream) {
      out[name] = handler;
      continue;
    }
    const wrapped: Handler = (call, callback) => {
      const err = malformedError((call as ServerUnaryCall<unknown, unknown>).request);
      if (!err) return (handler as Handler)(call, callback);
      if (method.responseStream)
        (call as ServerWritableStream<unknown, unknown>).emit('error', toServiceError(err));
      else callback?.(toServiceError(err), null);
    };
    out[name] = wrapped as UntypedServiceImplementation[string];
  }
  return out;
}
