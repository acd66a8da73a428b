import { footprintTerms } from './memory-terms.js';
import type { PlanJson } from './plan-report.js';

/**
 * `gpumux plan --explain`: the margin arithmetic behind each GPU's row, every term named — per model its
 * weights, activations at max batch, arena margin (= the budget ONNX Runtime enforces) and the CUDA overhead
 * outside the arena; per GPU the replicas, the reserve, and whether it fits with how much spare. Also the same
 * sum once the footprints are measured at their declared values (× 1 + footprint margin, as the scheduler
 * counts a measured footprint). GPUs that hold the same replicas print once.
 */

const MiB = 2 ** 20;
const mib = (bytes: number): string => `${Math.round(bytes / MiB)} MiB`;

export interface ExplainModel {
  /** Its label in the plan (`codetr`, or `codetr@2`). */
  label: string;
  maxBatch: number;
  /** Where its footprint figure comes from (`memory.byMaxBatch[1]`, `memory.declaredBytes`). */
  source: string;
  weightsBytes?: number;
}

type PlanGpu = PlanJson['gpus'][number];

const heldBy = (plan: PlanJson, gpu: PlanGpu): PlanJson['replicas'] =>
  plan.replicas.filter((r) => r.node === gpu.node && r.gpuIndex === gpu.index);

/** What makes two GPUs print once: same product, capacity, replicas and footprints. */
const sameKey = (plan: PlanJson, gpu: PlanGpu): string =>
  `${gpu.product}|${gpu.memoryBytes}|${gpu.replicas.join(',')}|${heldBy(plan, gpu)
    .map((r) => r.footprintBytes)
    .join(',')}`;

export function formatPlanExplain(
  plan: PlanJson,
  models: readonly ExplainModel[],
  options: { reserveBytes: number; measuredMargin: number },
): string {
  const { reserveBytes, measuredMargin } = options;
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const gpu of plan.gpus) {
    const held = heldBy(plan, gpu);
    const key = sameKey(plan, gpu);
    if (seen.has(key)) continue;
    seen.add(key);
    const same = plan.gpus.filter((g) => sameKey(plan, g) === key);
    const ids = same.length > 1 ? `${same[0]!.id} … ${same.at(-1)!.id} (${same.length} GPUs)` : gpu.id;
    lines.push(`${ids}: ${gpu.product}, ${mib(gpu.memoryBytes)}`);
    const perModel = new Map<string, { count: number; footprint: number }>();
    gpu.replicas.forEach((label, i) => {
      const e = perModel.get(label) ?? { count: 0, footprint: held[i]?.footprintBytes ?? 0 };
      e.count += 1;
      perModel.set(label, e);
    });
    let used = 0;
    let measured = 0;
    for (const [label, { count, footprint }] of perModel) {
      const m = models.find((x) => x.label === label);
      lines.push(...termRows(label, footprint, m, gpu.product === 'virtual'));
      used += count * footprint;
      measured += count * Math.ceil(footprint * (1 + measuredMargin));
      lines.push(`  ${count} × ${mib(footprint)} = ${mib(count * footprint)}`);
    }
    const verdict = (total: number) =>
      total <= gpu.memoryBytes
        ? `fits, ${mib(gpu.memoryBytes - total)} spare`
        : `does NOT fit: short by ${mib(total - gpu.memoryBytes)}`;
    lines.push(
      `  + reserve ${mib(reserveBytes)} = ${mib(used + reserveBytes)} of ${mib(gpu.memoryBytes)}: ${verdict(used + reserveBytes)}`,
    );
    if (perModel.size > 0)
      lines.push(
        `  measured at the declared peak (× ${1 + measuredMargin}, the arena margin after measurement): ` +
          `${mib(measured)} + reserve ${mib(reserveBytes)} = ${mib(measured + reserveBytes)}: ${verdict(measured + reserveBytes)}`,
      );
  }
  return lines.join('\n') + '\n';
}

/** One model's footprint on a GPU, term by term (memory-terms.ts), per replica. */
function termRows(label: string, footprint: number, m: ExplainModel | undefined, virtual: boolean): string[] {
  const t = footprintTerms(footprint, {
    ...(m?.weightsBytes ? { weightsBytes: m.weightsBytes } : {}),
    virtual,
  });
  const lines = [`  ${label} (max batch ${m?.maxBatch ?? '?'}, ${m?.source ?? 'declared'}), per replica:`];
  const row = (name: string, bytes: number, note = '') =>
    lines.push(`    ${name.padEnd(44)}${mib(bytes).padStart(10)}${note ? `  ${note}` : ''}`);
  row(
    'weights',
    t.weightsBytes,
    m?.weightsBytes ? 'memory.weightsBytes' : 'not declared: inside activations',
  );
  row(`activations at max batch ${m?.maxBatch ?? '?'}`, t.activationsBytes);
  row('arena margin', t.arenaMarginBytes, 'declared figure: none until measured');
  row('= ONNX Runtime arena (--memory-budget)', t.budgetBytes, 'enforced by ORT');
  row('CUDA context + cuBLAS/cuDNN outside the arena', t.nonArenaBytes, virtual ? 'CPU' : 'estimate');
  row('= footprint', t.footprintBytes);
  return lines;
}
