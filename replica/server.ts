import type { AddressInfo } from 'node:net';
import { listen } from '../common/http/listen.js';
import { createLogger, type Logger } from '../common/log.js';
import type { ReplicaStats } from './contract.js';
import { createEngine as createRealEngine } from './engine/create-engine.js';
import type {
  CreateEngine,
  Engine,
  EngineFatal,
  EngineHooks,
  EngineOptions,
  EngineState,
} from './engine/types.js';
import { createFatalLatch, type ReplicaFatal } from './fatal.js';
import { closeInOrder, drainAdmitted } from './shutdown.js';
import { inferBodyLimit } from './body-limits.js';
import { createReplicaApp, type ReplicaApp } from './http/app.js';
import type { Lifecycle } from './http/lifecycle.js';
import { createHttpServer, type HttpLimits } from './http/server.js';
import { startReplicaGrpc } from './grpc/serve.js';
import { LISTENING_MSG } from './listening-line.js';
import { createReplicaMetrics, type ReplicaMetrics } from './metrics/replica-metrics.js';
import { createInferenceStats } from './metrics/inference-stats.js';

/**
 * The replica process, composed: engine + HTTP server + drain. The HTTP server listens first (live), the
 * engine loads and warms up after (ready when it is), and draining refuses new work at once while every
 * request already admitted runs to completion.
 */

export interface ReplicaServerOptions {
  engine: Omit<EngineOptions, 'hooks'>;
  port: number;
  host: string;
  /** KServe v2 gRPC + gRPC health on this port (0: any free port); none when undefined. */
  grpcPort?: number;
  logger?: Logger;
  /** Injectable for tests; the real engine by default. */
  createEngine?: CreateEngine;
  /** Longest a drain waits for admitted requests before closing anyway. Default 30 s. */
  drainTimeoutMs?: number;
  /**
   * Where a fatal error's message goes for Kubernetes (the container's `terminationMessagePath`); written only
   * when the file already exists (the kubelet mounts it). Default /dev/termination-log.
   */
  terminationLogPath?: string;
  /** After a fatal error, longest wait for admitted requests to be answered before `fatal` resolves. Default 2 s. */
  fatalGraceMs?: number;
  /** Request limits that keep the process bounded (defaults in DEFAULT_HTTP_LIMITS). */
  http?: HttpLimits;
}

export interface RunningReplica {
  /** `http://host:port` (a wildcard host is reported as 127.0.0.1). */
  url: string;
  port: number;
  /** `host:port` of the gRPC endpoint, when one was asked for. */
  grpcAddress: string | undefined;
  engine: Engine;
  metrics: ReplicaMetrics;
  /** `engine.start()`: resolves when ready, rejects when loading failed. */
  started: Promise<void>;
  /** Lifecycle as clients see it: the engine's state, or `draining` once a drain began. */
  state(): EngineState;
  /** Refuse new work (503 DRAINING, readiness false), wait for admitted requests and the engine's queue. Idempotent. */
  drain(): Promise<void>;
  /** Drain, stop listening, release the model. Idempotent. */
  close(): Promise<void>;
  /**
   * Resolves when the engine hit a fatal error (CUDA out of memory): already logged and written to the
   * termination log, new work refused, admitted requests answered (or the grace ran out). The caller exits
   * with `exitCode`. Never resolves otherwise.
   */
  fatal: Promise<ReplicaFatal>;
  /** The fatal error as soon as it happened (synchronously), else null. */
  fatalError(): ReplicaFatal | null;
}

export async function startReplicaServer(options: ReplicaServerOptions): Promise<RunningReplica> {
  const resolved = withDefaults(options);
  const { engine: engineOptions, port, host, grpcPort, http, drainTimeoutMs } = resolved;
  const { logger, createEngine, terminationLogPath, fatalGraceMs } = resolved;
  const { engine, bindHooks, bindFatal } = engineWithLateHooks(createEngine, engineOptions);
  const { manifest } = engine;
  const log = logger.child({
    model: manifest.name,
    version: manifest.version,
    replicaId: engineOptions.replicaId,
  });

  let draining: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  const state = (): EngineState => (draining && engine.state !== 'failed' ? 'draining' : engine.state);
  const stats = (): ReplicaStats => {
    const current = state();
    return { ...engine.stats(), state: current, ready: current === 'ready' };
  };

  const maxBatch = engine.stats().maxBatch;
  const sinks = createStatsSinks(manifest, maxBatch);
  bindHooks(sinks.hooks);
  sinks.metrics.bindStats(stats);

  const drain = (): Promise<void> => (draining ??= drainAdmitted(tracker, engine, log, drainTimeoutMs));
  const lifecycle = { state, stats, drain: () => void drain() };
  const { app, tracker } = replicaApp({ engine, sinks, log, maxBatch, lifecycle, http });

  const { onFatal, ...fatal } = createFatalLatch({
    name: `${manifest.name}:${manifest.version}`,
    replicaId: engineOptions.replicaId,
    log,
    terminationLogPath,
    graceMs: fatalGraceMs,
    idle: () => tracker.idle(),
  });
  bindFatal(onFatal);

  const grpcLimit = inferBodyLimit(manifest, maxBatch);
  const listening = await listenAll({ app, host, port, grpcPort, grpcLimit, http, log });
  const { server, url, boundPort, grpc } = listening;
  const started = startEngine(engine, log);

  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await drain();
      await closeInOrder(grpc, server, engine, log);
    })());

  return {
    url,
    port: boundPort,
    grpcAddress: grpc?.address,
    engine,
    metrics: sinks.metrics,
    started,
    state,
    drain,
    close,
    ...fatal,
  };
}

