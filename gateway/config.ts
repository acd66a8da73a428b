import { parseDuration } from '../common/duration.js';
import { z } from 'zod';
import { VersionSplitConfig } from './routing/version-split.js';
import { parseBytes } from '../common/bytes.js';

/** Sizes accept `512MiB`, `16KiB` or bytes. */
const size = z.union([z.number(), z.string()]).transform((v, ctx) => {
  try {
    return parseBytes(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

/** Durations accept `1s`, `250ms`, `2m` or milliseconds. */
const duration = z.union([z.number(), z.string()]).transform((v, ctx) => {
  try {
    return parseDuration(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

export const GatewayConfig = z
  .object({
    pollInterval: duration.default(1000),
    /** Default deadline of a request without a `timeout` header. */
    timeout: duration.default(30_000),
    /** Per-GPU memory kept free. */
    reserve: size.default(512 * 1024 ** 2),
    routing: z
      .object({
        picker: z.enum(['max-score', 'power-of-two']).default('max-score'),
        weights: z
          .object({
            outstanding: z.number().min(0).default(3),
            contention: z.number().min(0).default(2),
            latency: z.number().min(0).default(1),
            headroom: z.number().min(0).default(1),
          })
          .strict()
          .prefault({}),
        /** A GPU whose headroom is below this is critical: avoided while other GPUs can serve. */
        criticalHeadroom: size.default(0),
      })
      .strict()
      .prefault({}),
    limits: z
      .object({
        /** One request's body (the replica's own limit is 32 MiB by default); beyond: 413. */
        maxBodyBytes: size.default(32 * 1024 ** 2),
        /** Request-body bytes held at once across the process; a body that would exceed it: 429. */
        maxHeldBodyBytes: size.default(256 * 1024 ** 2),
        /** Time to receive a whole request, headers and body (Node's requestTimeout); 0: none. */
        requestTimeout: duration.default(60_000),
        /** Time to receive the headers (Node's headersTimeout; at most requestTimeout). */
        headersTimeout: duration.default(10_000),
        maxHeaderBytes: size.default(16 * 1024),
        /** Requests the gateway keeps outstanding per replica; 0: 2 × the replica's maxBatch. */
        maxInFlightPerReplica: z.number().int().min(0).default(0),
        /** Requests waiting per model when every replica is saturated; beyond: 429. */
        queuePerModel: z.number().int().min(0).default(256),
        /** Images in one multipart detect request (each is routed on its own). */
        maxFramesPerRequest: z.number().int().positive().default(32),
        /** Bytes per second an upload must average once `uploadGrace` has passed; slower: 408. 0: off. */
        minUploadRate: size.default(16 * 1024),
        uploadGrace: duration.default(2000),
        /** Requests one client (bearer token, else address) may have outstanding; beyond: 429. 0: no cap. */
        maxOutstandingPerClient: z.number().int().min(0).default(0),
      })
      .strict()
      .prefault({}),
    retries: z
      .object({
        /** Further tries of one request on other replicas (connection failures, 502/503/504/429, per-try timeouts). */
        max: z.number().int().min(0).max(5).default(2),
        /**
         * A try that has not started answering after `multiple` × what the replica normally needs (its latency
         * EWMA plus the batches queued ahead), clamped to [min, max], is retried on another replica (proxy/per-try.ts).
         */
        perTryTimeout: z
          .object({
            multiple: z.number().positive().default(4),
            min: duration.default(1000),
            max: duration.default(30_000),
          })
          .strict()
          .refine((t) => t.max >= t.min, { message: 'perTryTimeout.max must be at least perTryTimeout.min' })
          .prefault({}),
        /**
         * Retries per model over a sliding `window`: at most max(min, ratio × requests), so a cluster-wide
         * slowdown is not doubled by retries while a trickle of traffic can still retry (proxy/retry-budget.ts).
         */
        budget: z
          .object({
            ratio: z.number().min(0).max(1).default(0.2),
            min: z.number().int().min(0).default(5),
            window: duration.default(10_000),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    ejection: z
      .object({
        /** Consecutive failures of the replica's own (connection errors, 5xx, long deadlines) before ejection. */
        consecutiveFailures: z.number().int().positive().default(3),
        base: duration.default(1000),
        max: duration.default(30_000),
        /** Most of a model's replicas ejected at once (share of those up, rounded down; never the last one). */
        maxEjectionShare: z.number().min(0).max(1).default(0.5),
        /** A deadline counts against a replica only past this × its latency EWMA, and at least minChargedDeadline. */
        deadlineLatencyMultiple: z.number().positive().default(5),
        minChargedDeadline: duration.default(250),
      })
      .strict()
      .prefault({}),
    shutdown: z
      .object({
        /** After close()/SIGTERM: /v2/health/ready answers 503 DRAINING and new requests still come in. */
        notReadyDelay: duration.default(0),
        /**
         * The drain deadline: then stop accepting (REST and gRPC), wait this long at most for in-flight requests,
         * then cut whatever remains (connections, gRPC calls, upstream requests) and exit.
         */
        grace: duration.default(30_000),
      })
      .strict()
      .prefault({}),
    /** Sliding window of the per-model request rate, p95 and error rate in /v1/cluster. */
    statsWindow: duration.default(30_000),
    /** Weighted traffic split between versions of a model (gateway/routing/version-split.ts). */
    versions: VersionSplitConfig.prefault({}),
  })
  .strict();

export type GatewayConfig = z.output<typeof GatewayConfig>;
export type GatewayConfigInput = z.input<typeof GatewayConfig>;

export function parseGatewayConfig(input: unknown = {}): GatewayConfig {
  const result = GatewayConfig.safeParse(input ?? {});
  if (!result.success) throw new Error(`invalid gateway config: ${z.prettifyError(result.error)}`);
  return result.data;
}
