/**
 * Writes the manifest for an exported model (run_export.sh calls it after the merge; it can be run alone):
 *   node --import tsx models/codetr/export/make-manifest.ts --shapes "1x720x1280 1x800x1280" \
 *     --export-info out/export.json [--labels classes.txt] [--name my-detector --version 2] \
 *     [--score-threshold 0.4] [--top-k 100] [--memory 11GiB] [--onnx model.onnx --sha256 <hex>] \
 *     [--template models/codetr/manifest.json] --out out/manifest.json
 * Labels: --labels (JSON array, { "classes": [...] } or one name a line), else the config's own
 * `metainfo.classes` as export_onnx.py found them in export.json.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseBytes } from '../../../common/bytes.js';
import { manifestFromExport, parseLabels, type ExportFacts } from './manifest-from-export.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));

function main(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: {
      template: { type: 'string', default: path.join(HERE, '..', 'manifest.json') },
      shapes: { type: 'string' },
      'export-info': { type: 'string' },
      labels: { type: 'string' },
      name: { type: 'string' },
      version: { type: 'string' },
      'score-threshold': { type: 'string' },
      'top-k': { type: 'string' },
      memory: { type: 'string' },
      onnx: { type: 'string' },
      sha256: { type: 'string' },
      out: { type: 'string' },
    },
  });
  if (!values.shapes || !values.out) throw new Error('needs --shapes "NxHxW ..." and --out manifest.json');
  const facts = values['export-info']
    ? (JSON.parse(readFileSync(values['export-info'], 'utf8')) as ExportFacts)
    : undefined;
  const labels = values.labels ? parseLabels(readFileSync(values.labels, 'utf8')) : facts?.classes;
  if (!labels)
    throw new Error(
      'no class names: pass --labels <file>, or export a config whose metainfo names its classes',
    );
  const number = (flag: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`--${flag} ${v}: not a number`);
    return n;
  };
  const scoreThreshold = number('score-threshold', values['score-threshold']);
  const topK = number('top-k', values['top-k']);
  const manifest = manifestFromExport({
    template: JSON.parse(readFileSync(values.template, 'utf8')) as unknown,
    labels,
    shapes: values.shapes.split(/[\s,]+/).filter(Boolean),
    ...(facts ? { facts } : {}),
    ...(values.name ? { name: values.name } : {}),
    ...(values.version ? { version: values.version } : {}),
    ...(scoreThreshold !== undefined ? { scoreThreshold } : {}),
    ...(topK !== undefined ? { topK } : {}),
    ...(values.memory ? { memoryBytes: parseBytes(values.memory) } : {}),
    ...(values.onnx ? { onnxFile: values.onnx } : {}),
    ...(values.sha256 ? { sha256: values.sha256 } : {}),
  });
  writeFileSync(values.out, JSON.stringify(manifest, null, 2) + '\n');
  process.stdout.write(
    `${values.out}: ${manifest.name} version ${manifest.version}, ${manifest.labels.length} classes, buckets ` +
      `${manifest.preprocess.buckets.map(([h, w]) => `${h}x${w}`).join(' ')}, max batch ${manifest.batching.maxBatch}, ` +
      `declared ${(manifest.memory.declaredBytes / 2 ** 30).toFixed(1)} GiB\n`,
  );
}

try {
  main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`make-manifest: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
