import { z } from 'zod';
import { dnsLabel, Duration, Size } from './values.js';
import { DEFAULT_POLICY, POLICIES } from '../placement/policy.js';
import { GPU_UUID } from '../inventory/gpu-uuids.js';

/**
 * The scheduler's configuration (docs/contracts.md §4): a YAML file, rendered by Helm into the ConfigMap key
 * `scheduler.yaml`. Sizes accept `24GiB`, `9830MiB` or bytes; durations accept `15s`, `500ms`, `5m` or
 * milliseconds. Parsed values are numbers: bytes and milliseconds.
 */

export const StaticGpus = z
  .object({
    node: z.string().min(1),
    count: z.number().int().positive().default(1),
    memory: Size,
    product: z.string().default('unknown'),
    /** The GPUs' UUIDs in index order (`nvidia-smi --query-gpu=uuid --format=csv,noheader`): pin by UUID. */
    uuids: z.array(z.string().regex(GPU_UUID, 'a GPU UUID: GPU-<hex>')).optional(),
  })
  .strict()
  .refine((s) => s.uuids === undefined || s.uuids.length === s.count, {
    message: 'uuids must list one UUID per GPU (count)',
    path: ['uuids'],
  });

export const GpuSource = z
  .object({
    source: z.enum(['kubernetes', 'static']).default('kubernetes'),
    /** Kubernetes: labels a node must carry to count as a GPU node. */
    nodeSelector: z.record(z.string(), z.string()).default({}),
    /** Per-GPU memory when the node lacks the `nvidia.com/gpu.memory` label. */
    memory: Size.nullable().default(null),
    static: z.array(StaticGpus).default([]),
    /**
     * A NotReady node's replicas are kept (not replaced) this long from the Ready condition's change; then its
     * GPUs count as gone. Kubernetes evicts after 300 s (`node.kubernetes.io/not-ready` tolerationSeconds).
     */
    notReadyGrace: Duration.default(300_000),
  })
  .strict();

export const ModelConfig = z
  .object({
    name: z.string().regex(/^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/),
    /** Manifest folder inside the replica image (and readable by the scheduler for the declared footprint). */
    manifest: z.string().min(1),
    onnx: z.string().min(1).optional(),
    /** The model file's source and checksum (the chart's models[].url/sha256): a change rolls its replicas. */
    url: z.string().min(1).optional(),
    sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/i, '64 hex digits')
      .optional(),
    /**
     * The max batch its replicas run with (`--max-batch`), and so the manifest's memory.byMaxBatch entry
     * counted for each; default: the largest that keeps the packing (placement/max-batch.ts) when the
     * manifest has that table, else the manifest's batching.maxBatch.
     */
    maxBatch: z.number().int().min(1).optional(),
    /**
     * At least 1: demand is measured from the model's own replicas' /v1/stats, so a model scaled to zero
     * would have no signal to scale up from (and the gateway would answer 503 for it meanwhile).
     */
    minReplicas: z.number().int().min(1, 'minReplicas must be ≥ 1 (no scale-from-zero)').default(1),
    maxReplicas: z.number().int().min(1).default(20),
    /** Demand: scale up when mean in-flight per replica is above this, down when below half of it. */
    targetInFlightPerReplica: z.number().positive().default(2),
    /** Demand: scale up while the gateway's p95 latency for the model is above this (e.g. `500ms`). */
    targetP95: Duration.optional(),
    /** Overrides the manifest's declared footprint (e.g. when the manifest is not readable by the scheduler). */
    declaredFootprint: Size.optional(),
    /**
     * The version this entry runs; defaults to the manifest's. Two entries of one name with different
     * versions run side by side (each its own replicas and demand); set, the replica is told its version
     * (`--model-version`), so a folder whose manifest says another version still serves this one.
     */
    version: z
      .union([z.string(), z.number()])
      .transform(String)
      .pipe(
        z
          .string()
          .regex(
            /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/,
            'a version: letters, digits, ".", "_", "-"',
          ),
      )
      .optional(),
    /**
     * This version's weight in the gateway's `versions.split` for the model (e.g. 90 and 10): the gateway's
     * queue for the model is split between its versions by these weights when every version has one; else by
     * the split the gateway reports in /v1/cluster (`splitShare`), else in equal shares.
     */
    trafficWeight: z.number().min(0).optional(),
  })
  .strict()
  .refine((m) => m.maxReplicas >= m.minReplicas, {
    message: 'maxReplicas must be ≥ minReplicas',
    path: ['maxReplicas'],
  });

