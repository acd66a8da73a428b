import { Hono } from 'hono';
import type { Logger } from '../../common/log.js';
import type { Manifest } from '../../models/manifest/schema.js';
import type { Engine } from '../engine/types.js';
import type { ReplicaMetrics } from '../metrics/replica-metrics.js';
import { inferBodyLimit } from '../body-limits.js';
import type { ReplicaEnv } from './env.js';
import type { Lifecycle } from './lifecycle.js';
import { errorHandlers } from '../../common/http/hono-errors.js';
import { metricsRoute } from './metrics-route.js';
import { createWorkAdmission } from './admission.js';
import { createBodyBudget } from '../../common/http/body-budget.js';
import { reserveBody } from './reserve-body.js';
import type { UploadLimits } from './read-body.js';
import { createRequestTracker, type RequestTracker } from './request-tracking.js';
import { adminRoutes } from './v1/admin.js';
import { detectRoutes } from './v1/detect.js';
import { v2Routes } from './v2/routes.js';
import { configRoutes } from './v2/config.js';
import { statsRoutes } from './v2/stats.js';
import type { InferenceStats } from '../metrics/inference-stats.js';
import { packageVersion } from '../../common/http/package-version.js';

export interface ReplicaAppOptions {
  engine: Engine;
  metrics: ReplicaMetrics;
  logger: Logger;
  /** State, stats and drain as the server composes them (see lifecycle.ts). */
  lifecycle: Lifecycle;
  /** Effective max batch (the engine's, after `--max-batch`); sizes the v2 infer body limit. */
  maxBatch?: number;
  serverVersion?: string;
  /** Bytes of request bodies held at once, process-wide (common/http/body-budget.ts). Default: defaultBodyBudget(). */
  bodyBudgetBytes?: number;
  /** Minimum upload rate (read-body.ts). */
  uploads?: UploadLimits;
  /** Triton's statistics extension (GET /v2/models/stats, POST /v2/repository/index); off when absent. */
  inferenceStats?: InferenceStats;
}

export interface ReplicaApp {
  app: Hono<ReplicaEnv>;
  /** In-flight HTTP requests, for draining. */
  tracker: RequestTracker;
}

/**
 * 64 MiB, or two of the largest bodies if that is more: enough for a queue of camera frames (Co-DETR's
 * 1280×720 JPEGs are ~0.2 MB), while 100 concurrent maximum-size uploads cost at most this much in bodies.
 */
export function defaultBodyBudget(manifest: Manifest, maxBatch = manifest.batching.maxBatch): number {
  return Math.max(64 * 1024 * 1024, 2 * inferBodyLimit(manifest, maxBatch));
}

/**
 * The replica's HTTP API as one Hono app: KServe v2, /v1 detect, stats, drain and /metrics, with one error
 * mapping and request tracking for metrics and draining.
 *
 * @example
 * const lifecycle = { state: () => engine.state, stats: () => engine.stats(), drain: () => void engine.drain() };
 * const { app } = createReplicaApp({ engine, metrics, logger, lifecycle });
 * const res = await app.request('/v2/health/live');
 */
export function createReplicaApp({
  engine,
  metrics,
  logger,
  lifecycle,
  maxBatch = engine.manifest.batching.maxBatch,
  serverVersion = packageVersion(),
  bodyBudgetBytes = defaultBodyBudget(engine.manifest, maxBatch),
  uploads = {},
  inferenceStats,
}: ReplicaAppOptions): ReplicaApp {
  const tracker = createRequestTracker({ observe: (info) => metrics.observeRequest(info) });
  metrics.bindHttpInFlight(() => tracker.inFlight());
  const app = new Hono<ReplicaEnv>();
  app.use('*', tracker.middleware);
  // Requests beyond what the queue can hold plus one running batch are refused before their body is read.
  const admission = createWorkAdmission({ limit: () => engine.stats().queueCapacity + maxBatch });
  const maxInferBodyBytes = inferBodyLimit(engine.manifest, maxBatch);
  // ... and bodies beyond the process-wide budget likewise, so memory stays bounded whatever the uploads
  const bodyBudget = reserveBody(createBodyBudget(bodyBudgetBytes), maxInferBodyBytes);
  app.on('POST', ['/v1/models/*', '/v2/models/*'], admission.middleware, bodyBudget);
  if (inferenceStats)
    app.route('/', statsRoutes({ manifest: engine.manifest, stats: inferenceStats, lifecycle }));
  app.route(
    '/',
    configRoutes({
      engine,
      limits: () => ({ maxBatch, maxQueue: engine.stats().queueCapacity }),
    }),
  );
  app.route(
    '/',
    v2Routes({
      engine,
      lifecycle,
      serverVersion,
      maxInferBodyBytes,
      uploads,
      ...(inferenceStats ? { onOutputEncoded: inferenceStats.observeOutput } : {}),
    }),
  );
  app.route('/', detectRoutes({ engine, lifecycle, uploads }));
  app.route('/', adminRoutes({ lifecycle }));
  app.route('/', metricsRoute({ registry: metrics.registry }));
  const { onError, notFound } = errorHandlers({ logger });
  app.notFound(notFound);
  app.onError(onError);
  return { app, tracker };
}
