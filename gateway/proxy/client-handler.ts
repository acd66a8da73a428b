import type { IncomingMessage, ServerResponse } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import type { Hono } from 'hono';
import { GpumuxError, toGpumuxError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { Admission } from './admission.js';
import { HeldBody } from './body.js';
import type { UploadPace } from '../../common/http/upload-pace.js';
import type { ClientLimit } from './client-limit.js';
import type { BodyBudget } from '../../common/http/body-budget.js';
import { deadlineMs } from './deadline.js';
import type { ForwardObserver, Forwarder } from './forward.js';
import { newRequestId } from './headers.js';
import { writeError } from './respond.js';
import { Cancellation } from './cancellation.js';
import type { Inventory } from '../inventory/inventory.js';
import type { GpuRecord } from '../inventory/gpus.js';
import type { ReplicaRecord } from '../inventory/records.js';
import { answerMultiFrame } from '../http/multi-frame.js';
import { matchProxyRoute, type ProxyRoute } from '../http/routes.js';
import type { ChooseVersion } from '../routing/version-split.js';

/** Probes answer without a token: exactly these paths, nothing below them. */
const OPEN_PATHS = new Set(['/v2/health/live', '/v2/health/ready']);
/** `.` or `..` as a whole segment, plain or percent-encoded (`%2e`), or an encoded slash/backslash. */
const DOT_SEGMENT = /(?:^|\/)(?:\.|%2e){1,2}(?:\/|$)|%2f|%5c|\\/i;

export interface ClientHandlerOptions {
  app: Hono;
  forwarder: Forwarder;
  inventory: Inventory;
  /** Asked before a body is held: an unknown model or a full queue is refused without reading it. */
  admission: Pick<Admission, 'refusal'>;
  /** Request-body bytes held at once across the process. */
  bodyBudget: BodyBudget;
  observer: ForwardObserver;
  defaultTimeoutMs: number;
  /** The gateway's own body limit; a model's replicas may report a smaller one (Inventory.bodyLimit). */
  maxBodyBytes: number;
  /** The slowest upload waited for (408 below it). */
  uploadPace: UploadPace;
  /** Outstanding requests per client; undefined: no cap. */
  clientLimit?: ClientLimit | undefined;
  maxFramesPerRequest: number;
  /** Bearer check; undefined when auth is off. */
  authorize?: ((authorization: string | undefined) => boolean) | undefined;
  /** The version an unversioned request goes to (gateway/routing/version-split.ts); none: the router's pick. */
  chooseVersion?: ChooseVersion | undefined;
  logger: Logger;
}

/** The options, plus what is derived from them once per handler (not per request). */
interface HandlerDeps extends ClientHandlerOptions {
  gpuOf: (r: ReplicaRecord) => GpuRecord | undefined;
}

/**
 * The client port's request listener. Proxied routes (infer, detect, model metadata) run on a lean path
 * straight on Node's req/res — no Request/Response objects, body held once as Node's chunks, response
 * streamed back — because that path is what the proxy benchmark measures. Everything else goes to Hono.
 */
export function createClientHandler(
  options: ClientHandlerOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const { inventory, authorize } = options;
  const d: HandlerDeps = { ...options, gpuOf: (r) => inventory.gpu(r.gpuKey) };
  const honoListener = getRequestListener(options.app.fetch);
  return function gatewayClientListener(req, res) {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    // The router resolves `..` after this check: a path with dot segments is refused rather than normalised,
    // so what auth sees is what is routed.
    if (DOT_SEGMENT.test(path)) {
      const err = new GpumuxError('BAD_REQUEST', 'dot segments are not allowed in the path');
      writeError(res, err, path.startsWith('/v1/'), newRequestId(req.headers['x-request-id']));
      return;
    }
    if (authorize && !OPEN_PATHS.has(path) && !authorize(req.headers.authorization)) {
      const v1 = url.startsWith('/v1/');
      const err = new GpumuxError('UNAUTHORIZED', 'missing or invalid bearer token');
      writeError(res, err, v1, newRequestId(req.headers['x-request-id']), { 'www-authenticate': 'Bearer' });
      return;
    }
    const route = url.charCodeAt(0) === 47 /* / */ ? matchProxyRoute(req.method, url) : null;
    if (route) void proxy(d, req, res, route, url);
    else void honoListener(req, res);
  };
}

const bodyLimitFor = (d: HandlerDeps, route: ProxyRoute): number =>
  d.inventory.bodyLimit(route.model, route.kind === 'detect' ? 'detect' : 'infer', d.maxBodyBytes);

/** The client, for the per-client cap: its token when auth is on (one client, many addresses), else its address. */
const clientKey = (d: HandlerDeps, req: IncomingMessage): string =>
  (d.authorize ? req.headers.authorization : undefined) ?? req.socket.remoteAddress ?? '';

/** Answers a request that failed before an answer went out; returns the status the client got. */
function answerError(
  d: HandlerDeps,
  err: unknown,
  res: ServerResponse,
  route: ProxyRoute,
  requestId: string,
  cancel: Cancellation,
  body: HeldBody | undefined,
): number {
  const e = toGpumuxError(
    cancel.expired ? new GpumuxError('DEADLINE_EXCEEDED', 'deadline exceeded', { cause: err }) : err,
  );
  if (e.code === 'INTERNAL') d.logger.error('proxy failed', { err, requestId });
  // A body refused for its size or its pace is not worth reading to the end: close after the answer.
  // (Anything else refused mid-body — a full queue — is drained by Node and the connection kept.)
  const unread =
    body !== undefined && !body.complete && (e.status === 408 || e.status === 413)
      ? { connection: 'close' }
      : undefined;
  if (e.code !== 'CLIENT_CLOSED') writeError(res, e, route.v1, requestId, unread);
  return e.status;
}

/**
 * Refuses now what admission would refuse (unknown model, no replica, queue full), before a byte of the body
 * is held; returns the version the request goes to.
 */
function admit(d: HandlerDeps, req: IncomingMessage, route: ProxyRoute): string | null {
  const version = d.chooseVersion ? d.chooseVersion(route.model, route.version, req.headers) : route.version;
  const refused = d.admission.refusal({ model: route.model, version, now: Date.now(), gpuOf: d.gpuOf });
  if (refused) throw refused;
  return version;
}

/** One proxied request, from the per-client cap to the observer: the client always gets an answer. */
async function proxy(
  d: HandlerDeps,
  req: IncomingMessage,
  res: ServerResponse,
  route: ProxyRoute,
  url: string,
): Promise<void> {
  const { clientLimit } = d;
  const started = performance.now();
  const requestId = newRequestId(req.headers['x-request-id']);
  const cancel = new Cancellation();
  let timer: NodeJS.Timeout | undefined;
  const onClose = (): void => {
    if (!res.writableFinished) cancel.cancel(false);
  };
  let status = 500;
  let body: HeldBody | undefined;
  const client = clientLimit ? clientKey(d, req) : undefined;
  let counted = false;
  try {
    if (client !== undefined) {
      const capped = clientLimit!.enter(client);
      if (capped) throw capped;
      counted = true;
    }
    const ms = deadlineMs(req.headers['timeout'], d.defaultTimeoutMs);
    timer = setTimeout(() => cancel.cancel(true), ms);
    res.once('close', onClose);
    const version = admit(d, req, route);
    body =
      route.method === 'POST'
        ? HeldBody.read(req, bodyLimitFor(d, route), d.bodyBudget, cancel, d.uploadPace)
        : HeldBody.empty();
    // Small bodies are sent whole (one write upstream); large ones stream once their pace is proven: a
    // replica slot is taken for work, not for waiting on a slow client (HeldBody.ready).
    await body.ready();
    const base = { model: route.model, version, requestId, cancel };
    const contentType = req.headers['content-type'] ?? '';
    const multiFrame =
      route.kind === 'detect' && contentType.startsWith('multipart/form-data')
        ? await multiFrameStatus(d, route, url, contentType, body, base, res)
        : null;
    status =
      multiFrame ?? (await d.forwarder.forward({ ...base, req, res, path: url, method: route.method, body }));
  } catch (err) {
    status = answerError(d, err, res, route, requestId, cancel, body);
  } finally {
    if (counted) clientLimit!.leave(client!);
    if (timer) clearTimeout(timer);
    res.off('close', onClose);
    body?.release();
    // Unknown model names stay out of metric labels (a client could otherwise create series at will).
    const model = d.inventory.byModel(route.model).length > 0 ? route.model : '_unknown';
    d.observer.done(model, status, (performance.now() - started) / 1000);
  }
}

/** A multipart detect: answered here across replicas when it has several frames (null: one frame, forwarded). */
function multiFrameStatus(
  d: HandlerDeps,
  route: ProxyRoute,
  url: string,
  contentType: string,
  body: HeldBody,
  base: { model: string; version: string | null; requestId: string; cancel: Cancellation },
  res: ServerResponse,
): Promise<number | null> {
  const limit = bodyLimitFor(d, route);
  return answerMultiFrame(d.forwarder, contentType, body, limit, d.maxFramesPerRequest, base, url, res);
}
