import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../manifest/load.js';
import { bucketsOf, manifestFromExport, parseLabels } from './manifest-from-export.js';

// The manifest of a team's own export: no mmdet needed, only the template and what the export reported.
const HERE = path.dirname(fileURLToPath(import.meta.url));
const template = JSON.parse(readFileSync(path.join(HERE, '..', 'manifest.json'), 'utf8')) as unknown;
const facts = { numClasses: 3, numQueries: 30, config: 'tiny.py' };
const labels = ['helmet', 'vest', 'person'];

describe('manifest from an export', () => {
  it('carries the labels, buckets and max batch of the export and the template contract', () => {
    const m = manifestFromExport({
      template,
      labels,
      facts,
      shapes: ['1x720x1280', '2x720x1280', '1x800x1280', '2x800x1280'],
      name: 'ppe',
      version: '3',
      scoreThreshold: 0.4,
      sha256: 'a'.repeat(64),
    });
    expect(m.name).toBe('ppe');
    expect(m.version).toBe('3');
    expect(m.labels).toEqual(labels);
    expect(m.preprocess.buckets).toEqual([
      [720, 1280],
      [800, 1280],
    ]);
    expect(m.batching.maxBatch).toBe(2);
    expect(m.preprocess.resize.scale).toEqual([1280, 800]);
    expect(m.postprocess.scoreThreshold).toBe(0.4);
    expect(m.postprocess.topK).toBe(90); // 30 queries x 3 classes: no more pairs exist
    expect(m.postprocess.nms).toMatchObject({ method: 'linear', iouThreshold: 0.8 });
    expect(m.onnx).toMatchObject({ file: 'model.onnx', sha256: 'a'.repeat(64) });
    expect(m.inputs.image).toMatchObject({ name: 'images', datatype: 'UINT8' });
    // the template's batch-2 figure, its batch-1 entry kept for gpumux plan's trade-off, and said where from
    expect(m.memory.byMaxBatch?.map((e) => e.maxBatch)).toEqual([1, 2]);
    expect(m.memory.declaredBytes).toBe(m.memory.byMaxBatch![1]!.declaredBytes);
    expect(m.memory.source).toMatch(/template's figure \(codetr\).*--memory/);
  });

  it("sends the model's channel order: BGR for a config without bgr_to_rgb", () => {
    const m = manifestFromExport({
      template,
      labels,
      facts: { ...facts, colorSpace: 'BGR' },
      shapes: ['1x720x1280'],
    });
    expect(m.preprocess.colorSpace).toBe('BGR');
    expect(manifestFromExport({ template, labels, shapes: ['1x720x1280'] }).preprocess.colorSpace).toBe(
      'RGB',
    );
  });

  it('takes a declared memory of its own, and drops the template table then', () => {
    const m = manifestFromExport({ template, labels, shapes: ['1x640x640'], memoryBytes: 3 * 2 ** 30 });
    expect(m.memory).toMatchObject({ declaredBytes: 3 * 2 ** 30, source: expect.stringMatching(/--memory/) });
    expect(m.memory.byMaxBatch).toBeUndefined();
    expect(m.preprocess.buckets).toEqual([[640, 640]]);
    expect(m.preprocess.resize.scale).toEqual([640, 640]); // keep-ratio into the bucket, not Co-DETR's 1280x800
  });

  it('refuses names that do not match the head, a batch with holes, or no memory for the batch', () => {
    expect(() => manifestFromExport({ template, labels: ['a', 'b'], facts, shapes: ['1x720x1280'] })).toThrow(
      /2 class names for a head with 3 classes \(tiny.py\)/,
    );
    expect(() => manifestFromExport({ template, labels: ['a', 'a', 'b'], shapes: ['1x720x1280'] })).toThrow(
      /repeat: a/,
    );
    expect(() => bucketsOf(['1x720x1280', '2x720x1280', '2x800x1280'])).toThrow(/1x800x1280 are missing/);
    expect(() => bucketsOf(['720x1280'])).toThrow(/expected NxHxW/);
    expect(() =>
      manifestFromExport({ template, labels, shapes: ['1x720x1280', '2x720x1280', '3x720x1280'] }),
    ).toThrow(/no memory for max batch 3: pass --memory/);
    expect(() => manifestFromExport({ template, labels, shapes: ['1x721x1280'] })).toThrow(
      /whole number of pixels/,
    );
  });

  it('reads labels as lines, a JSON array or mmdet metainfo', () => {
    expect(parseLabels('helmet\n\n vest \nperson\n')).toEqual(labels);
    expect(parseLabels(JSON.stringify(labels))).toEqual(labels);
    expect(parseLabels(JSON.stringify({ classes: labels }))).toEqual(labels);
    expect(() => parseLabels('{"names": 1}')).toThrow(/array of names/);
  });
});

describe('make-manifest.ts (the step run_export.sh runs)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gpumux-make-manifest-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a manifest the replica loads, labels from the config when no file is given', async () => {
    writeFileSync(path.join(dir, 'export.json'), JSON.stringify({ ...facts, classes: labels }));
    const out = path.join(dir, 'manifest.json');
    const said = execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(HERE, 'make-manifest.ts'),
        '--shapes',
        '1x720x1280 1x800x1280',
        '--export-info',
        path.join(dir, 'export.json'),
        '--name',
        'ppe',
        '--out',
        out,
      ],
      { encoding: 'utf8' },
    );
    expect(said).toMatch(/ppe version 1, 3 classes, buckets 720x1280 800x1280, max batch 1/);
    const { manifest, onnxPath } = await loadModel(dir);
    expect(manifest.labels).toEqual(labels);
    expect(onnxPath).toBe(path.join(dir, 'model.onnx'));
  });
});
