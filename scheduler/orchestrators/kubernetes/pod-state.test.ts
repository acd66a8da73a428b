import type { V1ContainerStateTerminated, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { REPLICA_EXIT_CODES } from '../../../replica/exit-codes.js';
import { podFailure } from './pod-state.js';

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
