import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli-process.js';

/**
 * A file of several static shapes (merge_buckets.py: one `If` branch per shape, weights stored once) costs
 * about one graph in memory when its manifest turns ONNX Runtime's constant folding off
 * (`onnx.disabledOptimizers: ["ConstantFolding"]`), and one graph per shape without it. Each bucket graph of
 * the fixture (make_fixture.py --fold-mib) derives a 32 MiB tensor from a small shared weight and a per-shape
 * factor, as Co-DINO derives Swin's masks and positional encodings: folded, every branch holds its own. Each
 * session is opened in a fresh process the way a replica opens it (manifest → session request → loadSession).
 */

const PYTHON = '/usr/bin/python3';
const EXPORT = path.join(REPO_ROOT, 'models', 'codetr', 'export');
const FOLD_MIB = 32;
const MiB = 2 ** 20;
const SHAPES = ['1,24,32', '1,32,24', '2,24,32', '2,32,24'];
const run = promisify(execFile);

// Debian's python3-onnx is part of this workplace (DESIGN.md); say so loudly where it is missing.
const pythonOnnx = spawnSync(PYTHON, ['-c', 'import onnx'], { stdio: 'ignore' }).status === 0;
if (!pythonOnnx)
  console.warn('shape-buckets-memory.test.ts skipped: /usr/bin/python3 cannot import onnx (python3-onnx)');

const dir = mkdtempSync(path.join(os.tmpdir(), 'gpumux-buckets-mem-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `shapes` merged into one file, in a model folder whose manifest disables `disabledOptimizers`. */
function modelFolder(name: string, shapes: string[], disabledOptimizers?: string[]): string {
  const folder = path.join(dir, name);
  mkdirSync(folder);
  const buckets = shapes.map((s) => path.join(dir, `bucket-${s.replaceAll(',', 'x')}.onnx`));
  execFileSync(
    PYTHON,
    ['-B', path.join(EXPORT, 'merge_buckets.py'), '--out', path.join(folder, 'model.onnx'), ...buckets],
    {
      stdio: 'pipe',
    },
  );
  const shapesManifest = JSON.parse(
    readFileSync(path.join(REPO_ROOT, 'models/shapes/manifest.json'), 'utf8'),
  ) as {
    onnx: Record<string, unknown>;
  };
  const onnx = { file: 'model.onnx', ...(disabledOptimizers ? { disabledOptimizers } : {}) };
  writeFileSync(path.join(folder, 'manifest.json'), JSON.stringify({ ...shapesManifest, onnx }));
  return folder;
}

/** What opening the folder's session adds to a fresh process's RSS. */
async function sessionBytes(folder: string): Promise<number> {
  const probe = path.join(REPO_ROOT, 'test', 'helpers', 'session-rss-probe.ts');
  const { stdout } = await run(process.execPath, ['--import', 'tsx', probe, folder], { cwd: REPO_ROOT });
  const { beforeBytes, afterBytes } = JSON.parse(stdout.trim().split('\n').pop()!) as {
    beforeBytes: number;
    afterBytes: number;
  };
  return afterBytes - beforeBytes;
}

describe.skipIf(!pythonOnnx && !process.env.CI)('shape buckets in one file: memory per shape', () => {
  beforeAll(() => {
    execFileSync(PYTHON, [
      '-B',
      path.join(EXPORT, 'make_fixture.py'),
      dir,
      '--fold-mib',
      String(FOLD_MIB),
      ...SHAPES,
    ]);
  });

  it('folding on: every shape adds its folded tensor; ConstantFolding off: four shapes cost about one', async () => {
    // one fresh process each, side by side: RSS is per process
    const [foldedOne, foldedFour, sharedOne, sharedFour] = await Promise.all([
      sessionBytes(modelFolder('folded-1', SHAPES.slice(0, 1))),
      sessionBytes(modelFolder('folded-4', SHAPES)),
      sessionBytes(modelFolder('shared-1', SHAPES.slice(0, 1), ['ConstantFolding'])),
      sessionBytes(modelFolder('shared-4', SHAPES, ['ConstantFolding'])),
    ]);
    const folded = { one: foldedOne, four: foldedFour };
    const shared = { one: sharedOne, four: sharedFour };
    const mib = (b: number) => `${(b / MiB).toFixed(0)} MiB`;
    console.log(
      `session RSS, folding on: 1 shape ${mib(folded.one)}, 4 shapes ${mib(folded.four)}; ` +
        `ConstantFolding off: ${mib(shared.one)}, ${mib(shared.four)}`,
    );
    // folded: at least ¾ of a fold per extra shape (measured: ~2 per shape, the folded tensor and its prepacked copy)
    expect(folded.four - folded.one).toBeGreaterThan(3 * 0.75 * FOLD_MIB * MiB);
    // shared: the three extra shapes cost less than half of one fold together (measured: ~1 MiB)
    expect(shared.four - shared.one).toBeLessThan(0.5 * FOLD_MIB * MiB);
  });
});
