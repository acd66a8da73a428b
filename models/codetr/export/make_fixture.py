#!/usr/bin/env python3
"""Writes small static-shape "bucket" graphs with Co-DINO's I/O contract, for testing merge_buckets.py.

Each graph: `images` uint8 [N,H,W,3] (static) -> `pred_logits` float32 [N,Q,C], `pred_boxes` float32 [N,Q,4].
The outputs depend on the pixels (per-channel means), on a weight shared by every bucket (as Co-DINO's
weights are) and on a constant that differs per bucket (as folded positional encodings do), and every graph
ends in a static Reshape, so running a graph on another shape fails, like the real export.

With `--fold-mib M` each graph also derives an M MiB tensor from a small weight shared by every bucket
and a per-bucket factor (Tile, Mul) before a MatMul with the pixels' means: what Swin's masks and positional
encodings are to Co-DINO. ONNX Runtime's constant folding materialises that tensor in every bucket's graph
of a merged file; without folding it is computed per run and the file holds only the small shared weight.

Also the in-graph enlargement alone (upscale_graph): `images` uint8 [N,H,W,3] -> `upscaled` float32
[N,3,H*g,W*g], the Cast, Transpose and Resize (linear, pytorch_half_pixel, scales) that
F.interpolate(scale_factor=g, mode="bilinear", align_corners=False) exports to at opset 17.

Usage: python3 make_fixture.py OUT_DIR [--with-mask] [--fold-mib M] N,H,W [N,H,W ...]   -> OUT_DIR/bucket-NxHxW.onnx
       python3 make_fixture.py OUT_DIR --upscale G N,H,W [N,H,W ...]      -> OUT_DIR/upscale-NxHxW.onnx
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

QUERIES, CLASSES, OPSET = 5, 4, 17


FOLD_BASE_COLUMNS = 1024  # the shared weight is [3, 1024] float32 (12 KiB)


def fold_branch(n, h, w, fold_mib):
    """Nodes and initializers that make `fold_mean` [N,1] from an M MiB tensor built from constants only."""
    repeats = max(1, round(fold_mib * 2**20 / (3 * FOLD_BASE_COLUMNS * 4)))
    base = np.random.default_rng(11).standard_normal((3, FOLD_BASE_COLUMNS)).astype(np.float32)
    inits = [
        numpy_helper.from_array(base, "fold_base"),
        numpy_helper.from_array(np.array([1, repeats], dtype=np.int64), "fold_repeats"),
        numpy_helper.from_array(np.array(n + h / 1000.0 + w / 1e6, dtype=np.float32), "fold_factor"),
    ]
    nodes = [
        helper.make_node("Tile", ["fold_base", "fold_repeats"], ["fold_tiled"]),  # [3, 1024 * repeats]
        helper.make_node("Mul", ["fold_tiled", "fold_factor"], ["fold_big"]),  # differs per bucket
        helper.make_node("MatMul", ["m", "fold_big"], ["fold_out"]),  # [N, 1024 * repeats]
        helper.make_node("ReduceMean", ["fold_out"], ["fold_mean"], axes=[1], keepdims=1),  # [N, 1]
    ]
    return nodes, inits


def bucket_graph(n, h, w, with_mask=False, fold_mib=0):
    rng = np.random.default_rng(7)  # same seed for every bucket: the shared weights are byte-identical
    shared_cls = rng.standard_normal((3, QUERIES * CLASSES)).astype(np.float32)
    shared_box = rng.standard_normal((3, QUERIES * 4)).astype(np.float32)
    per_bucket = np.full((QUERIES * CLASSES,), h / 1000.0 + w / 1e6, dtype=np.float32)
    inits = [
        numpy_helper.from_array(shared_cls, "cls_weight"),
        # torch names folded copies arbitrarily: give the same bytes another name in odd buckets
        numpy_helper.from_array(shared_box, "box_weight" if h % 2 == 0 else f"onnx::MatMul_{h}"),
        numpy_helper.from_array(per_bucket, "pos_const"),
        numpy_helper.from_array(np.array([0.0039215686] * 3, dtype=np.float32), "scale"),
        numpy_helper.from_array(np.array([n, QUERIES, CLASSES], dtype=np.int64), "logits_shape"),
        numpy_helper.from_array(np.array([n, QUERIES, 4], dtype=np.int64), "boxes_shape"),
    ]
    box_weight = inits[1].name
    nodes = [
        helper.make_node("Cast", ["images"], ["x"], to=TensorProto.FLOAT),
        helper.make_node("ReduceMean", ["x"], ["mean"], axes=[1, 2], keepdims=0),
        helper.make_node("Mul", ["mean", "scale"], ["m"]),
        helper.make_node("MatMul", ["m", "cls_weight"], ["logits_flat"]),
        helper.make_node("Add", ["logits_flat", "pos_const"], ["logits_pos"]),
        helper.make_node("Reshape", ["logits_pos", "logits_shape"], ["pred_logits"]),
        helper.make_node("MatMul", ["m", box_weight], ["boxes_flat"]),
        helper.make_node("Sigmoid", ["boxes_in"], ["boxes_sig"]),
        helper.make_node("Reshape", ["boxes_sig", "boxes_shape"], ["pred_boxes"]),
    ]
    inputs = [helper.make_tensor_value_info("images", TensorProto.UINT8, [n, h, w, 3])]
    if with_mask:
        # like --with-mask exports: img_masks [N,H,W] uint8 (1 = padding) changes the boxes
        inputs.append(helper.make_tensor_value_info("img_masks", TensorProto.UINT8, [n, h, w]))
        nodes[7:7] = [
            helper.make_node("Cast", ["img_masks"], ["mask_f"], to=TensorProto.FLOAT),
            helper.make_node("ReduceMean", ["mask_f"], ["pad_rows"], axes=[2], keepdims=0),  # [N,H]
            helper.make_node("ReduceMean", ["pad_rows"], ["pad_share"], axes=[1], keepdims=1),  # [N,1]
            helper.make_node("Add", ["boxes_flat", "pad_share"], ["boxes_in"]),
        ]
    else:
        nodes.insert(7, helper.make_node("Identity", ["boxes_flat"], ["boxes_in"]))
    if fold_mib:
        fold_nodes, fold_inits = fold_branch(n, h, w, fold_mib)
        inits += fold_inits
        reshape = next(node for node in nodes if node.output[0] == "pred_logits")
        reshape.input[0] = "logits_folded"
        at = nodes.index(reshape)
        nodes[at:at] = fold_nodes + [helper.make_node("Add", ["logits_pos", "fold_mean"], ["logits_folded"])]
    graph = helper.make_graph(
        nodes,
        f"bucket_{n}x{h}x{w}",
        inputs,
        [
            helper.make_tensor_value_info("pred_logits", TensorProto.FLOAT, [n, QUERIES, CLASSES]),
            helper.make_tensor_value_info("pred_boxes", TensorProto.FLOAT, [n, QUERIES, 4]),
        ],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8  # what onnxruntime and Debian's onnx both accept
    onnx.checker.check_model(model)
    return model


def upscale_graph(n, h, w, upscale, mode="linear"):
    """codino_wrapper's first ops with graph_upscale: uint8 NHWC -> float NCHW -> bilinear Resize by `upscale`."""
    out_h, out_w = round(h * upscale), round(w * upscale)
    nodes = [
        helper.make_node("Cast", ["images"], ["x"], to=TensorProto.FLOAT),
        helper.make_node("Transpose", ["x"], ["nchw"], perm=[0, 3, 1, 2]),
        helper.make_node(
            "Resize",
            ["nchw", "", "scales"],
            ["upscaled"],
            mode=mode,
            coordinate_transformation_mode="pytorch_half_pixel",
            nearest_mode="floor",
        ),
    ]
    graph = helper.make_graph(
        nodes,
        f"upscale_{n}x{h}x{w}",
        [helper.make_tensor_value_info("images", TensorProto.UINT8, [n, h, w, 3])],
        [helper.make_tensor_value_info("upscaled", TensorProto.FLOAT, [n, 3, out_h, out_w])],
        initializer=[numpy_helper.from_array(np.array([1, 1, upscale, upscale], dtype=np.float32), "scales")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main(argv):
    with_mask = "--with-mask" in argv
    fold_mib = 0
    if "--fold-mib" in argv:
        at = argv.index("--fold-mib")
        fold_mib = float(argv[at + 1])
        argv = argv[:at] + argv[at + 2 :]
    upscale = None
    if "--upscale" in argv:
        at = argv.index("--upscale")
        upscale = float(argv[at + 1])
        argv = argv[:at] + argv[at + 2 :]
    out_dir, *specs = [a for a in argv if a != "--with-mask"]
    os.makedirs(out_dir, exist_ok=True)
    for spec in specs:
        n, h, w = (int(v) for v in spec.split(","))
        if upscale is not None:
            onnx.save(upscale_graph(n, h, w, upscale), os.path.join(out_dir, f"upscale-{n}x{h}x{w}.onnx"))
        else:
            graph = bucket_graph(n, h, w, with_mask, fold_mib)
            onnx.save(graph, os.path.join(out_dir, f"bucket-{n}x{h}x{w}.onnx"))


if __name__ == "__main__":
    main(sys.argv[1:])
