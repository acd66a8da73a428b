import type { KubeObject } from './kube-object.js';

/**
 * The stand-in's DRA behaviour (`resource.k8s.io/v1`), plugged into test/helpers/kube-api-server.ts: what the
 * kube-scheduler and the resourceclaim controller do with ResourceClaims, in the cases gpumux meets.
 *
 * - A pod created with `spec.resourceClaims` naming a claim that does not exist stays Pending
 *   (PodScheduled=False, Unschedulable), as the kube-scheduler leaves it.
 * - A pod with no `spec.nodeName` is "scheduled": each claim's request is allocated to the device of a
 *   ResourceSlice its CEL selector picks, the claim gets `status.allocation` (`devices.results` with
 *   request/driver/pool/device, and a nodeSelector for the device's node) and the pod in
 *   `status.reservedFor`, and the pod is bound to that node (`spec.nodeName`, MODIFIED). A claim already
 *   allocated is shared (reservedFor grows). A device another claim holds cannot be allocated again.
 * - A pod created with `spec.nodeName` skips the kube-scheduler: its claims are not allocated and the pod
 *   stays Pending (the kubelet waits for an allocated claim).
 * - Deleting a pod removes it from its claims' `reservedFor`; a claim reserved by no pod is deallocated.
 * - Deleting a claim still reserved sets `deletionTimestamp` (the delete-protection finalizer); it goes once
 *   its last pod has.
 *
 * Selectors: only the form gpumux writes is understood — `device.attributes["<domain>"].<attr> == "<value>"`
 * (ANDed with `&&`), matched against the device's string attributes. That is a stand-in for CEL, not CEL.
 */

export interface StoreAccess {
  get(resource: string, namespace: string | null, name: string): KubeObject | undefined;
  list(resource: string): KubeObject[];
  /** Stores and emits MODIFIED. */
  update(resource: string, object: KubeObject): void;
  /** Deletes at once and emits DELETED. */
  remove(resource: string, namespace: string | null, name: string): void;
}

export const DRA_RESOURCES = {
  resourceclaims: { group: 'resource.k8s.io', version: 'v1', kind: 'ResourceClaim', namespaced: true },
  resourceslices: { group: 'resource.k8s.io', version: 'v1', kind: 'ResourceSlice', namespaced: false },
} as const;

interface Device {
  name: string;
  attributes?: Record<string, { string?: string; int?: number; bool?: boolean; version?: string }>;
}
interface Request {
  name: string;
  exactly?: { deviceClassName: string; selectors?: { cel?: { expression: string } }[] };
}
interface ClaimStatus {
  allocation?: {
    devices: { results: { request: string; driver: string; pool: string; device: string }[] };
    nodeSelector: unknown;
  };
  reservedFor?: { resource: string; name: string; uid: string }[];
}

