/** Greedy non-maximum suppression over xyxy boxes; class-aware keeps boxes of different labels apart. */

export interface ScoredBox {
  box: [number, number, number, number];
  score: number;
  label: number;
}

export function iou(a: readonly number[], b: readonly number[]): number {
  const ix = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!));
  const iy = Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
  const inter = ix * iy;
  if (inter <= 0) return 0;
  const areaA = (a[2]! - a[0]!) * (a[3]! - a[1]!);
  const areaB = (b[2]! - b[0]!) * (b[3]! - b[1]!);
  return inter / (areaA + areaB - inter);
}

/**
 * Keeps the best-scoring box of every cluster whose IoU exceeds `iouThreshold`. Returns boxes sorted by
 * score, highest first.
 */
export function nms<T extends ScoredBox>(boxes: readonly T[], iouThreshold: number, classAware = true): T[] {
  const sorted = [...boxes].sort((a, b) => b.score - a.score);
  const kept: T[] = [];
  for (const candidate of sorted) {
    const suppressed = kept.some(
      (k) => (!classAware || k.label === candidate.label) && iou(k.box, candidate.box) > iouThreshold,
    );
    if (!suppressed) kept.push(candidate);
  }
  return kept;
}
