import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Copies a model folder into `dir` with its manifest cut to the first shape bucket, so warm-up runs one shape
 * and a test's memory figures are that shape's alone. Returns `dir`.
 *
 * @example
 * const model = copyWithOneBucket(await slowShapesModel(20, { scratchMiB: 32 }), mkdtempSync(...));
 */
export function copyWithOneBucket(model: string, dir: string): string {
  cpSync(model, dir, { recursive: true });
  const manifestPath = path.join(dir, 'manifest.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { preprocess: { buckets: number[][] } };
  manifest.preprocess.buckets = manifest.preprocess.buckets.slice(0, 1);
  writeFileSync(manifestPath, JSON.stringify(manifest));
  return dir;
}
