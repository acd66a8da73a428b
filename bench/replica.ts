/**
 * Replica benchmark: starts real replica processes (models/shapes by default), drives them with undici at
 * concurrency 1 and 16, with dynamic batching on (max batch from the manifest) and off (`--max-batch 1`),
 * and prints requests/s, p50/p99 latency, decode + pre-processing time per frame (from the replica's own
 * metrics) and the replica's peak RSS. Every scenario is bounded in request count and time.
 *
 * Run: npx tsx bench/replica.ts [--model models/shapes] [--requests 400] [--seconds 20] [--width 1280 --height 720]
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { drawImage, rectAt } from '../test/helpers/images.js';
import { sampleValue } from '../test/helpers/prometheus.js';
import { processPeakRssBytes, startReplica, type ReplicaProcess } from '../test/helpers/replica-process.js';

const { values: flags } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/shapes' },
    requests: { type: 'string', default: '400' },
    seconds: { type: 'string', default: '20' },
    width: { type: 'string', default: '1280' },
    height: { type: 'string', default: '720' },
    warmup: { type: 'string', default: '20' },
  },
});
const MAX_REQUESTS = Number(flags.requests);
const MAX_SECONDS = Number(flags.seconds);
const WIDTH = Number(flags.width);
const HEIGHT = Number(flags.height);
const WARMUP = Number(flags.warmup);
const CONCURRENCIES = [1, 16];

interface Result {
  batching: string;
  concurrency: number;
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  meanBatch: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function scrape(replica: ReplicaProcess): Promise<string> {
  return (await fetch(`${replica.url}/metrics`)).text();
}

/** Closed-loop load: `concurrency` workers each send the next request when the last one answers. */
async function load(
  pool: Pool,
  path: string,
  body: Buffer,
  concurrency: number,
  count: number,
  seconds: number,
) {
  const latencies: number[] = [];
  let sent = 0;
  let errors = 0;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  const worker = async () => {
    while (sent < count && performance.now() < deadline) {
      sent++;
      const t0 = performance.now();
      try {
        const res = await pool.request({
          method: 'POST',
          path,
          body,
          headers: { 'content-type': 'image/jpeg' },
        });
        const json = (await res.body.json()) as { detections?: unknown[] };
        if (res.statusCode !== 200 || json.detections?.length !== 1) errors++;
        else latencies.push(performance.now() - t0);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - started) / 1000;
  return { latencies: latencies.sort((a, b) => a - b), errors, elapsed };
}

async function runScenario(batching: 'on' | 'off', image: Buffer, model: string) {
  const replica = await startReplica({ model, args: batching === 'off' ? ['--max-batch', '1'] : [] });
  const name = (await (await fetch(`${replica.url}/v1/stats`)).json()) as { model: string; maxBatch: number };
  const path = `/v1/models/${name.model}/detect`;
  const pool = new Pool(replica.url, { connections: Math.max(...CONCURRENCIES), pipelining: 1 });
  const results: Result[] = [];
  let frameMs = NaN;
  try {
    await load(pool, path, image, 4, WARMUP, 30); // JIT, allocator and sharp caches
    for (const concurrency of CONCURRENCIES) {
      const before = await scrape(replica);
      const { latencies, errors, elapsed } = await load(
        pool,
        path,
        image,
        concurrency,
        MAX_REQUESTS,
        MAX_SECONDS,
      );
      const after = await scrape(replica);
      const batches =
        sampleValue(after, 'gpumux_batch_size_count') - sampleValue(before, 'gpumux_batch_size_count');
      const frames =
        sampleValue(after, 'gpumux_batch_size_sum') - sampleValue(before, 'gpumux_batch_size_sum');
      results.push({
        batching: `${batching} (max ${name.maxBatch})`,
        concurrency,
        requests: latencies.length,
        errors,
        seconds: elapsed,
        rps: latencies.length / elapsed,
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        meanBatch: batches > 0 ? frames / batches : NaN,
      });
      if (concurrency === 1) {
        // decode + resize/pad/tensor per frame, measured inside the replica (histogram sums).
        const sum =
          sampleValue(after, 'gpumux_preprocess_duration_seconds_sum') -
          sampleValue(before, 'gpumux_preprocess_duration_seconds_sum');
        const count =
          sampleValue(after, 'gpumux_preprocess_duration_seconds_count') -
          sampleValue(before, 'gpumux_preprocess_duration_seconds_count');
        frameMs = count > 0 ? (sum / count) * 1000 : NaN;
      }
    }
  } finally {
    await pool.close();
  }
  const peakRss = await processPeakRssBytes(replica.process.pid!);
  const exit = await replica.stop();
  return { results, peakRss, frameMs, exit };
}

async function main(): Promise<void> {
  const cpus = os.cpus();
  console.log('gpumux replica benchmark');
  console.log(
    `machine: ${cpus.length} cores, ${cpus[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, load avg ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log(
    `node ${process.version}, model ${flags.model}, ${WIDTH}×${HEIGHT} JPEG, ≤ ${MAX_REQUESTS} requests or ${MAX_SECONDS} s per scenario, ONNX Runtime CPU EP`,
  );
  const image = await drawImage({
    width: WIDTH,
    height: HEIGHT,
    quality: 90,
    rects: [rectAt(WIDTH, HEIGHT, [0.1, 0.2, 0.45, 0.7], 'red')],
  });
  console.log(`image: ${image.byteLength} bytes\n`);

  const rows: Result[] = [];
  const extra: string[] = [];
  for (const batching of ['on', 'off'] as const) {
    const { results, peakRss, frameMs, exit } = await runScenario(batching, image, flags.model!);
    rows.push(...results);
    extra.push(
      `batching ${batching}: peak RSS ${(peakRss! / 2 ** 20).toFixed(0)} MiB; decode + pre-process ${frameMs.toFixed(2)} ms per frame (c=1); exit ${exit.code}`,
    );
  }

  const header = ['batching', 'conc', 'ok', 'errors', 'req/s', 'p50 ms', 'p99 ms', 'mean batch'];
  const table = rows.map((r) => [
    r.batching,
    String(r.concurrency),
    String(r.requests),
    String(r.errors),
    r.rps.toFixed(1),
    r.p50.toFixed(1),
    r.p99.toFixed(1),
    r.meanBatch.toFixed(2),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  console.log(line(header));
  for (const row of table) console.log(line(row));
  console.log('');
  for (const e of extra) console.log(e);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
