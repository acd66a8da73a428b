import { Command, Option } from 'commander';
import { formatBytes, parseBytes } from '../../common/bytes.js';
import { positiveInt, replicasPerGpu } from '../arg-parsers.js';
import { SchedulerConfig } from '../../scheduler/config/schema.js';
import { parseGpuSpec } from '../../scheduler/inventory/gpu-spec.js';
import { loadModelByName, parseModelsSpec, splitVersion } from '../../scheduler/models.js';
import { planPlacement } from '../../scheduler/placement/plan.js';
import { onePerGpu } from '../../scheduler/placement/one-per-gpu.js';
import { DEFAULT_POLICY, POLICIES, type Policy } from '../../scheduler/placement/policy.js';
import {
  chooseMaxBatches,
  formatTradeoff,
  withChosenFootprints,
} from '../../scheduler/placement/max-batch.js';
import {
  declaredByMaxBatch,
  declaredFootprintAt,
  type BatchFootprint,
} from '../../models/manifest/memory.js';
import { formatPlanExplain, type ExplainModel } from '../../scheduler/plan-explain.js';
import { formatPlanTable, planToJson } from '../../scheduler/plan-report.js';
import { modelLabel, type Gpu, type ModelPlan } from '../../scheduler/types.js';

interface PlanFlags {
  gpus: string;
  models: string;
  policy: Policy;
  reserve: string;
  maxPerGpu: number;
  product: string;
  maxBatch?: number;
  json?: boolean;
  explain?: boolean;
  margin: number;
}

/** `gpumux plan`: what a cluster of GPUs becomes with these models, before installing anything. */
export function planCommand(): Command {
  return new Command('plan')
    .description("plan replicas onto GPUs from the models' declared footprints and print the placement")
    .option('--gpus <spec>', 'GPUs: 10x24564MiB, or node-a:4x24GiB,node-b:2x16GiB', '10x24564MiB')
    .option(
      '--models <spec>',
      'models (folders under models/ or paths), name=N for exactly N replicas; without =N as many as fit; ' +
        'name@version plans that version beside others (codetr@1=9,codetr@2=1)',
      'codetr',
    )
    .addOption(new Option('--policy <policy>', 'placement policy').choices(POLICIES).default(DEFAULT_POLICY))
    .option('--reserve <size>', 'memory kept free per GPU', '512MiB')
    .option('--max-per-gpu <n>', 'at most this many replicas per GPU (0 = no cap)', replicasPerGpu, 0)
    .option('--product <name>', 'GPU product name to show', 'NVIDIA GeForce RTX 4090')
    .option(
      '--max-batch <n>',
      "plan for replicas at this max batch (default: the largest that keeps the packing; needs the manifest's memory.byMaxBatch)",
      positiveInt,
    )
    .option('--json', 'print { gpus, replicas, memoryUtilization } as JSON')
    .option(
      '--explain',
      "show each GPU's memory arithmetic: weights, activations, arena margin, CUDA overhead, reserve → fits/spare",
    )
    .option(
      '--margin <ratio>',
      "the scheduler's footprintMargin: a measured footprint counts × (1 + margin) (shown by --explain)",
      Number,
      SchedulerConfig.shape.footprintMargin.parse(undefined), // the scheduler's default: one source
    )
    .action(runPlan);
}

type Manifest = Awaited<ReturnType<typeof loadModelByName>>['manifest'];

/** The models of `--models` as the planner sees them, each with its manifest and footprint table. */
interface PlanModels {
  models: ModelPlan[];
  perBatch: Map<string, BatchFootprint[]>;
  explained: (Omit<ExplainModel, 'maxBatch' | 'source' | 'label'> & {
    manifest: Manifest;
    model: ModelPlan;
  })[];
}

async function loadPlanModels(spec: string): Promise<PlanModels> {
  const loaded: PlanModels = { models: [], perBatch: new Map(), explained: [] };
  for (const { name, count } of parseModelsSpec(spec)) {
    const { folder, version } = splitVersion(name);
    const { manifest } = await loadModelByName(folder);
    if (manifest.memory.byMaxBatch)
      loaded.perBatch.set(manifest.name, declaredByMaxBatch(manifest.memory, manifest.batching.maxBatch));
    const model: ModelPlan = {
      name: manifest.name,
      version: version ?? manifest.version,
      footprintBytes: manifest.memory.declaredBytes,
      minReplicas: count ?? 0,
      desiredReplicas: count ?? Infinity,
    };
    loaded.models.push(model);
    loaded.explained.push({
      manifest,
      model,
      ...(manifest.memory.weightsBytes ? { weightsBytes: manifest.memory.weightsBytes } : {}),
    });
  }
  return loaded;
}

