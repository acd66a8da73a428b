import type { DeviceStats, FootprintStats } from '../contract.js';
import { createNvidiaSmi, type NvidiaSmi } from './nvidia-smi.js';
import { processRssBytes } from './rss.js';

/**
 * What the replica reports about its device and footprint, by device kind:
 * - `cuda`: nvidia-smi for the GPU (`smiId`), reported as node-level GPU `index`; footprint = memory.used after warm-up − memory.used before the session
 *   loaded (valid when replicas on one GPU start one at a time, as the scheduler does);
 * - `virtual` (CPU standing for a configured GPU): footprint configured (else the manifest's declared bytes),
 *   memoryUsed = used by others + footprint;
 * - `cpu`: no GPU; footprint = process RSS.
 */

export interface VirtualGpu {
  node: string;
  index: number;
  capacityBytes: number;
  usedByOthersBytes: number;
  footprintBytes?: number;
}

export interface DeviceTelemetryOptions {
  kind: 'cuda' | 'cpu';
  /**
   * `cuda`: the GPU nvidia-smi measures (`--id=`: its index in nvidia-smi's view, a UUID or a PCI bus id; see
   * gpu-identity.ts). Default: `index`, else 0.
   */
  smiId?: string;
  /** `cuda`: node-level GPU index to report; default the index nvidia-smi prints for `smiId`. */
  index?: number;
  node: string;
  virtualGpu?: VirtualGpu;
  declaredBytes: number;
  smi?: NvidiaSmi;
  rss?: () => number;
}

export interface DeviceTelemetry {
  /** Before the session loads: remembers the GPU's used memory (cuda). */
  beforeLoad(): Promise<void>;
  /** After warm-up: fixes the footprint. */
  afterWarmup(): Promise<void>;
  /** Re-reads live numbers (nvidia-smi, RSS); errors leave the last values. */
  refresh(): Promise<void>;
  device(): DeviceStats;
  footprint(): FootprintStats;
}

export function createDeviceTelemetry(options: DeviceTelemetryOptions): DeviceTelemetry {
  const { kind, index, smiId = String(index ?? 0), node, virtualGpu, declaredBytes } = options;
  const { smi = createNvidiaSmi(), rss = processRssBytes } = options;
  if (kind === 'cuda' && virtualGpu) throw new Error('a virtual GPU is only for CPU replicas');
  if (kind === 'cpu' && virtualGpu) return virtualTelemetry(virtualGpu, declaredBytes);
  if (kind === 'cpu') return cpuTelemetry(node, rss);
  return cudaTelemetry({ smi, smiId, index, node, declaredBytes });
}

/** A CPU replica standing for a GPU: fixed numbers, from the configuration. */
function virtualTelemetry(virtualGpu: VirtualGpu, declaredBytes: number): DeviceTelemetry {
  const bytes = virtualGpu.footprintBytes ?? declaredBytes;
  const device: DeviceStats = {
    kind: 'virtual',
    node: virtualGpu.node,
    index: virtualGpu.index,
    uuid: `virtual-${virtualGpu.node}-${virtualGpu.index}`,
    name: 'virtual',
    memoryTotalBytes: virtualGpu.capacityBytes,
    memoryUsedBytes: virtualGpu.usedByOthersBytes + bytes,
    virtual: true,
  };
  const footprint: FootprintStats = { bytes, method: 'configured', peakBytes: bytes };
  return {
    beforeLoad: async () => {},
    afterWarmup: async () => {},
    refresh: async () => {},
    device: () => ({ ...device }),
    footprint: () => ({ ...footprint }),
  };
}

/** No GPU: the footprint is the process's RSS. */
function cpuTelemetry(node: string, rss: () => number): DeviceTelemetry {
  let bytes = 0;
  let peak = 0;
  const sample = () => {
    const now = rss();
    peak = Math.max(peak, now);
    return now;
  };
  return {
    beforeLoad: () => Promise.resolve(void sample()),
    afterWarmup: () => Promise.resolve(void (bytes = sample())),
    refresh: () => Promise.resolve(void sample()),
    device: () => ({
      kind: 'cpu',
      node,
      index: null,
      uuid: null,
      name: null,
      memoryTotalBytes: null,
      memoryUsedBytes: null,
      virtual: false,
    }),
    footprint: () => ({ bytes: bytes || sample(), method: 'rss', peakBytes: Math.max(peak, bytes) }),
  };
}

interface CudaTelemetryOptions {
  smi: NvidiaSmi;
  smiId: string;
  index: number | undefined;
  node: string;
  declaredBytes: number;
}

/** nvidia-smi for one GPU; the footprint is memory.used after warm-up − before the load. */
function cudaTelemetry({ smi, smiId, index, node, declaredBytes }: CudaTelemetryOptions): DeviceTelemetry {
  let baseline: number | null = null;
  let last: DeviceStats = {
    kind: 'cuda',
    node,
    index: index ?? null,
    uuid: null,
    name: null,
    memoryTotalBytes: null,
    memoryUsedBytes: null,
    virtual: false,
  };
  let footprint: FootprintStats = { bytes: declaredBytes, method: 'declared', peakBytes: declaredBytes };
  const read = async () => {
    const gpu = await smi.query(smiId);
    last = {
      ...last,
      // inside a pinned container nvidia-smi numbers the one GPU it sees 0: the configured index wins
      index: index ?? gpu.index,
      uuid: gpu.uuid,
      name: gpu.name,
      memoryTotalBytes: gpu.memoryTotalBytes,
      memoryUsedBytes: gpu.memoryUsedBytes,
      utilizationRatio: gpu.utilizationRatio,
    };
    return gpu;
  };
  return {
    async beforeLoad() {
      baseline = (await read()).memoryUsedBytes;
    },
    async afterWarmup() {
      const used = (await read()).memoryUsedBytes;
      if (baseline !== null && used !== null) {
        const bytes = Math.max(0, used - baseline);
        footprint = { bytes, method: 'gpu-used-delta', peakBytes: bytes };
      }
    },
    async refresh() {
      try {
        // Live GPU numbers only: later growth on a shared GPU cannot be told apart from other replicas'
        // (no PID matching in a pod), so the footprint stays the warm-up delta.
        await read();
      } catch {
        // keep the last reading; nvidia-smi failing now and then must not break /v1/stats
      }
    },
    device: () => ({ ...last }),
    footprint: () => ({ ...footprint }),
  };
}
