import { boxToOriginal, type Letterbox } from './letterbox.js';
import { nms, type ScoredBox } from './nms.js';
import { softNms, type SoftNmsMethod } from './soft-nms.js';
import { topK } from './topk.js';

/**
 * DETR-family post-processing for one image: model outputs → detections in original-image pixels.
 * Two output contracts (see the manifest's `outputs.kind`):
 * - `boxes`: already post-processed xyxy boxes in the graph's pixels with scores and labels;
 * - `logits`: raw heads `pred_logits` [Q, C] and `pred_boxes` [Q, 4] (cxcywh, normalised to the padded input).
 * A graph that enlarges its input (manifest `preprocess.graphUpscale`) reports `boxes` in its enlarged pixels;
 * normalised boxes are the same at either size.
 */

export interface PostprocessOptions {
  letterbox: Pick<Letterbox, 'width' | 'height' | 'scaleX' | 'scaleY' | 'bucket'>;
  /** Keep detections with score ≥ threshold. */
  threshold: number;
  topK: number;
  nms: NmsOptions | null;
  /** The graph's in-graph resize factor (manifest `preprocess.graphUpscale`); default 1. */
  graphUpscale?: number;
}

export interface NmsOptions {
  iouThreshold: number;
  classAware: boolean;
  /** `hard` (default) drops overlapping boxes; `linear`/`gaussian` decay their scores (soft-nms.ts). */
  method?: 'hard' | SoftNmsMethod | undefined;
  sigma?: number | undefined;
  minScore?: number | undefined;
}

export interface BoxesOutputs {
  kind: 'boxes';
  /** [K, 4] xyxy in the graph's pixels (input pixels × graphUpscale). */
  boxes: ArrayLike<number>;
  /** [K]. */
  scores: ArrayLike<number>;
  /** [K]; int64 outputs arrive as BigInt64Array. */
  labels: ArrayLike<number> | BigInt64Array;
}

export interface LogitsOutputs {
  kind: 'logits';
  /** [Q, C] class logits, row-major. */
  logits: ArrayLike<number>;
  /** [Q, 4] cxcywh, normalised to the padded input (the bucket). */
  boxes: ArrayLike<number>;
  numQueries: number;
  numClasses: number;
  /** `sigmoid` (DINO/Co-DETR, focal loss): top-K over Q×C. `softmax`: last class is no-object. */
  activation: 'sigmoid' | 'softmax';
}

export type DetrOutputs = BoxesOutputs | LogitsOutputs;

export function postprocess(outputs: DetrOutputs, options: PostprocessOptions): ScoredBox[] {
  const candidates =
    outputs.kind === 'boxes' ? fromBoxes(outputs, options.graphUpscale ?? 1) : fromLogits(outputs, options);
  const mapped: ScoredBox[] = [];
  for (const c of candidates) {
    if (!(c.score >= options.threshold)) continue;
    const box = boxToOriginal(c.box, options.letterbox);
    if (box[2] <= box[0] || box[3] <= box[1]) continue; // nothing left after clamping
    mapped.push({ box, score: c.score, label: c.label });
  }
  return suppress(mapped, options.nms, options.threshold)
    .sort((a, b) => b.score - a.score)
    .slice(0, options.topK);
}

function suppress(boxes: ScoredBox[], o: NmsOptions | null, threshold: number): ScoredBox[] {
  if (!o) return boxes;
  if (!o.method || o.method === 'hard') return nms(boxes, o.iouThreshold, o.classAware);
  // Thresholding before soft-NMS gives what MMDetection gives (soft-NMS over all, threshold after): a box
  // is only decayed by boxes chosen before it, which score at least as high. Decayed scores can fall below
  // the threshold, hence the second filter.
  const decayed = softNms(boxes, { ...o, method: o.method }, o.classAware);
  return decayed.filter((b) => b.score >= threshold);
}

/** xyxy in the graph's pixels → input (bucket) pixels, where the letterbox maps from. */
function fromBoxes(o: BoxesOutputs, graphUpscale: number): ScoredBox[] {
  const out: ScoredBox[] = [];
  const input = (v: number | undefined) => Number(v) / graphUpscale;
  for (let i = 0; i < o.scores.length; i++) {
    const b = i * 4;
    out.push({
      box: [input(o.boxes[b]), input(o.boxes[b + 1]), input(o.boxes[b + 2]), input(o.boxes[b + 3])],
      score: Number(o.scores[i]),
      label: Number(o.labels[i]),
    });
  }
  return out;
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** mmdet's DINO head: sigmoid over Q×C, top-K over the flattened scores, query = i / C, label = i % C. */
function fromLogits(o: LogitsOutputs, options: PostprocessOptions): ScoredBox[] {
  const { numQueries: q, numClasses: c } = o;
  let scores: Float32Array;
  let labels: Int32Array | null = null;
  if (o.activation === 'sigmoid') {
    scores = new Float32Array(q * c);
    for (let i = 0; i < q * c; i++) scores[i] = sigmoid(Number(o.logits[i]));
  } else {
    // vanilla DETR: softmax per query, drop the trailing no-object class, best class per query
    scores = new Float32Array(q);
    labels = new Int32Array(q);
    for (let qi = 0; qi < q; qi++) {
      const row = qi * c;
      let max = -Infinity;
      for (let ci = 0; ci < c; ci++) max = Math.max(max, Number(o.logits[row + ci]));
      let sum = 0;
      for (let ci = 0; ci < c; ci++) sum += Math.exp(Number(o.logits[row + ci]) - max);
      let best = 0;
      let bestScore = -1;
      for (let ci = 0; ci < c - 1; ci++) {
        const p = Math.exp(Number(o.logits[row + ci]) - max) / sum;
        if (p > bestScore) {
          bestScore = p;
          best = ci;
        }
      }
      scores[qi] = bestScore;
      labels[qi] = best;
    }
  }
  const [bh, bw] = options.letterbox.bucket;
  return topK(scores, options.topK).map((i) => {
    const query = labels ? i : Math.floor(i / c);
    const label = labels ? labels[i]! : i % c;
    const b = query * 4;
    const cx = Number(o.boxes[b]) * bw;
    const cy = Number(o.boxes[b + 1]) * bh;
    const w = Number(o.boxes[b + 2]) * bw;
    const h = Number(o.boxes[b + 3]) * bh;
    return { box: [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], score: scores[i]!, label };
  });
}
