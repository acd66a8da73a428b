import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseManifest } from '../../models/manifest/load.js';
import { declaredFootprintAt } from '../../models/manifest/memory.js';
import { REPO_ROOT } from './replica-process.js';

/** Co-DETR's declared footprint at a max batch (models/codetr/manifest.json `memory.byMaxBatch`), bytes. */
export function codetrDeclaredBytes(maxBatch: number): number {
  const json: unknown = JSON.parse(readFileSync(path.join(REPO_ROOT, 'models/codetr/manifest.json'), 'utf8'));
  return declaredFootprintAt(parseManifest(json), maxBatch).bytes;
}
