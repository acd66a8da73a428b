import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The GPU calibration's CPU dry run: gpu_calibrate.sh packs the mmdet/mmcv/mmengine source trees from the git
// snapshots (prepare) and runs the real Co-DINO Swin-L (random init, 235 M parameters) through
// gpu_memory_profile.py on a tiny bucket, batch 1, FP32, device=cpu — the same tarball, stand-ins and code path
// the lent GPU machine runs. It needs those snapshots and Debian's torch/opencv (setup_sources.sh's apt
// packages), which a fresh CI machine does not have, and takes 1.5-3 min on 2 cores: so it runs only when asked,
// `MIRROR=<snapshots> GPUMUX_CALIBRATE=1 npx vitest run models/codetr/export/gpu_calibrate.test.ts` (also
// models/codetr/README.md), and otherwise skips and says why — never on what a machine happens to have.

const HERE = dirname(fileURLToPath(import.meta.url));
const MIRROR = process.env.MIRROR;
const PYTHON = '/usr/bin/python3';
const TARBALL = join(HERE, 'carry', 'codetr-src.tar.gz');

function missing(): string | undefined {
  if (!process.env.GPUMUX_CALIBRATE)
    return 'opt-in: set GPUMUX_CALIBRATE=1 (and MIRROR, unless carry/ is packed)';
  if (spawnSync(PYTHON, ['-c', 'import torch, cv2, numpy, yaml'], { stdio: 'ignore' }).status !== 0)
    return `${PYTHON} cannot import torch, cv2, numpy, yaml (setup_sources.sh's apt packages)`;
  if (!existsSync(TARBALL) && !(MIRROR && existsSync(join(MIRROR, 'BitStrawber+mmdetection', 'repo'))))
    return `no ${TARBALL} and no source snapshots under MIRROR (${MIRROR ?? 'unset'}) to make it from`;
  return undefined;
}

/** What the test reads of calib.json (gpu_memory_profile.py writes it). */
interface Calibration {
  complete: boolean;
  parameters_m: number;
  rows: {
    precision: string;
    batch: number;
    bucket: number[];
    backbone_input: number[];
    latency_ms_p50: number;
    host_peak_rss_mib: number;
  }[];
}

const reason = missing();
if (reason) console.warn(`gpu_calibrate.test.ts skipped: ${reason}`);

describe.skipIf(reason !== undefined)('gpu_calibrate.sh dry-run (CPU, tiny bucket)', () => {
  it('builds Co-DINO from the carried sources and writes calib.json and calib.md', () => {
    const out = mkdtempSync(join(tmpdir(), 'gpumux-calib-'));
    try {
      const run = spawnSync('bash', [join(HERE, 'gpu_calibrate.sh'), 'dry-run'], {
        env: { ...process.env, OUT: out },
        encoding: 'utf8',
        timeout: 540_000,
      });
      expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
      const doc = JSON.parse(readFileSync(join(out, 'calib.json'), 'utf8')) as Calibration;
      expect(doc.complete).toBe(true);
      expect(doc.parameters_m).toBeGreaterThan(200); // Swin-L Co-DINO, not a stand-in model
      expect(doc.rows).toHaveLength(1);
      const row = doc.rows[0]!;
      expect(row).toMatchObject({
        precision: 'fp32',
        batch: 1,
        bucket: [80, 80],
        backbone_input: [128, 128],
      });
      expect(row.latency_ms_p50).toBeGreaterThan(0);
      expect(row.host_peak_rss_mib).toBeGreaterThan(0);
      const table = readFileSync(join(out, 'calib.md'), 'utf8');
      expect(table).toContain('| fp32 | 1 | 80x80 (128x128) |');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 600_000);
});
