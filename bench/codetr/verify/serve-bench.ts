/**
 * Serves an exported Co-DETR end to end and measures it (a benchmark, not CI: ~880 MB per graph, a frame takes
 * minutes on 2 shared cores). Starts a replica on the CPU execution provider with the export, a gateway in
 * front of it, sends a real photo through `POST /v1/models/codetr/detect` and the same photo, letterboxed
 * into the bucket, as a UINT8 tensor through KServe v2 `POST /v2/models/codetr/infer` (binary extension),
 * and prints: time to ready (load + warm-up at every bucket × max batch), the replica's reported footprint,
 * its RSS and peak RSS, and per-frame latency with the replica's own timings. Boxes mean nothing with random
 * weights; the point is that the whole path runs on the real graph.
 *
 * The replica only knows the buckets the graph has: this writes a copy of models/codetr/manifest.json with
 * `preprocess.buckets` set to --buckets into a temporary model folder.
 *
 *   npx tsx bench/codetr/verify/serve-bench.ts --onnx /work/codetr-run/out/bucket-1x720x1280.onnx \
 *     --buckets 720x1280 --max-batch 1 --image $MMDET_DIR/demo/demo.jpg [--frames 2] [--threads 2]
 *     [--disabled-optimizers ConstantFolding]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { spawnCli, REPO_ROOT } from '../../../test/helpers/cli-process.js';
import { processPeakRssBytes, processRssBytes, startReplica } from '../../../test/helpers/replica-process.js';
import { binaryInferRequest, readBinaryInferResponse } from '../../../test/helpers/v2-binary.js';

const { values: flags } = parseArgs({
  options: {
    onnx: { type: 'string' },
    /** Another model folder to try the script on (e.g. models/shapes-detr with its own small graph). */
    model: { type: 'string', default: 'models/codetr' },
    buckets: { type: 'string', default: '720x1280' },
    'max-batch': { type: 'string', default: '1' },
    image: { type: 'string' },
    frames: { type: 'string', default: '2' },
    threads: { type: 'string', default: '2' },
    'ready-timeout': { type: 'string', default: '1800' },
    /** The copied manifest's `onnx.disabledOptimizers` instead of the model's, comma-separated ('' for none). */
    'disabled-optimizers': { type: 'string' },
  },
});
if (!flags.onnx || !flags.image) {
  console.error(
    'usage: serve-bench.ts --onnx model.onnx --image photo.jpg [--buckets 720x1280] [--max-batch 1]',
  );
  process.exit(2);
}
const GiB = 2 ** 30;
const log = (fields: Record<string, unknown>) =>
  console.log(JSON.stringify({ t: new Date().toISOString(), ...fields }));
const buckets = flags.buckets.split(',').map((b) => b.split('x').map(Number) as [number, number]);

const modelDir = mkdtempSync(path.join(os.tmpdir(), 'codetr-serve-'));
const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, flags.model, 'manifest.json'), 'utf8')) as {
  name: string;
  onnx: Record<string, unknown>;
  preprocess: { buckets: [number, number][]; padValue: number };
};
manifest.preprocess.buckets = buckets;
if (flags['disabled-optimizers'] !== undefined)
  manifest.onnx.disabledOptimizers = flags['disabled-optimizers'].split(',').filter(Boolean);
writeFileSync(path.join(modelDir, 'manifest.json'), JSON.stringify(manifest, null, 2));

const started = performance.now();
const replica = await startReplica({
  model: modelDir,
  args: [
    '--onnx',
    path.resolve(flags.onnx),
    '--device',
    'cpu',
    '--threads',
    flags.threads,
    '--max-batch',
    flags['max-batch'],
    '--warmup-budget',
    flags['ready-timeout'],
  ],
  timeoutMs: Number(flags['ready-timeout']) * 1000,
});
const readyS = (performance.now() - started) / 1000;
const pid = replica.process.pid!;
const warmups = replica.logs().filter((l) => l.msg === 'warm-up step done');
const stats = (await (await fetch(`${replica.url}/v1/stats`)).json()) as {
  footprint: unknown;
  state: string;
};
log({
  event: 'ready',
  readyS,
  warmups,
  footprint: stats.footprint,
  rssGiB: ((await processRssBytes(pid)) ?? 0) / GiB,
  peakRssGiB: ((await processPeakRssBytes(pid)) ?? 0) / GiB,
});

