/**
 * gRPC vs REST (binary tensor extension) for the same frames, straight to a replica and through the gateway:
 * throughput and p50/p99 per setup, and what the gateway adds to the p50.
 *
 * One real replica (models/shapes on onnxruntime CPU, `--grpc-port`) and one real gateway (`gpumux gateway
 * --grpc-port`), each its own process started from the sources; the load generator is this process: a
 * grpc-js client for gRPC, undici's fetch for REST, `--concurrency` calls in flight. The frame is one
 * 480×640 RGB image with a red rectangle, 921,600 raw bytes, the same bytes for every call.
 *
 * `--stand-in` puts a stand-in replica process behind the gateway instead, answering every infer at once
 * with the real replica's answer to this frame (recorded first), so the protocols and the gateway are
 * measured rather than ONNX Runtime.
 *
 *   npx tsx bench/grpc.ts [--seconds 5] [--concurrency 4] [--stand-in] [--json]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { reportedDevice } from '../test/gateway/fake-replica.js';
import { spawnCli } from '../test/helpers/cli-process.js';
import { drawPixels } from '../test/helpers/images.js';
import { startReplica } from '../test/helpers/replica-process.js';
import { grpcClients } from '../test/grpc/client.js';
import { grpcAddressOf } from '../test/grpc/replica-address.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '4' },
    json: { type: 'boolean', default: false },
    'stand-in': { type: 'boolean', default: false },
    'serve-answer': { type: 'string' },
  },
});
const seconds = Number(args.seconds);
const concurrency = Number(args.concurrency);

if (args['serve-answer'] !== undefined) {
  // Child mode: a stand-in replica (the /v1/stats contract) answering every infer with the recorded answer.
  const recorded = JSON.parse(readFileSync(args['serve-answer'], 'utf8')) as {
    body: string;
    headerLength: string;
  };
  const answer = Buffer.from(recorded.body, 'base64');
  const stats = JSON.stringify({
    replicaId: 'stand-in',
    model: 'shapes',
    version: '1',
    state: 'ready',
    ready: true,
    device: reportedDevice(null, 0),
    footprint: { bytes: 1e8, method: 'rss', peakBytes: 1e8 },
    queueLength: 0,
    queueCapacity: 64,
    inFlight: 0,
    maxBatch: 8,
    ewmaServiceSeconds: 0.001,
    busyRatio: 0,
    processRssBytes: 1e8,
    startedAt: new Date().toISOString(),
    uptimeSeconds: 1,
    requestsTotal: 0,
    framesTotal: 0,
    errorsTotal: 0,
  });
  const server = createHttpServer((req, res) => {
    if (req.url === '/v1/stats')
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(stats);
    req.resume();
    req.on('end', () =>
      res
        .writeHead(200, {
          'content-type': 'application/octet-stream',
          'inference-header-content-length': recorded.headerLength,
          'content-length': answer.byteLength,
        })
        .end(answer),
    );
  });
  server.keepAliveTimeout = 65_000;
  server.listen(0, '127.0.0.1', () =>
    console.log(`http://127.0.0.1:${(server.address() as { port: number }).port}`),
  );
  await new Promise(() => undefined);
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function until(check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > end) throw new Error('not ready in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

const pixels = Buffer.from(
  drawPixels({ width: 640, height: 480, rects: [{ box: [100, 120, 300, 260], color: 'red' }] }).data,
);
const header = Buffer.from(
  JSON.stringify({
    inputs: [
      {
        name: 'images',
        datatype: 'UINT8',
        shape: [1, 480, 640, 3],
        parameters: { binary_data_size: pixels.length },
      },
    ],
    parameters: { binary_data_output: true },
  }),
);
const restBody = Buffer.concat([header, pixels]);
const restHeaders = {
  'content-type': 'application/octet-stream',
  'inference-header-content-length': String(header.byteLength),
};
const grpcRequest = {
  model_name: 'shapes',
  inputs: [{ name: 'images', datatype: 'UINT8', shape: [1, 480, 640, 3] }],
  raw_input_contents: [pixels],
};

type Call = () => Promise<void>;

function restCall(url: string): Call {
  return async () => {
    const res = await fetch(`${url}/v2/models/shapes/infer`, {
      method: 'POST',
      body: restBody,
      headers: restHeaders,
    });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`REST ${res.status}`);
  };
}

function grpcCall(address: string): { call: Call; close(): void } {
  const c = grpcClients(address);
  return { call: async () => void (await c.inference.ModelInfer(grpcRequest)), close: () => c.close() };
}

/** A stand-in replica process serving the real replica's answer to this frame. */
async function startStandIn(replicaUrl: string): Promise<{ url: string; stop(): void }> {
  const res = await fetch(`${replicaUrl}/v2/models/shapes/infer`, {
    method: 'POST',
    body: restBody,
    headers: restHeaders,
  });
  const file = join(mkdtempSync(join(tmpdir(), 'gpumux-bench-grpc-')), 'answer.json');
  const body = Buffer.from(await res.arrayBuffer()).toString('base64');
  writeFileSync(
    file,
    JSON.stringify({ body, headerLength: res.headers.get('inference-header-content-length') }),
  );
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, ['--import', 'tsx', self, '--serve-answer', file], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve) =>
    child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim())),
  );
  return { url, stop: () => child.kill('SIGTERM') };
}

