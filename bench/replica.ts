/**
 * Replica benchmark: starts real replica processes (models/shapes by default), drives them with undici at
 * concurrency 1 and 16, with dynamic batching on (max batch from the manifest) and off (`--max-batch 1`),
 * and prints requests/s, p50/p99 latency, decode + pre-processing time per frame (from the replica's own
 * metrics) and the replica's peak RSS. Every scenario is bounded in request count and time.
 *
 * Then the session thread, old path against new in one run: the stand-in slow model (models/shapes/
 * generate_slow.py, ~250 ms per frame) at `--max-batch 4` with 8 closed-loop clients for 15 s, while open-loop
 * probes (one every 50 ms) time `/v2/health/live` and `/v1/stats` (p50/p99), with the session on the main thread
 * (GPUMUX_SESSION_THREAD=main, the old path) and in its worker thread (the default); plus models/shapes at
 * concurrency 1 on both paths. Ratios new/old are printed.
 *
 * Run: npx tsx bench/replica.ts [--model models/shapes] [--requests 400] [--seconds 20] [--width 1280 --height 720]
 *        [--slow-ms 250] [--slow-seconds 15] [--slow-clients 8] [--rounds 2] [--only slow|shapes]
 * The slow comparison runs in rounds, old-new-new-old (ABBA), so that load from others on a shared machine
 * falls on both paths alike; its table has a row per run and one per path over all its runs.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { drawImage, rectAt } from '../test/helpers/images.js';
import { sampleValue } from '../test/helpers/prometheus.js';
import { processPeakRssBytes, startReplica, type ReplicaProcess } from '../test/helpers/replica-process.js';
import { slowShapesModel } from '../test/helpers/slow-model.js';

type SessionThread = 'main' | 'worker';

const { values: flags } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/shapes' },
    requests: { type: 'string', default: '400' },
    seconds: { type: 'string', default: '20' },
    width: { type: 'string', default: '1280' },
    height: { type: 'string', default: '720' },
    warmup: { type: 'string', default: '20' },
    'slow-ms': { type: 'string', default: '250' },
    'slow-seconds': { type: 'string', default: '15' },
    'slow-clients': { type: 'string', default: '8' },
    rounds: { type: 'string', default: '2' },
    only: { type: 'string' },
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

async function runScenario(
  batching: 'on' | 'off',
  image: Buffer,
  model: string,
  thread: SessionThread = 'worker',
  concurrencies = CONCURRENCIES,
) {
  const replica = await startReplica({
    model,
    args: batching === 'off' ? ['--max-batch', '1'] : [],
    env: { GPUMUX_SESSION_THREAD: thread },
  });
  const name = (await (await fetch(`${replica.url}/v1/stats`)).json()) as { model: string; maxBatch: number };
  const path = `/v1/models/${name.model}/detect`;
  const pool = new Pool(replica.url, { connections: Math.max(...CONCURRENCIES), pipelining: 1 });
  const results: Result[] = [];
  let frameMs = NaN;
  try {
    await load(pool, path, image, 4, WARMUP, 30); // JIT, allocator and sharp caches
    for (const concurrency of concurrencies) {
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
        batching: `${batching} (max ${name.maxBatch}), ${thread}`,
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
  if (flags.only !== 'slow') {
    // the old path at concurrency 1 before and after the new one's runs, for "no slower than before"
    const oldBefore = await runScenario('on', image, flags.model, 'main', [1]);
    for (const batching of ['on', 'off'] as const) {
      const { results, peakRss, frameMs, exit } = await runScenario(batching, image, flags.model);
      rows.push(...results);
      extra.push(
        `batching ${batching}: peak RSS ${(peakRss! / 2 ** 20).toFixed(0)} MiB; decode + pre-process ${frameMs.toFixed(2)} ms per frame (c=1); exit ${exit.code}`,
      );
    }
    const oldAfter = await runScenario('on', image, flags.model, 'main', [1]);
    rows.push(...oldBefore.results, ...oldAfter.results);
    printTable(rows);
    const w = rows.find(
      (r) => r.concurrency === 1 && r.batching.startsWith('on') && r.batching.endsWith('worker'),
    )!;
    const olds = [...oldBefore.results, ...oldAfter.results];
    const mean = (f: (r: Result) => number) => olds.reduce((n, r) => n + f(r), 0) / olds.length;
    extra.push(
      `${flags.model} c=1, worker ÷ main thread (mean of the runs before and after): req/s ×${(w.rps / mean((r) => r.rps)).toFixed(2)}, ` +
        `p50 ×${(w.p50 / mean((r) => r.p50)).toFixed(2)}, p99 ×${(w.p99 / mean((r) => r.p99)).toFixed(2)}`,
    );
    console.log('');
    for (const e of extra) console.log(e);
  }
  if (flags.only !== 'shapes') await slowComparison(image);
}

function printTable(rows: Result[]): void {
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
  printAligned(header, table);
}

function printAligned(header: string[], table: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  console.log(line(header));
  for (const row of table) console.log(line(row));
}

/** One slow run's raw samples; several runs of a path add up (sumRuns). */
interface SlowRun {
  thread: SessionThread;
  label: string;
  latencies: number[];
  errors: number;
  seconds: number;
  batches: number;
  batchedFrames: number;
  inferenceSeconds: number;
  live: number[];
  stats: number[];
}

