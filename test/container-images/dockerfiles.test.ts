import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { expand, globalArgs, readDockerfile, stages } from './dockerfile.js';
import { packagesReachedFrom } from './imports.js';

// What can be checked without a container engine. scripts/build-images.sh builds and runs the images.
const gateway = readDockerfile('docker/gateway.Dockerfile');
const replica = readDockerfile('docker/replica.Dockerfile');

/** Every FROM base, with the build arguments' defaults (what a user's `docker build` pulls). */
function defaultBases(instructions: ReturnType<typeof readDockerfile>): string[] {
  const args = globalArgs(instructions);
  const names = new Set(stages(instructions).flatMap((s) => (s.name ? [s.name] : [])));
  return stages(instructions)
    .map((s) => expand(s.from, args))
    .filter((base) => !names.has(base));
}

describe('Dockerfiles', () => {
  it('take every base image from a build argument whose default is the upstream image', () => {
    for (const file of [gateway, replica]) {
      for (const stage of stages(file)) expect(stage.from).toMatch(/^\$\{\w+\}$|^[a-z-]+$/);
    }
    expect(new Set(defaultBases(gateway))).toEqual(
      new Set(['node:24-trixie-slim', 'gcr.io/distroless/cc-debian12:nonroot']),
    );
    expect(new Set(defaultBases(replica))).toEqual(
      new Set([
        'node:24-trixie-slim',
        'gcr.io/distroless/cc-debian12:nonroot',
        'nvidia/cuda:13.0.2-base-ubuntu24.04',
      ]),
    );
  });

  it('build the CUDA replica by default and the CPU replica as target replica-cpu, before any CUDA stage', () => {
    const names = stages(replica).map((s) => s.name);
    expect(names.at(-1)).toBe('replica');
    expect(names.indexOf('replica-cpu')).toBeGreaterThan(-1);
    // buildah builds the stages up to --target: the CPU image must not need the CUDA base.
    expect(names.indexOf('replica-cpu')).toBeLessThan(names.indexOf('deps-cuda'));
  });

  it('run the CUDA library check after the CUDA provider and libraries are in the image', () => {
    const cuda = stages(replica).at(-1)!;
    const runs = cuda.body.map((i) => `${i.keyword} ${i.args}`);
    const copyApp = runs.findIndex((r) => r.startsWith('COPY --from=deps-cuda'));
    const check = runs.findIndex((r) =>
      /^RUN check-cuda-libs \/app\/node_modules\/onnxruntime-node\//.test(r),
    );
    expect(runs.findIndex((r) => r.includes('libcudnn9-cuda-'))).toBeLessThan(copyApp);
    expect(copyApp).toBeGreaterThan(-1);
    expect(check).toBeGreaterThan(copyApp);
    // The build context keeps the script (.dockerignore drops docker/ otherwise).
    expect(fs.readFileSync('.dockerignore', 'utf8').split('\n')).toContain('!docker/check-cuda-libs.sh');
  });

  it('run as uid 10001 with writes going to /tmp (the chart: read-only root filesystem, /tmp emptyDir)', () => {
    for (const file of [gateway, replica]) {
      for (const stage of stages(file).filter((s) => s.body.some((i) => i.keyword === 'ENTRYPOINT'))) {
        expect(stage.body.filter((i) => i.keyword === 'USER').at(-1)?.args).toBe('10001:10001');
      }
    }
    for (const stage of stages(replica).filter((s) => s.name?.startsWith('replica'))) {
      const env = stage.body
        .filter((i) => i.keyword === 'ENV')
        .map((i) => i.args)
        .join(' ');
      expect(env).toContain('HOME=/tmp');
    }
    const cudaEnv = stages(replica)
      .at(-1)!
      .body.filter((i) => i.keyword === 'ENV')
      .map((i) => i.args)
      .join(' ');
    expect(cudaEnv).toMatch(/CUDA_CACHE_PATH=\/tmp\//);
    // Below the chart's 256 MiB /tmp sizeLimit, so the kernel cache cannot get the pod evicted.
    expect(Number(/CUDA_CACHE_MAXSIZE=(\d+)/.exec(cudaEnv)?.[1])).toBeLessThan(256 * 2 ** 20);
  });

  it('leave out of the gateway image only packages that the gateway and scheduler never import', () => {
    const declared = gateway.find((i) => i.keyword === 'ARG' && i.args.startsWith('REPLICA_ONLY_PACKAGES='));
    const dropped = expand(declared!.args.split('=')[1]!.replaceAll('"', ''), new Map()).split(/\s+/);
    expect(dropped).toEqual(expect.arrayContaining(['onnxruntime-node', 'sharp']));
    // The gateway image runs `gateway` and `scheduler` (and `plan`), never `replica` or `up`.
    const reached = packagesReachedFrom(['cli/main.ts'], ['cli/commands/replica.ts', 'cli/commands/up.ts']);
    const needed = [...reached].filter(([pkg]) => dropped.some((d) => pkg === d || pkg.startsWith(`${d}/`)));
    expect(needed).toEqual([]);
    // The same walk does find them from the replica command, so the check above can see an import.
    const fromReplica = packagesReachedFrom(['cli/commands/replica.ts']);
    expect([...fromReplica.keys()]).toEqual(expect.arrayContaining(['onnxruntime-node', 'sharp']));
  });
});