interface Result {
  setup: string;
  requests: number;
  errors: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
const r2 = (x: number) => Math.round(x * 100) / 100;

async function measure(setup: string, call: Call): Promise<Result> {
  for (let i = 0; i < 5; i++) await call(); // warm connections and code paths
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        try {
          await call();
          latencies.push(performance.now() - t);
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    setup,
    requests: latencies.length,
    errors,
    rps: r2(latencies.length / elapsed),
    p50Ms: r2(quantile(latencies, 0.5)),
    p99Ms: r2(quantile(latencies, 0.99)),
  };
}

async function main(): Promise<void> {
  const replica = await startReplica({ args: ['--grpc-port', '0'], env: { GPUMUX_LOG_LEVEL: 'warn' } });
  const standIn = args['stand-in'] ? await startStandIn(replica.url) : undefined;
  const upstream = standIn?.url ?? replica.url;
  const target = standIn ? 'stand-in' : 'replica';
  const [port, adminPort, grpcPort] = [await freePort(), await freePort(), await freePort()];
  const gateway = spawnCli(
    [
      'gateway',
      '--host=127.0.0.1',
      `--port=${port}`,
      `--admin-port=${adminPort}`,
      `--grpc-port=${grpcPort}`,
      `--replica=${upstream}`,
      '--poll-interval=200ms',
    ],
    { GPUMUX_LOG_LEVEL: 'warn' },
  );
  const gatewayUrl = `http://127.0.0.1:${port}`;
  try {
    await until(async () => (await fetch(`${gatewayUrl}/v2/health/ready`)).status === 200);
    const direct = grpcCall(grpcAddressOf(replica));
    const viaGateway = grpcCall(`127.0.0.1:${grpcPort}`);
    // One run, the setups in turn (same frames, same concurrency). The stand-in speaks REST only, so gRPC
    // straight to a replica is always the real one (its gRPC is its own REST app in-process).
    const results = [
      await measure(`REST binary → ${target}`, restCall(upstream)),
      await measure('gRPC raw → replica', direct.call),
      await measure(`REST binary → gateway → ${target}`, restCall(gatewayUrl)),
      await measure(`gRPC raw → gateway → ${target}`, viaGateway.call),
    ];
    direct.close();
    viaGateway.close();
    const [restDirect, , restGw, grpcGw] = results as [Result, Result, Result, Result];
    const added = {
      restGatewayAddedP50Ms: r2(restGw.p50Ms - restDirect.p50Ms),
      // against REST straight to the same upstream: the gateway speaks REST to replicas either way
      grpcGatewayAddedP50Ms: r2(grpcGw.p50Ms - restDirect.p50Ms),
      grpcVsRestThroughGatewayRps: Math.round((grpcGw.rps / restGw.rps) * 1000) / 1000,
    };
    if (args.json)
      console.log(JSON.stringify({ seconds, concurrency, standIn: !!standIn, results, ...added }));
    else {
      console.log(
        `models/shapes${standIn ? ' (stand-in answers at once)' : ''}, 480x640 UINT8 frame (921,600 B), ` +
          `concurrency ${concurrency}, ${seconds} s per setup`,
      );
      console.table(results);
      console.log(
        `gateway adds to p50 (vs REST straight to the ${target}): REST ${added.restGatewayAddedP50Ms} ms, ` +
          `gRPC ${added.grpcGatewayAddedP50Ms} ms; gRPC/REST throughput through the gateway: ` +
          `${added.grpcVsRestThroughGatewayRps}`,
      );
    }
  } finally {
    gateway.kill('SIGTERM');
    standIn?.stop();
    await replica.stop();
  }
}

await main();
