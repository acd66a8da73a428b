/**
 * gRPC vs REST (binary tensor extension) for the same frames, straight to a replica and through the gateway:
 * throughput and p50/p99 per setup, and what the gateway adds to the p50 of each protocol.
 *
 * One real replica (models/shapes on onnxruntime CPU, `--grpc-port`) and one real gateway (`gpumux gateway
 * --grpc-port`), each its own process started from the sources; the load generator is this process: a
 * grpc-js client for gRPC, undici's fetch for REST, `--concurrency` calls in flight. The frame is one
 * 480×640 RGB image with a red rectangle, 921,600 raw bytes, the same bytes for every call.
 *
 *   npx tsx bench/grpc.ts [--seconds 5] [--concurrency 4] [--json]
 */
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
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
  },
});
const seconds = Number(args.seconds);
const concurrency = Number(args.concurrency);

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
      headers: {
        'content-type': 'application/octet-stream',
        'inference-header-content-length': String(header.byteLength),
      },
    });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`REST ${res.status}`);
  };
}

function grpcCall(address: string): { call: Call; close(): void } {
  const c = grpcClients(address);
  return { call: async () => void (await c.inference.ModelInfer(grpcRequest)), close: () => c.close() };
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
  const r = (x: number) => Math.round(x * 100) / 100;
  return {
    setup,
    requests: latencies.length,
    errors,
    rps: r(latencies.length / elapsed),
    p50Ms: r(quantile(latencies, 0.5)),
    p99Ms: r(quantile(latencies, 0.99)),
  };
}

async function main(): Promise<void> {
  const replica = await startReplica({ args: ['--grpc-port', '0'], env: { GPUMUX_LOG_LEVEL: 'warn' } });
  const [port, adminPort, grpcPort] = [await freePort(), await freePort(), await freePort()];
  const gateway = spawnCli(
    [
      'gateway',
      '--host=127.0.0.1',
      `--port=${port}`,
      `--admin-port=${adminPort}`,
      `--grpc-port=${grpcPort}`,
      `--replica=${replica.url}`,
      '--poll-interval=200ms',
    ],
    { GPUMUX_LOG_LEVEL: 'warn' },
  );
  const gatewayUrl = `http://127.0.0.1:${port}`;
  try {
    await until(async () => (await fetch(`${gatewayUrl}/v2/health/ready`)).status === 200);
    const direct = grpcCall(grpcAddressOf(replica));
    const viaGateway = grpcCall(`127.0.0.1:${grpcPort}`);
    // One run, the setups in turn (same frames, same concurrency).
    const results = [
      await measure('REST binary → replica', restCall(replica.url)),
      await measure('gRPC raw → replica', direct.call),
      await measure('REST binary → gateway → replica', restCall(gatewayUrl)),
      await measure('gRPC raw → gateway → replica', viaGateway.call),
    ];
    direct.close();
    viaGateway.close();
    const [restDirect, grpcDirect, restGw, grpcGw] = results as [Result, Result, Result, Result];
    const added = {
      restGatewayAddedP50Ms: Math.round((restGw.p50Ms - restDirect.p50Ms) * 100) / 100,
      grpcGatewayAddedP50Ms: Math.round((grpcGw.p50Ms - grpcDirect.p50Ms) * 100) / 100,
      grpcVsRestThroughGatewayRps: Math.round((grpcGw.rps / restGw.rps) * 1000) / 1000,
    };
    if (args.json) console.log(JSON.stringify({ seconds, concurrency, results, ...added }));
    else {
      console.log(
        `models/shapes, 480x640 UINT8 frame (921,600 B), concurrency ${concurrency}, ${seconds} s per setup`,
      );
      console.table(results);
      console.log(
        `gateway adds to p50: REST ${added.restGatewayAddedP50Ms} ms, gRPC ${added.grpcGatewayAddedP50Ms} ms; ` +
          `gRPC/REST throughput through the gateway: ${added.grpcVsRestThroughGatewayRps}`,
      );
    }
  } finally {
    gateway.kill('SIGTERM');
    await replica.stop();
  }
}

await main();
