import { parseManifest } from '../../manifest/load.js';
import type { Manifest } from '../../manifest/schema.js';

/**
 * What export_onnx.py learnt from the config it exported (`export.json` beside the graphs): the head's sizes,
 * and the class names when the config names them (`metainfo.classes`, as a fine-tuning config does).
 */
export interface ExportFacts {
  numClasses: number;
  numQueries: number;
  classes?: string[];
  /** The channel order the model was trained on (its data_preprocessor's bgr_to_rgb); the host sends that. */
  colorSpace?: 'RGB' | 'BGR';
  config?: string;
  weights?: string;
}

/** Everything a team chooses for its own model; all but `template`, `labels` and `shapes` are optional. */
export interface ManifestChoices {
  /** The manifest to start from (the shipped Co-DETR one): input/output contract, resize, post-processing. */
  template: unknown;
  labels: string[];
  /** Every `NxHxW` in the ONNX file: each bucket at every batch 1..max (a replica runs any batch up to it). */
  shapes: string[];
  facts?: ExportFacts;
  name?: string;
  version?: string;
  description?: string;
  scoreThreshold?: number;
  topK?: number;
  /** Peak memory of one replica at the max batch, bytes; absent: the template's figure for that batch. */
  memoryBytes?: number;
  onnxFile?: string;
  sha256?: string;
}

export class ManifestChoiceError extends Error {
  override name = 'ManifestChoiceError';
}

interface Shape {
  n: number;
  h: number;
  w: number;
}

function parseShape(text: string): Shape {
  const m = /^(\d+)x(\d+)x(\d+)$/.exec(text.trim());
  if (!m)
    throw new ManifestChoiceError(
      `shape "${text}": expected NxHxW (batch x height x width), e.g. 1x720x1280`,
    );
  const [n, h, w] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (!(n > 0 && h > 0 && w > 0)) throw new ManifestChoiceError(`shape "${text}": every side must be > 0`);
  return { n, h, w };
}

/** The buckets (first-seen order) and max batch of a set of exported shapes; refuses a set with holes. */
export function bucketsOf(shapes: string[]): { buckets: [number, number][]; maxBatch: number } {
  const parsed = shapes.map(parseShape);
  if (parsed.length === 0) throw new ManifestChoiceError('no shapes: list the NxHxW shapes in the ONNX file');
  const buckets: [number, number][] = [];
  for (const { h, w } of parsed) if (!buckets.some(([bh, bw]) => bh === h && bw === w)) buckets.push([h, w]);
  const maxBatch = Math.max(...parsed.map((s) => s.n));
  const missing: string[] = [];
  for (const [h, w] of buckets)
    for (let n = 1; n <= maxBatch; n++)
      if (!parsed.some((s) => s.n === n && s.h === h && s.w === w)) missing.push(`${n}x${h}x${w}`);
  if (missing.length)
    throw new ManifestChoiceError(
      `shapes ${missing.join(', ')} are missing: a replica runs every bucket at every batch 1..${maxBatch}; ` +
        'export them too, or lower the max batch',
    );
  return { buckets, maxBatch };
}

function resizeScale(buckets: [number, number][]): [number, number] {
  return [
    Math.max(...buckets.map(([h, w]) => Math.max(h, w))),
    Math.max(...buckets.map(([h, w]) => Math.min(h, w))),
  ];
}

