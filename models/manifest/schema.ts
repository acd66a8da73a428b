import { z } from 'zod';

/**
 * A model manifest: everything the replica needs to turn an image into the model's input tensor and the
 * model's outputs into detections, plus what the scheduler needs to place it (its memory profile).
 * Lives beside the ONNX file as `manifest.json`.
 */

const positiveInt = z.number().int().positive();
const shape2 = z.tuple([positiveInt, positiveInt]);

/**
 * The ONNX Runtime optimisers a manifest may switch off: those whose effect this project has measured
 * (ConstantFolding: models/codetr/README.md). ONNX Runtime matches the names exactly and ignores the rest.
 */
export const DISABLEABLE_OPTIMIZERS = ['ConstantFolding'] as const;
export type DisableableOptimizer = (typeof DISABLEABLE_OPTIMIZERS)[number];

export const TensorDatatype = z.enum(['UINT8', 'FLOAT32', 'FLOAT16', 'INT64', 'INT32', 'BOOL']);

export const OnnxSource = z
  .object({
    /** Path relative to the manifest's folder (or absolute). */
    file: z.string().min(1),
    /** Where to fetch the file when it is not present (Helm's initContainer does this on a cluster). */
    url: z.url().optional(),
    /** Hex sha256 of the file, checked after download. */
    sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters')
      .optional(),
    /**
     * ONNX Runtime's graph optimisation level for the session. `all` folds constants per graph: a file holding
     * many static shapes pays each shape's folded constants in memory (models/codetr/README.md, "What each
     * shape in the file costs"); `disabled` shares the weights between them.
     */
    graphOptimization: z.enum(['disabled', 'basic', 'extended', 'all']).default('all'),
    /**
     * ONNX Runtime graph optimisers to leave out at that level (its session config entry
     * `optimization.disable_specified_optimizers`). `["ConstantFolding"]` keeps a many-shape file's graphs on
     * the shared weights instead of folding each shape's own copies of the tensors derived from them, while the
     * level's fusions stay on (models/codetr/README.md, "What each shape in the file costs").
     */
    disabledOptimizers: z
      .array(
        z.enum(DISABLEABLE_OPTIMIZERS, {
          error: (issue) =>
            `unknown optimiser ${JSON.stringify(issue.input)}: gpumux accepts ${DISABLEABLE_OPTIMIZERS.join(', ')} ` +
            '(ONNX Runtime ignores a name it does not know, so a typo would leave the optimiser on unseen)',
        }),
      )
      .refine((names) => new Set(names).size === names.length, 'names an optimiser twice')
      .default([]),
  })
  .strict();

export const ImageInput = z
  .object({
    name: z.string().min(1),
    datatype: z.enum(['UINT8', 'FLOAT32']),
    /** NHWC for uint8 inputs normalised inside the graph; NCHW for float inputs normalised on the host. */
    layout: z.enum(['NHWC', 'NCHW']),
  })
  .strict();

export const MaskInput = z
  .object({
    name: z.string().min(1),
    datatype: z.enum(['UINT8', 'BOOL', 'FLOAT32']),
  })
  .strict();

export const Preprocess = z
  .object({
    /** Keep-ratio resize: long side ≤ scale[0], short side ≤ scale[1] (mmdet's `keep_ratio=True` rule). */
    resize: z
      .object({
        mode: z.literal('keep-ratio'),
        scale: shape2,
        /** Upscale small images to the scale (mmdet does); false keeps them at most 1:1. */
        allowUpscale: z.boolean().default(true),
      })
      .strict(),
    /** Static input shapes [height, width]; the image is resized then padded bottom/right into the smallest that fits. */
    buckets: z.array(shape2).min(1),
    /**
     * The graph resizes its input by this factor (bilinear) before the backbone; host-side `resize.scale` and
     * `buckets` are in input pixels. Lets the host decode at camera size and copy rows while the GPU enlarges
     * (Co-DETR: 1280×720 in, 2048×1152 to the backbone). `boxes`-kind outputs are then in the graph's pixels.
     */
    graphUpscale: z.number().min(1).default(1),
    /** Round each bucket's sides to a multiple of this (mmdet pads to 32). */
    padValue: z.number().min(0).max(255).default(0),
    colorSpace: z.enum(['RGB', 'BGR']).default('RGB'),
    /** mean/std in 0..255 pixel units, applied on the host for FLOAT32 inputs; `inGraph` for UINT8 inputs. */
    normalize: z.union([
      z.object({ inGraph: z.literal(true) }).strict(),
      z
        .object({
          mean: z.tuple([z.number(), z.number(), z.number()]),
          std: z.tuple([z.number(), z.number(), z.number()]),
        })
        .strict(),
    ]),
  })
  .strict();

