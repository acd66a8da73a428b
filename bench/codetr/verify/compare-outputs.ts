import { iou } from '../../../models/detr/nms.js';
import { sigmoid } from '../../../models/detr/postprocess.js';
import { topK } from '../../../models/detr/topk.js';

/**
 * Decides whether ONNX Runtime's outputs for one image agree with PyTorch's, for trained and for random
 * weights. Two criteria, both needed:
 * - queries: DETR's 900 queries are encoder proposals picked by a top-900 over ~196 k tokens. With random
 *   weights the scores around rank 900 differ by less than float noise, so a few per cent of the queries are
 *   other proposals on the two sides (not reordered copies). A query counts as the same proposal when its box
 *   agrees to `boxTolerance`; those must agree in logits, and the share of them and the overlap of the top-300
 *   (query, class) pairs must be high. This is meaningful for any weights.
 * - detections (trained weights): the detections both sides keep (top-300, score ≥ threshold) match one to
 *   one (same label, IoU ≥ 0.9, |Δscore| ≤ 0.02). With random weights no score reaches 0.3, so this criterion
 *   is vacuous there; `expectDetections` turns zero detections into a failure for a trained model.
 */

export interface HeadOutputs {
  /** [Q, C] logits before sigmoid, row-major. */
  logits: ArrayLike<number>;
  /** [Q, 4] cxcywh normalised. */
  boxes: ArrayLike<number>;
}

export interface Criterion {
  numQueries: number;
  numClasses: number;
  /** Max |Δ| of a normalised box coordinate for a query to count as the same proposal. */
  boxTolerance: number;
  /** Max |Δ logit| allowed on queries that are the same proposal. */
  logitTolerance: number;
  /** Minimum share of queries that are the same proposal. */
  minSameQueries: number;
  topK: number;
  /** Minimum share of the top-K (query, class) pairs found in both. */
  minTopKOverlap: number;
  scoreThreshold: number;
  expectDetections: boolean;
}

/** At the real buckets (1152x2048 in the graph): 846–852 of 900 queries and 95 % top-300 measured. */
export const DEFAULT_CRITERION: Omit<Criterion, 'numQueries' | 'numClasses'> = {
  boxTolerance: 1e-3,
  logitTolerance: 5e-3,
  minSameQueries: 0.9,
  topK: 300,
  minTopKOverlap: 0.9,
  scoreThreshold: 0.3,
  expectDetections: false,
};

export interface Agreement {
  sameQueries: number;
  sameQueriesShare: number;
  logitMaxDiffOnSame: number;
  scoreDiffP50: number;
  scoreDiffP99: number;
  topKOverlap: number;
  detections: { reference: number; matched: number; onlyReference: number; onlyCandidate: number };
  failures: string[];
  pass: boolean;
}

export function compareOutputs(reference: HeadOutputs, candidate: HeadOutputs, c: Criterion): Agreement {
  const { numQueries: q, numClasses: k } = c;
  if (reference.logits.length !== q * k || candidate.logits.length !== q * k) {
    throw new Error(`logits must hold ${q}x${k} values`);
  }
  let same = 0;
  let logitMax = 0;
  const scoreDiffs: number[] = [];
  for (let i = 0; i < q; i++) {
    let boxDiff = 0;
    for (let j = 0; j < 4; j++) {
      boxDiff = Math.max(
        boxDiff,
        Math.abs(Number(reference.boxes[i * 4 + j]) - Number(candidate.boxes[i * 4 + j])),
      );
    }
    const isSame = boxDiff < c.boxTolerance;
    if (isSame) same++;
    for (let j = 0; j < k; j++) {
      const a = Number(reference.logits[i * k + j]);
      const b = Number(candidate.logits[i * k + j]);
      if (isSame) logitMax = Math.max(logitMax, Math.abs(a - b));
      scoreDiffs.push(Math.abs(sigmoid(a) - sigmoid(b)));
    }
  }
  scoreDiffs.sort((a, b) => a - b);
  const topRef = new Set(topK(reference.logits, c.topK));
  const topCand = topK(candidate.logits, c.topK);
  const overlap = topCand.filter((i) => topRef.has(i)).length / Math.min(c.topK, q * k);
  const detections = matchDetections(
    decodeDetections(reference, c.numClasses, c.topK, c.scoreThreshold),
    decodeDetections(candidate, c.numClasses, c.topK, c.scoreThreshold),
  );

  const failures: string[] = [];
  if (same / q < c.minSameQueries) failures.push(`same queries ${same}/${q} < ${c.minSameQueries}`);
  if (logitMax > c.logitTolerance)
    failures.push(`logit diff on same queries ${logitMax} > ${c.logitTolerance}`);
  if (overlap < c.minTopKOverlap) failures.push(`top-${c.topK} overlap ${overlap} < ${c.minTopKOverlap}`);
  if (detections.onlyReference || detections.onlyCandidate)
    failures.push('detections do not match one to one');
  if (c.expectDetections && detections.reference === 0) failures.push('no detection reaches the threshold');
  return {
    sameQueries: same,
    sameQueriesShare: same / q,
    logitMaxDiffOnSame: logitMax,
    scoreDiffP50: quantile(scoreDiffs, 0.5),
    scoreDiffP99: quantile(scoreDiffs, 0.99),
    topKOverlap: overlap,
    detections,
    failures,
    pass: failures.length === 0,
  };
}

export interface Detection {
  /** xyxy, normalised. */
  box: [number, number, number, number];
  score: number;
  label: number;
}

/** gpumux's logits post-processing without NMS and letterbox: sigmoid, top-K over Q×C, threshold. */
export function decodeDetections(
  o: HeadOutputs,
  numClasses: number,
  k: number,
  threshold: number,
): Detection[] {
  const out: Detection[] = [];
  for (const flat of topK(o.logits, k)) {
    const score = sigmoid(Number(o.logits[flat]));
    if (score < threshold) break; // topK is sorted, highest first
    const query = Math.floor(flat / numClasses);
    const [cx, cy, w, h] = [0, 1, 2, 3].map((j) => Number(o.boxes[query * 4 + j])) as [
      number,
      number,
      number,
      number,
    ];
    out.push({ box: [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], score, label: flat % numClasses });
  }
  return out;
}

/** Greedy one-to-one: same label, |Δscore| ≤ 0.02, IoU ≥ 0.9 (verify_onnx.py's `match`). */
export function matchDetections(reference: Detection[], candidate: Detection[]): Agreement['detections'] {
  const used = new Set<number>();
  let matched = 0;
  for (const r of reference) {
    const j = candidate.findIndex(
      (d, idx) =>
        !used.has(idx) &&
        d.label === r.label &&
        Math.abs(d.score - r.score) <= 0.02 &&
        iou(d.box, r.box) >= 0.9,
    );
    if (j >= 0) {
      used.add(j);
      matched++;
    }
  }
  return {
    reference: reference.length,
    matched,
    onlyReference: reference.length - matched,
    onlyCandidate: candidate.length - used.size,
  };
}

function quantile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * (sorted.length - 1)))]!;
}
