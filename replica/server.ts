import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { listen } from '../common/http/listen.js';
import { createLogger, type Logger } from '../common/log.js';
import type { ReplicaStats } from './contract.js';
import { createEngine as createRealEngine } from './engine/create-engine.js';
import { rootMessage } from './engine/cuda-oom.js';
import type {
  CreateEngine,
  Engine,
  EngineFatal,
  EngineHooks,
  EngineOptions,
  EngineState,
} from './engine/types.js';
import { CUDA_OOM_MARKER, REPLICA_EXIT_CODES } from './exit-codes.js';
import { inferBodyLimit } from './body-limits.js';
import { createReplicaApp } from './http/app.js';
import type { UploadLimits } from './http/read-body.js';
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

export interface HttpLimits extends UploadLimits {
  /** Longest wait for a request's headers (Node answers 408). Default 10 s. */
  headersTimeoutMs?: number;
  /** Longest time to receive a whole request, body included (Node answers 408). Default 120 s. */
  requestTimeoutMs?: number;
  /** Bytes of request bodies held at once (common/http/body-budget.ts). Default: defaultBodyBudget(). */
  bodyBudgetBytes?: number;
}

export const DEFAULT_HTTP_LIMITS = { headersTimeoutMs: 10_000, requestTimeoutMs: 120_000 } as const;

/** Why the process must exit now, and with which code (replica/exit-codes.ts). */
export interface ReplicaFatal {
  exitCode: number;
  message: string;
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

/** Writes the message where the kubelet reads it; a missing or read-only file is not an error. */
export function writeTerminationLog(file: string, message: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r+'); // never creates it: outside a pod there is nothing to write
    ftruncateSync(fd);
    writeSync(fd, message);
    return true;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The replica's HTTP server (not yet listening), with Node's header/request timeouts from `limits`. */
function createHttpServer(
  fetch: Parameters<typeof createAdaptorServer>[0]['fetch'],
  host: string,
  limits: HttpLimits,
): Server {
  const {
    headersTimeoutMs = DEFAULT_HTTP_LIMITS.headersTimeoutMs,
    requestTimeoutMs = DEFAULT_HTTP_LIMITS.requestTimeoutMs,
  } = limits;
  return createAdaptorServer({
    fetch,
    hostname: host,
    serverOptions: {
      headersTimeout: headersTimeoutMs,
      requestTimeout: Math.max(requestTimeoutMs, headersTimeoutMs),
      // how often Node checks those two; its default (30 s) would make a 10 s header timeout up to 40 s
      connectionsCheckingInterval: Math.max(50, Math.min(1000, headersTimeoutMs / 4)),
    },
  }) as Server;
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
    const failure: ReplicaFatal =
      info.reason === 'cuda-out-of-memory'
        ? {
            exitCode: REPLICA_EXIT_CODES.cudaOutOfMemory,
            message:
              `${CUDA_OOM_MARKER}: model ${manifest.name}:${manifest.version} on ${info.device}, ` +
              `replica ${engineOptions.replicaId}; exiting with code ${REPLICA_EXIT_CODES.cudaOutOfMemory}: ` +
              rootMessage(info.error),
          }
        : {
            exitCode: REPLICA_EXIT_CODES.failed,
            message:
              `session worker died: model ${manifest.name}:${manifest.version} on ${info.device}, ` +
              `replica ${engineOptions.replicaId}; exiting with code ${REPLICA_EXIT_CODES.failed}: ` +
              rootMessage(info.error),
          };
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
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive sockets with no request in them would hold close() open.
        server.closeIdleConnections();
      });
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

/**
 * SIGTERM (and SIGINT): drain, close, exit 0. A second signal exits at once with 1. `stopping()` says
 * whether a signal arrived (a load cut short by SIGTERM is not a failed start).
 * Only the CLI installs these; tests drive `drain()` / `close()` directly.
 */
export function installSignalHandlers(
  replica: RunningReplica,
  { logger, exit = (code: number) => process.exit(code) }: { logger: Logger; exit?: (code: number) => void },
): { stopping(): boolean } {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn('second signal: exiting now', { signal });
      exit(1);
      return;
    }
    stopping = true;
    logger.info('signal received: draining', { signal });
    replica.close().then(
      () => exit(0),
      (err: unknown) => {
        logger.error('shutdown failed', { err });
        exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return { stopping: () => stopping };
}
