/**
 * Min–max normalisation to [0, 1]. `lowerIsBetter` flips it so that 1 is always best. When every value is
 * equal the scorer cannot tell candidates apart, and each gets 1 (it then adds the same to every total).
 */
export function minMaxNormalize(values: readonly number[], lowerIsBetter: boolean): number[] {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const span = max - min;
  if (!(span > 0)) return values.map(() => 1);
  return values.map((v) => (lowerIsBetter ? (max - v) / span : (v - min) / span));
}
