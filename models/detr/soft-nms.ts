import type { ScoredBox } from './nms.js';

/**
 * Soft-NMS (Bodla et al. 2017) exactly as mmcv 2.x's CPU `softnms` kernel (mmcv/ops/csrc/pytorch/cpu/nms.cpp),
 * which MMDetection's `soft_nms` calls and Co-DINO's test config uses (`nms=dict(type='soft_nms',
 * iou_threshold=0.8)`: linear, sigma 0.5, min_score 1e-3). Instead of dropping the boxes that overlap a kept
 * one, it lowers their scores:
 * - linear: score × (1 − IoU) when IoU ≥ iouThreshold;
 * - gaussian: score × exp(−IoU² / sigma) for every box (iouThreshold unused, as in mmcv).
 * Boxes whose score falls below minScore are dropped. The kernel's order is kept: repeatedly take the highest
 * remaining score (the first of equal ones, in the kernel's swap order), decay the rest; arithmetic in float32
 * like the kernel's. Returns boxes with their decayed scores (float32; untouched ones as given), highest first.
 *
 * Class-aware (mmcv's batched_nms, which offsets each class's boxes apart) is soft-NMS within each label:
 * boxes of other classes have IoU 0, weight 1 for both methods.
 */

export type SoftNmsMethod = 'linear' | 'gaussian';

export interface SoftNmsOptions {
  method: SoftNmsMethod;
  iouThreshold: number;
  /** Gaussian spread; mmcv's default 0.5. */
  sigma?: number | undefined;
  /** mmcv's default 1e-3. */
  minScore?: number | undefined;
}

const f32 = Math.fround;

export function softNms<T extends ScoredBox>(
  boxes: readonly T[],
  options: SoftNmsOptions,
  classAware = true,
): T[] {
  if (!classAware) return softNmsOneClass(boxes, options);
  const byLabel = new Map<number, T[]>();
  for (const b of boxes) {
    const group = byLabel.get(b.label);
    if (group) group.push(b);
    else byLabel.set(b.label, [b]);
  }
  const kept = [...byLabel.values()].flatMap((group) => softNmsOneClass(group, options));
  return kept.sort((a, b) => b.score - a.score);
}

function softNmsOneClass<T extends ScoredBox>(input: readonly T[], options: SoftNmsOptions): T[] {
  const method = options.method === 'linear' ? 1 : 2;
  const threshold = f32(options.iouThreshold);
  const sigma = f32(options.sigma ?? 0.5);
  const minScore = f32(options.minScore ?? 1e-3);
  // parallel arrays permuted in place, as the kernel does
  const items = input.map((b) => ({
    src: b,
    x1: f32(b.box[0]),
    y1: f32(b.box[1]),
    x2: f32(b.box[2]),
    y2: f32(b.box[3]),
    score: f32(b.score),
    decayed: false,
    area: f32(f32(f32(b.box[2]) - f32(b.box[0])) * f32(f32(b.box[3]) - f32(b.box[1]))),
  }));
  let n = items.length;
  const out: T[] = [];
  for (let i = 0; i < n; i++) {
    let maxPos = i;
    for (let pos = i + 1; pos < n; pos++) if (items[maxPos]!.score < items[pos]!.score) maxPos = pos;
    [items[i], items[maxPos]] = [items[maxPos]!, items[i]!];
    const top = items[i]!;
    out.push({ ...top.src, score: top.decayed ? top.score : top.src.score }); // untouched scores stay exact
    for (let pos = i + 1; pos < n; pos++) {
      const other = items[pos]!;
      const w = Math.max(0, f32(Math.min(top.x2, other.x2) - Math.max(top.x1, other.x1)));
      const h = Math.max(0, f32(Math.min(top.y2, other.y2) - Math.max(top.y1, other.y1)));
      const inter = f32(w * h);
      const overlap = f32(inter / f32(f32(top.area + other.area) - inter));
      let weight = 1;
      if (method === 1) {
        if (overlap >= threshold) weight = f32(1 - overlap);
      } else {
        weight = f32(Math.exp(f32(-f32(overlap * overlap) / sigma)));
      }
      if (weight !== 1) {
        other.score = f32(other.score * weight);
        other.decayed = true;
      }
      if (other.score < minScore) {
        // the kernel moves the last box into this slot and looks at it next
        items[pos] = items[n - 1]!;
        n--;
        pos--;
      }
    }
  }
  return out;
}
