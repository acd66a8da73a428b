import type { KubeApiServer } from './kube-api-server.js';
import type { KubeObject } from './kube-object.js';

/**
 * The kubelet's and node controller's side of the Kubernetes-API stand-in (kube-api-server.ts): pod
 * statuses exactly as the kubelet reports them at each point of a pod's life, and node cordons, NotReady
 * and deletion as `kubectl cordon` and the node lifecycle controller leave them. Field names, reasons and
 * shapes follow k8s.io/api core/v1 and what `kubectl get pod -o yaml` shows on a real cluster.
 *
 * @example
 * const kubelet = standInKubelet(api, 'gpumux');
 * kubelet.waiting(pod, 'ImagePullBackOff', 'Back-off pulling image "gpumux:2"');
 * kubelet.cordon('gpu-a');
 */
export function standInKubelet(api: KubeApiServer, namespace: string) {
  const iso = (ms = Date.now()): string => new Date(ms).toISOString();
  const name = (pod: KubeObject | string): string => (typeof pod === 'string' ? pod : pod.metadata.name!);
  const image = (pod: KubeObject | string): string => {
    const p = api.get('pods', namespace, name(pod));
    const containers = (p?.spec?.containers ?? []) as { name: string; image?: string }[];
    return containers.find((c) => c.name === 'replica')?.image ?? 'gpumux';
  };
  const scheduled = (at: string) => ({ type: 'PodScheduled', status: 'True', lastTransitionTime: at });
  const cond = (type: string, status: string, at: string, reason?: string) => ({
    type,
    status,
    lastTransitionTime: at,
    ...(reason ? { reason } : {}),
  });
  const replica = (pod: KubeObject | string, state: Record<string, unknown>, extra = {}) => ({
    name: 'replica',
    image: image(pod),
    imageID: '',
    ready: false,
    restartCount: 0,
    started: false,
    state,
    ...extra,
  });
  /** The model-fetch init container's status. */
  const fetchModel = (started: boolean, state: Record<string, unknown>) => ({
    name: 'fetch-model',
    image: 'curlimages/curl',
    imageID: '',
    ready: false,
    restartCount: 0,
    started,
    state,
  });
  const set = (pod: KubeObject | string, status: Record<string, unknown>): KubeObject =>
    api.setPodStatus(namespace, name(pod), status);

  return {
    /** `PodScheduled=False`, reason Unschedulable (the kube-scheduler's answer when nothing fits). */
    unschedulable(
      pod: KubeObject | string,
      message = '0/3 nodes are available: 3 Insufficient nvidia.com/gpu.',
    ) {
      return set(pod, {
        phase: 'Pending',
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message,
            lastTransitionTime: iso(),
          },
        ],
        containerStatuses: undefined,
        initContainerStatuses: undefined,
      });
    },
    /** Bound, the replica container waiting: ContainerCreating, ErrImagePull, ImagePullBackOff, CreateContainerConfigError. */
    waiting(pod: KubeObject | string, reason: string, message?: string, scheduledAt = iso()) {
      return set(pod, {
        phase: 'Pending',
        startTime: scheduledAt,
        conditions: [
          scheduled(scheduledAt),
          cond('Initialized', 'True', scheduledAt),
          cond('ContainersReady', 'False', scheduledAt, 'ContainersNotReady'),
          cond('Ready', 'False', scheduledAt, 'ContainersNotReady'),
        ],
        containerStatuses: [replica(pod, { waiting: { reason, ...(message ? { message } : {}) } })],
      });
    },
    /** The model-fetch init container running (since `startedAt`), the replica container PodInitializing. */
    fetching(pod: KubeObject | string, startedAt = iso()) {
      return set(pod, {
        phase: 'Pending',
        startTime: startedAt,
        conditions: [
          scheduled(startedAt),
          cond('Initialized', 'False', startedAt, 'ContainersNotInitialized'),
          cond('Ready', 'False', startedAt, 'ContainersNotReady'),
        ],
        initContainerStatuses: [fetchModel(true, { running: { startedAt } })],
        containerStatuses: [replica(pod, { waiting: { reason: 'PodInitializing' } })],
      });
    },
    /**
     * The fetch init container exited non-zero; with restartPolicy Never the kubelet fails the pod (phase
     * Failed; the replica container never ran: still waiting PodInitializing).
     */
    fetchFailed(
      pod: KubeObject | string,
      exitCode = 1,
      message = 'sha256 mismatch for /models/codetr/model.onnx',
    ) {
      const at = iso();
      return set(pod, {
        phase: 'Failed',
        conditions: [
          scheduled(at),
          cond('Initialized', 'False', at, 'ContainersNotInitialized'),
          cond('Ready', 'False', at, 'PodFailed'),
        ],
        initContainerStatuses: [
          fetchModel(false, {
            terminated: { exitCode, reason: 'Error', message, startedAt: at, finishedAt: at },
          }),
        ],
        containerStatuses: [replica(pod, { waiting: { reason: 'PodInitializing' } })],
      });
    },
    /** The replica container running since `startedAt`, not ready (warming up) or ready. */
    running(pod: KubeObject | string, options: { startedAt?: string; ready?: boolean; podIP?: string } = {}) {
      const { startedAt = iso(), ready = false, podIP = '127.0.0.1' } = options;
      const r = ready ? 'True' : 'False';
      return set(pod, {
        phase: 'Running',
        podIP,
        podIPs: [{ ip: podIP }],
        startTime: startedAt,
        conditions: [
          scheduled(startedAt),
          cond('Initialized', 'True', startedAt),
          cond('ContainersReady', r, iso(), ready ? undefined : 'ContainersNotReady'),
          cond('Ready', r, iso(), ready ? undefined : 'ContainersNotReady'),
        ],
        containerStatuses: [replica(pod, { running: { startedAt } }, { ready, started: true })],
      });
    },
    /**
     * The kernel OOM killer ended the replica container (memory cgroup over its limit): exit 137, reason
     * OOMKilled. restartPolicy Never: the pod Failed with it in `state.terminated`; Always: the kubelet restarts
     * it (restartCount + 1), the death in `lastState.terminated`.
     */
    oomKilled(pod: KubeObject | string, restartPolicy: 'Never' | 'Always' = 'Never') {
      const at = iso();
      const terminated = { exitCode: 137, reason: 'OOMKilled', startedAt: at, finishedAt: at };
      if (restartPolicy === 'Never')
        return set(pod, {
          phase: 'Failed',
          conditions: [scheduled(at), cond('Ready', 'False', at, 'PodFailed')],
          containerStatuses: [replica(pod, { terminated })],
        });
      const current = api.get('pods', namespace, name(pod));
      const before =
        ((current?.status?.containerStatuses ?? []) as { restartCount?: number }[])[0]?.restartCount ?? 0;
      return set(pod, {
        phase: 'Running',
        conditions: [scheduled(at), cond('Ready', 'False', at, 'ContainersNotReady')],
        containerStatuses: [
          replica(
            pod,
            { running: { startedAt: iso() } },
            { restartCount: before + 1, lastState: { terminated } },
          ),
        ],
      });
    },
    /** `kubectl cordon`: spec.unschedulable and the node controller's NoSchedule taint. */
    cordon(node: string, unschedulable = true) {
      const n = api.get('nodes', null, node)!;
      const taints = ((n.spec?.taints ?? []) as { key: string }[]).filter(
        (t) => t.key !== 'node.kubernetes.io/unschedulable',
      );
      return api.put('nodes', {
        ...n,
        spec: {
          ...n.spec,
          unschedulable: unschedulable || undefined,
          taints: unschedulable
            ? [...taints, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule', timeAdded: iso() }]
            : taints,
        },
      });
    },
    /**
     * The node stops posting status: the node lifecycle controller sets Ready=Unknown (reason
     * NodeStatusUnknown) with the lastTransitionTime given, and the not-ready/unreachable taints.
     */
    notReady(node: string, since = Date.now(), status: 'Unknown' | 'False' = 'Unknown') {
      const n = api.get('nodes', null, node)!;
      return api.put('nodes', {
        ...n,
        spec: {
          ...n.spec,
          taints: [
            {
              key: status === 'Unknown' ? 'node.kubernetes.io/unreachable' : 'node.kubernetes.io/not-ready',
              effect: 'NoExecute',
              timeAdded: iso(since),
            },
          ],
        },
        status: {
          ...n.status,
          conditions: [
            {
              type: 'Ready',
              status,
              reason: status === 'Unknown' ? 'NodeStatusUnknown' : 'KubeletNotReady',
              message:
                status === 'Unknown' ? 'Kubelet stopped posting node status.' : 'container runtime is down',
              lastHeartbeatTime: iso(since),
              lastTransitionTime: iso(since),
            },
          ],
        },
      });
    },
  };
}

export type StandInKubelet = ReturnType<typeof standInKubelet>;