export const PostprocessedOutputs = z
  .object({
    kind: z.literal('boxes'),
    boxes: z.string().min(1),
    scores: z.string().min(1),
    labels: z.string().min(1),
    /** Boxes are xyxy in the pixels of the padded model input. */
    boxFormat: z.literal('xyxy').default('xyxy'),
  })
  .strict();

export const RawDetrOutputs = z
  .object({
    kind: z.literal('logits'),
    logits: z.string().min(1),
    boxes: z.string().min(1),
    /** DETR heads: cxcywh normalised to the padded input. */
    boxFormat: z.literal('cxcywh').default('cxcywh'),
    /** sigmoid for DINO/Co-DETR (focal loss); softmax with a trailing no-object class for vanilla DETR. */
    activation: z.enum(['sigmoid', 'softmax']).default('sigmoid'),
  })
  .strict();

export const Postprocess = z
  .object({
    topK: positiveInt.default(300),
    /** Default score threshold; a request's `threshold` overrides it. */
    scoreThreshold: z.number().min(0).max(1).default(0.3),
    /** Class-aware NMS after decoding; null leaves DETR's set prediction as is. */
    nms: z
      .object({
        iouThreshold: z.number().gt(0).max(1),
        classAware: z.boolean().default(true),
        /** hard (when absent) drops overlaps; linear/gaussian: MMDetection's soft_nms (models/detr/soft-nms.ts). */
        method: z.enum(['hard', 'linear', 'gaussian']).optional(),
        /** gaussian soft-NMS spread (mmcv default 0.5). */
        sigma: z.number().gt(0).optional(),
        /** soft-NMS drops boxes decayed below this (mmcv default 1e-3). */
        minScore: z.number().min(0).max(1).optional(),
      })
      .strict()
      .nullable()
      .default(null),
  })
  .strict();

export const Batching = z
  .object({
    maxBatch: positiveInt.max(256),
    /** Requests (frames) waiting beyond those running; more are refused with 429 + Retry-After. */
    maxQueue: positiveInt.default(64),
  })
  .strict();

export const Limits = z
  .object({
    maxBodyBytes: positiveInt.default(32 * 1024 * 1024),
    /** Decoded pixels (width × height) allowed; protects against decompression bombs. */
    maxPixels: positiveInt.default(40_000_000),
    maxFramesPerRequest: positiveInt.default(32),
  })
  .strict();

export const MemoryProfile = z
  .object({
    /** Peak GPU memory of one warmed-up replica, bytes; used until a measured value exists. */
    declaredBytes: positiveInt,
    /** Where the declared number comes from (shown to operators). */
    source: z.string().min(1),
    /**
     * The peak per max batch (a replica warms up at its max batch and keeps that peak for life); the entry
     * for batching.maxBatch, if any, is declaredBytes. `gpumux plan` uses it to weigh max batch against
     * replicas per GPU (scheduler/placement/max-batch.ts).
     */
    byMaxBatch: z
      .array(
        z.object({ maxBatch: positiveInt, declaredBytes: positiveInt, source: z.string().min(1) }).strict(),
      )
      .min(1)
      .optional(),
    /** What else the numbers hold for: bucket, precision, execution provider, GPU. */
    dependsOn: z.string().min(1).optional(),
    /** The weights' share of the footprint, bytes (`gpumux plan --explain` names it; the rest is activations). */
    weightsBytes: positiveInt.optional(),
  })
  .strict();

