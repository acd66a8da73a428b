import type { Manifest } from '../models/manifest/schema.js';

/**
 * v2 infer carries raw tensors, which for a float model are far bigger than the encoded image: allow the
 * largest legal request (max batch × largest bucket) as JSON text, or the manifest's limit if larger.
 */
export function inferBodyLimit(manifest: Manifest, maxBatch = manifest.batching.maxBatch): number {
  const pixels = Math.max(...manifest.preprocess.buckets.map(([h, w]) => h * w));
  const elements = pixels * 3 * maxBatch;
  const charsPerElement = manifest.inputs.image.datatype === 'UINT8' ? 4 : 16; // "255," / "-1.2345678901234,"
  return Math.max(manifest.limits.maxBodyBytes, elements * charsPerElement + 1024 * 1024);
}
