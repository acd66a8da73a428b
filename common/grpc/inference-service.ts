import type { Metadata, sendUnaryData, ServerUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import { GpumuxError, toGpumuxError } from '../errors.js';
import { callContext, type CallContext } from './call-context.js';
import { fromRestInfer, modelPath, toRestInfer } from './infer-bridge.js';
import type { ModelInferRequest, ModelRef } from './messages.js';
import type { RestCall, RestRequest, RestResponse } from './rest-call.js';
import { fromRestError, toServiceError } from './status.js';
import { HEADER_LENGTH } from '../http/v2-headers.js';

export interface InferenceServiceOptions {
  /** The REST API these RPCs stand on (see rest-call.ts). */
  call: RestCall;
  /** Bearer check on every RPC but ServerLive/ServerReady (the REST probes are open too); none: open. */
  authorize?: ((authorization: string | undefined) => boolean) | undefined;
  /** Deadline for calls that set none (the REST default `timeout`); Infinity: none. */
  defaultTimeoutMs?: number;
  /** One finished call: its RPC, the model (if any), the HTTP status REST would have answered, seconds. */
  observe?: (info: { rpc: string; model: string | null; status: number; seconds: number }) => void;
}

type Json = Record<string, unknown>;

/** What a handler may do: GET or POST on the REST API within the call's deadline. */
interface Rest {
  requestId: string;
  get: (path: string) => Promise<RestResponse>;
  post: (path: string, headers: Record<string, string>, body: Buffer) => Promise<RestResponse>;
}

function json(res: RestResponse): Json {
  return JSON.parse(res.body.toString('utf8')) as Json;
}

function ok(res: RestResponse): RestResponse {
  if (res.status !== 200) throw fromRestError(res.status, res.body, res.header('retry-after'));
  return res;
}

function authorization(metadata: Metadata): string | undefined {
  const v = metadata.get('authorization')[0];
  return v === undefined ? undefined : String(v);
}

/** Transport, credential and layout entries: never passed on as request headers. */
const NOT_FORWARDED = new Set([
  'authorization',
  'content-type',
  'content-length',
  'user-agent',
  'te',
  'host',
  'accept-encoding',
  'x-request-id',
  'timeout',
  HEADER_LENGTH,
]);

/** The client's own metadata as the headers a REST client would have sent (REST forwards those too). */
function forwardedHeaders(metadata: Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata.getMap())) {
    if (typeof value === 'string' && !key.startsWith('grpc-') && !NOT_FORWARDED.has(key)) out[key] = value;
  }
  return out;
}

/**
 * `inference.GRPCInferenceService` over a REST call: each RPC is the v2 REST request of the same meaning, its
 * answer translated back (errors through common/errors.ts's GRPC_STATUS). What REST validates, limits,
 * counts and retries, gRPC gets by construction.
 *
 * @example
 * server.addService(inferenceServiceDefinition(), inferenceService({ call: (r) => restOf(app, r) }));
 */
export function inferenceService(options: InferenceServiceOptions): UntypedServiceImplementation {
  const unary = <Req>(rpc: string, open: boolean, handler: Handler<Req>) =>
    function handleUnary(c: ServerUnaryCall<Json, unknown>, callback: sendUnaryData<unknown>): void {
      void answerUnary(options, rpc, open, handler, c, callback);
    };
  const modelGet = async (
    ref: ModelRef,
    suffix: string,
    get: (path: string) => Promise<RestResponse>,
  ): Promise<Json> => json(ok(await get(modelPath(ref.name, ref.version, suffix))));

  return {
    ServerLive: unary('ServerLive', true, async (_, { get }) => ({
      live: (await get('/v2/health/live')).status === 200,
    })),
    ServerReady: unary('ServerReady', true, async (_, { get }) => ({
      ready: (await get('/v2/health/ready')).status === 200,
    })),
    ModelReady: unary('ModelReady', false, async (ref: ModelRef, { get }) => {
      const res = await get(modelPath(ref.name, ref.version, '/ready'));
      if (res.status === 200 || res.status === 503) return { ready: res.status === 200 };
      throw fromRestError(res.status, res.body, undefined);
    }),
    ServerMetadata: unary('ServerMetadata', false, async (_, { get }) => json(ok(await get('/v2')))),
    ModelMetadata: unary('ModelMetadata', false, (ref: ModelRef, { get }) => modelGet(ref, '', get)),
    ModelConfig: unary('ModelConfig', false, async (ref: ModelRef, { get }) => ({
      config: await modelGet(ref, '/config', get),
    })),
    ModelStatistics: unary('ModelStatistics', false, async (ref: ModelRef, { get }) =>
      ref.name === '' ? json(ok(await get('/v2/models/stats'))) : modelGet(ref, '/stats', get),
    ),
    RepositoryIndex: unary('RepositoryIndex', false, async (req: { ready: boolean }, { post }) => {
      const body = Buffer.from(JSON.stringify({ ready: req.ready }));
      const res = ok(await post('/v2/repository/index', { 'content-type': 'application/json' }, body));
      return { models: JSON.parse(res.body.toString('utf8')) as unknown };
    }),
    ModelInfer: unary('ModelInfer', false, async (request: ModelInferRequest, { post }) => {
      const rest = toRestInfer(request);
      const res = ok(await post(rest.path, rest.headers, rest.body));
      return fromRestInfer(res.body, res.header(HEADER_LENGTH));
    }),
  };
}

type Handler<Req> = (request: Req, rest: Rest) => Promise<unknown>;

/** One unary call: checks its token, runs `handler` over REST within the call's deadline, answers, observes. */
async function answerUnary<Req>(
  { call, authorize, defaultTimeoutMs = Infinity, observe }: InferenceServiceOptions,
  rpc: string,
  open: boolean,
  handler: Handler<Req>,
  c: ServerUnaryCall<Json, unknown>,
  callback: sendUnaryData<unknown>,
): Promise<void> {
  const started = performance.now();
  const request = c.request as unknown as { name?: string; model_name?: string };
  const model = request.model_name ?? request.name ?? null;
  const finish = (status: number): void =>
    observe?.({ rpc, model: model || null, status, seconds: (performance.now() - started) / 1000 });
  let ctx: CallContext | undefined;
  let response: unknown;
  try {
    if (!open && authorize && !authorize(authorization(c.metadata)))
      throw new GpumuxError('UNAUTHORIZED', 'missing or invalid bearer token');
    ctx = callContext(c, defaultTimeoutMs);
    response = await handler(c.request as Req, restOf(call, c.metadata, ctx.requestId, ctx.signal));
  } catch (err) {
    const expired = ctx?.expired() ?? false;
    ctx?.done();
    const e = expired
      ? new GpumuxError('DEADLINE_EXCEEDED', 'deadline exceeded', { cause: err })
      : toGpumuxError(err);
    finish(e.status);
    callback(toServiceError(e));
    return;
  }
  ctx.done();
  finish(200);
  callback(null, response);
}

/** The REST API as a handler sees it: the client's metadata as headers, the call's id and deadline. */
function restOf(call: RestCall, metadata: Metadata, requestId: string, signal: RestRequest['signal']): Rest {
  const client = forwardedHeaders(metadata);
  const send = (
    method: RestRequest['method'],
    path: string,
    headers: Record<string, string>,
    body?: Buffer,
  ) =>
    call({
      method,
      path,
      headers: { ...client, ...headers, 'x-request-id': requestId },
      body,
      requestId,
      signal,
    });
  return {
    requestId,
    get: (path) => send('GET', path, {}),
    post: (path, headers, body) => send('POST', path, headers, body),
  };
}
