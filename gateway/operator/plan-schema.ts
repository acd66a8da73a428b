import { z } from 'zod';
import {
  POLICY_NAMES,
  type PlanAction,
  type PlanFailure,
  type PlanGpu,
  type PlanRollout,
  type PlanStartFailure,
  type PlanStarting,
  type PlanUnplaced,
  type PlanView,
} from '../../common/plan-view.js';

/** The scheduler's `GET /v1/plan` as the gateway accepts it (common/plan-view.ts has the types). */
const planAction = z.object({
  type: z.enum(['create', 'drain', 'delete', 'move']),
  model: z.string(),
  node: z.string(),
  gpuIndex: z.number().int().min(0),
  replicaId: z.string().nullable(),
  reason: z.string(),
}) satisfies z.ZodType<PlanAction>;

const planGpu = z.object({
  node: z.string(),
  index: z.number().int().min(0),
  name: z.string().nullable(),
  memoryTotalBytes: z.number().min(0),
  memoryReservedBytes: z.number().min(0),
  virtual: z.boolean(),
  models: z.array(z.object({ model: z.string(), replicas: z.number().int().min(0) })).optional(),
  utilization: z.number().min(0).max(1).nullable().optional(),
  reservedFor: z.string().nullable().optional(),
}) satisfies z.ZodType<PlanGpu>;

const planUnplaced = z.object({
  model: z.string(),
  count: z.number(),
  reason: z.string(),
  gpus: z.array(z.object({ gpu: z.string(), reason: z.string() })),
}) satisfies z.ZodType<PlanUnplaced>;

const planRollout = z.object({
  model: z.string(),
  reason: z.string(),
  replaced: z.number().int().min(0),
  total: z.number().int().min(0),
  status: z.string(),
  step: z.string().nullable(),
  waiting: z.string().nullable(),
}) satisfies z.ZodType<PlanRollout>;

const planStarting = z.object({
  replicaId: z.string(),
  model: z.string(),
  node: z.string(),
  gpuIndex: z.number().int().min(0),
  stage: z.enum(['schedule', 'pull', 'fetch', 'warm-up']),
  reason: z.string().nullable(),
  seconds: z.number().min(0),
  limitSeconds: z.number().min(0),
}) satisfies z.ZodType<PlanStarting>;

const planStartFailure = z.object({
  model: z.string(),
  node: z.string(),
  reason: z.string(),
  at: z.string(),
  retryAt: z.string(),
  nodeAvoidedUntil: z.string().nullable(),
}) satisfies z.ZodType<PlanStartFailure>;

const planFailure = z.object({
  replica: z.string(),
  model: z.string(),
  gpu: z.string(),
  kind: z.enum(['oom', 'host-oom', 'crash', 'warmup-budget', 'not-started', 'gpu-assignment']),
  message: z.string(),
  hint: z.string().nullable(),
  restarts: z.number().int().min(0),
}) satisfies z.ZodType<PlanFailure>;

const PlanViewSchema = z.object({
  generatedAt: z.string(),
  policy: z.enum(POLICY_NAMES),
  memoryUtilization: z.number(),
  actions: z.array(planAction),
  gpus: z.array(planGpu).optional(),
  unplaced: z.array(planUnplaced).optional(),
  failures: z.array(planFailure).optional(),
  seedMemoryUtilization: z.number().min(0).max(1).optional(),
  rollouts: z.array(planRollout).optional(),
  starting: z.array(planStarting).optional(),
  startFailures: z.array(planStartFailure).optional(),
});

/** The parsed plan, or the reason it is not one. */
export function parsePlanView(input: unknown): { plan: PlanView } | { error: string } {
  const result = PlanViewSchema.safeParse(input);
  if (!result.success) return { error: z.prettifyError(result.error) };
  // Optional keys zod reports as `undefined` are absent in PlanView (exactOptionalPropertyTypes): a JSON
  // round trip drops them at every depth; the parsed data is JSON to begin with.
  return { plan: JSON.parse(JSON.stringify(result.data)) as PlanView };
}
