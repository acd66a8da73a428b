/**
 * Recognises ONNX Runtime errors that mean the CUDA device ran out of memory. Message shapes as onnxruntime
 * prints them (onnxruntime issues #9939, #16307, #20038, #22702; Deep-Live-Cam #584, #645):
 * - BFC arena: `...bfc_arena.cc:376 onnxruntime::BFCArena::AllocateRawInternal(...) Failed to allocate memory
 *   for requested buffer of size 13111296`;
 * - CUDA calls: `onnxruntime::CudaCall CUDA failure 2: out of memory ; GPU=0 ; hostname=... ; expr=cudaMalloc(...)`;
 * - cuBLAS / cuDNN handles: `CUBLAS failure 3: CUBLAS_STATUS_ALLOC_FAILED`, `CUDNN_STATUS_ALLOC_FAILED`;
 * - driver / runtime names: `CUDA_ERROR_OUT_OF_MEMORY`, `cudaErrorMemoryAllocation`.
 * The BFC arena message is the same for the CPU arena: only a replica running on CUDA calls it a CUDA OOM.
 */

import { thrownText } from '../../common/errors.js';

const PATTERNS = [
  /Failed to allocate memory for requested buffer/i,
  /BFCArena::AllocateRawInternal/,
  /CUDA failure 2\b/,
  /CUDA(?: error)?[^\n]{0,40}out of memory/i,
  /CUDA_ERROR_OUT_OF_MEMORY/,
  /cudaErrorMemoryAllocation/,
  /CUBLAS_STATUS_ALLOC_FAILED/,
  /CUDNN_STATUS_ALLOC_FAILED/,
];

function messages(err: unknown, depth = 0): string[] {
  if (depth > 5 || err === undefined || err === null) return [];
  if (err instanceof Error) return [err.message, ...messages(err.cause, depth + 1)];
  return [thrownText(err)];
}

/** True when the error (or any error in its `cause` chain) is an out-of-memory failure of the CUDA device. */
export function isCudaOutOfMemory(err: unknown): boolean {
  return messages(err).some((m) => PATTERNS.some((p) => p.test(m)));
}

/** The innermost message (ONNX Runtime's own words), cut to a length a termination message can hold. */
export function rootMessage(err: unknown, max = 600): string {
  const all = messages(err);
  return (all.at(-1) ?? '').slice(0, max);
}
