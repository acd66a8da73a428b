/**
 * A hung replica under load (issue #19 item 3): two real replicas (models/shapes, onnxruntime CPU) behind a
 * real gateway (this process, `startGateway`), `--clients` closed-loop clients sending one 320×240 JPEG
 * detect each; after `--warm` seconds one replica is SIGSTOPped for `--stopped` seconds (it still accepts
 * TCP), then SIGCONT, then `--after` seconds more. Prints requests, failures, worst wait, p99 and p50, and
 * how long the stopped replica stayed in routing, for each mode:
 *
 * - `per-try`: the shipped defaults (per-try timeout 4 × what the replica needs, 1–30 s; retry budget);
 * - `no-per-try`: the per-try timeout pushed past the test (10 min): the gateway before issue #19.
 *
 *   npm run bench:hung-replica -- [--modes per-try,no-per-try] [--clients 4] [--stopped 10] [--json]
 */
import { parseArgs } from 'node:util';
import { createLogger } from '../common/log.js';
import { startGateway, staticDiscovery, type GatewayConfigInput } from '../gateway/index.js';
import { closedLoop, quantile } from '../test/helpers/closed-loop.js';
import { drawImage } from '../test/helpers/images.js';
import { startReplica, type ReplicaProcess } from '../test/helpers/replica-process.js';

const { values: args } = parseArgs({
  options: {
    modes: { type: 'string', default: 'per-try,no-per-try' },
    clients: { type: 'string', default: '4' },
    warm: { type: 'string', default: '3' },
    stopped: { type: 'string', default: '10' },
    after: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
  },
});

const MODES: Record<string, GatewayConfigInput> = {
  'per-try': {},
  'no-per-try': { retries: { perTryTimeout: { min: '10m', max: '10m' } } },
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Result {
  mode: string;
  requests: number;
  failed: number;
  worstMs: number;
  p99Ms: number;
  p50Ms: number;
  /** From SIGSTOP until the gateway stopped routing to it (ejected or unreachable); null: never. */
  leftRoutingMs: number | null;
}

async function run(mode: string, replicas: [ReplicaProcess, ReplicaProcess]): Promise<Result> {
  const [a, b] = replicas;
  const gw = await startGateway({
    port: 0,
    adminPort: 0,
    host: '127.0.0.1',
    discovery: staticDiscovery([a.url, b.url]),
    logger: createLogger({}, () => undefined),
    config: MODES[mode]!,
  });
  try {
    const stoppedId = new URL(a.url).host;
    const routable = async () => {
      const r = (await gw.clusterView()).gpus.flatMap((g) => g.replicas).find((x) => x.id === stoppedId);
      return r !== undefined && r.state === 'ready' && !r.ejected;
    };
    while (!(await routable())) await sleep(100);
    const image = await drawImage({
      width: 320,
      height: 240,
      rects: [{ box: [20, 30, 120, 110], color: 'red' }],
      format: 'jpeg',
    });
    const load = closedLoop(Number(args.clients), async () => {
      const res = await fetch(`${gw.url}/v1/models/shapes/detect`, {
        method: 'POST',
        body: image,
        headers: { 'content-type': 'image/jpeg' },
      });
      await res.arrayBuffer();
      return res.status;
    });
    await sleep(Number(args.warm) * 1000);
    a.process.kill('SIGSTOP');
    const stoppedAt = performance.now();
    let leftRoutingMs: number | null = null;
    while (performance.now() - stoppedAt < Number(args.stopped) * 1000) {
      if (leftRoutingMs === null && !(await routable())) leftRoutingMs = performance.now() - stoppedAt;
      await sleep(100);
    }
    a.process.kill('SIGCONT');
    await sleep(Number(args.after) * 1000);
    const samples = await load.stop();
    const durations = samples.map((s) => s.durationMs);
    return {
      mode,
      requests: samples.length,
      failed: samples.filter((s) => s.outcome !== 200).length,
      worstMs: Math.round(Math.max(...durations)),
      p99Ms: Math.round(quantile(durations, 0.99)),
      p50Ms: Math.round(quantile(durations, 0.5)),
      leftRoutingMs: leftRoutingMs === null ? null : Math.round(leftRoutingMs),
    };
  } finally {
    a.process.kill('SIGCONT');
    await gw.close();
  }
}

const replicas = (await Promise.all(
  ['a', 'b'].map((id) => startReplica({ args: ['--replica-id', id] })),
)) as [ReplicaProcess, ReplicaProcess];
const results: Result[] = [];
try {
  for (const mode of args.modes.split(',')) {
    if (!(mode in MODES)) throw new Error(`unknown mode ${mode}; one of ${Object.keys(MODES).join(', ')}`);
    results.push(await run(mode, replicas));
  }
} finally {
  await Promise.all(replicas.map((r) => r.stop('SIGKILL')));
}
if (args.json) console.log(JSON.stringify(results, null, 2));
else {
  console.log(
    `${args.clients} closed-loop clients, one of two replicas SIGSTOPped for ${args.stopped} s (warm ${args.warm} s, ${args.after} s after SIGCONT)`,
  );
  console.log('mode         requests  failed  worst ms  p99 ms  p50 ms  left routing after ms');
  for (const r of results)
    console.log(
      `${r.mode.padEnd(12)} ${String(r.requests).padStart(8)}  ${String(r.failed).padStart(6)}  ` +
        `${String(r.worstMs).padStart(8)}  ${String(r.p99Ms).padStart(6)}  ${String(r.p50Ms).padStart(6)}  ` +
        `${r.leftRoutingMs ?? 'never'}`,
    );
}
