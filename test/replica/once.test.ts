import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { OnceReport } from '../../replica/once.js';
import { REPO_ROOT } from '../helpers/cli-process.js';
import { drawImage } from '../helpers/images.js';

// `gpumux replica --once`: the smoke test docs/k3s.md runs on one GPU before `helm install` (here: the CPU).
const run = promisify(execFile);

async function once(...args: string[]): Promise<{ code: number; report: OnceReport }> {
  const cli = ['--import', 'tsx', path.join(REPO_ROOT, 'cli', 'main.ts'), 'replica', '--once', ...args];
  try {
    const { stdout } = await run(process.execPath, cli, {
      cwd: REPO_ROOT,
      env: { ...process.env, GPUMUX_LOG_LEVEL: 'error' },
    });
    return { code: 0, report: JSON.parse(stdout) as OnceReport };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, report: JSON.parse(e.stdout) as OnceReport };
  }
}

describe('gpumux replica --once', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gpumux-once-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads, warms up, runs the frame and prints footprint and latency', async () => {
    const frame = path.join(dir, 'frame.jpg');
    writeFileSync(
      frame,
      await drawImage({ width: 640, height: 480, rects: [{ box: [100, 120, 300, 260], color: 'red' }] }),
    );
    const { code, report } = await once('--model', 'models/shapes', '--image', frame);
    expect(code).toBe(0);
    expect(report).toMatchObject({
      ok: true,
      model: 'shapes',
      detections: 1,
      error: null,
      device: { kind: 'cpu' },
    });
    expect(report.readyMs).toBeGreaterThan(0);
    expect(report.frameMs).toBeGreaterThanOrEqual(0);
    expect(report.timings).toHaveProperty('inferenceMs');
    expect(report.footprint).toMatchObject({ method: 'rss', bytes: expect.any(Number) });
    expect(report.footprint!.bytes).toBeGreaterThan(0);
  });

  it('exits 1 with the reason when the model file is missing', async () => {
    const { code, report } = await once('--model', 'models/shapes', '--onnx', path.join(dir, 'model.onnx'));
    expect(code).toBe(1);
    expect(report).toMatchObject({
      ok: false,
      readyMs: null,
      error: expect.stringMatching(/File doesn't exist/),
    });
  });
});
