import { describe, expect, it } from 'vitest';
import { codetrOnGpu2 } from '../../../test/scheduler/replica-request.js';
import { memoryBudgetFor } from '../../memory-terms.js';
import { replicaLaunch } from './replica-args.js';

const GiB = 1024 ** 3;
const request = codetrOnGpu2;

describe('replicaLaunch', () => {
  it('real GPU 2: CUDA_VISIBLE_DEVICES=2 in PCI bus order, cuda:0 for ONNX Runtime, --gpu-index 2 for telemetry', () => {
    const { args, env } = replicaLaunch(request, {
      id: 'codetr-ws-2-1',
      host: '127.0.0.1',
      replicaArgs: ['--threads', '1'],
      env: { PATH: '/usr/bin', CUDA_VISIBLE_DEVICES: '0,1,2,3' },
    });
    expect(env).toEqual({ PATH: '/usr/bin', CUDA_VISIBLE_DEVICES: '2', CUDA_DEVICE_ORDER: 'PCI_BUS_ID' });
    expect(args).toEqual([
      'replica',
      '--model',
      'models/codetr',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--replica-id',
      'codetr-ws-2-1',
      '--node',
      'ws',
      '--device',
      'cuda:0',
      '--gpu-index',
      '2',
      // the planned footprint less what CUDA holds outside ONNX Runtime's arena (scheduler/memory-terms.ts)
      '--memory-budget',
      String(memoryBudgetFor(request.footprintBytes)),
      '--threads',
      '1',
    ]);
  });

  it('virtual GPU: the CPU provider standing for node:index:capacity, no CUDA env', () => {
    const { args, env } = replicaLaunch(
      { ...request, virtual: true, onnx: 'm.onnx' },
      { id: 'r', host: '127.0.0.1', env: {} },
    );
    expect(env).toEqual({});
    expect(args.slice(11)).toEqual([
      '--onnx',
      'm.onnx',
      '--device',
      'cpu',
      '--virtual-gpu',
      `ws:2:${24 * GiB}`,
      '--virtual-footprint',
      String(9.6 * GiB),
      '--memory-budget', // on the CPU nothing sits outside the arena: the whole footprint
      String(Math.floor(9.6 * GiB)),
    ]);
  });

  it('the max batch the scheduler counted the footprint for, and the warm-up budget, go on the command line', () => {
    const { args } = replicaLaunch(
      { ...request, virtual: true, maxBatch: 2 },
      { id: 'r', host: '127.0.0.1', env: {}, warmupBudgetSeconds: 900 },
    );
    expect(args.slice(7, 15)).toEqual([
      '--replica-id',
      'r',
      '--node',
      'ws',
      '--max-batch',
      '2',
      '--warmup-budget',
      '900',
    ]);
  });
});
