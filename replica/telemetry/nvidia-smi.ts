import { execFile } from 'node:child_process';

/**
 * GPU memory from `nvidia-smi` CSV queries. nvidia-smi reports MiB (with `nounits`); we keep bytes.
 * Inside a pod, nvidia-smi sees the GPUs the container was given but cannot match processes by PID (PID
 * namespaces), so per-process memory is not queried: the replica's footprint is a used-memory delta.
 */

export const NVIDIA_SMI_ARGS = [
  '--query-gpu=index,uuid,name,memory.total,memory.used,utilization.gpu',
  '--format=csv,noheader,nounits',
] as const;

export interface GpuInfo {
  index: number;
  uuid: string | null;
  name: string | null;
  /** null where nvidia-smi prints `[N/A]` or `[Not Supported]`. */
  memoryTotalBytes: number | null;
  memoryUsedBytes: number | null;
  /** `utilization.gpu` (percent of the last sample period a kernel ran) as 0..1; null where not reported. */
  utilizationRatio: number | null;
}

const MIB = 1024 * 1024;

function field(text: string): string | null {
  const t = text.trim();
  return t === '' || /^\[.*\]$/.test(t) || t === 'N/A' ? null : t;
}

function mib(text: string): number | null {
  const t = field(text);
  if (t === null) return null;
  const n = Number(t);
  return Number.isFinite(n) && n >= 0 ? n * MIB : null;
}

function ratio(text: string): number | null {
  const t = field(text);
  if (t === null) return null;
  const n = Number(t);
  return Number.isFinite(n) && n >= 0 ? Math.min(1, n / 100) : null;
}

/** Parses the CSV of NVIDIA_SMI_ARGS; lines that do not parse are skipped. */
export function parseNvidiaSmi(csv: string): GpuInfo[] {
  const gpus: GpuInfo[] = [];
  for (const line of csv.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const parts = line.split(',');
    if (parts.length < 6) continue;
    // the product name may itself hold commas: index, uuid first; total, used, utilisation last; the name between
    const index = Number(parts[0]!.trim());
    if (!Number.isInteger(index) || index < 0) continue;
    gpus.push({
      index,
      uuid: field(parts[1]!),
      name: field(parts.slice(2, -3).join(',')),
      memoryTotalBytes: mib(parts.at(-3)!),
      memoryUsedBytes: mib(parts.at(-2)!),
      utilizationRatio: ratio(parts.at(-1)!),
    });
  }
  return gpus;
}

export type CommandRunner = (file: string, args: readonly string[]) => Promise<string>;

export const runCommand: CommandRunner = (file, args) =>
  new Promise((resolve, reject) => {
    execFile(file, [...args], { timeout: 5000, maxBuffer: 1024 * 1024 }, (err: Error | null, stdout) =>
      err ? reject(err) : resolve(stdout),
    );
  });

export interface NvidiaSmiOptions {
  /** Injected for tests (no GPU here); default runs the real binary. */
  run?: CommandRunner;
  binary?: string;
}

/**
 * @example
 * const smi = createNvidiaSmi();
 * const gpu = await smi.query('GPU-e18afb8d-…'); // or an index: { index: 0, name: 'NVIDIA GeForce RTX 4090', memoryTotalBytes: 25757220864, ... }
 */
export function createNvidiaSmi(options: NvidiaSmiOptions = {}) {
  const { run = runCommand, binary = process.env.GPUMUX_NVIDIA_SMI ?? 'nvidia-smi' } = options;
  return {
    async list(): Promise<GpuInfo[]> {
      return parseNvidiaSmi(await run(binary, NVIDIA_SMI_ARGS));
    },
    /**
     * One GPU, chosen with `nvidia-smi --id=<id>`: an index in nvidia-smi's view, a UUID (`GPU-…`) or a PCI
     * bus id. Errors name what nvidia-smi did report.
     */
    async query(id: string | number): Promise<GpuInfo> {
      const wanted = String(id).trim();
      const gpus = parseNvidiaSmi(await run(binary, [`--id=${wanted}`, ...NVIDIA_SMI_ARGS]));
      const byIndex = /^\d+$/.test(wanted) ? gpus.find((g) => g.index === Number(wanted)) : undefined;
      const byUuid = gpus.find((g) => g.uuid !== null && g.uuid.toLowerCase() === wanted.toLowerCase());
      // --id already narrowed the rows to one; a PCI bus id is not among the queried fields
      const gpu = byIndex ?? byUuid ?? (gpus.length === 1 ? gpus[0] : undefined);
      if (!gpu)
        throw new Error(
          `nvidia-smi reports no GPU ${wanted} (found: ${gpus.map((g) => g.index).join(', ') || 'none'})`,
        );
      return gpu;
    },
  };
}

export type NvidiaSmi = ReturnType<typeof createNvidiaSmi>;
