import { readFile } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { Manifest } from './schema.js';

export class ManifestError extends Error {
  constructor(
    message: string,
    readonly issues: { path: string; message: string }[] = [],
  ) {
    super(message);
    this.name = 'ManifestError';
  }
}

/** A validated manifest and where its files are. */
export interface LoadedModel {
  manifest: Manifest;
  /** Folder the manifest lives in. */
  dir: string;
  /** Absolute path of the ONNX file. */
  onnxPath: string;
}

/** Validates parsed JSON; errors name every offending field (`preprocess.buckets[0][1]: ...`). */
export function parseManifest(json: unknown, where = 'manifest'): Manifest {
  const result = Manifest.safeParse(json);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    path: issue.path
      .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
      .join('')
      .replace(/^\./, ''),
    message: issue.message,
  }));
  const lines = issues.map((i) => `  ${i.path || '(root)'}: ${i.message}`).join('\n');
  throw new ManifestError(`invalid ${where}:\n${lines}`, issues);
}

/** Loads `<dir>/manifest.json` (or a manifest file path) and resolves the ONNX path. */
export async function loadModel(dirOrFile: string): Promise<LoadedModel> {
  const isFile = existsSync(dirOrFile) && statSync(dirOrFile).isFile();
  const dir = path.resolve(isFile ? path.dirname(dirOrFile) : dirOrFile);
  const file = isFile ? path.resolve(dirOrFile) : path.join(dir, 'manifest.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ManifestError(`cannot read model manifest ${file}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ManifestError(`model manifest ${file} is not valid JSON: ${(err as Error).message}`);
  }
  const manifest = parseManifest(json, file);
  const onnxPath = path.isAbsolute(manifest.onnx.file)
    ? manifest.onnx.file
    : path.join(dir, manifest.onnx.file);
  return { manifest, dir, onnxPath };
}
