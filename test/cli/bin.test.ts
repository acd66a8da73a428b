import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/replica-process.js';
import { codetrDeclaredBytes } from '../helpers/codetr-footprint.js';

// `npx gpumux` and `npm start` run the compiled CLI (dist/, built by `npm ci` through `prepare`, and before
// `npm start` by `prestart`); the other tests run the sources through tsx. This one checks the shipped path.
const bin = `${REPO_ROOT}/bin/gpumux.js`;
const run = (...args: string[]): string =>
  execFileSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

describe('the gpumux binary (compiled)', () => {
  it('is built', () => {
    expect(existsSync(`${REPO_ROOT}/dist/cli/main.js`), 'dist/ missing: run `npm run build`').toBe(true);
  });

  it('lists every subcommand, each with its own --help', () => {
    const help = run('--help');
    for (const cmd of ['replica', 'gateway', 'scheduler', 'plan', 'up']) {
      expect(help).toContain(cmd);
      expect(run(cmd, '--help')).toMatch(new RegExp(`^Usage: gpumux ${cmd} \\[options\\]`));
    }
  });

  it('plans 10 RTX 4090s with Co-DETR at ≥ 0.79 memory utilisation, no GPU over capacity', () => {
    const plan = JSON.parse(run('plan', '--gpus', '10x24GiB', '--models', 'codetr', '--json')) as {
      gpus: { memoryBytes: number; usedBytes: number }[];
      memoryUtilization: number;
    };
    expect(plan.gpus).toHaveLength(10);
    expect(plan.memoryUtilization).toBeGreaterThanOrEqual(0.79);
    // Two declared batch-1 footprints (10834 MiB) on every 24 GiB card.
    expect(plan.memoryUtilization).toBeCloseTo((2 * codetrDeclaredBytes(1)) / (24 * 1024 ** 3), 9);
    for (const gpu of plan.gpus) expect(gpu.usedBytes).toBeLessThanOrEqual(gpu.memoryBytes);
  });
});