async function runPlan(flags: PlanFlags): Promise<void> {
  const gpus = parseGpuSpec(flags.gpus, { product: flags.product, virtual: false });
  const reserveBytes = parseBytes(flags.reserve);
  const { models, perBatch, explained } = await loadPlanModels(flags.models);
  const inputOf = (planned: ModelPlan[]) => ({
    gpus,
    models: planned,
    policy: flags.policy,
    reserveBytes,
    maxReplicasPerGpu: flags.maxPerGpu,
  });
  const choices = chooseMaxBatches({
    candidates: [...perBatch].map(([name, table]) => ({ key: name, model: name, table })),
    inputFor: (chosen) => inputOf(withChosenFootprints(models, chosen)),
    forced: flags.maxBatch,
  });
  const planned = withChosenFootprints(models, new Map(choices.map((c) => [c.key, c])));
  const result = planPlacement(inputOf(planned));
  const plan = planToJson(result, reserveBytes);
  const label = (m: ModelPlan): string => modelLabel(m.name, m.version, result.versionedModels);
  const nowhere = planned.filter(
    (m) => !result.replicas.some((r) => r.model === m.name && r.version === m.version),
  );
  if (flags.json) {
    const maxBatch = choices.map(({ model, rows, chosen, reason }) => ({ model, rows, chosen, reason }));
    process.stdout.write(JSON.stringify({ ...plan, maxBatch }, null, 2) + '\n');
    if (nowhere.length) process.exitCode = 2;
    return;
  }
  // the page's comparison too (one place): one replica on every GPU, whatever count was asked
  const seed = onePerGpu(gpus, planned, reserveBytes);
  process.stdout.write(formatPlanTable(plan, planToJson(seed, reserveBytes)));
  for (const choice of choices) process.stdout.write('\n' + formatTradeoff(choice) + '\n');
  if (flags.explain) {
    const terms = explained.map(({ manifest, model, ...rest }) => {
      const maxBatch = choices.find((c) => c.model === manifest.name)?.chosen ?? manifest.batching.maxBatch;
      return {
        ...rest,
        label: label(model),
        maxBatch,
        source: declaredFootprintAt(manifest, maxBatch).source,
      };
    });
    process.stdout.write(
      '\n' + formatPlanExplain(plan, terms, { reserveBytes, measuredMargin: flags.margin }),
    );
  }
  if (result.unplaced.some((u) => u.count > 0 && planned.find((m) => label(m) === u.model)?.minReplicas))
    process.exitCode = 2;
  for (const m of nowhere) {
    process.stderr.write(
      `gpumux plan: ${noReplicaReason(label(m), m, perBatch.get(m.name), gpus, reserveBytes)}\n`,
    );
    process.exitCode = 2;
  }
}

/** Why a model gets no replica at all: its smallest declared footprint against the largest GPU's room. */
function noReplicaReason(
  label: string,
  model: ModelPlan,
  perBatch: BatchFootprint[] | undefined,
  gpus: Gpu[],
  reserveBytes: number,
): string {
  const largest = gpus.reduce((a, b) => (b.memoryBytes > a.memoryBytes ? b : a));
  const own = model.footprintBytes; // per GPU product where profiles say so
  const smallest = perBatch?.length
    ? perBatch.reduce((a, b) => (b.footprintBytes < a.footprintBytes ? b : a))
    : { footprintBytes: typeof own === 'number' ? own : own(largest), maxBatch: undefined };
  const room = largest.memoryBytes - reserveBytes;
  const batch = smallest.maxBatch !== undefined ? ` at max batch ${smallest.maxBatch}` : '';
  return room < smallest.footprintBytes
    ? `${label} gets no replica: its declared footprint${batch} (${formatBytes(smallest.footprintBytes)}) is larger ` +
        `than the most any GPU offers (${formatBytes(room)} after the ${formatBytes(reserveBytes)} reserve); ` +
        'use larger GPUs, a smaller export (fewer shapes, max batch 1) or --reserve'
    : `${label} gets no replica: the other models or --max-per-gpu take the room it needs`;
}
