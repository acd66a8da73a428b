/**
 * `npx tsx bench/plan-scale.ts [--gpus 1000] [--runs 5]`: time to plan 1,000 GPUs × 5 models with the real
 * planner (scheduler/placement), from scratch and as a steady-state re-plan (everything already running),
 * for every placement policy (throughput, the default, binpack and spread). `--fill`: the smallest model takes whatever is left (tens of thousands of replicas).
 */
import { parseArgs } from 'node:util';
import { parseGpuSpec } from '../scheduler/inventory/gpu-spec.js';
import { overCommitted, planPlacement, type PlacementInput } from '../scheduler/placement/plan.js';
import { POLICIES } from '../scheduler/placement/policy.js';
import type { ExistingReplica, ModelPlan } from '../scheduler/types.js';

const MiB = 1024 ** 2;
const { values } = parseArgs({
  options: {
    gpus: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '5' },
    fill: { type: 'boolean', default: false },
  },
});
const n = Number(values.gpus);
const runs = Number(values.runs);
// 100 nodes of mixed GPUs: 24 GiB (RTX 4090), 48 GiB (L40S), 80 GiB (H100).
const perNode = Math.max(1, Math.round(n / 100));
const spec = Array.from(
  { length: Math.ceil(n / perNode) },
  (_, i) => `node-${String(i).padStart(3, '0')}:${perNode}x${[24564, 46068, 81559][i % 3]}MiB`,
).join(',');
const gpus = parseGpuSpec(spec, { virtual: false }).slice(0, n);
const models: ModelPlan[] = [
  { name: 'codetr', version: '1', footprintBytes: 9830 * MiB, minReplicas: 100, desiredReplicas: 1200 },
  { name: 'dino-s', version: '1', footprintBytes: 4096 * MiB, minReplicas: 50, desiredReplicas: 800 },
  { name: 'rtdetr', version: '1', footprintBytes: 2048 * MiB, minReplicas: 50, desiredReplicas: 1500 },
  { name: 'sam-h', version: '1', footprintBytes: 14336 * MiB, minReplicas: 20, desiredReplicas: 400 },
  {
    name: 'shapes',
    version: '1',
    footprintBytes: 512 * MiB,
    minReplicas: 10,
    desiredReplicas: values.fill ? Infinity : 2000,
  },
];

function time(input: PlacementInput): { ms: number; result: ReturnType<typeof planPlacement> } {
  const samples: number[] = [];
  let result = planPlacement(input);
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    result = planPlacement(input);
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  return { ms: samples[Math.floor(samples.length / 2)]!, result };
}

console.log(
  `${gpus.length} GPUs on ${new Set(gpus.map((g) => g.node)).size} nodes, ${models.length} models; median of ${runs} runs\n`,
);
console.log('| policy | plan | replicas | memory util | median ms |');
console.log('|---|---|---|---|---|');
for (const policy of POLICIES) {
  const fresh = time({ gpus, models, policy, reserveBytes: 512 * MiB });
  if (overCommitted(fresh.result, 512 * MiB).length) throw new Error('over capacity');
  console.log(
    `| ${policy} | from scratch | ${fresh.result.replicas.length} | ${(fresh.result.memoryUtilization * 100).toFixed(1)} % | ${fresh.ms.toFixed(1)} |`,
  );
  const existing: ExistingReplica[] = fresh.result.replicas.map((r, i) => ({
    id: `r${i}`,
    model: r.model,
    version: r.version,
    node: r.node,
    gpuIndex: r.gpuIndex,
    footprintBytes: r.footprintBytes,
  }));
  const steady = time({ gpus, models, policy, reserveBytes: 512 * MiB, existing });
  console.log(
    `| ${policy} | steady re-plan | ${steady.result.replicas.length} (${steady.result.replicas.filter((r) => !r.existingId).length} new) | ${(steady.result.memoryUtilization * 100).toFixed(1)} % | ${steady.ms.toFixed(1)} |`,
  );
}
