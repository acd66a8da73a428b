import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadModel, parseManifest, ManifestError } from './load.js';

const shapes = JSON.parse(readFileSync(new URL('../shapes/manifest.json', import.meta.url), 'utf8')) as Record<
  string,
  unknown
>;

function errorOf(json: unknown): ManifestError {
  try {
    parseManifest(json);
  } catch (err) {
    return err as ManifestError;
  }
  throw new Error('expected the manifest to be refused');
}

describe('manifest', () => {
  it.each(['models/shapes', 'models/shapes-raw', 'models/codetr'])('ships a valid manifest in %s', async (dir) => {
    const model = await loadModel(dir);
    expect(model.onnxPath.endsWith('.onnx')).toBe(true);
    expect(model.manifest.labels.length).toBeGreaterThan(0);
  });

  it('declares the seed footprint for Co-DETR in MiB as nvidia-smi reports it', async () => {
    const { manifest } = await loadModel('models/codetr');
    expect(manifest.memory.declaredBytes).toBe(9830 * 1024 * 1024);
    expect(manifest.labels).toHaveLength(80);
    expect(manifest.preprocess.resize.scale).toEqual([2048, 1280]);
  });

  it.each([
    ['a negative bucket side', { preprocess: { ...(shapes.preprocess as object), buckets: [[480, -1]] } }, 'preprocess.buckets[0][1]'],
    ['a zero max batch', { batching: { maxBatch: 0 } }, 'batching.maxBatch'],
    ['an unknown output kind', { outputs: { kind: 'masks' } }, 'outputs.kind'],
    ['an upper-case name', { name: 'Shapes' }, 'name'],
    ['an unknown field', { colour: 'red' }, '(root)'],
    ['a bad sha256', { onnx: { file: 'm.onnx', sha256: 'xyz' } }, 'onnx.sha256'],
  ])('refuses %s and names the field', (_what, patch, field) => {
    const err = errorOf({ ...shapes, ...patch });
    expect(err).toBeInstanceOf(ManifestError);
    expect(err.message).toContain(field === '(root)' ? 'colour' : field);
  });

  it('refuses host normalisation on a uint8 input with the reason', () => {
    const err = errorOf({
      ...shapes,
      preprocess: { ...(shapes.preprocess as object), normalize: { mean: [0, 0, 0], std: [1, 1, 1] } },
    });
    expect(err.message).toContain('preprocess.normalize');
    expect(err.message).toContain('inGraph');
  });
});
