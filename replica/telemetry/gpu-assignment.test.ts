import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnCli } from '../../test/helpers/cli-process.js';
import { REPLICA_EXIT_CODES } from '../exit-codes.js';
import { checkGpuAssignment } from './gpu-assignment.js';
import { parseNvidiaSmi } from './nvidia-smi.js';

const MINE = 'GPU-22b2c6ac-2d49-4863-197c-9c469071178a';
const OTHER = 'GPU-9f1e0d3c-1111-2222-3333-444455556666';
const row = (index: number, uuid: string): string =>
  `${index}, ${uuid}, NVIDIA GeForce RTX 4090, 24564, 300, 0`;
const smi =
  (...rows: string[]) =>
  () =>
    Promise.resolve(parseNvidiaSmi(rows.join('\n')));
const noGpu = () => Promise.reject(new Error('spawn nvidia-smi ENOENT'));

describe('checkGpuAssignment: the replica sees exactly the GPU it was given', () => {
  it('passes when the one GPU it sees is its UUID', async () => {
    const result = await checkGpuAssignment({
      deviceKind: 'cuda',
      env: { GPUMUX_GPU_UUID: MINE },
      listGpus: smi(row(0, MINE)),
    });
    expect(result).toMatchObject({ ok: true, skipped: null, gpu: { uuid: MINE } });
  });

  it.each([
    [
      'sees no GPU (runtime ignored NVIDIA_VISIBLE_DEVICES: CDI, unprivileged envvar refused)',
      noGpu,
      /sees no GPU/,
    ],
    ['sees another card', smi(row(0, OTHER)), /sees 1 GPU\(s\) \(GPU-9f1e/],
    [
      'sees every card (privileged, or the variable overridden)',
      smi(row(0, MINE), row(1, OTHER)),
      /sees 2 GPU\(s\)/,
    ],
    ['nvidia-smi lists nothing', smi(), /sees 0 GPU\(s\) \(none\)/],
  ])('refuses when it %s, naming the node setting', async (_, listGpus, why) => {
    const result = await checkGpuAssignment({
      deviceKind: 'cuda',
      env: { GPUMUX_GPU_UUID: MINE, GPUMUX_NODE: 'gpu-3' },
      listGpus,
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.message).toMatch(/^GPU assignment refused on node gpu-3: /);
    expect(result.message).toMatch(why);
    expect(result.message).toContain('accept-nvidia-visible-devices-envvar-when-unprivileged');
    expect(result.message).toContain('gpuMode: dra');
  });

  it('is a stated no-op for CPU replicas (virtual GPUs) and where no UUID was given (time-slicing)', async () => {
    const cpu = await checkGpuAssignment({
      deviceKind: 'cpu',
      env: { GPUMUX_GPU_UUID: MINE },
      listGpus: noGpu,
    });
    expect(cpu).toMatchObject({ ok: true, skipped: expect.stringMatching(/CPU replica/) });
    const plugin = await checkGpuAssignment({ deviceKind: 'cuda', env: {}, listGpus: noGpu });
    expect(plugin).toMatchObject({ ok: true, skipped: expect.stringMatching(/device plugin picks/) });
  });
});

describe('gpumux replica refuses a GPU it was not given (real process)', () => {
  it('exits with its own code and writes the termination message', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gpumux-gpu-assignment-'));
    // nvidia-smi as a container whose runtime exposed every card of the node
    const fakeSmi = path.join(dir, 'nvidia-smi');
    writeFileSync(fakeSmi, `#!/bin/sh\nprintf '%s\\n' '${row(0, OTHER)}' '${row(1, MINE)}'\n`);
    chmodSync(fakeSmi, 0o755);
    const terminationLog = path.join(dir, 'termination-log');
    writeFileSync(terminationLog, '');
    const child = spawnCli(['replica', '--model', 'models/shapes', '--device', 'cuda:0', '--port', '0'], {
      GPUMUX_NVIDIA_SMI: fakeSmi,
      GPUMUX_GPU_UUID: MINE,
      GPUMUX_NODE: 'gpu-3',
      GPUMUX_TERMINATION_LOG: terminationLog,
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, stderr).toBe(REPLICA_EXIT_CODES.gpuAssignment);
    expect(readFileSync(terminationLog, 'utf8')).toMatch(
      /^GPU assignment refused on node gpu-3: given GPU-22b2.*sees 2 GPU\(s\).*accept-nvidia-visible-devices-envvar-when-unprivileged/,
    );
    expect(stderr).toContain('GPU assignment refused');
  }, 60_000);
});
