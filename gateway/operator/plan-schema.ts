import { z } from 'zod';
import type { PlanAction, PlanGpu, PlanView } from '../../common/plan-view.js';

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
}) satisfies z.ZodType<PlanGpu>;

const PlanViewSchema = z.object({
  generatedAt: z.string(),
  policy: z.enum(['binpack', 'spread']),
  memoryUtilization: z.number(),
  actions: z.array(planAction),
  gpus: z.array(planGpu).optional(),
});

/** The parsed plan, or the reason it is not one. */
export function parsePlanView(input: unknown): { plan: PlanView } | { error: string } {
  const result = PlanViewSchema.safeParse(input);
  if (!result.success) return { error: z.prettifyError(result.error) };
  const { gpus, ...rest } = result.data;
  return { plan: gpus === undefined ? rest : { ...rest, gpus } };
}
