import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ReplicaStats } from '../../replica/contract.js';

/**
 * A purpose-built stand-in that speaks the replica contract (/v1/stats, v2 infer, v1 detect, model
 * metadata) for what a real replica cannot do on demand: hang, fail, report a given GPU and memory, answer
 * instantly (to measure the proxy, not the model). Used by the gateway tests and bench/gateway.ts.
 */
export interface FakeGpu {
  node: string;
  index: number;
  capacityBytes: number;
  kind?: 'cuda' | 'virtual';
}

/** The `device` a replica on `gpu` reports in /v1/stats; a CPU device when there is no GPU. */
export function reportedDevice(
  gpu: FakeGpu | null | undefined,
  memoryUsedBytes: number,
): ReplicaStats['device'] {
  if (!gpu) {
    return {
      kind: 'cpu',
      node: 'local',
      index: null,
      uuid: null,
      name: null,
      memoryTotalBytes: null,
      memoryUsedBytes: null,
      virtual: true,
    };
  }
  const virtual = (gpu.kind ?? 'virtual') === 'virtual';
  return {
    kind: gpu.kind ?? 'virtual',
    node: gpu.node,
    index: gpu.index,
    uuid: virtual ? `virtual-${gpu.node}-${gpu.index}` : `GPU-${gpu.node}-${gpu.index}`,
    name: 'virtual',
    memoryTotalBytes: gpu.capacityBytes,
    memoryUsedBytes,
    virtual,
  };
}

export interface FakeReplicaOptions {
  id: string;
  model?: string;
  version?: string;
  /** GPU this replica reports. */
  gpu?: FakeGpu & { usedBytes?: number };
  footprintBytes?: number;
  maxBatch?: number;
  /** Milliseconds each inference takes. */
  delayMs?: number;
  /** The body limit it reports in /v1/stats (and answers 413 beyond, from Content-Length, without reading). */
  maxBodyBytes?: number;
}

export interface FakeReplica {
  url: string;
  id: string;
  /** Inference requests received, in order (path, headers). */
  received: { path: string; headers: IncomingMessage['headers']; bytes: number }[];
  /** Requests currently being served. */
  inFlight(): number;
  /** The most requests served at once since start (what a concurrency limit must bound). */
  maxInFlight(): number;
  /** Inference requests whose connection closed before the answer (the gateway cancelled them). */
  aborted: number;
  /**
   * `ok`: answer; `hang`: never answer inference; `fail`: 500 on inference; `unavailable`: 503 on inference
   * (a dying replica); `unhealthy`: hang on inference and 503 on /v1/stats; `html`: an HTML 502 on inference
   * (what a proxy in front of a replica answers); `trickle`: 200 and two body chunks, then never the end.
   */
  mode: 'ok' | 'hang' | 'fail' | 'unavailable' | 'unhealthy' | 'html' | 'trickle';
  /** A body containing this string is answered 500 (an input the replica fails on), whatever the mode. */
  failOn: string | null;
  state: ReplicaStats['state'];
  delayMs: number;
  close(): Promise<void>;
}

export async function startFakeReplica(options: FakeReplicaOptions): Promise<FakeReplica> {
  const { id, model = 'shapes', version = '1', gpu, footprintBytes = 2 * 1024 ** 3, maxBatch = 8 } = options;
  let inFlight = 0;
  let maxInFlight = 0;
  let served = 0;
  const statsBody = (): ReplicaStats => ({
    replicaId: id,
    model,
    version,
    state: fake.state,
    ready: fake.state === 'ready',
    device: reportedDevice(gpu, (gpu?.usedBytes ?? 0) + footprintBytes),
    footprint: { bytes: footprintBytes, method: 'configured', peakBytes: footprintBytes },
    queueLength: 0,
    queueCapacity: 64,
    inFlight,
    maxBatch,
    ewmaServiceSeconds: 0.01,
    busyRatio: 0,
    processRssBytes: 1e8,
    startedAt: new Date().toISOString(),
    uptimeSeconds: 1,
    requestsTotal: served,
    framesTotal: served,
    errorsTotal: 0,
    ...(options.maxBodyBytes !== undefined && { maxBodyBytes: options.maxBodyBytes }),
  });
  const json = (body: unknown) => Buffer.from(JSON.stringify(body));
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/v1/stats') {
      if (fake.mode === 'unhealthy') {
        res.writeHead(503).end();
        return;
      }
      const body = json(statsBody());
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }).end(body);
      return;
    }
    if (req.method === 'GET' && url.startsWith('/v2/models/')) {
      const body = json({
        name: model,
        versions: [version],
        platform: 'onnxruntime',
        inputs: [],
        outputs: [],
        served_by: id,
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }).end(body);
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(404).end();
      return;
    }
    res.on('close', () => {
      if (!res.writableEnded) fake.aborted++;
    });
    if (options.maxBodyBytes !== undefined && Number(req.headers['content-length']) > options.maxBodyBytes) {
      fake.received.push({ path: url, headers: req.headers, bytes: -1 });
      const body = json({ error: { code: 'PAYLOAD_TOO_LARGE', message: 'too large' } });
      res.writeHead(413, { 'content-length': body.length, connection: 'close' }).end(body);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const bytes = chunks.reduce((n, c) => n + c.length, 0);
      fake.received.push({ path: url, headers: req.headers, bytes });
      if (fake.mode === 'hang' || fake.mode === 'unhealthy') return; // never answers
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const answer = () => {
        inFlight--;
        served++;
        if (fake.mode === 'trickle') {
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          res.write('first chunk;');
          setTimeout(() => res.write('second chunk;'), 20);
          return;
        }
        if (fake.mode === 'html') {
          const body = Buffer.from('<html><body><h1>502 Bad Gateway</h1></body></html>');
          res.writeHead(502, { 'content-type': 'text/html', 'content-length': body.length }).end(body);
          return;
        }
        const poisoned = fake.failOn !== null && Buffer.concat(chunks).includes(fake.failOn);
        if (fake.mode === 'fail' || fake.mode === 'unavailable' || poisoned) {
          const code = fake.mode === 'unavailable' && !poisoned ? 'DRAINING' : 'INFERENCE_FAILED';
          const body = json({ error: { code, message: 'failed on purpose' } });
          res
            .writeHead(code === 'INFERENCE_FAILED' ? 500 : 503, {
              'content-type': 'application/json',
              'content-length': body.length,
            })
            .end(body);
          return;
        }
        const body = json({ replica: id, bytes, path: url });
        res
          .writeHead(200, {
            'content-type': 'application/json',
            'content-length': body.length,
            'x-served-by': id,
          })
          .end(body);
      };
      if (fake.delayMs > 0) setTimeout(answer, fake.delayMs);
      else answer();
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const fake: FakeReplica = {
    url: `http://127.0.0.1:${port}`,
    id,
    received: [],
    inFlight: () => inFlight,
    maxInFlight: () => maxInFlight,
    aborted: 0,
    mode: 'ok',
    failOn: null,
    state: 'ready',
    delayMs: options.delayMs ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return fake;
}
