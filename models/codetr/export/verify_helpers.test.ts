import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// verify_onnx.py decides whether an export passes; its numpy helpers (decode, IoU, matching) are unit
// tested in Python (test_verify_helpers.py). Torch and onnxruntime are not needed for these.

const HERE = dirname(fileURLToPath(import.meta.url));
const PYTHON = '/usr/bin/python3';
const pythonNumpy = spawnSync(PYTHON, ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;
if (!pythonNumpy)
  console.warn('verify_helpers.test.ts skipped: /usr/bin/python3 cannot import numpy (python3-numpy)');

describe.skipIf(!pythonNumpy && !process.env.CI)('verify_onnx.py helpers', () => {
  it('pass the Python unit tests', () => {
    const run = spawnSync(PYTHON, ['-B', '-m', 'unittest', '-v', 'test_verify_helpers.py'], {
      cwd: HERE,
      encoding: 'utf8',
    });
    expect(run.stderr).toMatch(/Ran 5 tests/);
    expect(run.status, run.stderr).toBe(0);
  });
});

// export_onnx.py's shape and graphUpscale checks (test_export_helpers.py) need onnx too, not torch.
const pythonOnnx = spawnSync(PYTHON, ['-c', 'import onnx'], { stdio: 'ignore' }).status === 0;
if (!pythonOnnx)
  console.warn('export_onnx.py helper tests skipped: /usr/bin/python3 cannot import onnx (python3-onnx)');

describe.skipIf(!pythonOnnx && !process.env.CI)('export_onnx.py helpers', () => {
  it('pass the Python unit tests', () => {
    const run = spawnSync(PYTHON, ['-B', '-m', 'unittest', '-v', 'test_export_helpers.py'], {
      cwd: HERE,
      encoding: 'utf8',
    });
    expect(run.stderr).toMatch(/Ran 7 tests/);
    expect(run.status, run.stderr).toBe(0);
  });
});
