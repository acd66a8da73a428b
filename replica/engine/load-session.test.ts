import { createRequire } from 'node:module';
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../common/log.js';
import {
  CUDA_INSTALL_HINT,
  cudaProviderInstalled,
  isMissingCudaProvider,
  loadSession,
  sessionOptions,
} from './load-session.js';
import { parseDevice } from './device-request.js';

const SHAPES = new URL('../../models/shapes/model.onnx', import.meta.url).pathname;
// This machine's onnxruntime-node is the CPU build (no CUDA provider library), so asking for CUDA fails for real.
const cudaInstalled = cudaProviderInstalled();

describe('parseDevice', () => {
  it.each([
    ['cpu', { kind: 'cpu' }],
    ['cuda', { kind: 'cuda', index: 0 }],
    ['cuda:3', { kind: 'cuda', index: 3 }],
    [' CUDA:1 ', { kind: 'cuda', index: 1 }],
  ])('%j', (text, expected) => expect(parseDevice(text)).toEqual(expected));
  it.each(['gpu', 'cuda:-1', 'cuda:x', ''])('refuses %j', (text) =>
    expect(() => parseDevice(text)).toThrow(/invalid device/),
  );
});

describe('sessionOptions', () => {
  it('CPU: tuned threads, full graph optimisation, sequential, no memory pattern', () => {
    expect(sessionOptions({ kind: 'cpu' }, 3)).toEqual({
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      enableMemPattern: false,
      interOpNumThreads: 1,
      intraOpNumThreads: 3,
      executionProviders: ['cpu'],
    });
  });
  it('CUDA: the cuda provider with the device id', () => {
    expect(sessionOptions({ kind: 'cuda', index: 2 }).executionProviders).toEqual([
      { name: 'cuda', deviceId: 2 },
    ]);
  });
});

describe('loadSession (real onnxruntime-node)', () => {
  it('loads the shapes model on the CPU', async () => {
    const { session, device, fellBack } = await loadSession({
      onnxPath: SHAPES,
      device: { kind: 'cpu' },
      threads: 1,
    });
    expect([session.inputNames, device, fellBack]).toEqual([['images'], { kind: 'cpu' }, false]);
    await session.release();
  });

  it.skipIf(cudaInstalled)(
    'fails on cuda with install instructions when the CUDA provider is missing',
    async () => {
      const err = await loadSession({ onnxPath: SHAPES, device: { kind: 'cuda', index: 0 } }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toContain('ONNXRUNTIME_NODE_INSTALL=cuda12');
      expect((err as Error).message).toContain(CUDA_INSTALL_HINT);
    },
  );

  it.skipIf(cudaInstalled)(
    'reports the same hint when the library check passes but ORT cannot load the provider',
    async () => {
      // the pre-check is told "installed", so the real onnxruntime-node tries CUDA and fails to load it
      const err = await loadSession({
        onnxPath: SHAPES,
        device: { kind: 'cuda', index: 0 },
        cudaInstalled: () => true,
      }).catch((e: unknown) => e);
      expect((err as Error).message).toContain(CUDA_INSTALL_HINT);
      expect(String(((err as Error).cause as Error).message)).toMatch(/shared library/i);
    },
  );

  it.skipIf(cudaInstalled)('falls back to the CPU only when allowed, with a warning', async () => {
    const lines: string[] = [];
    const logger = createLogger({}, (line) => lines.push(line));
    const { session, device, fellBack } = await loadSession({
      onnxPath: SHAPES,
      device: { kind: 'cuda', index: 0 },
      allowCpuFallback: true,
      logger,
    });
    expect([device, fellBack]).toEqual([{ kind: 'cpu' }, true]);
    expect(lines.some((l) => (JSON.parse(l) as { level?: string }).level === 'warn')).toBe(true);
    await session.release();
  });

  it('does not mistake a broken model file for a missing provider', async () => {
    // ONNX Runtime's own error, naming the file: not the CUDA install hint.
    await expect(
      loadSession({ onnxPath: '/nonexistent/model.onnx', device: { kind: 'cpu' } }),
    ).rejects.toThrow(/^Load model from \/nonexistent\/model\.onnx failed:.*File doesn't exist/);
  });
});

describe('isMissingCudaProvider', () => {
  it('a provider that cannot load is missing; a provider that ran out of GPU memory is not', () => {
    expect(
      isMissingCudaProvider(
        new Error('Failed to load library libonnxruntime_providers_cuda.so with error: ...'),
      ),
    ).toBe(true);
    expect(
      isMissingCudaProvider(
        new Error(
          'onnxruntime::CudaCall CUDA failure 2: out of memory ; GPU=0 ; expr=cudaMalloc(&p, bytes);',
        ),
      ),
    ).toBe(false);
  });

  it('an OOM while creating the CUDA session is passed on as itself, never as "not installed"', async () => {
    const oom = new Error(
      'onnxruntime::CudaCall CUDA failure 2: out of memory ; GPU=0 ; expr=cudaMalloc(&p, n);',
    );
    await expect(
      loadSession({
        onnxPath: SHAPES,
        device: { kind: 'cuda', index: 0 },
        allowCpuFallback: true,
        cudaInstalled: () => true,
        // only the CUDA session fails: before the fix this "missing provider" fell back to the CPU silently
        create: async (file, options) => {
          if (JSON.stringify(options.executionProviders).includes('cuda')) throw oom;
          return ort.InferenceSession.create(file, options);
        },
      }),
    ).rejects.toBe(oom);
  });
});

describe('CUDA_INSTALL_HINT', () => {
  it("names the installer's own flavour and the CUDA major its package is built for", () => {
    // the installer's metadata: the flavours it accepts on linux/x64 and the NuGet version it fetches
    const require = createRequire(import.meta.url);
    const metadata = require('onnxruntime-node/script/install-metadata.js') as {
      requirements: Record<string, string[]>;
      packages: Record<string, { versions: { version: string }[] }>;
    };
    const flavour = /ONNXRUNTIME_NODE_INSTALL=(\w+)/.exec(CUDA_INSTALL_HINT)?.[1];
    expect(metadata.requirements['linux/x64']).toContain(flavour);
    // 1.27 on, NuGet's GPU packages are CUDA 13 builds (CUDA 12 moved to a separate, deprecated feed)
    const version = metadata.packages['nuget:linux/x64:cuda12']!.versions[0]!.version;
    expect(Number(version.split('.')[1])).toBeGreaterThanOrEqual(27);
    expect(CUDA_INSTALL_HINT).toContain('CUDA 13 and cuDNN 9');
    expect(CUDA_INSTALL_HINT).not.toMatch(/CUDA 12/);
  });
});