const CLAUSE = /^device\.attributes\["([^"]+)"\]\.([A-Za-z0-9_]+)\s*==\s*"([^"]*)"$/;

function selects(expression: string, device: Device): boolean {
  return expression.split('&&').every((part) => {
    const m = CLAUSE.exec(part.trim());
    if (!m) throw new Error(`the stand-in does not understand the CEL selector ${expression}`);
    const [, , attr, value] = m;
    // attributes are published unqualified by the driver and qualified by its domain in CEL
    return device.attributes?.[attr!]?.string === value;
  });
}

function pendingStatus(message: string): Record<string, unknown> {
  return {
    phase: 'Pending',
    conditions: [
      { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message },
      { type: 'Ready', status: 'False' },
    ],
  };
}

export function createResourceClaimBehaviour(store: StoreAccess) {
  const claimNames = (pod: KubeObject): string[] =>
    ((pod.spec?.resourceClaims as { resourceClaimName?: string }[] | undefined) ?? [])
      .map((c) => c.resourceClaimName)
      .filter((n): n is string => !!n);
  const claimStatus = (claim: KubeObject): ClaimStatus => claim.status ?? {};
  const taken = (): Set<string> => {
    const out = new Set<string>();
    for (const c of store.list('resourceclaims'))
      for (const r of claimStatus(c).allocation?.devices.results ?? [])
        out.add(`${r.driver}/${r.pool}/${r.device}`);
    return out;
  };

  /** Allocates one claim (or checks an existing allocation); the node it lands on, or why it cannot. */
  function allocate(claim: KubeObject): { node: string } | { error: string } {
    const existing = claimStatus(claim).allocation;
    if (existing) {
      const node = (existing.nodeSelector as { nodeSelectorTerms: { matchFields: { values: string[] }[] }[] })
        .nodeSelectorTerms[0]!.matchFields[0]!.values[0]!;
      return { node };
    }
    const requests = (claim.spec?.devices as { requests?: Request[] } | undefined)?.requests ?? [];
    const used = taken();
    const results: NonNullable<ClaimStatus['allocation']>['devices']['results'] = [];
    let node: string | undefined;
    for (const request of requests) {
      const exprs = (request.exactly?.selectors ?? []).map((s) => s.cel?.expression ?? 'true');
      const found = store
        .list('resourceslices')
        .filter((s) => s.spec?.driver === request.exactly?.deviceClassName)
        .flatMap((s) =>
          ((s.spec?.devices as Device[] | undefined) ?? []).map((d) => ({ slice: s, device: d })),
        )
        .find(({ slice, device }) => {
          const pool = (slice.spec?.pool as { name: string }).name;
          return (
            !used.has(`${String(slice.spec!.driver)}/${pool}/${device.name}`) &&
            exprs.every((e) => selects(e, device))
          );
        });
      if (!found)
        return {
          error: `cannot allocate all claims: no free device for claim ${claim.metadata.name} request ${request.name}`,
        };
      node = found.slice.spec!.nodeName;
      results.push({
        request: request.name,
        driver: String(found.slice.spec!.driver),
        pool: (found.slice.spec!.pool as { name: string }).name,
        device: found.device.name,
      });
    }
    if (!node) return { error: `claim ${claim.metadata.name} requests no device` };
    claim.status = {
      ...claim.status,
      allocation: {
        devices: { results },
        nodeSelector: {
          nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] }],
        },
      },
    };
    return { node };
  }

  return {
    /** After a pod was created: schedule it as the kube-scheduler would with its claims. */
    podCreated(pod: KubeObject): void {
      const names = claimNames(pod);
      if (names.length === 0) return;
      const ns = pod.metadata.namespace ?? null;
      const claims = names.map((n) => ({ name: n, claim: store.get('resourceclaims', ns, n) }));
      const missing = claims.find((c) => !c.claim);
      const pend = (message: string): void =>
        store.update('pods', { ...pod, status: pendingStatus(message) });
      if (missing) return pend(`pod refers to ResourceClaim "${missing.name}" that does not exist`);
      if (pod.spec?.nodeName) {
        // bound by nodeName: no kube-scheduler, no allocation; the kubelet waits for one
        if (claims.every((c) => claimStatus(c.claim!).allocation)) return reserve();
        return pend(
          `ResourceClaim not allocated: a pod bound by spec.nodeName skips the scheduler's allocation`,
        );
      }
      const copies = claims.map((c) => structuredClone(c.claim!));
      const nodes = new Set<string>();
      for (const claim of copies) {
        const result = allocate(claim);
        if ('error' in result) return pend(result.error);
        nodes.add(result.node);
      }
      if (nodes.size !== 1) return pend('claims are allocated on different nodes');
      for (const claim of copies) store.update('resourceclaims', claim);
      store.update('pods', { ...pod, spec: { ...pod.spec, nodeName: [...nodes][0]! } });
      return reserve();

      function reserve(): void {
        for (const n of names) {
          const claim = structuredClone(store.get('resourceclaims', ns, n)!);
          const status = claimStatus(claim);
          claim.status = {
            ...claim.status,
            reservedFor: [
              ...(status.reservedFor ?? []),
              { resource: 'pods', name: pod.metadata.name!, uid: pod.metadata.uid! },
            ],
          };
          store.update('resourceclaims', claim);
        }
      }
    },

    /** After a pod is gone: unreserve its claims, deallocate unreserved ones, finish pending claim deletions. */
    podDeleted(pod: KubeObject): void {
      const ns = pod.metadata.namespace ?? null;
      for (const n of claimNames(pod)) {
        const current = store.get('resourceclaims', ns, n);
        if (!current) continue;
        const claim = structuredClone(current);
        const reservedFor = (claimStatus(claim).reservedFor ?? []).filter((r) => r.uid !== pod.metadata.uid);
        if (reservedFor.length === 0 && claim.metadata.deletionTimestamp) {
          store.remove('resourceclaims', ns, n);
          continue;
        }
        claim.status = reservedFor.length > 0 ? { ...claim.status, reservedFor } : {};
        store.update('resourceclaims', claim);
      }
    },

    /** DELETE of a claim: at once when no pod reserves it, else Terminating until its last pod is gone. */
    deleteClaim(namespace: string | null, name: string): KubeObject | undefined {
      const current = store.get('resourceclaims', namespace, name);
      if (!current) return undefined;
      if ((claimStatus(current).reservedFor ?? []).length === 0) {
        store.remove('resourceclaims', namespace, name);
        return {
          ...structuredClone(current),
          metadata: { ...current.metadata, deletionTimestamp: new Date().toISOString() },
        };
      }
      const terminating = structuredClone(current);
      terminating.metadata.deletionTimestamp ??= new Date().toISOString();
      terminating.metadata.finalizers = ['resource.kubernetes.io/delete-protection'];
      store.update('resourceclaims', terminating);
      return terminating;
    },
  };
}
