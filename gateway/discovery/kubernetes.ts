import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { createLogger, type Logger } from '../../common/log.js';
import type { Discovery, ReplicaEndpoint } from '../types.js';
import { loadKubeClient } from '../../common/kube-client.js';

export const DEFAULT_REPLICA_SELECTOR =
  'app.kubernetes.io/component=replica,app.kubernetes.io/part-of=gpumux';

export interface KubernetesDiscoveryOptions {
  namespace: string;
  /** Label selector; default the replica labels the scheduler puts on its pods. */
  selector?: string;
  replicaPort?: number;
  /** Default: in-cluster service account, else ~/.kube/config. */
  kubeConfig?: KubeConfig;
  /** Wait before listing again after a watch ends or fails. */
  relistDelayMs?: number;
  logger?: Logger;
}

/** A pod that can take traffic: Running, has an IP, not being deleted. */
export function podEndpoint(pod: V1Pod, replicaPort: number): ReplicaEndpoint | null {
  const name = pod.metadata?.name;
  const ip = pod.status?.podIP;
  if (!name || !ip || pod.status?.phase !== 'Running' || pod.metadata?.deletionTimestamp) return null;
  return { id: name, url: `http://${ip.includes(':') ? `[${ip}]` : ip}:${replicaPort}` };
}

/**
 * Replica pods by label selector: list, then watch from the list's resourceVersion; when the watch ends
 * (server timeout, 410 Gone after expiry, connection loss) list again and watch anew. onChange gets the full
 * set whenever it changes.
 */
export function kubernetesDiscovery({
  namespace,
  selector = DEFAULT_REPLICA_SELECTOR,
  replicaPort = 8081,
  kubeConfig,
  relistDelayMs = 1000,
  logger = createLogger({ component: 'gateway-discovery' }),
}: KubernetesDiscoveryOptions): Discovery {
  const pods = new Map<string, V1Pod>();
  let stopped = false;
  let watchAbort: AbortController | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let lastEmitted = '';
  let emit: (endpoints: ReplicaEndpoint[]) => void = () => undefined;

  function publish(): void {
    const endpoints: ReplicaEndpoint[] = [];
    for (const pod of pods.values()) {
      const e = podEndpoint(pod, replicaPort);
      if (e) endpoints.push(e);
    }
    endpoints.sort((a, b) => (a.id < b.id ? -1 : 1));
    const key = JSON.stringify(endpoints);
    if (key === lastEmitted) return;
    lastEmitted = key;
    emit(endpoints);
  }

  async function listAndWatch(): Promise<void> {
    const k8s = await loadKubeClient();
    const kc =
      kubeConfig ??
      (() => {
        const c = new k8s.KubeConfig();
        c.loadFromDefault();
        return c;
      })();
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const list = await core.listNamespacedPod({ namespace, labelSelector: selector });
    pods.clear();
    for (const pod of list.items) if (pod.metadata?.name) pods.set(pod.metadata.name, pod);
    publish();
    let resourceVersion = list.metadata?.resourceVersion;
    const watch = new k8s.Watch(kc);
    watchAbort = await watch.watch(
      `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
      { labelSelector: selector, resourceVersion, allowWatchBookmarks: true },
      (type: string, obj: V1Pod) => {
        if (type === 'ERROR') {
          // Usually 410 Gone: our resourceVersion expired. Drop this watch; the done callback relists.
          watchAbort?.abort();
          return;
        }
        resourceVersion = obj.metadata?.resourceVersion ?? resourceVersion;
        const name = obj.metadata?.name;
        if (type === 'BOOKMARK' || !name) return;
        if (type === 'DELETED') pods.delete(name);
        else pods.set(name, obj);
        publish();
      },
      (err: unknown) => {
        if (stopped) return;
        if (err && (err as Error).name !== 'AbortError') logger.warn('pod watch ended', { err });
        scheduleRelist();
      },
    );
  }

  function scheduleRelist(): void {
    if (stopped) return;
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => {
      listAndWatch().catch((err: unknown) => {
        logger.warn('pod list failed', { err, namespace, selector });
        scheduleRelist();
      });
    }, relistDelayMs);
  }

  return {
    async start(onChange) {
      emit = onChange;
      try {
        await listAndWatch();
      } catch (err) {
        // Keep trying in the background: the gateway serves what it finds once the API answers.
        logger.warn('pod list failed', { err, namespace, selector });
        onChange([]);
        scheduleRelist();
      }
    },
    async stop() {
      stopped = true;
      clearTimeout(retryTimer);
      watchAbort?.abort();
    },
  };
}
