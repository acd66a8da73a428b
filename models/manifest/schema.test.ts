import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadModel, parseManifest, ManifestError } from './load.js';
import { graphBucket } from './schema.js';

const shapes = JSON.parse(
  readFileSync(new URL('../shapes/manifest.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;

function errorOf(json: unknown): ManifestError {
  try {
    parseManifest(json);
  } catch (err) {
    return err as ManifestError;
  }
  throw new Error('expected the manifest to be refused');
}

describe('manifest', () => {
  it.each(['models/shapes', 'models/shapes-raw', 'models/shapes-detr', 'models/codetr'])(
    'ships a valid manifest in %s',
    async (dir) => {
      const model = await loadModel(dir);
      expect(model.onnxPath.endsWith('.onnx')).toBe(true);
      expect(model.manifest.labels.length).toBeGreaterThan(0);
    },
  );

  it("declares Co-DETR's footprint in whole MiB, at least the seed's 9830 MiB, the same as for its max batch", async () => {
    const { manifest } = await loadModel('models/codetr');
    expect(manifest.memory.declaredBytes % (1024 * 1024)).toBe(0);
    expect(manifest.memory.declaredBytes).toBeGreaterThanOrEqual(9830 * 1024 * 1024);
    const atMaxBatch = manifest.memory.byMaxBatch?.find((e) => e.maxBatch === manifest.batching.maxBatch);
    expect(atMaxBatch?.declaredBytes).toBe(manifest.memory.declaredBytes);
    expect(manifest.labels).toHaveLength(80);
    // the host resizes into (1280, 800); the graph enlarges 1.6× to mmdet's Large test scale (2048, 1280)
    expect(manifest.preprocess.resize.scale).toEqual([1280, 800]);
    expect(manifest.preprocess.graphUpscale).toBe(1.6);
    expect(manifest.preprocess.buckets.map((b) => graphBucket(b, 1.6))).toEqual([
      [1152, 2048],
      [1280, 2048],
      [2048, 1152],
      [2048, 1280],
    ]);
  });

  it('defaults graphUpscale to 1, so manifests without it keep their meaning', () => {
    expect('graphUpscale' in (shapes.preprocess as object)).toBe(false);
    expect(parseManifest(shapes).preprocess.graphUpscale).toBe(1);
    const upscaled = parseManifest({
      ...shapes,
      preprocess: { ...(shapes.preprocess as object), graphUpscale: 2 },
    });
    expect(upscaled.preprocess.graphUpscale).toBe(2);
    expect(graphBucket([480, 640], 2)).toEqual([960, 1280]);
  });

  it.each([
    ['below 1 (the graph enlarges; shrinking belongs on the host)', 0.5, 'preprocess.graphUpscale'],
    ['not a number', '1.6', 'preprocess.graphUpscale'],
    ['that makes a graph side fractional (480 × 1.001 = 480.48)', 1.001, 'preprocess.buckets[0]'],
  ])('refuses a graphUpscale %s', (_what, graphUpscale, field) => {
    const err = errorOf({ ...shapes, preprocess: { ...(shapes.preprocess as object), graphUpscale } });
    expect(err.message).toContain(field);
  });

  it.each([
    [
      'a negative bucket side',
      { preprocess: { ...(shapes.preprocess as object), buckets: [[480, -1]] } },
      'preprocess.buckets[0][1]',
    ],
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
