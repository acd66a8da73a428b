import { parseBytes } from '../../common/bytes.js';
import type { Gpu } from '../types.js';

/**
 * Parses `--gpus`: `2x24GiB` (node `local`), `24GiB` (one GPU), or per node
 * `node-a:4x24GiB,node-b:2x16GiB`. Indices count from 0 on each node.
 *
 * @example parseGpuSpec('node-a:2x24GiB') // [{ node: 'node-a', index: 0, ... }, { node: 'node-a', index: 1, ... }]
 */
export function parseGpuSpec(
  spec: string,
  options: { defaultNode?: string; product?: string; virtual?: boolean } = {},
): Gpu[] {
  const { defaultNode = 'local', product = 'virtual', virtual = true } = options;
  const gpus: Gpu[] = [];
  const next = new Map<string, number>();
  for (const raw of spec.split(',')) {
    const part = raw.trim();
    if (!part) continue;
    const m = /^(?:([A-Za-z0-9][A-Za-z0-9._-]*):)?(?:(\d+)\s*[x×]\s*)?(.+)$/.exec(part);
    if (!m) throw new Error(`invalid --gpus entry "${part}" (expected e.g. 2x24GiB or node-a:4x24GiB)`);
    const node = m[1] ?? defaultNode;
    const count = m[2] === undefined ? 1 : Number(m[2]);
    if (!Number.isInteger(count) || count < 1) throw new Error(`invalid GPU count in "${part}"`);
    // `10x24` would be ten GPUs of 24 bytes: a size without a unit is refused, not guessed
    if (/^\s*[0-9.]+\s*$/.test(m[3]!))
      throw new Error(
        `GPU memory "${m[3]!.trim()}" in "${part}" has no unit: write e.g. ${m[2] ? `${m[2]}x` : ''}${m[3]!.trim()}GiB`,
      );
    const memoryBytes = parseBytes(m[3]!);
    if (memoryBytes <= 0) throw new Error(`GPU memory must be positive in "${part}"`);
    for (let i = 0; i < count; i++) {
      const index = next.get(node) ?? 0;
      next.set(node, index + 1);
      gpus.push({ node, index, memoryBytes, product, virtual });
    }
  }
  if (gpus.length === 0) throw new Error('--gpus names no GPU');
  return gpus;
}
