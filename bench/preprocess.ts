/**
 * Pre-processing benchmark: ms per 1280×720 JPEG to produce the model input tensor (issue 2 target: ≤ 15 ms of
 * one core). Runs frames one at a time and reports wall ms and CPU ms (user + system of this process) per image,
 * and the shares of decode, resize and tensor building.
 *
 *   npx tsx bench/preprocess.ts [--frames 60]
 *
 * Paths: `shapes` (UINT8 NHWC into 640×480, normalisation in the graph: the fast path), `codetr` (the Co-DETR
 * manifest as shipped: UINT8 NHWC, host scale (1280, 800), a 1280×720 frame copied 1:1 into [720, 1280]; the
 * graph enlarges it 1.6× to 2048×1152 on the GPU), and for comparison `codetr-host-upscale` (the previous
 * manifest: the host enlarges to 2048×1152 with libvips, graphUpscale 1) and `codetr-float32` (that geometry
 * as FLOAT32 NCHW normalised on the host, like a plain export).
 */
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { KernelEnum } from 'sharp';
import { loadModel } from '../models/manifest/load.js';
import { graphBucket, type Manifest } from '../models/manifest/schema.js';
import { createPreprocessor } from '../replica/image/preprocess.js';
import { configureSharp } from '../replica/image/sharp-config.js';

const frames = Number(process.argv[process.argv.indexOf('--frames') + 1] ?? 60) || 60;
const WARMUP = 5;

async function manifestOf(name: string): Promise<Manifest> {
  return (await loadModel(fileURLToPath(new URL(`../models/${name}`, import.meta.url)))).manifest;
}

/** A camera-like 1280×720 JPEG: smooth shapes plus blurred noise (flat synthetic images decode unrealistically fast). */
async function photoLikeJpeg(): Promise<Buffer> {
  const noise = await sharp({
    create: {
      width: 1280,
      height: 720,
      channels: 3,
      background: '#808080',
      noise: { type: 'gaussian', mean: 128, sigma: 40 },
    },
  })
    .blur(1.2)
    .png()
    .toBuffer();
  const svg = Buffer.from(
    `<svg width="1280" height="720"><defs><linearGradient id="g"><stop offset="0" stop-color="#2a6"/><stop offset="1" stop-color="#c73"/></linearGradient></defs>` +
      `<rect width="1280" height="720" fill="url(#g)" opacity="0.6"/><rect x="100" y="120" width="200" height="140" fill="#f00"/>` +
      `<circle cx="800" cy="400" r="180" fill="#35c" opacity="0.7"/></svg>`,
  );
  return sharp(noise)
    .composite([{ input: svg }])
    .jpeg({ quality: 90 })
    .toBuffer();
}

interface Measured {
  wallMs: number;
  cpuMs: number;
}

async function measure(fn: () => Promise<unknown>): Promise<Measured> {
  for (let i = 0; i < WARMUP; i++) await fn();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < frames; i++) await fn();
  const wallMs = (performance.now() - t0) / frames;
  const cpu = process.cpuUsage(cpu0);
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000 / frames };
}

const fmt = (m: Measured) =>
  `${m.wallMs.toFixed(2).padStart(6)} ms wall  ${m.cpuMs.toFixed(2).padStart(6)} ms cpu`;

async function main(): Promise<void> {
  const jpeg = await photoLikeJpeg();
  console.log(
    `input: 1280×720 JPEG, ${(jpeg.length / 1024).toFixed(0)} KiB (q90, 4:2:0, camera-like noise); ${frames} frames one at a time`,
  );

  const shapes = await manifestOf('shapes');
  const codetr = await manifestOf('codetr');
  // The previous Co-DETR manifest: the same geometry, with the 1.6× enlargement done by libvips on the host.
  const g = codetr.preprocess.graphUpscale;
  const codetrHostUpscale: Manifest = {
    ...codetr,
    preprocess: {
      ...codetr.preprocess,
      resize: { ...codetr.preprocess.resize, scale: graphBucket(codetr.preprocess.resize.scale, g) }, // × g per side
      buckets: codetr.preprocess.buckets.map((b) => graphBucket(b, g)),
      graphUpscale: 1,
    },
  };
  const codetrFloat: Manifest = {
    ...codetrHostUpscale,
    inputs: { image: { name: 'images', datatype: 'FLOAT32', layout: 'NCHW' } },
    preprocess: {
      ...codetrHostUpscale.preprocess,
      normalize: { mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375] },
    },
  };

  const settings: {
    label: string;
    concurrency: number;
    kernel: keyof KernelEnum;
    fastShrinkOnLoad: boolean;
  }[] = [
    {
      label: 'chosen: concurrency 1, linear, fastShrinkOnLoad',
      concurrency: 1,
      kernel: 'linear',
      fastShrinkOnLoad: true,
    },
    {
      label: 'concurrency 1, lanczos3 (sharp default kernel)',
      concurrency: 1,
      kernel: 'lanczos3',
      fastShrinkOnLoad: true,
    },
    {
      label: 'concurrency 1, linear, no fastShrinkOnLoad',
      concurrency: 1,
      kernel: 'linear',
      fastShrinkOnLoad: false,
    },
    {
      label: 'concurrency = cores (sharp default), linear',
      concurrency: 0,
      kernel: 'linear',
      fastShrinkOnLoad: true,
    },
  ];

  for (const [name, manifest] of [
    ['shapes (UINT8 NHWC → 640×360 in 480×640)', shapes],
    [`codetr as shipped (UINT8 NHWC 1280×720 1:1 in 720×1280; the graph enlarges ${g}× on the GPU)`, codetr],
    [
      'codetr-host-upscale, previous manifest (UINT8 NHWC → 2048×1152 by libvips on the host)',
      codetrHostUpscale,
    ],
    ['codetr-float32 (FLOAT32 NCHW normalised → 2048×1152 on the host)', codetrFloat],
  ] as const) {
    console.log(`\n== ${name}`);
    for (const s of settings) {
      configureSharp({ concurrency: s.concurrency });
      const preprocess = createPreprocessor({
        manifest,
        kernel: s.kernel,
        fastShrinkOnLoad: s.fastShrinkOnLoad,
      });
      let decodeMs = 0;
      let tensorMs = 0;
      const m = await measure(async () => {
        const f = await preprocess(jpeg);
        decodeMs += f.decodeMs;
        tensorMs += f.tensorMs;
      });
      const n = frames + WARMUP;
      console.log(
        `${s.label.padEnd(50)} ${fmt(m)}   (decode+resize ${(decodeMs / n).toFixed(2)} ms, tensor ${(tensorMs / n).toFixed(2)} ms)`,
      );
    }
  }

  // Shares: full-size decode alone vs decode + resize (the resize is what the difference costs).
  configureSharp({ concurrency: 1 });
  console.log('\n== shares (concurrency 1)');
  const decodeOnly = await measure(() => sharp(jpeg).raw().toBuffer());
  console.log(`${'decode only, full 1280×720'.padEnd(50)} ${fmt(decodeOnly)}`);
  const half = await measure(() =>
    sharp(jpeg).resize(640, 360, { fit: 'fill', kernel: 'linear' }).raw().toBuffer(),
  );
  console.log(`${'decode + resize to 640×360 (shrink-on-load)'.padEnd(50)} ${fmt(half)}`);
  const up = await measure(() =>
    sharp(jpeg).resize(2048, 1152, { fit: 'fill', kernel: 'linear' }).raw().toBuffer(),
  );
  console.log(`${'decode + resize to 2048×1152'.padEnd(50)} ${fmt(up)}`);
  console.log(`\npeak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
}

await main();
