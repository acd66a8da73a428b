import { createServer, type Server } from 'node:http';
import type { Hono } from 'hono';
import type { Logger } from '../common/log.js';
import type { RunningGrpcServer } from '../common/grpc/server.js';
import { closeServer, honoListener, listen } from '../common/http/listen.js';
import type { GatewayConfig } from './config.js';
import { startGatewayGrpc } from './grpc/serve.js';
import { clientApp } from './http/client-app.js';
import type { Drain } from './http/drain.js';
import { modelStatsRoutes } from './http/model-stats.js';
import { adminApp } from './operator/admin-app.js';
import { createClientHandler } from './proxy/client-handler.js';
import { createClientLimit } from './proxy/client-limit.js';
import type { Serving } from './serving.js';
import type { GatewayOptions } from './types.js';

/** The gateway's listening ports: client (REST), operator, and gRPC when asked for. */
export interface GatewayPorts {
  client: Server;
  admin: Server;
  grpc: RunningGrpcServer | undefined;
  url: string;
  adminUrl: string;
}

/**
 * Binds the client port, then the operator port, then gRPC; when one fails the ones already bound are
 * closed before the error is thrown (no port left open by a gateway that did not start).
 */
export async function openPorts(
  options: GatewayOptions,
  config: GatewayConfig,
  serving: Serving,
  drain: Drain,
  logger: Logger,
): Promise<GatewayPorts> {
  const { port = 8080, adminPort = 8090, grpcPort, host = '0.0.0.0', adminHost = host } = options;
  const app = clientApp({
    inventory: serving.inventory,
    models: options.models,
    draining: () => drain.draining,
  });
  app.route('/', modelStatsRoutes({ inventory: serving.inventory }));
  const client = createClientServer(config, drain.track(clientHandler(config, serving, app, logger)));
  const admin = createServer(
    { maxHeaderSize: config.limits.maxHeaderBytes },
    honoListener(
      adminApp({
        getClusterView: serving.clusterView,
        metrics: serving.metrics,
        tokens: options.adminTokens ?? [],
      }).fetch,
    ),
  );
  const url = await listen(client, port, host);
  const adminUrl = await listen(admin, adminPort, adminHost).catch(async (err: unknown) => {
    await closeServer(client);
    throw err;
  });
  const grpc =
    grpcPort === undefined
      ? undefined
      : await startGatewayGrpc({
          port: grpcPort,
          host,
          app,
          forwarder: serving.forwarder,
          inventory: serving.inventory,
          observer: serving.observer,
          authorize: serving.authorize,
          defaultTimeoutMs: config.timeout,
          maxMessageBytes: config.limits.maxBodyBytes,
          chooseVersion: serving.chooseVersion,
          bodyBudget: serving.bodyBudget,
        }).catch(async (err: unknown) => {
          await Promise.all([closeServer(client), closeServer(admin)]);
          throw err;
        });
  return { client, admin, grpc, url, adminUrl };
}

/** The client port's listener: the proxy pipeline for proxied routes, the Hono app for the rest. */
function clientHandler(config: GatewayConfig, serving: Serving, app: Hono, logger: Logger) {
  const { limits } = config;
  return createClientHandler({
    app,
    forwarder: serving.forwarder,
    inventory: serving.inventory,
    admission: serving.admission,
    bodyBudget: serving.bodyBudget,
    observer: serving.observer,
    defaultTimeoutMs: config.timeout,
    maxBodyBytes: limits.maxBodyBytes,
    uploadPace: { minBytesPerSecond: limits.minUploadRate, graceMs: limits.uploadGrace },
    clientLimit:
      limits.maxOutstandingPerClient > 0 ? createClientLimit(limits.maxOutstandingPerClient) : undefined,
    maxFramesPerRequest: limits.maxFramesPerRequest,
    authorize: serving.authorize,
    chooseVersion: serving.chooseVersion,
    logger,
  });
}

/** The client port's HTTP server, with the configured header size and request/header timeouts. */
function createClientServer(config: GatewayConfig, listener: Parameters<typeof createServer>[1]): Server {
  const { requestTimeout, headersTimeout, maxHeaderBytes } = config.limits;
  return createServer(
    {
      maxHeaderSize: maxHeaderBytes,
      keepAliveTimeout: 65_000,
      requestTimeout,
      headersTimeout: requestTimeout > 0 ? Math.min(headersTimeout, requestTimeout) : headersTimeout,
      // Node checks those timeouts only this often (30 s by default): check often enough for them to bite.
      connectionsCheckingInterval: Math.max(250, Math.min(30_000, Math.floor(headersTimeout / 4))),
    },
    listener,
  );
}
