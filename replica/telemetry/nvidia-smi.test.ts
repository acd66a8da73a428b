import { describe, expect, it } from 'vitest';
import { createNvidiaSmi, NVIDIA_SMI_ARGS, parseNvidiaSmi } from './nvidia-smi.js';

const MIB = 1024 * 1024;

// Shapes of real `nvidia-smi --query-gpu=... --format=csv,noheader,nounits` output found in public code and logs:
// RTX 4090s report 24564 MiB total (e.g. `NVIDIA GeForce RTX 4090, 24564, 2048, 22516` in test fixtures of
// several projects); UUIDs as `nvidia-smi -L` prints them (CPU-X issue #115, gpu-utils issue #83); NVIDIA GB10
// (unified memory) prints `[N/A]` for memory.total and memory.used (a DGX Spark benchmark log); other parts
// print `[Not Supported]`; a GPU that fell off the bus prints an error line instead of a row.
const TWO_4090 = [
  '0, GPU-e18afb8d-1627-f8ff-2ba3-c05c5a8e9e67, NVIDIA GeForce RTX 4090, 24564, 2048, 37',
  '1, GPU-22b2c6ac-2d49-4863-197c-9c469071178a, NVIDIA GeForce RTX 4090, 24564, 12282, 37',
  '',
].join('\n');

describe('parseNvidiaSmi', () => {
  it('parses rows and converts MiB to bytes', () => {
    expect(parseNvidiaSmi(TWO_4090)).toEqual([
      {
        index: 0,
        uuid: 'GPU-e18afb8d-1627-f8ff-2ba3-c05c5a8e9e67',
        name: 'NVIDIA GeForce RTX 4090',
        memoryTotalBytes: 24564 * MIB,
        memoryUsedBytes: 2048 * MIB,
        utilizationRatio: 0.37,
      },
      {
        index: 1,
        uuid: 'GPU-22b2c6ac-2d49-4863-197c-9c469071178a',
        name: 'NVIDIA GeForce RTX 4090',
        memoryTotalBytes: 24564 * MIB,
        memoryUsedBytes: 12282 * MIB,
        utilizationRatio: 0.37,
      },
    ]);
  });

  it('turns [N/A] and [Not Supported] into null', () => {
    const gpus = parseNvidiaSmi(
      '0, GPU-7a3c1b52-9f1e-4d7a-8c55-0d2e4f6a8b91, NVIDIA GB10, [N/A], [N/A], [N/A]\r\n' +
        '1, [N/A], NVIDIA GeForce GTX 1660 Ti, 5944, [Not Supported], [Not Supported]\r\n',
    );
    expect(gpus).toEqual([
      {
        index: 0,
        uuid: 'GPU-7a3c1b52-9f1e-4d7a-8c55-0d2e4f6a8b91',
        name: 'NVIDIA GB10',
        memoryTotalBytes: null,
        memoryUsedBytes: null,
        utilizationRatio: null,
      },
      {
        index: 1,
        uuid: null,
        name: 'NVIDIA GeForce GTX 1660 Ti',
        memoryTotalBytes: 5944 * MIB,
        memoryUsedBytes: null,
        utilizationRatio: null,
      },
    ]);
  });

  it('skips the error line of a GPU that fell off the bus', () => {
    const out =
      'Unable to determine the device handle for GPU0000:01:00.0: GPU has fallen off the bus.\n' + TWO_4090;
    expect(parseNvidiaSmi(out).map((g) => g.index)).toEqual([0, 1]);
  });

  it('keeps commas inside the product name and skips lines that do not parse', () => {
    const gpus = parseNvidiaSmi('garbage\n0, GPU-x, Odd, Name, Inc, 8192, 1, 100\nNo devices were found\n');
    expect(gpus).toHaveLength(1);
    expect(gpus[0]).toMatchObject({
      name: 'Odd, Name, Inc',
      memoryTotalBytes: 8192 * MIB,
      utilizationRatio: 1,
    });
  });
});

describe('createNvidiaSmi', () => {
  it('runs nvidia-smi --id=<id> with the CSV query and picks the GPU by index or UUID', async () => {
    const calls: string[][] = [];
    const smi = createNvidiaSmi({
      binary: 'nvidia-smi',
      run: (file, args) => {
        calls.push([file, ...args]);
        return Promise.resolve(TWO_4090);
      },
    });
    await expect(smi.query(1)).resolves.toMatchObject({ index: 1, memoryUsedBytes: 12282 * MIB });
    expect(calls[0]).toEqual(['nvidia-smi', '--id=1', ...NVIDIA_SMI_ARGS]);
    await expect(smi.query('GPU-E18AFB8D-1627-F8FF-2BA3-C05C5A8E9E67')).resolves.toMatchObject({ index: 0 });
    expect(calls[1]![1]).toBe('--id=GPU-E18AFB8D-1627-F8FF-2BA3-C05C5A8E9E67');
    await expect(smi.query(5)).rejects.toThrow(/no GPU 5 \(found: 0, 1\)/);
  });

  it('takes the one row nvidia-smi --id printed (a PCI bus id is not among the fields)', async () => {
    const smi = createNvidiaSmi({
      run: (_file, args) => {
        expect(args[0]).toBe('--id=00000000:41:00.0');
        return Promise.resolve(TWO_4090.split('\n')[1]!);
      },
    });
    await expect(smi.query('00000000:41:00.0')).resolves.toMatchObject({ index: 1 });
  });

  it('reports a missing binary as an error (real spawn of a command that does not exist)', async () => {
    const smi = createNvidiaSmi({ binary: '/nonexistent/nvidia-smi' });
    await expect(smi.list()).rejects.toThrow(/ENOENT/);
  });
});