export const DemandConfig = z
  .object({
    interval: Duration.default(15_000),
    scaleUpCooldown: Duration.default(30_000),
    scaleDownCooldown: Duration.default(300_000),
    /**
     * The gateway's operator URL (`http://gpumux-gateway-admin:8090`): its `/v1/cluster` gives each model's
     * queue and p95 as seen by clients, a second demand signal beside the replicas' in-flight.
     */
    gatewayUrl: z.string().url().nullable().default(null),
    /** File holding a bearer token for the gateway's operator port, when it requires one. */
    gatewayTokenFile: z.string().nullable().default(null),
  })
  .strict();

export const OrchestratorConfig = z
  .object({
    kind: z.enum(['kubernetes', 'local']).default('kubernetes'),
    namespace: dnsLabel.default('gpumux'),
    /** Path of the replica pod template (YAML `v1.Pod`). */
    replicaTemplate: z.string().default('/etc/gpumux/replica-pod.yaml'),
    /**
     * pinned: nodeName + NVIDIA_VISIBLE_DEVICES (by UUID where the inventory knows it); time-slicing: the device
     * plugin picks; dra: a ResourceClaim per GPU selecting it by UUID (Kubernetes ≥ 1.34, NVIDIA's DRA driver).
     */
    gpuMode: z.enum(['pinned', 'time-slicing', 'dra']).default('pinned'),
    replicaPort: z.number().int().min(1).max(65535).default(8081),
    /** Prefix of replica pod names (`<release>-<model>-<hash>`). */
    release: z.string().default('gpumux'),
    owner: z
      .object({ kind: z.string().min(1), name: z.string().min(1), apiVersion: z.string().default('apps/v1') })
      .strict()
      .nullable()
      .default(null),
    /** How long a drained replica may take to finish its in-flight work before it is deleted anyway. */
    drainTimeout: Duration.default(60_000),
    /** How long a new replica may take to become ready before the next one on that GPU starts anyway. */
    readyTimeout: Duration.default(600_000),
    /**
     * Bounded waits of a pod that has not started (scheduler/startup-watch.ts): to be taken up by its node,
     * to pull the image and create the container, for the model-fetch init container, and on an error reason
     * (ImagePullBackOff, CreateContainerConfigError, Unschedulable…). Past one, the pod is deleted and tried
     * again with back-off; warm-up is `readyTimeout`, counted from the container's start.
     */
    startup: z
      .object({
        schedule: Duration.default(300_000),
        pull: Duration.default(1_800_000),
        fetch: Duration.default(1_800_000),
        stuck: Duration.default(300_000),
        /** The model's next try after a failed start: this, doubling per failure in a row (at most 5 min). */
        backoff: Duration.default(10_000),
      })
      .strict()
      .default({ schedule: 300_000, pull: 1_800_000, fetch: 1_800_000, stuck: 300_000, backoff: 10_000 }),
  })
  .strict();

export const RolloutConfig = z
  .object({
    /**
     * Replicas whose spec changed (image, resources, args, model url/sha256, max batch) or whose node is
     * cordoned are replaced one GPU at a time, a copy first where memory allows; where it does not, at most
     * this many of a model are drained before their replacement is ready.
     */
    maxUnavailable: z.number().int().min(1).default(1),
  })
  .strict();

export const LeaderElectionConfig = z
  .object({
    enabled: z.boolean().default(true),
    leaseName: dnsLabel.default('gpumux-scheduler'),
    leaseDuration: Duration.default(15_000),
    renewDeadline: Duration.default(10_000),
    retryPeriod: Duration.default(2_000),
  })
  .strict();

export const ProfilesConfig = z
  .object({
    /** Kubernetes: ConfigMap holding measured footprints. */
    configMap: dnsLabel.default('gpumux-profiles'),
    /** Local: JSON file holding measured footprints (used instead of the ConfigMap when set). */
    file: z.string().optional(),
  })
  .strict();

