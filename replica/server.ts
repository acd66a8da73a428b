import type { AddressInfo } from 'node:net';
import { listen } from '../common/http/listen.js';
import { cutConnections } from '../common/http/cut-connections.js';
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
import { fatalFor, writeTerminationLog, type ReplicaFatal } from './fatal.js';
import { inferBodyLimit } from './body-limits.js';
import { createReplicaApp } from './http/app.js';
import { createHttpServer, type HttpLimits } from './http/server.js';
import { startReplicaGrpc } from './grpc/serve.js';
import { LISTENING_MSG } from './listening-line.js';
import { createReplicaMetrics, type ReplicaMetrics } from './metrics/replica-metrics.js';
import { createInferenceStats } from './metrics/inference-stats.js';

/** After the drain, how long connections still open may finish writing an answer before they are cut. */
const CLOSE_GRACE_MS = 1000;

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

export async function startReplicaServer({
  engine: engineOptions,
  port,
  host,
  grpcPort,
  logger = createLogger({ component: 'replica' }),
  createEngine = createRealEngine,
  drainTimeoutMs = 30_000,
  terminationLogPath = '/dev/termination-log',
  fatalGraceMs = 2000,
  http = {},
}: ReplicaServerOptions): Promise<RunningReplica> {
  // The metrics need the manifest (labels) and the engine needs the metrics' hooks: forward through a holder.
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
  const { manifest } = engine;
  const log = logger.child({
    model: manifest.name,
    version: manifest.version,
    replicaId: engineOptions.replicaId,
  });

  let draining: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  const state = (): EngineState => {
    if (draining && engine.state !== 'failed') return 'draining';
    return engine.state;
  };
  const stats = (): ReplicaStats => {
    const s = engine.stats();
    const current = state();
    return { ...s, state: current, ready: current === 'ready' };
  };

  const maxBatch = engine.stats().maxBatch;
  const metrics = createReplicaMetrics({ model: manifest.name, version: manifest.version, maxBatch });
  const inferenceStats = createInferenceStats({ model: manifest.name, version: manifest.version });
  hooks = {
    onBatch: (info) => (metrics.hooks.onBatch?.(info), inferenceStats.hooks.onBatch?.(info)),
    onQueueDepth: (d) => (metrics.hooks.onQueueDepth?.(d), inferenceStats.hooks.onQueueDepth?.(d)),
    onFrame: (info) => (metrics.hooks.onFrame?.(info), inferenceStats.hooks.onFrame?.(info)),
    onOutput: (info) => inferenceStats.hooks.onOutput?.(info),
  };
  metrics.bindStats(stats);

  const drain = (): Promise<void> =>
    (draining ??= (async () => {
      log.info('draining', { inFlightRequests: tracker.inFlight(), inFlightFrames: engine.stats().inFlight });
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), drainTimeoutMs);
        timer.unref();
      });
      const done = await Promise.race([
        tracker
          .idle()
          .then(() => engine.drain())
          .then(() => 'done' as const),
        timeout,
      ]);
      clearTimeout(timer);
      if (done === 'timeout')
        log.warn('drain timed out; closing with work outstanding', { inFlightRequests: tracker.inFlight() });
      else log.info('drained');
    })());

  const { app, tracker } = createReplicaApp({
    engine,
    // Triton's statistics see every answered request the metrics see.
    metrics: {
      ...metrics,
      observeRequest: (info) => (metrics.observeRequest(info), inferenceStats.observeRequest(info)),
    },
    inferenceStats,
    logger: log,
    maxBatch,
    lifecycle: { state, stats, drain: () => void drain() },
    uploads: {
      ...(http.minBytesPerSecond === undefined ? {} : { minBytesPerSecond: http.minBytesPerSecond }),
      ...(http.graceMs === undefined ? {} : { graceMs: http.graceMs }),
    },
    ...(http.bodyBudgetBytes === undefined ? {} : { bodyBudgetBytes: http.bodyBudgetBytes }),
  });

  let fatalError: ReplicaFatal | null = null;
  let resolveFatal: (fatal: ReplicaFatal) => void = () => undefined;
  const fatal = new Promise<ReplicaFatal>((resolve) => (resolveFatal = resolve));
  onFatal = (info) => {
    if (fatalError) return;
    const failure = fatalFor(info, `${manifest.name}:${manifest.version}`, engineOptions.replicaId);
    fatalError = failure;
    // the one line operators and the local orchestrator read; the termination log is what the kubelet keeps
    log.error(failure.message, { device: info.device, exitCode: failure.exitCode });
    writeTerminationLog(terminationLogPath, failure.message);
    // admitted requests already fail fast with 503 (the gateway retries elsewhere): let those answers go out
    const grace = new Promise<void>((resolve) => setTimeout(resolve, fatalGraceMs).unref());
    void Promise.race([tracker.idle(), grace]).then(() => resolveFatal(failure));
  };

  const server = createHttpServer(app.fetch, host, http);
  const url = await listen(server, port, host);
  const address = server.address() as AddressInfo;
  const grpc =
    grpcPort === undefined
      ? undefined
      : await startReplicaGrpc({
          app,
          port: grpcPort,
          host,
          maxMessageBytes: inferBodyLimit(manifest, maxBatch),
        });
  log.announce(LISTENING_MSG, { url, port: address.port, host, ...(grpc ? { grpc: grpc.address } : {}) });

  const started = engine.start().then(() => {
    if (engine.state !== 'ready') return; // a drain during warm-up: it never turned ready
    log.info('ready', { device: engine.stats().device.kind, footprintBytes: engine.stats().footprint.bytes });
  });
  started.catch(() => undefined); // the caller decides what a failed start means; never an unhandled rejection

  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await drain();
      await grpc?.close(1000);
      // Clients still sending headers or a body, or a request that outlived the drain deadline, would hold the
      // port open: after a moment for answers being written, cut them, so SIGTERM ends in bounded time.
      const cut = await cutConnections(server, { graceMs: CLOSE_GRACE_MS });
      if (cut > 0) log.warn('closing connections still open after the drain', { connections: cut });
      await engine.close();
      log.info('closed');
    })());

  return {
    url,
    port: address.port,
    grpcAddress: grpc?.address,
    engine,
    metrics,
    started,
    state,
    drain,
    close,
    fatal,
    fatalError: () => fatalError,
  };
}
