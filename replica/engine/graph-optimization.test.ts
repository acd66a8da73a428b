import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseManifest } from '../../models/manifest/load.js';
import { engineFactory } from './create-engine.js';
import { loadSession, sessionOptions, type SessionOptions } from './load-session.js';

/**
 * The manifest's `onnx.graphOptimization` reaches the session: a many-shape file (Co-DETR's merged buckets)
 * may be served with optimisation off, which shares the weights between its graphs.
 */
const shapes = JSON.parse(readFileSync(path.resolve('models/shapes/manifest.json'), 'utf8')) as {
  onnx: Record<string, unknown>;
} & Record<string, unknown>;
const dir = mkdtempSync(path.join(os.tmpdir(), 'gpumux-graph-opt-'));
writeFileSync(
  path.join(dir, 'manifest.json'),
  JSON.stringify({
    ...shapes,
    onnx: {
      file: path.resolve('models/shapes/model.onnx'),
      graphOptimization: 'disabled',
      disabledOptimizers: ['ConstantFolding'],
    },
  }),
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('onnx.graphOptimization', () => {
  it('defaults to all and accepts only the levels ONNX Runtime has', () => {
    expect(parseManifest(shapes).onnx.graphOptimization).toBe('all');
    expect(() => parseManifest({ ...shapes, onnx: { ...shapes.onnx, graphOptimization: 'fast' } })).toThrow(
      /graphOptimization/,
    );
    expect(sessionOptions({ kind: 'cpu' }, 1, { graphOptimization: 'disabled' }).graphOptimizationLevel).toBe(
      'disabled',
    );
  });

  it("loads the replica's session at the manifest's level, and serves with it (real onnxruntime)", async () => {
    const asked: SessionOptions[] = [];
    const engine = engineFactory({
      session: { thread: 'main', load: (options) => (asked.push(options), loadSession(options)) },
    })({ modelDir: dir, device: 'cpu', node: 'local', replicaId: 'no-opt', threads: 1 });
    await engine.start();
    expect(asked.map((o) => o.graphOptimization)).toEqual(['disabled']);
    expect(asked.map((o) => o.disabledOptimizers)).toEqual([['ConstantFolding']]);
    expect(engine.state).toBe('ready');
    await engine.close();
  });
});

describe('onnx.disabledOptimizers', () => {
  const withNames = (disabledOptimizers: unknown) =>
    parseManifest({ ...shapes, onnx: { ...shapes.onnx, disabledOptimizers } }).onnx.disabledOptimizers;

  it('defaults to none, and refuses a name ONNX Runtime would silently ignore', () => {
    expect(parseManifest(shapes).onnx.disabledOptimizers).toEqual([]);
    expect(withNames(['ConstantFolding'])).toEqual(['ConstantFolding']);
    expect(() => withNames(['Constantfolding'])).toThrow(
      /unknown optimiser "Constantfolding".*ConstantFolding/,
    );
    expect(() => withNames(['ConstantFolding', 'ConstantFolding'])).toThrow(/twice/);
  });

  it("becomes ONNX Runtime's session config entry, beside the memory budget's", () => {
    const graph = { disabledOptimizers: ['ConstantFolding'] as const };
    expect(sessionOptions({ kind: 'cpu' }, 1, graph).extra).toEqual({
      optimization: { disable_specified_optimizers: 'ConstantFolding' },
    });
    expect(sessionOptions({ kind: 'cpu' }, 1, graph, true).extra).toEqual({
      session: { use_env_allocators: '1' },
      optimization: { disable_specified_optimizers: 'ConstantFolding' },
    });
    expect(sessionOptions({ kind: 'cpu' }, 1).extra).toBeUndefined();
  });
});
