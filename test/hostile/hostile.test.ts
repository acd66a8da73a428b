import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyReport, GENERATORS, runCorpus, runGenerator } from './run.js';
import { startTargets, type Targets } from './targets.js';

/**
 * The hostile-input suite (issue #19): a corpus and fast-check generators of malformed HTTP/1.1 framing,
 * content types, multipart, v2 JSON and binary tensors, gRPC messages and image bytes, sent over raw
 * sockets (and a raw-bytes grpc-js client) to a real replica process and a real gateway process. After each
 * input: the answer is a 4xx with a code from the error table (never a 5xx for a client's fault, never a hang
 * past the deadline), the process is alive, and an ordinary request still succeeds.
 *
 * CI mode: GPUMUX_HOSTILE_RUNS inputs per generator (default 24, about 1.5 minutes here); `npm run
 * bench:hostile` runs the long mode (bench/hostile.ts). GPUMUX_HOSTILE_SEED replays a fast-check seed.
 */

const RUNS = Number(process.env.GPUMUX_HOSTILE_RUNS ?? 24);
const SEED =
  process.env.GPUMUX_HOSTILE_SEED === undefined ? undefined : Number(process.env.GPUMUX_HOSTILE_SEED);

let targets: Targets;
beforeAll(async () => {
  targets = await startTargets();
}, 90_000);
afterAll(async () => {
  await targets?.close();
});

describe('hostile inputs against a real replica and a real gateway', () => {
  it('the corpus: every input answered by the rules, both processes alive and serving', async () => {
    const report = emptyReport();
    await runCorpus(targets, report);
    expect(report.failures).toEqual([]);
  }, 300_000);

  for (const name of GENERATORS) {
    it(`generated: ${name} (${RUNS} inputs)`, async () => {
      const report = emptyReport();
      await runGenerator(name, targets, report, {
        runs: RUNS,
        ...(SEED === undefined ? {} : { seed: SEED }),
      });
      expect(report.failures).toEqual([]);
    }, 300_000);
  }
});