/** The template's memory profile cut to `maxBatch`, or the given figure; says which in `source`. */
function memoryFor(
  template: Manifest,
  maxBatch: number,
  memoryBytes: number | undefined,
): Manifest['memory'] {
  if (memoryBytes !== undefined)
    return {
      declaredBytes: memoryBytes,
      source: `given at export (make-manifest --memory) for max batch ${maxBatch}; replaced by the measured footprint once a replica has warmed up`,
    };
  const entries = (template.memory.byMaxBatch ?? []).filter((e) => e.maxBatch <= maxBatch);
  const atMax = entries.find((e) => e.maxBatch === maxBatch);
  const declaredBytes =
    atMax?.declaredBytes ??
    (maxBatch === template.batching.maxBatch ? template.memory.declaredBytes : undefined);
  if (declaredBytes === undefined)
    throw new ManifestChoiceError(
      `the template declares no memory for max batch ${maxBatch}: pass --memory (the peak of one replica at that batch, e.g. 20GiB)`,
    );
  const prefix = `the template's figure (${template.name}); another backbone or bucket needs its own --memory. `;
  return {
    declaredBytes,
    source: prefix + (atMax?.source ?? template.memory.source),
    ...(entries.length ? { byMaxBatch: entries.map((e) => ({ ...e, source: prefix + e.source })) } : {}),
    ...(template.memory.dependsOn ? { dependsOn: template.memory.dependsOn } : {}),
  };
}

/**
 * The manifest for one exported model: the template's contract with the team's labels, buckets, max batch,
 * thresholds and memory, validated by the same schema the replica loads it with.
 */
export function manifestFromExport(choices: ManifestChoices): Manifest {
  const template = parseManifest(choices.template, 'template manifest');
  const { buckets, maxBatch } = bucketsOf(choices.shapes);
  const labels = choices.labels.map((l) => l.trim()).filter(Boolean);
  const { facts } = choices;
  if (labels.length === 0)
    throw new ManifestChoiceError('no class names: pass a labels file (one name a line)');
  if (new Set(labels).size !== labels.length)
    throw new ManifestChoiceError(
      `class names repeat: ${labels.filter((l, i) => labels.indexOf(l) !== i).join(', ')}`,
    );
  if (facts && facts.numClasses !== labels.length)
    throw new ManifestChoiceError(
      `${labels.length} class names for a head with ${facts.numClasses} classes${facts.config ? ` (${facts.config})` : ''}: ` +
        'the names must be the training classes, in the order of the training set',
    );
  // top-k picks (query, class) pairs; more than exist would only be padding
  const pairs = facts ? facts.numQueries * facts.numClasses : Infinity;
  const topK = Math.min(choices.topK ?? template.postprocess.topK, pairs);
  const { url: _templateUrl, sha256: _templateSha, ...templateOnnx } = template.onnx;
  const manifest = {
    ...template,
    name: choices.name ?? template.name,
    version: choices.version ?? template.version,
    description:
      choices.description ??
      `exported by models/codetr/export/run_export.sh${facts?.config ? ` from ${facts.config}` : ''}` +
        `${facts?.weights ? ` (${facts.weights})` : ''}: ${labels.length} classes, ${facts?.numQueries ?? '?'} queries`,
    onnx: {
      ...templateOnnx,
      file: choices.onnxFile ?? template.onnx.file,
      ...(choices.sha256 ? { sha256: choices.sha256 } : {}),
    },
    preprocess: {
      ...template.preprocess,
      // keep-ratio into the largest bucket's sides (long, short): every resized image then fits a bucket
      resize: { ...template.preprocess.resize, scale: resizeScale(buckets) },
      buckets,
      ...(facts?.colorSpace ? { colorSpace: facts.colorSpace } : {}),
    },
    postprocess: {
      ...template.postprocess,
      topK,
      scoreThreshold: choices.scoreThreshold ?? template.postprocess.scoreThreshold,
    },
    labels,
    batching: { ...template.batching, maxBatch },
    memory: memoryFor(template, maxBatch, choices.memoryBytes),
  };
  return parseManifest(manifest, 'generated manifest');
}

/** A labels file: a JSON array, mmdet's `{ "classes": [...] }`, or one name a line (blank lines skipped). */
export function parseLabels(text: string): string[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    const json: unknown = JSON.parse(trimmed);
    const list = Array.isArray(json) ? json : (json as { classes?: unknown }).classes;
    if (!Array.isArray(list) || !list.every((l) => typeof l === 'string'))
      throw new ManifestChoiceError('a JSON labels file is an array of names or { "classes": [names] }');
    return list;
  }
  return trimmed
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}
