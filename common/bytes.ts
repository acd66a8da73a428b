/** Parses sizes such as `24GiB`, `24564MiB`, `9.6GiB`, `512M`, `1e9` into bytes (binary units for Ki/Mi/Gi, SI for K/M/G). */
const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  ki: 1024,
  kib: 1024,
  mi: 1024 ** 2,
  mib: 1024 ** 2,
  gi: 1024 ** 3,
  gib: 1024 ** 3,
  ti: 1024 ** 4,
  tib: 1024 ** 4,
};

export function parseBytes(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) throw new Error(`invalid size: ${input}`);
    return Math.round(input);
  }
  const match = /^\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([a-zA-Z]*)\s*$/.exec(input);
  if (!match) throw new Error(`invalid size "${input}" (expected e.g. 24GiB, 9830MiB, 512M)`);
  const unit = UNITS[match[2]!.toLowerCase()];
  if (unit === undefined)
    throw new Error(`invalid size unit in "${input}" (use B, KiB, MiB, GiB, TiB, K, M, G, T)`);
  return Math.round(Number(match[1]) * unit);
}

export function formatBytes(bytes: number): string {
  const gib = bytes / 1024 ** 3;
  if (gib >= 1) return `${gib.toFixed(gib >= 100 ? 0 : 1)} GiB`;
  const mib = bytes / 1024 ** 2;
  if (mib >= 1) return `${mib.toFixed(0)} MiB`;
  return `${Math.round(bytes / 1024)} KiB`;
}
