import { describe, expect, it } from 'vitest';
import { GpumuxError } from '../../common/errors.js';
import { isCudaOutOfMemory, rootMessage } from './cuda-oom.js';

// Messages as onnxruntime prints them (onnxruntime issues #9939, #16307, #20038, #22702; Deep-Live-Cam #584, #645).
const BFC =
  "Non-zero status code returned while running Conv node. Name:'Conv_111' Status Message: " +
  '/onnxruntime_src/onnxruntime/core/framework/bfc_arena.cc:376 void* onnxruntime::BFCArena::AllocateRawInternal' +
  '(size_t, bool, onnxruntime::Stream*, bool, onnxruntime::WaitNotificationFn) Failed to allocate memory for ' +
  'requested buffer of size 13111296';
const CUDA_CALL =
  '/onnxruntime_src/onnxruntime/core/providers/cuda/cuda_call.cc:121 onnxruntime::CudaCall ' +
  '/onnxruntime_src/onnxruntime/core/providers/cuda/cuda_call.cc:114 onnxruntime::CudaCall CUDA failure 2: out of ' +
  'memory ; GPU=0 ; hostname=gpu-7 ; file=/onnxruntime_src/onnxruntime/core/providers/cuda/cuda_stream_handle.cc ; ' +
  'line=175 ; expr=cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);';
const CUBLAS =
  "Non-zero status code returned while running Gemm node. Name:'fc1' Status Message: " +
  'onnxruntime::CudaCall CUBLAS failure 3: CUBLAS_STATUS_ALLOC_FAILED ; GPU=0 ; hostname=gpu-7 ; ' +
  'expr=cublasCreate(&cublas_handle_);';

describe('isCudaOutOfMemory', () => {
  it.each([BFC, CUDA_CALL, CUBLAS, 'CUDA_ERROR_OUT_OF_MEMORY', 'cudaErrorMemoryAllocation'])(
    'recognises %s',
    (message) => expect(isCudaOutOfMemory(new Error(message))).toBe(true),
  );

  it('looks through the cause chain (the engine wraps ORT errors in INFERENCE_FAILED)', () => {
    const wrapped = new GpumuxError('INFERENCE_FAILED', 'inference failed: …', { cause: new Error(BFC) });
    expect(isCudaOutOfMemory(wrapped)).toBe(true);
    expect(rootMessage(wrapped)).toBe(BFC.slice(0, 600));
  });

  it.each([
    "Non-zero status code returned while running Conv node. Name:'Conv_1' Status Message: Invalid input shape",
    'libonnxruntime_providers_cuda.so: cannot open shared object file: No such file or directory',
    'CUDA failure 700: an illegal memory access was encountered',
    '',
  ])('does not take %j for an OOM', (message) => expect(isCudaOutOfMemory(new Error(message))).toBe(false));
});
