import type { ReplicaRequest } from '../../scheduler/orchestrators/types.js';

const GiB = 1024 ** 3;

/** A codetr replica on GPU 2 (24 GiB) of node `ws`: the request the local orchestrator's tests launch. */
export const codetrOnGpu2: ReplicaRequest = {
  model: 'codetr',
  version: '1',
  node: 'ws',
  gpuIndex: 2,
  footprintBytes: 9.6 * GiB,
  manifest: 'models/codetr',
  gpuMemoryBytes: 24 * GiB,
};
