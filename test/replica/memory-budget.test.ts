import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { neededBytesFrom, REPLICA_EXIT_CODES } from '../../replica/exit-codes.js';
import { processPeakRssBytes, startReplica, type ReplicaProcess } from '../helpers/replica-process.js';
import { slowShapesModel } from '../helpers/slow-model.js';
import { copyWithOneBucket } from '../helpers/one-bucket.js';

/**
 * The memory budget ONNX Runtime enforces (replica/engine/memory-budget.ts), on the CPU execution provider
 * (the same BFC arena code as CUDA's), in real replica processes: the stand-in model with ~5 × 32 MiB of
 * activations per frame, one bucket, max batch 2 (the worst request mix is that bucket at batch 2).
 * - a budget below the need: warm-up fails, the process exits 4 with a message naming the budget and what
 *   ONNX Runtime asked for, and "needs at least N bytes" (the scheduler's footprint fact);
 * - the scheduler's loop, replayed: budget := N until it warms up; then it serves the worst mix with its
 *   peak RSS within budget + the process's non-arena memory.
 */

const SCRATCH_MIB = 32;
const MAX_BATCH = 2;
const MiB = 2 ** 20;
/**
 * What a replica process holds outside ONNX Runtime's arena: Node and V8, sharp/libvips, the ORT library's
 * code and thread pools, decode buffers. Measured here ~170–220 MiB (the plain shapes replica's RSS).
 */
const NON_ARENA_BYTES = 320 * MiB;

const dir = mkdtempSync(path.join(os.tmpdir(), 'gpumux-budget-'));
const started: ReplicaProcess[] = [];
afterAll(async () => {
  await Promise.all(started.map((r) => r.stop('SIGKILL')));
  rmSync(dir, { recursive: true, force: true });
});

/** The model folder with its manifest cut to one bucket. */
const oneBucket = (model: string): string => copyWithOneBucket(model, dir);

let model: string | undefined;
const modelDir = async () => (model ??= oneBucket(await slowShapesModel(20, { scratchMiB: SCRATCH_MIB })));

const replicaArgs = (budget: number) => [
  '--max-batch',
  String(MAX_BATCH),
  '--threads',
  '1',
  '--memory-budget',
  String(budget),
];

/** Starts a replica with `budget`; resolves with it ready, or with its exit and the fatal line. */
async function tryBudget(budget: number) {
  const replica = await startReplica({
    model: await modelDir(),
    args: replicaArgs(budget),
    waitForReady: false,
  });
  started.push(replica);
  const ready = (async () => {
    for (;;) {
      const res = await fetch(`${replica.url}/v2/health/ready`).catch(() => null);
      if (res?.status === 200) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const outcome = await Promise.race([ready.then(() => 'ready' as const), replica.exited]);
  if (outcome === 'ready') return { replica, exit: null, fatal: '' };
  const fatal = replica
    .logs()
    .map((l) => (typeof l.msg === 'string' ? l.msg : ''))
    .find((m) => m.includes('memory budget exceeded'));
  return { replica, exit: outcome, fatal: fatal ?? '' };
}

describe('memory budget enforced by ONNX Runtime (real replica processes, CPU EP)', () => {
  it('a budget below the need fails warm-up with exit 4, the budget and what was asked', async () => {
    const budget = 48 * MiB;
    const { replica, exit, fatal } = await tryBudget(budget);
    const seen = JSON.stringify({ exit, lastLines: replica.logs().slice(-4) });
    expect(exit?.code, seen).toBe(REPLICA_EXIT_CODES.memoryBudgetExceeded);
    expect(fatal).toMatch(
      /^memory budget exceeded: budget 48(\.0)? MiB \(50331648 bytes\); ONNX Runtime asked for/,
    );
    // at least one frame's activations were asked for beyond what the budget holds
    expect(neededBytesFrom(fatal)).toBeGreaterThan(budget);
  });

  it('the scheduler loop (budget := what was asked) converges, and the replica serves the worst mix within it', async () => {
    let budget = 48 * MiB;
    let ready: ReplicaProcess | null = null;
    const tried: number[] = [];
    for (let attempt = 0; attempt < 12 && !ready; attempt++) {
      tried.push(budget);
      const { replica, exit, fatal } = await tryBudget(budget);
      if (!exit) {
        ready = replica;
        break;
      }
      expect(exit.code, fatal).toBe(REPLICA_EXIT_CODES.memoryBudgetExceeded);
      const needed = neededBytesFrom(fatal)!;
      expect(needed).toBeGreaterThan(budget); // every failure teaches a strictly larger floor
      budget = needed;
    }
    if (!ready) throw new Error(`never ready; budgets tried: ${tried.map((b) => b / MiB).join(', ')} MiB`);
    const served = ready;
    // it holds at least the batch's activations (MAX_BATCH × ~3 × 32 MiB live at the peak)
    expect(budget).toBeGreaterThan(MAX_BATCH * 2 * SCRATCH_MIB * MiB);

    const frame = await sharp({
      create: { width: 640, height: 480, channels: 3, background: { r: 200, g: 30, b: 30 } },
    })
      .jpeg()
      .toBuffer();
    const detect = () =>
      fetch(`${served.url}/v1/models/shapes-slow/detect`, {
        method: 'POST',
        body: frame,
        headers: { 'content-type': 'image/jpeg' },
      }).then(async (res) => {
        await res.arrayBuffer();
        return res.status;
      });
    // the worst mix: the (only) bucket at max batch, again and again
    for (let round = 0; round < 4; round++) {
      const statuses = await Promise.all(Array.from({ length: MAX_BATCH * 2 }, detect));
      expect(statuses).toEqual(statuses.map(() => 200));
    }
    const peak = (await processPeakRssBytes(served.process.pid!))!;
    expect(peak).toBeLessThan(budget + NON_ARENA_BYTES);
  }, 240_000); // up to a dozen replica processes start one after another: ~30 s idle, 70 s+ on a loaded machine
});
