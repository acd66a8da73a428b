import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { createLogger, type Logger } from '../../common/log.js';
import type { Discovery, ReplicaEndpoint } from '../types.js';
import { loadKubeClient } from '../../common/kube-client.js';
import { createPodInformer, type PodInformer } from '../../common/kube-informer.js';

export const DEFAULT_REPLICA_SELECTOR =
  'app.kubernetes.io/component=replica,app.kubernetes.io/part-of=gpumux';

export interface KubernetesDiscoveryOptions {
  namespace: string;
  /** Label selector; default the replica labels the scheduler puts on its pods. */
  selector?: string;
  replicaPort?: number;
  /** Default: in-cluster service account, else ~/.kube/config. */
  kubeConfig?: KubeConfig;
  /** Wait before restarting the list-watch after it failed. */
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
 * Replica pods by label selector, followed with the shared pod list-watch (common/kube-informer.ts: list,
 * watch, re-list on 410 Gone, restarted on failure). onChange gets the full set whenever it changes.
 */
export function kubernetesDiscovery({
  namespace,
  selector = DEFAULT_REPLICA_SELECTOR,
  replicaPort = 8081,
  kubeConfig,
  relistDelayMs = 1000,
  logger = createLogger({ component: 'gateway-discovery' }),
}: KubernetesDiscoveryOptions): Discovery {
  let informer: PodInformer | undefined;
  let lastEmitted = '';
  let emit: (endpoints: ReplicaEndpoint[]) => void = () => undefined;

  function publish(): void {
    const endpoints: ReplicaEndpoint[] = [];
    for (const pod of informer?.pods() ?? []) {
      const e = podEndpoint(pod, replicaPort);
      if (e) endpoints.push(e);
    }
    endpoints.sort((a, b) => (a.id < b.id ? -1 : 1));
    const key = JSON.stringify(endpoints);
    if (key === lastEmitted) return;
    lastEmitted = key;
    emit(endpoints);
  }

  return {
    async start(onChange) {
      emit = onChange;
      let kc = kubeConfig;
      if (!kc) {
        const k8s = await loadKubeClient();
        kc = new k8s.KubeConfig();
        kc.loadFromDefault();
      }
      informer = createPodInformer({
        kubeConfig: kc,
        namespace,
        labelSelector: selector,
        restartDelayMs: relistDelayMs,
        onEvent: publish,
        logger,
      });
      // Resolves after the first list, or after it failed (then it keeps trying in the background): either
      // way the gateway starts with what it knows now, possibly nothing.
      await informer.start();
      publish(); // nothing listed (yet): the empty set, so the caller hears "now" in every case
    },
    async stop() {
      await informer?.stop();
    },
  };
}
