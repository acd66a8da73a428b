import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel, type LoadedModel } from '../models/manifest/load.js';

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

export async function loadModelByName(nameOrPath: string): Promise<LoadedModel> {
  return loadModel(resolveModelDir(nameOrPath));
}
