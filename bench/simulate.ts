/**
 * `npx tsx bench/simulate.ts [--duration 300] [--off-gpu 0.3] [--loads 30,45,60] [--seed 1] [--json]`
 *
 * The REAL placement (scheduler/placement) and the REAL routing (gateway/routing + gateway/inventory) against
 * a simulated cluster (bench/sim/cluster.ts): 10 GPUs × 24564 MiB (RTX 4090), Co-DETR at 9830 MiB and 0.2 s
 * per frame on a free GPU, time-slicing contention, a share of each frame off the GPU, Poisson and bursty
 * arrivals. Side by side:
 *   seed      one replica per GPU, Kubernetes Service random routing (the seed's setup);
 *   1/GPU+rt  one replica per GPU, gpumux routing (isolates the router's effect);
 *   gpumux    gpumux binpack plan (footprint-aware: 2 per GPU) + gpumux routing;
 *   naive×3   three replicas per GPU by device-plugin time-slicing without memory accounting
 *             (PyTorch-like memory: 2.4 GB idle, 9.6 GB while on the GPU), random routing.
 */
import { parseArgs } from 'node:util';
import { parseGpuSpec } from '../scheduler/inventory/gpu-spec.js';
import { planPlacement } from '../scheduler/placement/plan.js';
import { arrivals } from './sim/arrivals.js';
import { simulate, type SimReplica, type SimResult } from './sim/cluster.js';
import { rng } from './sim/heap.js';

const MiB = 1024 ** 2;
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '300' },
    'off-gpu': { type: 'string', default: '0.3' },
    loads: { type: 'string', default: '30,45,60' },
    seed: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
  },
});
const durationS = Number(values.duration);
const offGpu = Number(values['off-gpu']);
const loads = values.loads!.split(',').map(Number);
const seed = Number(values.seed);

const gpus = parseGpuSpec('10x24564MiB', { product: 'NVIDIA GeForce RTX 4090', virtual: false });
const FOOTPRINT = 9830 * MiB;
const codetr = {
  name: 'codetr',
  version: '1',
  footprintBytes: FOOTPRINT,
  minReplicas: 0,
  desiredReplicas: Infinity,
};
const ort = (r: ReturnType<typeof planPlacement>['replicas'][number]): SimReplica => ({
  ...r,
  idleBytes: FOOTPRINT,
  peakBytes: FOOTPRINT,
});

const seedPlan = planPlacement({
  gpus,
  models: [codetr],
  reserveBytes: 512 * MiB,
  maxReplicasPerGpu: 1,
  policy: 'spread',
}).replicas.map(ort);
const packedPlan = planPlacement({ gpus, models: [codetr], reserveBytes: 512 * MiB, policy: 'binpack' });
const naive: SimReplica[] = gpus.flatMap((g) =>
  [0, 1, 2].map(() => ({
    model: 'codetr',
    version: '1',
    node: g.node,
    gpuIndex: g.index,
    footprintBytes: 2.4e9,
    existingId: null,
    idleBytes: 2.4e9,
    peakBytes: 9.6e9,
  })),
);

const setups: { name: string; replicas: SimReplica[]; routing: 'gpumux' | 'random' }[] = [
  { name: 'seed', replicas: seedPlan, routing: 'random' },
  { name: '1/GPU+rt', replicas: seedPlan, routing: 'gpumux' },
  { name: 'gpumux', replicas: packedPlan.replicas.map(ort), routing: 'gpumux' },
  { name: 'naive×3', replicas: naive, routing: 'random' },
];

const rows: ({ arrivals: string; load: number; setup: string; replicas: number } & SimResult)[] = [];
const started = performance.now();
for (const kind of ['poisson', 'bursty'] as const) {
  for (const load of loads) {
    const times = arrivals(kind, load, durationS, rng(seed));
    for (const s of setups) {
      const r = simulate({
        gpus,
        replicas: s.replicas,
        frameSeconds: 0.2,
        offGpuShare: offGpu,
        routing: s.routing,
        arrivals: times,
        random: rng(seed + 1),
      });
      rows.push({ arrivals: kind, load, setup: s.name, replicas: s.replicas.length, ...r });
    }
  }
}
const elapsed = (performance.now() - started) / 1000;

if (values.json) {
  process.stdout.write(JSON.stringify({ durationS, offGpuShare: offGpu, rows }, null, 2) + '\n');
} else {
  const ms = (s: number): string => (Number.isFinite(s) ? `${Math.round(s * 1000)}` : '-');
  const header = [
    'arrivals',
    'load fps',
    'setup',
    'replicas',
    'mem util',
    'fps',
    'p50 ms',
    'p95 ms',
    'p99 ms',
    'OOM',
    '429',
  ];
  const table = [
    header,
    ...rows.map((r) => [
      r.arrivals,
      String(r.load),
      r.setup,
      String(r.replicas),
      `${(r.memoryUtilization * 100).toFixed(0)} %`,
      r.throughput.toFixed(1),
      ms(r.p50),
      ms(r.p95),
      ms(r.p99),
      String(r.failedOom),
      String(r.rejected),
    ]),
  ];
  const w = header.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  const line = (row: string[]): string => '| ' + row.map((c, i) => c.padEnd(w[i]!)).join(' | ') + ' |';
  const out = [
    line(header),
    '|' + w.map((n) => '-'.repeat(n + 2)).join('|') + '|',
    ...table.slice(1).map(line),
  ];
  process.stdout.write(
    `simulated ${durationS} s per cell; 10 × 24564 MiB; Co-DETR 9830 MiB, 0.2 s/frame on a free GPU, ${Math.round(offGpu * 100)} % of it off the GPU; seed ${seed}\n` +
      `gpumux plan: ${packedPlan.replicas.length} replicas, memory utilisation ${(packedPlan.memoryUtilization * 100).toFixed(1)} % (seed: ${seedPlan.length}, 40.0 %)\n\n` +
      out.join('\n') +
      `\n\n(${rows.length} runs in ${elapsed.toFixed(1)} s)\n`,
  );
}
