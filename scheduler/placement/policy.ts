import { binpackPolicy } from './policies/binpack.js';
import { spreadPolicy } from './policies/spread.js';
import { throughputPolicy } from './policies/throughput.js';
import { POLICY_NAMES, type PolicyName } from '../../common/plan-view.js';
import type { PlacementPolicy } from './policies/types.js';

/**
 * The placement policies by name (the config's `policy`, `--policy`). Placement is filter → score → pick,
 * the way the gateway's routing is: the filter (fit.ts) is the same for every policy; each policy
 * (policies/*.ts) scores the GPUs that pass it, says why it picked one and orders surplus replicas; the pick
 * (pick.ts) takes the highest score, ties to the lowest node name then GPU index, so plans are deterministic.
 * A new policy is one module in policies/, one entry here and its name in common/plan-view.ts's POLICY_NAMES.
 */
const REGISTRY = {
  throughput: throughputPolicy,
  binpack: binpackPolicy,
  spread: spreadPolicy,
} as const satisfies Record<PolicyName, PlacementPolicy>;

export type Policy = PolicyName;
export const POLICIES: readonly [Policy, ...Policy[]] = POLICY_NAMES;
export const DEFAULT_POLICY: Policy = 'throughput';

export function placementPolicy(name: Policy): PlacementPolicy {
  return REGISTRY[name];
}
