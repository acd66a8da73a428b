#!/usr/bin/env python3
"""Generates `shapes-slow`: the shapes detector (models/shapes, same I/O contract and answers) whose inference
costs a chosen number of milliseconds per frame, for tests and benchmarks about time: batching, probes, queues,
drain, routing under load. Every test model infers in ~2 ms; Co-DETR takes ~200 ms a frame on an RTX 4090 and
over a minute on a CPU, which is what the replica must stay responsive through.

How it costs time while answering exactly: each frame's mean pixel value seeds a K×K matrix (so the work
depends on the input and ONNX Runtime cannot fold it away), an ONNX `Loop` multiplies it by a fixed K×K matrix
`iterations` times (MatMul + Tanh, which keeps the values finite), the result is summed, multiplied by zero and
added to the scores. Boxes, labels and scores are the shapes model's, bit for bit.

`--scratch-mib S` adds working memory like a big detector's activations: the seed is expanded to an S MiB
tensor per frame and run through a chain of element-wise ops whose intermediates stay alive together (about
5 × S MiB per frame at the peak), summed, multiplied by zero and added to the scores. It is what shows how ONNX
Runtime's arena behaves across runs (the replica measures its footprint after warm-up and keeps it for life).

The cost is linear in the batch (each row runs its own chain) and in `iterations`. `--ms` only guesses
`iterations` from a single-threaded NumPy timing of the same chain, corrected by ORT_SPEEDUP: how far NumPy is
from ONNX Runtime depends on the machine's BLAS (Debian's reference BLAS made a "300 ms" model run in 40-75 ms),
so the tests pass `--iterations` instead, calibrated by timing the generated graph in onnxruntime-node
(test/helpers/slow-model.ts). The replica reports the real figure (`ewmaServiceSeconds`, timings.inferenceMs).

Run: /usr/bin/python3 models/shapes/generate_slow.py --ms 250 --out /tmp/shapes-slow
     (writes model.onnx and manifest.json there; needs Debian's python3-onnx and python3-numpy)
"""
import argparse
import json
import os
import time

# one BLAS thread for the calibration, as the replica runs ONNX Runtime with ⌊cores/2⌋ (one here) intra-op threads
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402
from onnx import TensorProto, helper  # noqa: E402

from generate import HERE, build_postprocessed, const, save  # noqa: E402

SIZE = 192
# ONNX Runtime's CPU GEMM ran this chain 2x faster than NumPy's single-threaded timing predicted (150 ms where
# NumPy said 300, 2-core x86 VM): the calibration divides by that.
ORT_SPEEDUP = 2.0


def calibrate(size, ms):
    """Iterations of (MatMul + Tanh) on one [1, size, size] matrix that take about `ms` here."""
    rng = np.random.default_rng(0)
    w = (rng.standard_normal((size, size)) / np.sqrt(size)).astype(np.float32)
    m = np.tanh(rng.standard_normal((1, size, size)).astype(np.float32))
    for _ in range(5):
        m = np.tanh(m @ w)
    # the fastest of many short timings: on a loaded machine the mean counts other processes' time, which
    # would make the model too fast once the load is gone
    per_ms = float("inf")
    deadline = time.perf_counter() + 0.3
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        for _ in range(5):
            m = np.tanh(m @ w)
        per_ms = min(per_ms, (time.perf_counter() - t0) * 1000 / 5)
    return max(1, round(ms * ORT_SPEEDUP / per_ms))


