import { describeIssues, fieldIssues, type FieldIssue } from '../../common/zod-issues.js';
import { readFile } from 'node:fs/promises';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Manifest } from './schema.js';

export class ManifestError extends Error {
  constructor(
    message: string,
    readonly issues: FieldIssue[] = [],
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
  const issues = fieldIssues(result.error);
  throw new ManifestError(describeIssues(where, issues), issues);
}

/** `<dir>/manifest.json`, or the file itself when given a manifest file path. */
function manifestFile(dirOrFile: string): string {
  const isFile = existsSync(dirOrFile) && statSync(dirOrFile).isFile();
  return isFile ? path.resolve(dirOrFile) : path.resolve(dirOrFile, 'manifest.json');
}

/** The manifest file's text → a validated model with its ONNX path resolved against the manifest's folder. */
function modelFromText(text: string, file: string): LoadedModel {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ManifestError(`model manifest ${file} is not valid JSON: ${(err as Error).message}`);
  }
  const manifest = parseManifest(json, file);
  const dir = path.dirname(file);
  const onnxPath = path.isAbsolute(manifest.onnx.file)
    ? manifest.onnx.file
    : path.join(dir, manifest.onnx.file);
  return { manifest, dir, onnxPath };
}

function cannotRead(file: string, err: unknown): ManifestError {
  return new ManifestError(`cannot read model manifest ${file}: ${(err as Error).message}`);
}

/** Loads `<dir>/manifest.json` (or a manifest file path) and resolves the ONNX path. */
export async function loadModel(dirOrFile: string): Promise<LoadedModel> {
  const file = manifestFile(dirOrFile);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw cannotRead(file, err);
  }
  return modelFromText(text, file);
}

/** loadModel, synchronously: for a replica engine whose `manifest` must exist as soon as it is created. */
export function loadModelSync(dirOrFile: string): LoadedModel {
  const file = manifestFile(dirOrFile);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw cannotRead(file, err);
  }
  return modelFromText(text, file);
}
