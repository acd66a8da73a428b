import { GpumuxError } from '../../common/errors.js';

/**
 * Fairness between clients: at most `maxOutstanding` proxied requests per client (its bearer token when auth
 * is on, else its address) at once — in the queue, uploading or at a replica. Beyond: 429 CLIENT_LIMIT with
 * Retry-After, so one client's flood cannot fill the per-model queue that everyone shares.
 *
 * @example
 * const limit = createClientLimit(8);
 * const refused = limit.enter('10.0.0.7'); // null: admitted; call leave('10.0.0.7') when answered
 */
export interface ClientLimit {
  /** Counts the request in; a GpumuxError (nothing counted) when the client is at its cap. */
  enter(client: string): GpumuxError | null;
  leave(client: string): void;
}

export function createClientLimit(maxOutstanding: number): ClientLimit {
  const outstanding = new Map<string, number>();
  return {
    enter(client) {
      const n = outstanding.get(client) ?? 0;
      if (n >= maxOutstanding) {
        return new GpumuxError(
          'CLIENT_LIMIT',
          `this client has ${n} requests outstanding, the most the gateway allows per client`,
          { retryAfterSeconds: 1 },
        );
      }
      outstanding.set(client, n + 1);
      return null;
    },
    leave(client) {
      const n = (outstanding.get(client) ?? 1) - 1;
      if (n <= 0) outstanding.delete(client);
      else outstanding.set(client, n);
    },
  };
}