/** The options with every default filled in. */
function withDefaults(options: ReplicaServerOptions) {
  return {
    ...options,
    logger: options.logger ?? createLogger({ component: 'replica' }),
    createEngine: options.createEngine ?? createRealEngine,
    drainTimeoutMs: options.drainTimeoutMs ?? 30_000,
    terminationLogPath: options.terminationLogPath ?? '/dev/termination-log',
    fatalGraceMs: options.fatalGraceMs ?? 2000,
    http: options.http ?? {},
  };
}

interface ReplicaAppParts {
  engine: Engine;
  sinks: ReturnType<typeof createStatsSinks>;
  log: Logger;
  maxBatch: number;
  lifecycle: Lifecycle;
  http: HttpLimits;
}

/** The HTTP app over the engine, with the upload and body limits the flags asked for. */
function replicaApp({ engine, sinks, log, maxBatch, lifecycle, http }: ReplicaAppParts): ReplicaApp {
  return createReplicaApp({
    engine,
    metrics: sinks.appMetrics,
    inferenceStats: sinks.inferenceStats,
    logger: log,
    maxBatch,
    lifecycle,
    uploads: {
      ...(http.minBytesPerSecond === undefined ? {} : { minBytesPerSecond: http.minBytesPerSecond }),
      ...(http.graceMs === undefined ? {} : { graceMs: http.graceMs }),
    },
    ...(http.bodyBudgetBytes === undefined ? {} : { bodyBudgetBytes: http.bodyBudgetBytes }),
  });
}

/** The metrics need the manifest (labels) and the engine needs the metrics' hooks: forward through a holder. */
function engineWithLateHooks(
  createEngine: CreateEngine,
  engineOptions: ReplicaServerOptions['engine'],
): {
  engine: Engine;
  bindHooks: (hooks: EngineHooks) => void;
  bindFatal: (onFatal: (info: EngineFatal) => void) => void;
} {
  let hooks: EngineHooks = {};
  let onFatal: (info: EngineFatal) => void = () => undefined;
  const engine = createEngine({
    ...engineOptions,
    hooks: {
      onBatch: (info) => hooks.onBatch?.(info),
      onQueueDepth: (depth) => hooks.onQueueDepth?.(depth),
      onFrame: (info) => hooks.onFrame?.(info),
      onOutput: (info) => hooks.onOutput?.(info),
      onFatal: (info) => onFatal(info),
    },
  });
  return { engine, bindHooks: (h) => (hooks = h), bindFatal: (f) => (onFatal = f) };
}

/** Prometheus metrics and Triton's statistics, fed by the same engine hooks and the same answered requests. */
function createStatsSinks(manifest: Engine['manifest'], maxBatch: number) {
  const metrics = createReplicaMetrics({ model: manifest.name, version: manifest.version, maxBatch });
  const inferenceStats = createInferenceStats({ model: manifest.name, version: manifest.version });
  const hooks: EngineHooks = {
    onBatch: (info) => (metrics.hooks.onBatch?.(info), inferenceStats.hooks.onBatch?.(info)),
    onQueueDepth: (d) => (metrics.hooks.onQueueDepth?.(d), inferenceStats.hooks.onQueueDepth?.(d)),
    onFrame: (info) => (metrics.hooks.onFrame?.(info), inferenceStats.hooks.onFrame?.(info)),
    onOutput: (info) => inferenceStats.hooks.onOutput?.(info),
  };
  // Triton's statistics see every answered request the metrics see.
  const appMetrics: ReplicaMetrics = {
    ...metrics,
    observeRequest: (info) => (metrics.observeRequest(info), inferenceStats.observeRequest(info)),
  };
  return { metrics, inferenceStats, hooks, appMetrics };
}

interface ListenOptions {
  app: ReplicaApp['app'];
  host: string;
  port: number;
  grpcPort: number | undefined;
  /** Largest gRPC message accepted. */
  grpcLimit: number;
  http: HttpLimits;
  log: Logger;
}

/** Listen on HTTP (and gRPC when asked), then announce the line the orchestrators wait for. */
async function listenAll({ app, host, port, grpcPort, grpcLimit, http, log }: ListenOptions) {
  const server = createHttpServer(app.fetch, host, http);
  const url = await listen(server, port, host);
  const boundPort = (server.address() as AddressInfo).port;
  const grpc =
    grpcPort === undefined
      ? undefined
      : await startReplicaGrpc({ app, port: grpcPort, host, maxMessageBytes: grpcLimit });
  log.announce(LISTENING_MSG, { url, port: boundPort, host, ...(grpc ? { grpc: grpc.address } : {}) });
  return { server, url, boundPort, grpc };
}

/** `engine.start()`, logging readiness; the caller decides what a failed start means. */
function startEngine(engine: Engine, log: Logger): Promise<void> {
  const started = engine.start().then(() => {
    if (engine.state !== 'ready') return; // a drain during warm-up: it never turned ready
    log.info('ready', { device: engine.stats().device.kind, footprintBytes: engine.stats().footprint.bytes });
  });
  started.catch(() => undefined); // never an unhandled rejection
  return started;
}
