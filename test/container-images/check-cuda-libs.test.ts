import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// docker/check-cuda-libs.sh, the CUDA replica image's build step, run here on CPU-side fixtures: shared
// libraries built with the host's C compiler whose dependency is named like CUDA's (libcublasLt.so.13).
const script = path.resolve('docker/check-cuda-libs.sh');
let dir: string;

function sharedLibrary(file: string, code: string, soname: string, links: string[] = []): void {
  const src = `${file}.c`;
  fs.writeFileSync(src, code);
  execFileSync('cc', [
    '-shared',
    '-fPIC',
    '-Wl,--no-as-needed',
    '-o',
    file,
    `-Wl,-soname,${soname}`,
    src,
    ...links,
  ]);
}

function check(dirs: string[], env: Record<string, string> = {}) {
  const run = spawnSync('sh', [script, ...dirs], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'check-cuda-libs-'));
  for (const d of ['cuda13', 'provider', 'driver-only', 'sibling', 'empty']) fs.mkdirSync(path.join(dir, d));
  // A stand-in for CUDA 13's cuBLASLt, and a provider library that links it.
  const cublas = path.join(dir, 'cuda13', 'libcublasLt.so.13');
  sharedLibrary(cublas, 'int cublasLtCreate(void) { return 0; }', 'libcublasLt.so.13');
  sharedLibrary(
    path.join(dir, 'provider', 'libonnxruntime_providers_cuda.so'),
    'int cublasLtCreate(void); int provider(void) { return cublasLtCreate(); }',
    'libonnxruntime_providers_cuda.so',
    [cublas],
  );
  // A provider whose only unresolved dependency is the driver's libcuda.so.1 (mounted by the NVIDIA runtime).
  const libcuda = path.join(dir, 'cuda13', 'libcuda.so.1');
  sharedLibrary(libcuda, 'int cuInit(unsigned f) { return (int)f; }', 'libcuda.so.1');
  sharedLibrary(
    path.join(dir, 'driver-only', 'libonnxruntime_providers_cuda.so'),
    'int cuInit(unsigned); int provider(void) { return cuInit(0); }',
    'libonnxruntime_providers_cuda.so',
    [libcuda],
  );
  // A CUDA provider that links libonnxruntime_providers_shared.so from its own folder, with no rpath.
  const shared = path.join(dir, 'sibling', 'libonnxruntime_providers_shared.so');
  sharedLibrary(shared, 'int shared_entry(void) { return 0; }', 'libonnxruntime_providers_shared.so');
  sharedLibrary(
    path.join(dir, 'sibling', 'libonnxruntime_providers_cuda.so'),
    'int shared_entry(void); int provider(void) { return shared_entry(); }',
    'libonnxruntime_providers_cuda.so',
    [shared],
  );
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('check-cuda-libs (CUDA replica image build step)', () => {
  it('fails the build, naming the library and the CUDA major, when a needed library does not resolve', () => {
    const result = check([path.join(dir, 'provider')]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('libonnxruntime_providers_cuda.so needs libcublasLt.so.13');
    expect(result.stderr).toContain('built for CUDA 13');
    expect(result.stderr).toContain('--build-arg CUDA_VERSION=13.x.y');
  });

  it('passes when every needed library resolves', () => {
    const result = check([path.join(dir, 'provider')], { LD_LIBRARY_PATH: path.join(dir, 'cuda13') });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('1 ONNX Runtime libraries checked');
  });

  it('lets the driver libraries that the NVIDIA container runtime mounts at run time be missing', () => {
    expect(check([path.join(dir, 'driver-only')]).status).toBe(0);
    const strict = check([path.join(dir, 'driver-only')], { CHECK_CUDA_LIBS_RUNTIME: '' });
    expect(strict.status).toBe(1);
    expect(strict.stderr).toContain('needs libcuda.so.1');
  });

  it('resolves a library beside the provider, as ONNX Runtime loads it, without an rpath', () => {
    const result = check([path.join(dir, 'sibling')]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('2 ONNX Runtime libraries checked');
  });

  it('refuses a folder with nothing to check (a wrong path must not pass)', () => {
    const result = check([path.join(dir, 'empty')]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('no ONNX Runtime libraries');
  });

  it("passes on onnxruntime-node's own CPU binaries here", () => {
    const bin = path.resolve('node_modules/onnxruntime-node/bin/napi-v6/linux/x64');
    const result = check([bin]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('2 ONNX Runtime libraries checked');
  });
});
