import { formatBytes } from '../common/bytes.js';
import { gpuId, modelLabel } from './types.js';
import type { PlacementResult } from './placement/plan.js';
import { placementPolicy, type Policy } from './placement/policy.js';

/** What `gpumux plan --json` prints: `{ gpus, replicas, memoryUtilization }`. */
export interface PlanJson {
  policy: Policy;
  gpus: {
    id: string;
    node: string;
    index: number;
    product: string;
    memoryBytes: number;
    usedBytes: number;
    reservedBytes: number;
    headroomBytes: number;
    memoryUtilization: number;
    /** One entry per replica: the model's name, or `name@version` when several versions are planned. */
    replicas: string[];
  }[];
  replicas: { model: string; version: string; node: string; gpuIndex: number; footprintBytes: number }[];
  unplaced: { model: string; count: number; reason: string; gpus: { gpu: string; reason: string }[] }[];
  memoryUtilization: number;
}

export function planToJson(result: PlacementResult, reserveBytes: number): PlanJson {
  return {
    policy: result.policy,
    gpus: result.usage.map((u) => ({
      id: gpuId(u.gpu),
      node: u.gpu.node,
      index: u.gpu.index,
      product: u.gpu.product,
      memoryBytes: u.gpu.memoryBytes,
      usedBytes: u.usedBytes,
      reservedBytes: reserveBytes,
      headroomBytes: Math.max(0, u.gpu.memoryBytes - u.usedBytes - reserveBytes),
      memoryUtilization: u.usedBytes / u.gpu.memoryBytes,
      replicas: result.replicas
        .filter((r) => r.node === u.gpu.node && r.gpuIndex === u.gpu.index)
        .map((r) => modelLabel(r.model, r.version, result.versionedModels)),
    })),
    replicas: result.replicas.map(({ model, version, node, gpuIndex, footprintBytes }) => ({
      model,
      version,
      node,
      gpuIndex,
      footprintBytes,
    })),
    unplaced: result.unplaced,
    memoryUtilization: result.memoryUtilization,
  };
}

const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;

/** A table per GPU plus the cluster utilisation, compared with one replica per GPU (no packing). */
export function formatPlanTable(plan: PlanJson, baseline: PlanJson | null): string {
  const rows = [['GPU', 'product', 'memory', 'used', 'headroom', 'util', 'replicas']];
  for (const g of plan.gpus) {
    const counts = new Map<string, number>();
    for (const m of g.replicas) counts.set(m, (counts.get(m) ?? 0) + 1);
    rows.push([
      g.id,
      g.product,
      formatBytes(g.memoryBytes),
      formatBytes(g.usedBytes),
      formatBytes(g.headroomBytes),
      pct(g.memoryUtilization),
      [...counts].map(([m, n]) => `${m}×${n}`).join(' ') || '-',
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  const perModel = new Map<string, number>();
  for (const m of plan.gpus.flatMap((g) => g.replicas)) perModel.set(m, (perModel.get(m) ?? 0) + 1);
  lines.push('');
  lines.push(
    `policy ${plan.policy}; replicas: ${[...perModel].map(([m, n]) => `${m} ${n}`).join(', ') || 'none'}`,
  );
  lines.push(`cluster memory utilisation: ${pct(plan.memoryUtilization)}`);
  if (baseline)
    lines.push(
      `one replica per GPU (no packing): ${pct(baseline.memoryUtilization)} with ${baseline.replicas.length} replicas`,
    );
  for (const u of plan.unplaced) {
    lines.push(`unplaced: ${u.count} × ${u.model} (${u.reason})`);
    // Why each GPU refused it, grouped: "local/0-9: short by 1.2 GiB" reads better than ten lines.
    const byReason = new Map<string, string[]>();
    for (const g of u.gpus) byReason.set(g.reason, [...(byReason.get(g.reason) ?? []), g.gpu]);
    for (const [reason, ids] of byReason)
      lines.push(
        `  ${ids.length > 3 ? `${ids[0]} … ${ids[ids.length - 1]} (${ids.length} GPUs)` : ids.join(', ')}: ${reason}`,
      );
  }
  // A policy may leave whole GPUs free on purpose (binpack: room for a big model); say so, since an operator
  // who asked for fewer replicas than the cluster holds may expect every GPU to be busy.
  const idle = plan.gpus.filter((g) => g.replicas.length === 0).length;
  const { idleNote } = placementPolicy(plan.policy);
  if (idle > 0 && plan.replicas.length > 0)
    lines.push(
      `idle: ${idle} of ${plan.gpus.length} GPUs hold no replica` +
        (idleNote
          ? ` (${idleNote})`
          : plan.replicas.length < plan.gpus.length
            ? ' (fewer replicas than GPUs: each replica has a GPU to itself)'
            : ''),
    );
  return lines.join('\n') + '\n';
}
