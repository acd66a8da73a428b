import { binpackPolicy } from './policies/binpack.js';
import { spreadPolicy } from './policies/spread.js';
import { throughputPolicy } from './policies/throughput.js';
import type { PlacementPolicy } from './policies/types.js';

/**
 * The placement policies by name (the config's `policy`, `--policy`). Placement is filter → score → pick,
 * the way the gateway's routing is: the filter (fit.ts) is the same for every policy; each policy
 * (policies/*.ts) scores the GPUs that pass it, says why it picked one and orders surplus replicas; the pick
 * (pick.ts) takes the highest score, ties to the lowest node name then GPU index, so plans are deterministic.
 * A new policy is one module in policies/ and one entry here.
 */
const REGISTRY = {
  throughput: throughputPolicy,
  binpack: binpackPolicy,
  spread: spreadPolicy,
} as const satisfies Record<string, PlacementPolicy>;

export type Policy = keyof typeof REGISTRY;
export const POLICIES = Object.keys(REGISTRY) as [Policy, ...Policy[]];
export const DEFAULT_POLICY: Policy = 'throughput';

export function placementPolicy(name: Policy): PlacementPolicy {
  return REGISTRY[name];
}
