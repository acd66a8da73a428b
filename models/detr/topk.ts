/**
 * Indices of the k largest values, largest first (ties: lower index first, like a stable sort).
 * A partial selection keeps a small sorted buffer, so Co-DETR's 900×80 = 72 000 scores with k = 300 cost
 * one pass rather than a full sort.
 */
export function topK(values: ArrayLike<number>, k: number): number[] {
  const n = values.length;
  const limit = Math.min(k, n);
  if (limit <= 0) return [];
  const idx: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (idx.length === limit && !(v > values[idx[limit - 1]!]!)) continue;
    // insertion point: first position whose value is smaller than v (keeps earlier indices first on ties)
    let lo = 0;
    let hi = idx.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (values[idx[mid]!]! >= v) lo = mid + 1;
      else hi = mid;
    }
    idx.splice(lo, 0, i);
    if (idx.length > limit) idx.pop();
  }
  return idx;
}
