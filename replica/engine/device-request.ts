/**
 * The device a replica runs its model on, as flags and config spell it. Its own module (no onnxruntime import)
 * so the CLI can check `--device` without loading the runtime.
 */

export type DeviceRequest = { kind: 'cpu' } | { kind: 'cuda'; index: number };

/** `cpu`, `cuda` (= cuda:0) or `cuda:<n>`. */
export function parseDevice(device: string): DeviceRequest {
  const text = device.trim().toLowerCase();
  if (text === 'cpu') return { kind: 'cpu' };
  const match = /^cuda(?::(\d+))?$/.exec(text);
  if (!match) throw new Error(`invalid device "${device}": use cpu, cuda or cuda:<n>`);
  return { kind: 'cuda', index: match[1] === undefined ? 0 : Number(match[1]) };
}

/** The canonical spelling of a device: `cpu` or `cuda:<n>` (so `cuda` and `CUDA:0` read as `cuda:0`). */
export function formatDevice(device: DeviceRequest): string {
  return device.kind === 'cpu' ? 'cpu' : `cuda:${device.index}`;
}
