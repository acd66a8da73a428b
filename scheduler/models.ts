import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel, type LoadedModel } from '../models/manifest/load.js';
import { declaredByMaxBatch, declaredFootprintAt } from '../models/manifest/memory.js';
import type { Manifest } from '../models/manifest/schema.js';
import type { SchedulerModel } from './model-set.js';

/** `codetr=3,shapes` → [{ name: 'codetr', count: 3 }, { name: 'shapes', count: undefined }]. */
export function parseModelsSpec(spec: string): { name: string; count: number | undefined }[] {
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((part) => {
      const m = /^([^=]+?)(?:=(\d+))?$/.exec(part);
      if (!m) throw new Error(`invalid --models entry "${part}" (expected name or name=N)`);
      return { name: m[1]!, count: m[2] === undefined ? undefined : Number(m[2]) };
    });
}

/** `codetr@2` → the codetr folder planned (or run) as version 2; a path's own `@` (`./a@b/x`) is left alone. */
export function splitVersion(spec: string): { folder: string; version: string | undefined } {
  const m = /^(.+)@([A-Za-z0-9][A-Za-z0-9._-]*)$/.exec(spec);
  return m ? { folder: m[1]!, version: m[2]! } : { folder: spec, version: undefined };
}

/** The repository root (source: scheduler/ → ..; compiled: dist/scheduler/ → ../..). */
export function repoRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const candidate of [path.resolve(here, '..'), path.resolve(here, '../..')]) {
    if (existsSync(path.join(candidate, 'models', 'shapes', 'manifest.json'))) return candidate;
  }
  return path.resolve(here, '..');
}

/** A model name (`codetr` → models/codetr under the cwd, else under the repo) or a folder path. */
export function resolveModelDir(nameOrPath: string): string {
  if (nameOrPath.includes('/') || nameOrPath.startsWith('.')) return path.resolve(nameOrPath);
  const local = path.resolve('models', nameOrPath);
  if (existsSync(path.join(local, 'manifest.json'))) return local;
  return path.join(repoRoot(), 'models', nameOrPath);
}

/** Model names that resolve (folders with a manifest.json under ./models and the repository's models/). */
export function knownModelNames(): string[] {
  const names = new Set<string>();
  for (const base of [path.resolve('models'), path.join(repoRoot(), 'models')]) {
    if (!existsSync(base)) continue;
    for (const entry of readdirSync(base, { withFileTypes: true }))
      if (entry.isDirectory() && existsSync(path.join(base, entry.name, 'manifest.json')))
        names.add(entry.name);
  }
  return [...names].sort();
}

export async function loadModelByName(nameOrPath: string): Promise<LoadedModel> {
  const dir = resolveModelDir(nameOrPath);
  if (!existsSync(dir))
    throw new Error(
      `no model "${nameOrPath}" (${dir} does not exist); models here: ${knownModelNames().join(', ')} — ` +
        'or give a folder path holding manifest.json (models/codetr/README.md: exporting your own)',
    );
  return loadModel(dir);
}

/**
 * A manifest's memory as the scheduler counts it. With a max batch set by the user: the footprint the manifest
 * declares for it (memory.byMaxBatch, models/manifest/memory.ts), and replicas run with it. Otherwise, with
 * memory.byMaxBatch: the table, for the scheduler to choose the max batch from at its first pass (until then
 * the figure for batching.maxBatch). Without a table: memory.declaredBytes.
 */
export function schedulerMemory(
  manifest: Pick<Manifest, 'memory' | 'batching'>,
  maxBatch?: number,
): Pick<SchedulerModel, 'declaredBytes' | 'footprintByMaxBatch' | 'maxBatch'> {
  if (maxBatch !== undefined)
    return { declaredBytes: declaredFootprintAt(manifest, maxBatch).bytes, maxBatch };
  const declaredBytes = declaredFootprintAt(manifest).bytes;
  if (!manifest.memory.byMaxBatch) return { declaredBytes };
  return {
    declaredBytes,
    footprintByMaxBatch: declaredByMaxBatch(manifest.memory, manifest.batching.maxBatch),
  };
}
