import { describe, expect, it } from 'vitest';
import { engineOptionsFrom, parseVirtualGpu, replicaCommand, type ReplicaCliOptions } from './replica.js';

const base: ReplicaCliOptions = {
  model: 'models/shapes',
  port: 0,
  host: '127.0.0.1',
  device: 'cpu',
  drainTimeout: 30,
};

describe('gpumux replica flags', () => {
  it('parses --virtual-gpu node:index:capacity, node names with colons included', () => {
    expect(parseVirtualGpu('node-a:1:24GiB')).toEqual({
      node: 'node-a',
      index: 1,
      capacityBytes: 24 * 2 ** 30,
    });
    expect(parseVirtualGpu('a:b:0:512MiB')).toEqual({ node: 'a:b', index: 0, capacityBytes: 512 * 2 ** 20 });
    expect(() => parseVirtualGpu('node-a:24GiB')).toThrow(/expected/);
    expect(() => parseVirtualGpu('node-a:x:24GiB')).toThrow(/index/);
    expect(() => parseVirtualGpu('node-a:0:lots')).toThrow(/size/);
  });

  it('falls back to GPUMUX_REPLICA_ID, POD_NAME, GPUMUX_NODE and NODE_NAME', () => {
    expect(
      engineOptionsFrom(base, {
        GPUMUX_REPLICA_ID: 'r7',
        POD_NAME: 'pod',
        GPUMUX_NODE: 'n1',
        NODE_NAME: 'n2',
      }),
    ).toMatchObject({ replicaId: 'r7', node: 'n1' });
    expect(engineOptionsFrom(base, { POD_NAME: 'pod', NODE_NAME: 'n2' })).toMatchObject({
      replicaId: 'pod',
      node: 'n2',
    });
    expect(
      engineOptionsFrom({ ...base, replicaId: 'flag', node: 'flagnode' }, { POD_NAME: 'pod' }),
    ).toMatchObject({ replicaId: 'flag', node: 'flagnode' });
    expect(engineOptionsFrom(base, {}).replicaId).toMatch(/-\d+$/);
  });

  it('--model-version reaches the engine (the version served and reported)', () => {
    expect(engineOptionsFrom({ ...base, modelVersion: '2' }, {}).modelVersion).toBe('2');
    expect(engineOptionsFrom(base, {})).not.toHaveProperty('modelVersion');
  });

  it("builds the virtual GPU with others' use and the footprint", () => {
    const opts = engineOptionsFrom(
      { ...base, virtualGpu: parseVirtualGpu('node-a:1:24GiB'), virtualGpuUsed: 100, virtualFootprint: 200 },
      {},
    );
    expect(opts.virtualGpu).toEqual({
      node: 'node-a',
      index: 1,
      capacityBytes: 24 * 2 ** 30,
      usedByOthersBytes: 100,
      footprintBytes: 200,
    });
    expect(() => engineOptionsFrom({ ...base, virtualFootprint: 1 }, {})).toThrow(/need --virtual-gpu/);
  });

  it('--gpu-index (else GPUMUX_GPU_INDEX) is the node-level GPU a cuda replica reports', () => {
    const cuda = { ...base, device: 'cuda:0' };
    expect(engineOptionsFrom({ ...cuda, gpuIndex: 3 }, { GPUMUX_GPU_INDEX: '5' }).gpuIndex).toBe(3);
    expect(engineOptionsFrom(cuda, { GPUMUX_GPU_INDEX: '5' }).gpuIndex).toBe(5);
    expect(engineOptionsFrom(cuda, {}).gpuIndex).toBeUndefined();
    expect(() => engineOptionsFrom(cuda, { GPUMUX_GPU_INDEX: 'two' })).toThrow(/GPU index/);
    // a CPU replica (e.g. a pod's fall-back) ignores the env; the flag is an error there
    expect(engineOptionsFrom(base, { GPUMUX_GPU_INDEX: '5' }).gpuIndex).toBeUndefined();
    expect(() => engineOptionsFrom({ ...base, gpuIndex: 1 }, {})).toThrow(/--gpu-index is for --device cuda/);
  });

  it('--device takes what the session takes: a bare cuda is cuda:0', async () => {
    const parsed = async (value: string) => {
      const cmd = replicaCommand().exitOverride();
      cmd.action(() => undefined);
      await cmd.parseAsync(['--model', 'm', '--device', value], { from: 'user' });
      return cmd.opts<ReplicaCliOptions>().device;
    };
    expect(await parsed('cuda')).toBe('cuda:0');
    expect(await parsed('CUDA:1')).toBe('cuda:1');
    expect(await parsed('cpu')).toBe('cpu');
  });

  it('rejects bad flag values with commander errors', async () => {
    const cmd = replicaCommand()
      .exitOverride()
      .configureOutput({ writeErr: () => undefined });
    await expect(cmd.parseAsync(['--model', 'm', '--device', 'gpu0'], { from: 'user' })).rejects.toThrow(
      /use cpu, cuda or cuda:<n>/,
    );
    const cmd2 = replicaCommand()
      .exitOverride()
      .configureOutput({ writeErr: () => undefined });
    await expect(cmd2.parseAsync(['--model', 'm', '--port', '70000'], { from: 'user' })).rejects.toThrow(
      /port/,
    );
  });
});