const SchedulerFields = z
  .object({
    /** throughput (default): compute-aware; binpack: whole GPUs kept free; spread: emptiest first. */
    policy: z.enum(POLICIES).default(DEFAULT_POLICY),
    /** Per-GPU memory kept free for the CUDA context, fragmentation and other tenants. */
    reserve: Size.default(512 * 1024 ** 2),
    /** At most this many replicas on one GPU; 0 = no cap. */
    maxReplicasPerGpu: z.number().int().nonnegative().default(0),
    /** A measured footprint is used as max observed × (1 + margin). */
    footprintMargin: z.number().min(0).max(1).default(0.05),
    gpus: GpuSource.default({
      source: 'kubernetes',
      nodeSelector: {},
      memory: null,
      static: [],
      notReadyGrace: 300_000,
    }),
    models: z.array(ModelConfig).min(1),
    demand: DemandConfig.default({
      interval: 15_000,
      scaleUpCooldown: 30_000,
      scaleDownCooldown: 300_000,
      gatewayUrl: null,
      gatewayTokenFile: null,
    }),
    orchestrator: OrchestratorConfig.default({
      kind: 'kubernetes',
      namespace: 'gpumux',
      replicaTemplate: '/etc/gpumux/replica-pod.yaml',
      gpuMode: 'pinned',
      replicaPort: 8081,
      release: 'gpumux',
      owner: null,
      drainTimeout: 60_000,
      readyTimeout: 600_000,
      startup: { schedule: 300_000, pull: 1_800_000, fetch: 1_800_000, stuck: 300_000, backoff: 10_000 },
    }),
    rollout: RolloutConfig.default({ maxUnavailable: 1 }),
    leaderElection: LeaderElectionConfig.default({
      enabled: true,
      leaseName: 'gpumux-scheduler',
      leaseDuration: 15_000,
      renewDeadline: 10_000,
      retryPeriod: 2_000,
    }),
    profiles: ProfilesConfig.default({ configMap: 'gpumux-profiles' }),
    /** Port of GET /v1/plan, /healthz, /metrics. */
    httpPort: z.number().int().min(0).max(65535).default(8070),
  })
  .strict();

export const SchedulerConfig = SchedulerFields.superRefine(checkConfig);

/** What no single field can check: static GPUs listed, each model version once, renew before expiry. */
function checkConfig(c: z.output<typeof SchedulerFields>, ctx: z.RefinementCtx): void {
  if (c.gpus.source === 'static' && c.gpus.static.length === 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['gpus', 'static'],
      message: 'gpus.source is static but gpus.static is empty',
    });
  }
  // Keyed by name and version: two versions of one model are two entries; one of them twice is an error.
  const count = new Map<string, number>();
  for (const m of c.models) count.set(m.name, (count.get(m.name) ?? 0) + 1);
  const seen = new Set<string>();
  c.models.forEach((m, i) => {
    if ((count.get(m.name) ?? 0) > 1 && m.version === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['models', i, 'version'],
        message: `duplicate model ${m.name}: ${count.get(m.name)} entries of one name must each name their version`,
      });
    const key = `${m.name}@${m.version ?? ''}`;
    if (m.version !== undefined && seen.has(key))
      ctx.addIssue({
        code: 'custom',
        path: ['models', i, 'version'],
        message: `duplicate model ${m.name} version ${m.version}`,
      });
    seen.add(key);
  });
  if (c.leaderElection.renewDeadline >= c.leaderElection.leaseDuration) {
    ctx.addIssue({
      code: 'custom',
      path: ['leaderElection', 'renewDeadline'],
      message: 'renewDeadline must be shorter than leaseDuration',
    });
  }
}

/** Config as written in YAML (sizes/durations as strings). */
export type SchedulerConfigInput = z.input<typeof SchedulerConfig>;
/** Config after parsing (bytes and milliseconds). */
export type SchedulerConfig = z.output<typeof SchedulerConfig>;
export type ModelConfig = z.output<typeof ModelConfig>;
export type OrchestratorConfig = z.output<typeof OrchestratorConfig>;
export type LeaderElectionConfig = z.output<typeof LeaderElectionConfig>;
