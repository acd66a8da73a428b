import { afterEach, describe, expect, it, vi } from 'vitest';
import { splitVersion } from '../../scheduler/models.js';
import { planCommand } from './plan.js';

let err = '';

/** Runs `gpumux plan <args>` in process and returns what it printed (stderr in `err`). */
async function plan(...args: string[]): Promise<string> {
  let out = '';
  err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err += String(chunk);
    return true;
  });
  await planCommand().parseAsync(args, { from: 'user' });
  return out;
}

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

describe('gpumux plan with model versions', () => {
  it('name@version: a folder planned as a version; a path keeps its own @', () => {
    expect(splitVersion('codetr@2')).toEqual({ folder: 'codetr', version: '2' });
    expect(splitVersion('codetr')).toEqual({ folder: 'codetr', version: undefined });
    expect(splitVersion('./exports@old/codetr')).toEqual({
      folder: './exports@old/codetr',
      version: undefined,
    });
  });

  it('prints model@version rows when two versions of one model are planned', async () => {
    const text = await plan('--gpus', '4x24564MiB', '--models', 'codetr@1=6,codetr@2=2');
    expect(text).toMatch(/policy throughput; replicas: codetr@1 6, codetr@2 2/);
    expect(text).toMatch(/local\/0 .* codetr@1×1 codetr@2×1|local\/0 .* codetr@1×2/);
    expect(process.exitCode).toBeUndefined();

    const json = JSON.parse(
      await plan('--gpus', '4x24564MiB', '--models', 'codetr@1=6,codetr@2=2', '--json'),
    ) as { gpus: { replicas: string[] }[]; replicas: { model: string; version: string }[] };
    expect(json.gpus.flatMap((g) => g.replicas).filter((m) => m === 'codetr@2')).toHaveLength(2);
    expect(json.replicas.filter((r) => r.model === 'codetr' && r.version === '2')).toHaveLength(2);
  });

  it("every version of a model counts the chosen max batch's footprint, not only the first", async () => {
    const json = JSON.parse(
      await plan('--gpus', '10x24564MiB', '--models', 'codetr@1=5,codetr@2=5', '--json'),
    ) as {
      replicas: { version: string; footprintBytes: number }[];
      maxBatch: { chosen: number; rows: { maxBatch: number; footprintBytes: number }[] }[];
    };
    const [choice] = json.maxBatch;
    const chosenBytes = choice!.rows.find((r) => r.maxBatch === choice!.chosen)!.footprintBytes;
    expect(choice!.chosen).toBe(2);
    expect(json.replicas.filter((r) => r.version === '2')).toHaveLength(5);
    for (const r of json.replicas) expect(r.footprintBytes).toBe(chosenBytes);
  });

  it('exit code 2 when a version asked for by count does not fit', async () => {
    const text = await plan('--gpus', '2x24564MiB', '--models', 'codetr@1=4,codetr@2=1');
    expect(text).toMatch(/unplaced: 1 × codetr@\d/);
    expect(process.exitCode).toBe(2);
  });
});

describe('gpumux plan that places nothing', () => {
  it('says why a model gets no replica and exits 2 (table and --json)', async () => {
    await plan('--gpus', '10x4GiB', '--models', 'codetr');
    expect(err).toMatch(
      /codetr gets no replica: its declared footprint at max batch 1 \(10\.6 GiB\) is larger than the most any GPU offers \(3\.5 GiB after the 512 MiB reserve\)/,
    );
    expect(process.exitCode).toBe(2);
    process.exitCode = undefined;
    await plan('--gpus', '10x4GiB', '--models', 'codetr', '--json');
    expect(process.exitCode).toBe(2);
  });

  it('an unknown model name lists the models that exist', async () => {
    await expect(plan('--models', 'codter')).rejects.toThrow(
      /no model "codter".*models here: codetr, shapes/,
    );
  });

  it('refuses GPU memory without a unit', async () => {
    await expect(plan('--gpus', '10x24', '--models', 'codetr')).rejects.toThrow(
      /"24" in "10x24" has no unit/,
    );
  });
});

describe('gpumux plan: the one-replica-per-GPU comparison', () => {
  it('is the same figure as the operator page: every GPU holds one replica, whatever count was asked', async () => {
    // three replicas asked for on ten GPUs: the seed's setup still ran one replica on each of the ten
    const text = await plan('--gpus', '10x24564MiB', '--models', 'codetr=3');
    expect(text).toMatch(/one replica per GPU \(no packing\): [\d.]+ % with 10 replicas/);
  });
});
