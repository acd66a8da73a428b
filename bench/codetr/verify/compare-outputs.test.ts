import { describe, expect, it } from 'vitest';
import { compareOutputs, DEFAULT_CRITERION, type HeadOutputs } from './compare-outputs.js';

const Q = 20;
const C = 5;
const criterion = { ...DEFAULT_CRITERION, numQueries: Q, numClasses: C, topK: 10 };

/** Deterministic outputs: query i sits at a distinct box; logits spread so the top-10 is unambiguous. */
function outputs(logitOf: (q: number, c: number) => number): HeadOutputs {
  const logits = new Float32Array(Q * C);
  const boxes = new Float32Array(Q * 4);
  for (let q = 0; q < Q; q++) {
    for (let c = 0; c < C; c++) logits[q * C + c] = logitOf(q, c);
    boxes.set([0.05 + q * 0.04, 0.5, 0.02, 0.1], q * 4);
  }
  return { logits, boxes };
}
const randomLike = (q: number, c: number) => -6 + ((q * 7 + c * 3) % 23) * 0.05; // all scores < 0.3
const trainedLike = (q: number, c: number) => (q < 3 && c === q ? 3 - q * 0.5 : randomLike(q, c));

function swapProposals(o: HeadOutputs, queries: number[]): HeadOutputs {
  const boxes = Float32Array.from(o.boxes as Float32Array);
  const logits = Float32Array.from(o.logits as Float32Array);
  for (const q of queries) {
    boxes.set([0.9, 0.1, 0.3, 0.3], q * 4); // another encoder proposal took this slot
    for (let c = 0; c < C; c++) logits[q * C + c] = -9;
  }
  return { logits, boxes };
}

describe('compareOutputs', () => {
  const reference = outputs(randomLike);
  const cases: Array<{
    name: string;
    candidate: HeadOutputs;
    opts?: object;
    pass: boolean;
    failure?: RegExp;
  }> = [
    { name: 'identical outputs', candidate: reference, pass: true },
    {
      name: 'float noise below tolerance',
      candidate: outputs((q, c) => randomLike(q, c) + 1e-4),
      pass: true,
    },
    { name: 'one proposal swapped (5 %)', candidate: swapProposals(reference, [19]), pass: true },
    {
      name: 'three proposals swapped (15 %)',
      candidate: swapProposals(reference, [17, 18, 19]),
      pass: false,
      failure: /same queries 17\/20/,
    },
    {
      name: 'same proposals, logits off',
      candidate: outputs((q, c) => randomLike(q, c) + (q === 4 ? 0.05 : 0)),
      pass: false,
      failure: /logit diff/,
    },
    {
      name: 'random weights and expectDetections: vacuous, so it fails',
      candidate: reference,
      opts: { expectDetections: true },
      pass: false,
      failure: /no detection/,
    },
  ];
  it.each(cases)('$name', ({ candidate, opts, pass, failure }) => {
    const result = compareOutputs(reference, candidate, { ...criterion, ...opts });
    expect(result.pass).toBe(pass);
    if (failure) expect(result.failures.join('; ')).toMatch(failure);
  });

  it('trained weights: matches detections one to one, and a lost detection fails', () => {
    const trained = outputs(trainedLike);
    const ok = compareOutputs(trained, trained, { ...criterion, expectDetections: true });
    expect(ok.detections).toEqual({ reference: 3, matched: 3, onlyReference: 0, onlyCandidate: 0 });
    expect(ok.pass).toBe(true);
    const dimmed = outputs((q, c) => trainedLike(q, c) - (q === 0 && c === 0 ? 0.5 : 0)); // 0.95 -> 0.92
    const lost = compareOutputs(trained, dimmed, { ...criterion, expectDetections: true });
    expect(lost.detections.onlyReference).toBe(1);
    expect(lost.failures).toContain('detections do not match one to one');
  });

  it('reports the top-K overlap of (query, class) pairs', () => {
    const result = compareOutputs(reference, swapProposals(reference, [19]), criterion);
    expect(result.topKOverlap).toBeGreaterThan(0.5);
    expect(result.topKOverlap).toBeLessThanOrEqual(1);
    expect(result.sameQueries).toBe(19);
  });
});
