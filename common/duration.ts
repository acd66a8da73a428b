const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `15s`, `500ms`, `5m`, `1h`, or a millisecond count (number or bare digits) → milliseconds. */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new Error(`invalid duration: ${value}`);
    return value;
  }
  const match = /^\s*([0-9]*\.?[0-9]+)\s*(ms|s|m|h)?\s*$/.exec(value);
  if (!match) throw new Error(`invalid duration "${value}" (expected e.g. 250ms, 15s, 5m)`);
  return Math.round(Number(match[1]) * UNITS[match[2] ?? 'ms']!);
}