function sumRuns(label: string, runs: SlowRun[]): SlowRun {
  return {
    thread: runs[0]!.thread,
    label,
    latencies: runs.flatMap((r) => r.latencies),
    errors: runs.reduce((n, r) => n + r.errors, 0),
    seconds: runs.reduce((n, r) => n + r.seconds, 0),
    batches: runs.reduce((n, r) => n + r.batches, 0),
    batchedFrames: runs.reduce((n, r) => n + r.batchedFrames, 0),
    inferenceSeconds: runs.reduce((n, r) => n + r.inferenceSeconds, 0),
    live: runs.flatMap((r) => r.live),
    stats: runs.flatMap((r) => r.stats),
  };
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const fps = (r: SlowRun) => r.latencies.length / r.seconds;
const meanBatch = (r: SlowRun) => r.batchedFrames / r.batches;

/**
 * Open-loop probes: every 50 ms one GET, alternating /v2/health/live and /v1/stats, each timed from when it
 * was due, until `stop` resolves. Open loop, so both paths get the same probes (and pay for the same work):
 * probes that a blocked event loop cannot answer wait, and their wait is what they measure.
 */
async function probe(url: string, stop: Promise<void>) {
  const pool = new Pool(url, { connections: 16 });
  const times: Record<'live' | 'stats', number[]> = { live: [], stats: [] };
  const inFlight: Promise<void>[] = [];
  let done = false;
  void stop.then(() => (done = true));
  const started = performance.now();
  try {
    for (let i = 0; !done; i++) {
      const which = i % 2 === 0 ? 'live' : 'stats';
      const due = started + i * 50;
      inFlight.push(
        (async () => {
          const res = await pool.request({
            method: 'GET',
            path: which === 'live' ? '/v2/health/live' : '/v1/stats',
          });
          await res.body.arrayBuffer();
          times[which].push(performance.now() - due);
        })(),
      );
      await new Promise((r) => setTimeout(r, Math.max(0, started + (i + 1) * 50 - performance.now())));
    }
    await Promise.all(inFlight);
  } finally {
    await pool.close();
  }
  return times;
}

async function slowScenario(
  model: string,
  thread: SessionThread,
  image: Buffer,
  label: string,
): Promise<SlowRun> {
  const clients = Number(flags['slow-clients']);
  const seconds = Number(flags['slow-seconds']);
  const replica = await startReplica({
    model,
    args: ['--max-batch', '4'],
    env: { GPUMUX_SESSION_THREAD: thread },
    timeoutMs: 120_000,
  });
  const pool = new Pool(replica.url, { connections: clients, pipelining: 1 });
  try {
    const path = '/v1/models/shapes-slow/detect';
    await load(pool, path, image, 1, 2, 30); // first requests (JIT) outside the measurement
    const before = await scrape(replica);
    let stop: () => void = () => undefined;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const probes = probe(replica.url, stopped);
    const { latencies, errors, elapsed } = await load(
      pool,
      path,
      image,
      clients,
      Number.MAX_SAFE_INTEGER,
      seconds,
    );
    stop();
    const after = await scrape(replica);
    const delta = (name: string) => sampleValue(after, name) - sampleValue(before, name);
    return {
      thread,
      label,
      latencies,
      errors,
      seconds: elapsed,
      batches: delta('gpumux_batch_size_count'),
      batchedFrames: delta('gpumux_batch_size_sum'),
      inferenceSeconds: delta('gpumux_inference_duration_seconds_sum'),
      ...(await probes),
    };
  } finally {
    await pool.close();
    await replica.stop();
  }
}

async function slowComparison(image: Buffer): Promise<void> {
  const ms = Number(flags['slow-ms']);
  const rounds = Number(flags.rounds);
  const model = await slowShapesModel(ms);
  console.log(
    `\nsession thread, old vs new: stand-in slow model (~${ms} ms/frame as generated), --max-batch 4, ` +
      `${flags['slow-clients']} closed-loop clients, ${flags['slow-seconds']} s per run, ${rounds} round(s) ABBA; ` +
      'open-loop probes every 50 ms alternate /v2/health/live and /v1/stats',
  );
  const runs: SlowRun[] = [];
  for (let round = 0; round < rounds; round++) {
    const order: SessionThread[] = round % 2 === 0 ? ['main', 'worker'] : ['worker', 'main'];
    for (const thread of order)
      runs.push(await slowScenario(model, thread, image, `${thread} #${round + 1}`));
  }
  const old = sumRuns(
    'main (old), all',
    runs.filter((r) => r.thread === 'main'),
  );
  const neu = sumRuns(
    'worker (new), all',
    runs.filter((r) => r.thread === 'worker'),
  );
  const header = [
    'run',
    'frames',
    'err',
    'frames/s',
    'p50 ms',
    'p99 ms',
    'mean batch',
    'ms/frame',
    'live p50',
    'live p99',
    'stats p50',
    'stats p99',
    'probe max',
  ];
  printAligned(
    header,
    [...runs, old, neu].map((r) => {
      const lat = sorted(r.latencies);
      const live = sorted(r.live);
      const stats = sorted(r.stats);
      return [
        r.label,
        String(r.latencies.length),
        String(r.errors),
        fps(r).toFixed(2),
        percentile(lat, 50).toFixed(0),
        percentile(lat, 99).toFixed(0),
        meanBatch(r).toFixed(2),
        ((r.inferenceSeconds / r.batchedFrames) * 1000).toFixed(0),
        percentile(live, 50).toFixed(1),
        percentile(live, 99).toFixed(1),
        percentile(stats, 50).toFixed(1),
        percentile(stats, 99).toFixed(1),
        Math.max(live.at(-1) ?? NaN, stats.at(-1) ?? NaN).toFixed(1),
      ];
    }),
  );
  const p99 = (xs: number[]) => percentile(sorted(xs), 99);
  console.log(
    `new / old: throughput ×${(fps(neu) / fps(old)).toFixed(2)}, mean batch ×${(meanBatch(neu) / meanBatch(old)).toFixed(2)}, ` +
      `live p99 ×${(p99(neu.live) / p99(old.live)).toFixed(3)}, stats p99 ×${(p99(neu.stats) / p99(old.stats)).toFixed(3)}; ` +
      `probes answered: ${old.live.length + old.stats.length} old, ${neu.live.length + neu.stats.length} new`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
