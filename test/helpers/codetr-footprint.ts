import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './replica-process.js';

/** Co-DETR's declared footprint at a max batch (models/codetr/manifest.json `memory.byMaxBatch`), bytes. */
export function codetrDeclaredBytes(maxBatch: number): number {
  const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'models/codetr/manifest.json'), 'utf8')) as {
    memory: { byMaxBatch: { maxBatch: number; declaredBytes: number }[] };
  };
  return manifest.memory.byMaxBatch.find((e) => e.maxBatch === maxBatch)!.declaredBytes;
}