// a frame takes minutes here: the gateway's deadline must outlast it
const gatewayFlags = {
  '--replica': replica.url,
  '--port': '0',
  '--admin-port': '0',
  '--host': '127.0.0.1',
  '--timeout': '30m',
};
const gateway = spawnCli(['gateway', ...Object.entries(gatewayFlags).flat()]);
const gatewayUrl = await new Promise<string>((resolve, reject) => {
  let buf = '';
  gateway.stderr!.on('data', (chunk: Buffer) => {
    buf += chunk.toString();
    for (const line of buf.split('\n')) {
      try {
        const r = JSON.parse(line) as { msg?: string; url?: string };
        if (r.msg === 'gateway listening' && r.url) resolve(r.url);
      } catch {
        // not a JSON line (yet)
      }
    }
  });
  gateway.once('exit', (code) => reject(new Error(`gateway exited ${code}`)));
});
for (let i = 0; i < 100 && (await fetch(`${gatewayUrl}/v2/health/ready`)).status !== 200; i++) {
  await new Promise((r) => setTimeout(r, 200));
}

const photo = readFileSync(flags.image);
const frames = Number(flags.frames);
try {
  for (let i = 0; i < frames; i++) {
    const t0 = performance.now();
    const res = await fetch(`${gatewayUrl}/v1/models/${manifest.name}/detect?threshold=0.01`, {
      method: 'POST',
      body: photo,
      headers: { 'content-type': 'image/jpeg' },
    });
    const body = (await res.json()) as { detections?: unknown[]; timings?: unknown; error?: unknown };
    log({
      event: 'detect',
      frame: i,
      status: res.status,
      latencyS: (performance.now() - t0) / 1000,
      detections: body.detections?.length,
      first: body.detections?.[0],
      timings: body.timings,
      error: body.error,
      peakRssGiB: ((await processPeakRssBytes(pid)) ?? 0) / GiB,
    });
  }
  // v2 infer: the photo letterboxed into the first bucket (keep ratio, pad bottom/right), as the host would
  const [bh, bw] = buckets[0]!;
  const fitted = await sharp(photo)
    .resize({ width: bw, height: bh, fit: 'inside' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const pixels = await sharp(fitted.data, { raw: fitted.info })
    .extend({
      bottom: bh - fitted.info.height,
      right: bw - fitted.info.width,
      background: {
        r: manifest.preprocess.padValue,
        g: manifest.preprocess.padValue,
        b: manifest.preprocess.padValue,
      },
    })
    .raw()
    .toBuffer();
  const header = {
    inputs: [
      {
        name: 'images',
        datatype: 'UINT8',
        shape: [1, bh, bw, 3],
        parameters: { binary_data_size: pixels.length },
      },
    ],
    parameters: { binary_data_output: true },
  };
  const t0 = performance.now();
  const res = await fetch(
    `${gatewayUrl}/v2/models/${manifest.name}/infer`,
    binaryInferRequest(header, pixels),
  );
  const latencyS = (performance.now() - t0) / 1000;
  const out = res.ok
    ? (await readBinaryInferResponse<{ outputs: { name: string; shape: number[] }[] }>(res)).json.outputs
    : await res.text();
  log({
    event: 'v2 infer',
    status: res.status,
    latencyS,
    outputs: out,
    peakRssGiB: ((await processPeakRssBytes(pid)) ?? 0) / GiB,
  });
} finally {
  gateway.kill('SIGTERM');
  await replica.stop();
  rmSync(modelDir, { recursive: true, force: true });
}
