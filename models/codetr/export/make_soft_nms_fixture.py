#!/usr/bin/env python3
"""Writes models/detr/fixtures/soft-nms-mmcv.json: boxes, scores and labels with what mmcv 2.1.0's compiled
soft_nms (and batched_nms, MMDetection's class-aware call) returns for them, for models/detr/soft-nms.test.ts.

  . $CODETR_ROOT/env.sh && $PY make_soft_nms_fixture.py && npx prettier --write models/detr/fixtures

With mmcv's compiled ops (build_mmcv_ops.sh, ~20 min on 2 cores) it uses them as they are. Without them
(setup_sources.sh's stand-in mmcv/_ext.py) it compiles just mmcv's soft-NMS kernel sources
(ops/csrc/pytorch/nms.cpp + ops/csrc/pytorch/cpu/nms.cpp, the same files the full build compiles into _ext)
with torch.utils.cpp_extension (a minute or two; needs g++, ninja, libtorch-dev, pybind11-dev) and hands
that `softnms` to the stand-in, so mmcv's own Python soft_nms and batched_nms run on mmcv's kernel.
"""
import json
import os
import sys
import tempfile

import numpy as np
import torch

BINDING = """
#include <torch/extension.h>
using at::Tensor;
Tensor softnms(Tensor boxes, Tensor scores, Tensor dets, float iou_threshold, float sigma, float min_score,
               int method, int offset);  // mmcv/ops/csrc/pytorch/nms.cpp
PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("softnms", &softnms, py::arg("boxes"), py::arg("scores"), py::arg("dets"), py::arg("iou_threshold"),
        py::arg("sigma"), py::arg("min_score"), py::arg("method"), py::arg("offset"));
}
"""


def ensure_softnms():
    """Returns where mmcv's softnms comes from, building the kernel alone when only the stand-in is there."""
    import mmcv
    import mmcv._ext as ext

    if not ext.__file__.endswith(".py"):
        return "mmcv compiled ops (" + os.path.basename(ext.__file__) + ")"
    from torch.utils.cpp_extension import load

    csrc = os.path.join(os.path.dirname(mmcv.__file__), "ops", "csrc")
    build = os.environ.get("SOFTNMS_BUILD_DIR") or tempfile.mkdtemp(prefix="mmcv-softnms-")
    os.makedirs(build, exist_ok=True)
    binding = os.path.join(build, "binding.cpp")
    with open(binding, "w") as f:
        f.write(BINDING)
    # both files are called nms.cpp: one object name each for ninja
    cpu_kernel = os.path.join(build, "nms_cpu.cpp")
    with open(os.path.join(csrc, "pytorch", "cpu", "nms.cpp")) as src, open(cpu_kernel, "w") as dst:
        dst.write(src.read())
    sources = [os.path.join(csrc, "pytorch", "nms.cpp"), cpu_kernel, binding]
    module = load("mmcv_softnms", sources, extra_include_paths=[os.path.join(csrc, "common")],
                  build_directory=build, verbose=True)
    ext.softnms = module.softnms
    return "mmcv's soft-NMS kernel sources (ops/csrc/pytorch/nms.cpp, cpu/nms.cpp) compiled alone"

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "detr", "fixtures", "soft-nms-mmcv.json")


def clustered_boxes(rng, n, clusters):
    """Boxes jittered around a few centres (pixels of a 1280x720 frame), so that IoUs span 0..1."""
    centres = rng.uniform([100, 100], [1180, 620], (clusters, 2))
    pick = rng.integers(0, clusters, n)
    cxcy = centres[pick] + rng.normal(0, 12, (n, 2))
    wh = rng.uniform(40, 160, (n, 2))
    return np.concatenate([cxcy - wh / 2, cxcy + wh / 2], 1).astype(np.float32)


def main():
    kernel = ensure_softnms()
    from mmcv.ops import batched_nms, soft_nms

    rng = np.random.default_rng(7)
    sets = []
    boxes = clustered_boxes(rng, 24, 5)
    scores = rng.uniform(0.05, 0.95, 24).astype(np.float32)
    labels = rng.integers(0, 3, 24)
    sets.append(("clustered", boxes, scores, labels))
    # mmcv's docstring example with 1 added to x2/y2 (its zero-area boxes give IoU 0/0 = NaN scores in the
    # kernel): duplicates, equal scores, a zero score
    doc = np.array([[4, 3, 5, 3], [4, 3, 5, 4], [3, 1, 3, 1], [3, 1, 3, 1], [3, 1, 3, 1], [3, 1, 3, 1]], np.float32)
    doc[:, 2:] += 1
    sets.append(("mmcv-doc", doc * 10, np.array([0.9, 0.9, 0.5, 0.5, 0.4, 0.0], np.float32), np.zeros(6, int)))
    ties = clustered_boxes(rng, 10, 2)
    sets.append(("ties", ties, np.repeat(np.float32([0.8, 0.6]), 5), np.zeros(10, int)))

    variants = [
        dict(method="linear", iou_threshold=0.3, sigma=0.5, min_score=1e-3),
        dict(method="linear", iou_threshold=0.8, sigma=0.5, min_score=1e-3),  # Co-DINO's test_cfg
        dict(method="gaussian", iou_threshold=0.3, sigma=0.5, min_score=1e-3),
        dict(method="gaussian", iou_threshold=0.3, sigma=0.1, min_score=0.05),
    ]
    cases = []
    for name, b, s, l in sets:
        for v in variants:
            dets, inds = soft_nms(b, s, **v)
            cases.append({"set": name, "classAware": False, **v, "indices": inds.tolist(),
                          "scores": dets[:, 4].tolist()})
            cfg = dict(type="soft_nms", **v)
            dets_t, keep = batched_nms(torch.from_numpy(b), torch.from_numpy(s), torch.from_numpy(l), cfg)
            cases.append({"set": name, "classAware": True, **v, "indices": keep.tolist(),
                          "scores": dets_t[:, 4].tolist()})
    fixture = {
        "generator": "models/codetr/export/make_soft_nms_fixture.py: mmcv " + __import__("mmcv").__version__
                     + " soft_nms and batched_nms on " + kernel,
        "sets": {name: {"boxes": b.tolist(), "scores": s.tolist(), "labels": l.tolist()} for name, b, s, l in sets},
        "cases": cases,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(fixture, f, indent=1, allow_nan=False)
    print(f"{len(cases)} cases -> {os.path.normpath(OUT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
