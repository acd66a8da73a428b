import type { V1ContainerStateTerminated, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { REPLICA_EXIT_CODES } from '../../../replica/exit-codes.js';
import { podFailure, podRestartFailure } from './pod-state.js';
import { podStartup } from './pod-startup.js';

/** A replica pod that ended as the kubelet reports it (restartPolicy Never: phase Failed). */
function failedPod(terminated: V1ContainerStateTerminated): V1Pod {
  return {
    metadata: { name: 'gpumux-codetr-0123456789' },
    status: {
      phase: 'Failed',
      containerStatuses: [
        {
          name: 'replica',
          image: 'gpumux',
          imageID: '',
          ready: false,
          restartCount: 0,
          state: { terminated },
        },
      ],
    },
  };
}

const OOM_LINE =
  '{"time":"2026-11-25T13:59:03.026Z","level":"error","msg":"CUDA out of memory: model codetr:1 on cuda:0 ' +
  '(node gpu-a, GPU 0 GPU-e18afb8d-1627-f8ff-2ba3-c05c5a8e9e67), replica gpumux-codetr-0123456789; exiting with ' +
  "code 3: Non-zero status code returned while running Conv node. Name:'Conv_111' Status Message: " +
  '/onnxruntime_src/onnxruntime/core/framework/bfc_arena.cc:376 void* onnxruntime::BFCArena::AllocateRawInternal' +
  '(size_t, bool, onnxruntime::Stream*, bool, onnxruntime::WaitNotificationFn) Failed to allocate memory for ' +
  'requested buffer of size 2830172160","component":"replica","model":"codetr","version":"1","device":"cuda:0 ' +
  '(node gpu-a, GPU 0 GPU-e18afb8d-1627-f8ff-2ba3-c05c5a8e9e67)","exitCode":3}';
const LOG_TAIL = [
  '{"time":"2026-11-25T13:58:40.001Z","level":"info","msg":"engine ready","component":"engine","model":"codetr","device":"cuda:0"}',
  '{"time":"2026-11-25T13:58:40.002Z","level":"info","msg":"ready","component":"replica","model":"codetr"}',
  OOM_LINE,
].join('\n');

describe('podFailure', () => {
  it('CUDA OOM with the termination log written by the replica (reason Error, exit 3): oom', () => {
    const message =
      'CUDA out of memory: model codetr:1 on cuda:0 (node gpu-a, GPU 0); exiting with code 3: ...';
    expect(
      podFailure(failedPod({ exitCode: REPLICA_EXIT_CODES.cudaOutOfMemory, reason: 'Error', message })),
    ).toMatchObject({ kind: 'oom', exitCode: 3 });
  });

  it('CUDA OOM seen through FallbackToLogsOnError (message = the last log lines): oom', () => {
    const failure = podFailure(failedPod({ exitCode: 3, reason: 'Error', message: LOG_TAIL }));
    expect(failure).toMatchObject({ kind: 'oom', exitCode: 3 });
    expect(failure!.message).toContain('CUDA out of memory');
  });

  it('exit code 3 alone (no text survived) is still an OOM', () => {
    expect(podFailure(failedPod({ exitCode: 3, reason: 'Error' }))).toMatchObject({ kind: 'oom' });
  });

  it('the kernel OOM killer (reason OOMKilled, 137) is host memory, not CUDA; a crash with a stack trace is neither', () => {
    expect(podFailure(failedPod({ exitCode: 137, reason: 'OOMKilled' }))).toMatchObject({
      kind: 'host-oom',
      exitCode: 137,
    });
    const crash = podFailure(
      failedPod({
        exitCode: 1,
        reason: 'Error',
        message:
          '{"level":"error","msg":"model failed to load; exiting","err":{"message":"cannot read model manifest"}}',
      }),
    );
    expect(crash).toMatchObject({ kind: 'crash', exitCode: 1 });
  });
});

describe('podStartup / podStartFailure: a pod that has not started, read as the kubelet reports it', () => {
  const at = '2026-12-07T10:00:00.000Z';
  const pod = (status: V1Pod['status']): V1Pod => ({
    metadata: { name: 'p', creationTimestamp: new Date('2026-12-07T09:00:00.000Z') },
    ...(status ? { status } : {}),
  });
  const waiting = (reason: string) => ({
    name: 'replica',
    image: 'gpumux',
    imageID: '',
    ready: false,
    restartCount: 0,
    state: { waiting: { reason } },
  });

  it.each<[string, V1Pod['status'], { stage: string; reason: string | null }]>([
    ['not taken up by its kubelet yet', { phase: 'Pending' }, { stage: 'schedule', reason: null }],
    [
      'PodScheduled=False Unschedulable',
      {
        phase: 'Pending',
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            lastTransitionTime: new Date(at),
          },
        ],
      },
      { stage: 'schedule', reason: 'Unschedulable' },
    ],
    [
      'ContainerCreating (pulling)',
      { phase: 'Pending', containerStatuses: [waiting('ContainerCreating')] },
      { stage: 'pull', reason: null },
    ],
    [
      'ImagePullBackOff',
      { phase: 'Pending', containerStatuses: [waiting('ImagePullBackOff')] },
      { stage: 'pull', reason: 'ImagePullBackOff' },
    ],
    [
      'CreateContainerConfigError',
      { phase: 'Pending', containerStatuses: [waiting('CreateContainerConfigError')] },
      { stage: 'pull', reason: 'CreateContainerConfigError' },
    ],
    [
      'the fetch init container running',
      {
        phase: 'Pending',
        initContainerStatuses: [
          {
            name: 'fetch-model',
            image: 'curl',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: { running: { startedAt: new Date(at) } },
          },
        ],
        containerStatuses: [waiting('PodInitializing')],
      },
      { stage: 'fetch', reason: null },
    ],
  ])('%s', (_, status, expected) => expect(podStartup(pod(status))).toMatchObject(expected));

  it('warm-up counts from the container start, not the pod creation', () => {
    const p = pod({
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'False' }],
      containerStatuses: [{ ...waiting('x'), state: { running: { startedAt: new Date(at) } } }],
    });
    expect(podStartup(p)).toEqual({ stage: 'warm-up', since: Date.parse(at), reason: null });
  });

  it('a failed fetch init container (pod Failed, replica never ran) is not-started, in the fetch stage', () => {
    const failed = podFailure(
      pod({
        phase: 'Failed',
        initContainerStatuses: [
          {
            name: 'fetch-model',
            image: 'curl',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: { terminated: { exitCode: 22, reason: 'Error', message: 'curl: (22) 404' } },
          },
        ],
        containerStatuses: [waiting('PodInitializing')],
      }),
    );
    expect(failed).toMatchObject({ kind: 'not-started', stage: 'fetch', exitCode: 22 });
    expect(failed!.message).toContain('fetch-model exited with 22');
  });

  it('a restart from OOMKilled (restartPolicy Always) is reported with its restart count', () => {
    const p = pod({
      phase: 'Running',
      containerStatuses: [
        {
          ...waiting('x'),
          restartCount: 2,
          state: { running: {} },
          lastState: { terminated: { exitCode: 137, reason: 'OOMKilled' } },
        },
      ],
    });
    expect(podRestartFailure(p)).toMatchObject({ restarts: 2, failure: { kind: 'host-oom' } });
  });
});
