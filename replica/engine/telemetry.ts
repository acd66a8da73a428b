import type { DeviceTelemetry } from '../telemetry/device-telemetry.js';
import { createDeviceTelemetry } from '../telemetry/device-telemetry.js';
import { resolveGpuIdentity } from '../telemetry/gpu-identity.js';
import type { NvidiaSmi } from '../telemetry/nvidia-smi.js';
import type { DeviceRequest } from './device-request.js';
import type { EngineOptions } from './types.js';

const REFRESH_MS = 2000;

/**
 * The engine's device telemetry: which GPU nvidia-smi measures (gpu-identity.ts), the footprint around load and
 * warm-up, a refresh every 2 s once ready (unref'd), and a switch to CPU telemetry after a permitted CPU
 * fall-back (a replica that runs on the CPU never reports the GPU it asked for).
 *
 * @example
 * const telemetry = createEngineTelemetry({ device: { kind: 'cpu' }, node: 'local', declaredBytes: 2 ** 31, env: process.env });
 * await telemetry.current().beforeLoad(); ... telemetry.startRefreshing();
 */
export function createEngineTelemetry(options: {
  device: DeviceRequest;
  gpuIndex?: number;
  node: string;
  declaredBytes: number;
  virtualGpu?: EngineOptions['virtualGpu'];
  smi?: NvidiaSmi;
  env: NodeJS.ProcessEnv;
  refreshMs?: number;
}) {
  const { device, gpuIndex, node, declaredBytes, virtualGpu, smi, env, refreshMs = REFRESH_MS } = options;
  let telemetry: DeviceTelemetry = createDeviceTelemetry({
    kind: device.kind,
    ...(device.kind === 'cuda' ? cudaIdentity(device.index, gpuIndex, env) : {}),
    node,
    declaredBytes,
    ...(virtualGpu ? { virtualGpu } : {}),
    ...(smi ? { smi } : {}),
  });
  let timer: NodeJS.Timeout | null = null;
  return {
    current: () => telemetry,
    /** After a permitted CPU fall-back: report the CPU the model really runs on. */
    fellBackToCpu() {
      telemetry = createDeviceTelemetry({ kind: 'cpu', node, declaredBytes });
    },
    startRefreshing() {
      timer ??= setInterval(() => void telemetry.refresh(), refreshMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}

/** Which GPU nvidia-smi measures and which index to report (gpu-identity.ts). */
function cudaIdentity(
  deviceIndex: number,
  gpuIndex: number | undefined,
  env: NodeJS.ProcessEnv,
): { smiId: string; index?: number } {
  const id = resolveGpuIdentity({ deviceIndex, ...(gpuIndex === undefined ? {} : { gpuIndex }), env });
  return { smiId: id.smiId, ...(id.index === null ? {} : { index: id.index }) };
}

export type EngineTelemetry = ReturnType<typeof createEngineTelemetry>;
