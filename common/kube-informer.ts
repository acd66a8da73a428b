import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import type { Logger } from './log.js';
import { loadKubeClient } from './kube-client.js';

/** What changed; the informer's cache already holds the new state when handlers run. */
export type PodEvent = { type: 'add' | 'update' | 'delete'; pod: V1Pod };

export interface PodInformerOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  labelSelector: string;
  /** Each add / update / delete, including the deletions a re-list finds. */
  onEvent: (event: PodEvent) => void;
  /** Wait before restarting after the list or the watch failed. Default 1 s. */
  restartDelayMs?: number;
  logger: Logger;
}

export interface PodInformer {
  /**
   * Lists, then watches from the list's resourceVersion. Resolves once the first list has been applied
   * (or has failed: then it keeps trying in the background, and `synced` stays false until one succeeds).
   */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The pods as last listed and watched. */
  pods(): readonly V1Pod[];
  /** True once a list has succeeded. */
  synced(): boolean;
}

/**
 * One list-watch of pods for every part that follows them (gateway discovery, the Kubernetes orchestrator):
 * @kubernetes/client-node's `makeInformer` — list, watch from its resourceVersion, re-watch when the server
 * closes the stream, re-list on 410 Gone (resourceVersion expired, as an HTTP status or an ERROR event) —
 * restarted after `restartDelayMs` on any other failure (the informer itself stops on those).
 *
 * @example
 * const informer = createPodInformer({ kubeConfig, namespace: 'gpumux', labelSelector: 'app=x', onEvent, logger });
 * await informer.start();
 * informer.pods();
 */
export function createPodInformer(options: PodInformerOptions): PodInformer {
  const { kubeConfig, namespace, labelSelector, onEvent, restartDelayMs = 1000, logger } = options;
  let informer: Awaited<ReturnType<typeof make>> | undefined;
  let stopped = false;
  let synced = false;
  let restartTimer: NodeJS.Timeout | undefined;

  async function make() {
    const k8s = await loadKubeClient();
    const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`;
    const made = k8s.makeInformer(
      kubeConfig,
      path,
      async () => {
        const list = await core.listNamespacedPod({ namespace, labelSelector });
        synced = true;
        return list;
      },
      labelSelector,
    );
    made.on('add', (pod) => onEvent({ type: 'add', pod }));
    made.on('update', (pod) => onEvent({ type: 'update', pod }));
    made.on('delete', (pod) => onEvent({ type: 'delete', pod }));
    made.on('error', (err: unknown) => {
      if (stopped) return;
      logger.warn('pod list-watch failed; restarting', { err, namespace, labelSelector });
      clearTimeout(restartTimer);
      restartTimer = setTimeout(() => {
        if (!stopped) void made.start();
      }, restartDelayMs);
      restartTimer.unref();
    });
    return made;
  }

  return {
    async start() {
      stopped = false;
      informer ??= await make();
      await informer.start();
    },
    async stop() {
      stopped = true;
      clearTimeout(restartTimer);
      await informer?.stop();
    },
    pods: () => informer?.list(namespace) ?? [],
    synced: () => synced,
  };
}
