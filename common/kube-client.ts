/**
 * Loads @kubernetes/client-node on first use, so processes that never talk to Kubernetes (replicas, the
 * local stack) do not load it and its dependency tree. Type-only imports of the client are fine anywhere.
 *
 * The client is pinned to 1.4.x: 2.x depends on undici 8, which crashes at import on Node 20.
 */
export type KubeClientModule = typeof import('@kubernetes/client-node');

let loading: Promise<KubeClientModule> | undefined;

export function loadKubeClient(): Promise<KubeClientModule> {
  loading ??= import('@kubernetes/client-node');
  return loading;
}