export const Manifest = z
  .object({
    name: z
      .string()
      .regex(
        /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/,
        'lowercase letters, digits, ".", "_" or "-", at most 63',
      ),
    version: z.string().regex(/^[A-Za-z0-9._-]{1,32}$/, 'letters, digits, ".", "_" or "-", at most 32'),
    family: z.literal('detr'),
    description: z.string().optional(),
    onnx: OnnxSource,
    inputs: z.object({ image: ImageInput, mask: MaskInput.optional() }).strict(),
    outputs: z.discriminatedUnion('kind', [PostprocessedOutputs, RawDetrOutputs]),
    preprocess: Preprocess,
    postprocess: Postprocess.default({ topK: 300, scoreThreshold: 0.3, nms: null }),
    labels: z.array(z.string().min(1)).min(1),
    batching: Batching,
    limits: Limits.default({
      maxBodyBytes: 32 * 1024 * 1024,
      maxPixels: 40_000_000,
      maxFramesPerRequest: 32,
    }),
    memory: MemoryProfile,
  })
  .strict()
  .superRefine((m, ctx) => {
    const float = m.inputs.image.datatype === 'FLOAT32';
    if (float && 'inGraph' in m.preprocess.normalize) {
      ctx.addIssue({
        code: 'custom',
        path: ['preprocess', 'normalize'],
        message: 'a FLOAT32 image input needs host-side mean/std (inGraph is for UINT8 inputs)',
      });
    }
    if (!float && !('inGraph' in m.preprocess.normalize)) {
      ctx.addIssue({
        code: 'custom',
        path: ['preprocess', 'normalize'],
        message: 'a UINT8 image input is normalised inside the graph: set { "inGraph": true }',
      });
    }
    const { graphUpscale, buckets } = m.preprocess;
    buckets.forEach(([h, w], i) => {
      // the graph's own shape must be whole pixels, or its Resize rounds and the geometry drifts
      if (!isWhole(h * graphUpscale) || !isWhole(w * graphUpscale)) {
        ctx.addIssue({
          code: 'custom',
          path: ['preprocess', 'buckets', i],
          message: `bucket [${h}, ${w}] × graphUpscale ${graphUpscale} is not a whole number of pixels`,
        });
      }
    });
    const perBatch = m.memory.byMaxBatch ?? [];
    perBatch.forEach((e, i) => {
      const prev = perBatch[i - 1];
      if (prev && (e.maxBatch <= prev.maxBatch || e.declaredBytes < prev.declaredBytes)) {
        ctx.addIssue({
          code: 'custom',
          path: ['memory', 'byMaxBatch', i],
          message: 'entries go by increasing maxBatch, and a larger batch never needs less memory',
        });
      }
      if (e.maxBatch === m.batching.maxBatch && e.declaredBytes !== m.memory.declaredBytes) {
        ctx.addIssue({
          code: 'custom',
          path: ['memory', 'byMaxBatch', i, 'declaredBytes'],
          message: `the entry for batching.maxBatch (${e.maxBatch}) must equal memory.declaredBytes`,
        });
      }
    });
    if (m.inputs.image.datatype === 'UINT8' && m.inputs.image.layout !== 'NHWC') {
      ctx.addIssue({
        code: 'custom',
        path: ['inputs', 'image', 'layout'],
        message: 'UINT8 image inputs must be NHWC',
      });
    }
  });

/** Within float error of an integer (1.6 × 720 is 1152.0000000000002 in doubles). */
function isWhole(v: number): boolean {
  return Math.abs(v - Math.round(v)) < 1e-6;
}

/** A bucket [height, width] in the graph's own pixels (after its in-graph resize). */
export function graphBucket(bucket: readonly [number, number], graphUpscale: number): [number, number] {
  return [Math.round(bucket[0] * graphUpscale), Math.round(bucket[1] * graphUpscale)];
}

export type Manifest = z.infer<typeof Manifest>;
export type Preprocess = z.infer<typeof Preprocess>;
export type Postprocess = z.infer<typeof Postprocess>;