def build_slow(iterations, size):
    graph = build_postprocessed()
    rng = np.random.default_rng(1)
    w = (rng.standard_normal((size, size)) / np.sqrt(size)).astype(np.float32)
    # rename the shapes graph's `scores` output so the delay can be added in front of it
    for node in graph.node:
        if list(node.output) == ["scores"]:
            node.output[0] = "scores_exact"
    graph.initializer.extend(
        [
            const("slow_w", w),
            const("slow_inv255", np.float32(1 / 255)),
            const("slow_zero", np.float32(0.0)),
            const("slow_axes_12", np.array([1, 2], dtype=np.int64)),
            const("slow_trips", np.array(iterations, dtype=np.int64)),
            const("slow_true", np.array(True)),
            const("slow_one", np.array([1], dtype=np.int64)),
        ]
    )
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("MatMul", ["m_in", "slow_w"], ["mw"]),
            helper.make_node("Tanh", ["mw"], ["m_out"]),
        ],
        "slow_chain",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("m_in", TensorProto.FLOAT, ["N", size, size]),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("m_out", TensorProto.FLOAT, ["N", size, size]),
        ],
    )
    graph.node.extend(
        [
            # seed [N,1,1] = mean pixel / 255: the chain depends on the frame
            helper.make_node("ReduceMean", ["xf"], ["slow_mean"], axes=[1, 2, 3], keepdims=0),
            helper.make_node("Mul", ["slow_mean", "slow_inv255"], ["slow_seed1"]),
            helper.make_node("Unsqueeze", ["slow_seed1", "slow_axes_12"], ["slow_seed"]),
            helper.make_node("Mul", ["slow_seed", "slow_w"], ["slow_sw"]),
            helper.make_node("Add", ["slow_sw", "slow_w"], ["slow_m0a"]),
            helper.make_node("Tanh", ["slow_m0a"], ["slow_m0"]),  # [N,K,K]
            helper.make_node("Loop", ["slow_trips", "slow_true", "slow_m0"], ["slow_m"], body=body),
            helper.make_node("ReduceSum", ["slow_m", "slow_axes_12"], ["slow_sum"], keepdims=0),  # [N]
            helper.make_node("Unsqueeze", ["slow_sum", "slow_one"], ["slow_total"]),  # [N,1]
            helper.make_node("Mul", ["slow_total", "slow_zero"], ["slow_nothing"]),  # [N,1] of zeros
            helper.make_node("Add", ["scores_exact", "slow_nothing"], ["scores"]),
        ]
    )
    graph.name = "gpumux_shapes_slow"
    return graph


def add_scratch(graph, scratch_mib):
    """S MiB per frame of live intermediates, input-dependent (folded by nothing), zero in the scores."""
    rows = max(1, round(scratch_mib * 4))  # a row is 65536 float32 = 256 KiB
    graph.initializer.extend(
        [
            const("scratch_shape", np.array([1, rows, 65536], dtype=np.int64)),
            const("scratch_axes", np.array([1, 2], dtype=np.int64)),
        ]
    )
    for node in graph.node:
        if list(node.output) == ["scores"]:
            node.output[0] = "scores_slow"
    live = []
    nodes = [helper.make_node("Expand", ["slow_seed", "scratch_shape"], ["scratch_0"])]  # [N,rows,65536]
    prev = "scratch_0"
    for i in range(4):  # each Sin output is kept for the sum below: 5 tensors of S MiB alive at once
        nodes.append(helper.make_node("Sin", [prev], [f"scratch_sin{i}"]))
        live.append(f"scratch_sin{i}")
        prev = f"scratch_sin{i}"
    acc = "scratch_0"
    for i, name in enumerate(live):
        nodes.append(helper.make_node("Add", [acc, name], [f"scratch_acc{i}"]))
        acc = f"scratch_acc{i}"
    nodes += [
        helper.make_node("ReduceSum", [acc, "scratch_axes"], ["scratch_sum"], keepdims=0),  # [N]
        helper.make_node("Unsqueeze", ["scratch_sum", "slow_one"], ["scratch_total"]),  # [N,1]
        helper.make_node("Mul", ["scratch_total", "slow_zero"], ["scratch_nothing"]),
        helper.make_node("Add", ["scores_slow", "scratch_nothing"], ["scores"]),
    ]
    graph.node.extend(nodes)


def manifest(iterations, size, ms):
    with open(os.path.join(HERE, "manifest.json")) as f:
        m = json.load(f)
    m["name"] = "shapes-slow"
    m["description"] = (
        f"Stand-in slow model: the shapes detector plus {iterations} input-dependent {size}x{size} matrix "
        f"products per frame multiplied by zero into the scores (about {ms} ms per frame on the machine that "
        "generated it). Generated by models/shapes/generate_slow.py."
    )
    return m


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ms", type=float, default=250, help="target inference time per frame (default 250)")
    p.add_argument("--iterations", type=int, help="matrix products per frame (overrides --ms)")
    p.add_argument("--size", type=int, default=SIZE, help=f"matrix size K (default {SIZE})")
    p.add_argument("--scratch-mib", type=float, default=0, help="working memory per frame, MiB (default 0)")
    p.add_argument("--out", required=True, help="folder to write model.onnx and manifest.json into")
    args = p.parse_args()
    iterations = args.iterations or calibrate(args.size, args.ms)
    os.makedirs(args.out, exist_ok=True)
    graph = build_slow(iterations, args.size)
    if args.scratch_mib > 0:
        add_scratch(graph, args.scratch_mib)
    save(graph, os.path.join(args.out, "model.onnx"))
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest(iterations, args.size, args.ms), f, indent=2)
        f.write("\n")
    print(f"iterations {iterations}, size {args.size}")
