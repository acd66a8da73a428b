import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import ort from 'onnxruntime-node';
import { REPO_ROOT } from './cli-process.js';

const run = promisify(execFile);
const GENERATOR = path.join(REPO_ROOT, 'models', 'shapes', 'generate_slow.py');
/** Per checkout (git-ignored), never a shared temp folder: a model made elsewhere is not calibrated here. */
const CACHE = path.join(REPO_ROOT, '.cache', 'slow-models');
/** Iterations of the first try; the measurement scales them. */
const PROBE_ITERATIONS = 64;
/** A calibration is kept once one run of a frame takes within this ratio of the target. */
const TOLERANCE = 0.2;
/** A lock older than this was left by a killed process. */
const LOCK_STALE_MS = 5 * 60_000;
/** Part of the cache key: a change to how the graph is timed recalibrates every cached model. */
const CALIBRATION_METHOD = 'ort-node min(wall,cpu) batch-1 1-thread v1';

/** What the helper measured when it made the model (calibration.json in the model folder). */
export interface SlowCalibration {
  targetMs: number;
  iterations: number;
  /** Fastest of several batch-1 runs in onnxruntime-node, one intra-op thread (as the tests run replicas). */
  measuredMs: number;
  machine: string;
}

/** What the timing depends on besides the graph: a cache made under another CPU or ORT is recalibrated. */
function machineKey(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown-cpu';
  const ortVersion = (ort.env as { versions?: { common?: string } }).versions?.common ?? '?';
  return `${os.arch()} ${cpu} ×${os.availableParallelism()} ort ${ortVersion}`;
}

/**
 * Milliseconds one frame takes in `model.onnx` of `dir`, batch 1, the way the tests run a replica (onnxruntime-node,
 * CPU, one intra-op thread): the least of the wall and CPU times of several runs, so other processes' load
 * does not count.
 */
export async function timeSlowModel(dir: string, { runs = 4 } = {}): Promise<number> {
  const session = await ort.InferenceSession.create(path.join(dir, 'model.onnx'), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  try {
    const input = new ort.Tensor('uint8', new Uint8Array(480 * 640 * 3).fill(128), [1, 480, 640, 3]);
    await session.run({ images: input }); // first run allocates
    let best = Infinity;
    for (let i = 0; i < runs; i++) {
      // CPU time as well as wall time: on a loaded machine (other test files, other users) the wall time
      // counts others' turns on the cores and would calibrate a model that is too fast once the load is gone
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      await session.run({ images: input });
      const cpu = process.cpuUsage(cpu0);
      best = Math.min(best, performance.now() - t0, (cpu.user + cpu.system) / 1000);
    }
    return best;
  } finally {
    await session.release();
  }
}

async function generate(out: string, iterations: number, scratchMiB: number): Promise<void> {
  const args = [
    GENERATOR,
    '--iterations',
    String(iterations),
    '--scratch-mib',
    String(scratchMiB),
    '--out',
    out,
  ];
  await run('/usr/bin/python3', args, { cwd: path.dirname(GENERATOR) });
}

/**
 * The stand-in slow model (models/shapes/generate_slow.py): the shapes detector whose inference costs about
 * `ms` per frame **in onnxruntime-node on this machine**: generated with /usr/bin/python3 and python3-onnx
 * (scripts/system-deps.sh), then timed here and regenerated with the work scaled until one frame takes
 * `ms` ± 20 % (the fastest of a few runs). Cached in this checkout's `.cache/slow-models`, keyed by the
 * generator's sources, the target and the machine (CPU, cores, ONNX Runtime); calibration.json in the folder
 * says what was measured. `scratchMiB` adds working memory per frame (`--scratch-mib`: ~5× that alive at the
 * peak), like a big detector's activations. Returns the model folder.
 *
 * A test that relies on the model being slow checks it first with assertSlowModel.
 *
 * @example
 * const dir = await slowShapesModel(400);
 * await assertSlowModel(dir, 300);
 * const replica = await startReplica({ model: dir, args: ['--max-batch', '4'] });
 */
export async function slowShapesModel(ms: number, { scratchMiB = 0 } = {}): Promise<string> {
  const sources = ['generate.py', 'generate_slow.py', 'manifest.json'].map((f) =>
    readFileSync(path.join(REPO_ROOT, 'models', 'shapes', f)),
  );
  const machine = machineKey();
  const key = createHash('sha256')
    .update(Buffer.concat(sources))
    .update(`${machine} ${CALIBRATION_METHOD}`)
    .digest('hex')
    .slice(0, 12);
  const dir = path.join(CACHE, `shapes-slow-${ms}ms-${scratchMiB}mib-${key}`);
  const done = () => existsSync(path.join(dir, 'calibration.json'));
  if (done()) return dir;
  mkdirSync(CACHE, { recursive: true });
  // One calibration at a time per model (test files run in parallel): two timing at once would each see the
  // other's load. The others wait for its folder.
  const lock = `${dir}.lock`;
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx'));
      break;
    } catch {
      if (done()) return dir;
      if (Date.now() - statMtime(lock) > LOCK_STALE_MS) rmSync(lock, { force: true });
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  const tmp = `${dir}.${process.pid}.${Date.now()}`;
  try {
    if (done()) return dir;
    const calibration = await calibrate(tmp, ms, scratchMiB, machine);
    writeFileSync(path.join(tmp, 'calibration.json'), `${JSON.stringify(calibration, null, 2)}\n`);
    renameSync(tmp, dir); // atomic: a parallel test file either sees the whole folder or none
    return dir;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    rmSync(lock, { force: true });
  }
}

function statMtime(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return Date.now();
  }
}

/** Generates into `out` with the iterations scaled until one frame takes `ms` (see slowShapesModel). */
async function calibrate(
  out: string,
  ms: number,
  scratchMiB: number,
  machine: string,
): Promise<SlowCalibration> {
  let iterations = PROBE_ITERATIONS;
  for (let attempt = 0; ; attempt++) {
    await generate(out, iterations, scratchMiB);
    const measuredMs = await timeSlowModel(out);
    const ratio = measuredMs / ms;
    // slower than asked is safe for a test about time (it only takes longer); faster is not. One iteration
    // cannot go faster (the scratch memory of --scratch-mib costs time of its own).
    if (ratio >= 1 - TOLERANCE && (ratio <= 1 + TOLERANCE || attempt >= 3 || iterations === 1))
      return { targetMs: ms, iterations, measuredMs, machine };
    if (attempt >= 5)
      throw new Error(
        `could not calibrate the stand-in slow model to ${ms} ms: ${iterations} iterations take ` +
          `${measuredMs.toFixed(1)} ms per frame in onnxruntime here`,
      );
    // the cost is linear in the iterations (the shapes graph underneath is ~1–2 ms)
    iterations = Math.max(1, Math.round((iterations * ms) / Math.max(0.1, measuredMs)));
  }
}

/**
 * Throws, saying why, unless one frame of the slow model in `dir` takes at least `atLeastMs` in onnxruntime
 * here now — so a test that needs "slow" fails on its premise, not later on a wrong-looking assertion.
 */
export async function assertSlowModel(dir: string, atLeastMs: number): Promise<number> {
  const ms = await timeSlowModel(dir, { runs: 2 });
  if (ms < atLeastMs)
    throw new Error(
      `the stand-in slow model in ${dir} runs one frame in ${ms.toFixed(1)} ms in onnxruntime on this machine; ` +
        `this test needs at least ${atLeastMs} ms. Delete the folder to recalibrate (test/helpers/slow-model.ts).`,
    );
  return ms;
}
