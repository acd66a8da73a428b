#!/usr/bin/env python3
"""Generates the two tiny test detectors shipped with gpumux (a few KB each, no weights to learn).

Both find solid red, green and blue rectangles: a pixel belongs to a colour when that channel is > 150 and
the other two are < 100. For each colour the box is the tight bounding box of its pixels and the score is
the share of that box its pixels fill (about 1.0 for a solid rectangle, 0 when the colour is absent).
Because the outputs follow from the pixels, a test can draw a shape at known coordinates and check the box.

- models/shapes/model.onnx      — the post-processed contract: input `images` uint8 NHWC [N,H,W,3]
  (normalisation "in the graph"), outputs `boxes` [N,3,4] xyxy in input pixels, `scores` [N,3], `labels` [N,3].
- models/shapes-raw/model.onnx  — the raw DETR-head contract: input `images` float32 NCHW [N,3,H,W]
  normalised with mmdet's mean/std, outputs `pred_logits` [N,3,3] and `pred_boxes` [N,3,4] (cxcywh,
  normalised to the padded input), one query per colour.
- models/shapes-detr/model.onnx — exactly the Co-DETR export's I/O contract: input `images` uint8 NHWC
  [N,H,W,3], enlarged 2x inside the graph (bilinear, half-pixel, as the Co-DETR wrapper's F.interpolate),
  outputs `pred_logits` [N,3,3] and `pred_boxes` [N,3,4] (cxcywh, normalised to the enlarged input).

Run: /usr/bin/python3 models/shapes/generate.py   (needs Debian's python3-onnx and python3-numpy)
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OPSET = 17
MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]


def const(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def colour_nodes(prefix_in):
    """Nodes from float RGB planes R, G, B [N,H,W] to boxes/scores; returns (nodes, inits)."""
    n, inits = [], []
    inits += [const("hi", np.float32(150.0)), const("lo", np.float32(100.0)), const("one_i", np.int64(1))]
    for ch in "RGB":
        n.append(helper.make_node("Greater", [ch, "hi"], [f"{ch}_hi"]))
        n.append(helper.make_node("Less", [ch, "lo"], [f"{ch}_lo"]))
    for cls, (a, b, c) in enumerate([("R", "G", "B"), ("G", "R", "B"), ("B", "R", "G")]):
        n.append(helper.make_node("And", [f"{a}_hi", f"{b}_lo"], [f"m{cls}_ab"]))
        n.append(helper.make_node("And", [f"m{cls}_ab", f"{c}_lo"], [f"m{cls}_b"]))
        n.append(helper.make_node("Cast", [f"m{cls}_b"], [f"m{cls}_f"], to=TensorProto.FLOAT))
        n.append(helper.make_node("Unsqueeze", [f"m{cls}_f", "ax1"], [f"m{cls}"]))
    inits.append(const("ax1", np.array([1], dtype=np.int64)))
    n.append(helper.make_node("Concat", ["m0", "m1", "m2"], ["M"], axis=1))  # [N,3,H,W]
    n.append(helper.make_node("ReduceMax", ["M"], ["col"], axes=[2], keepdims=0))  # [N,3,W]
    n.append(helper.make_node("ReduceMax", ["M"], ["row"], axes=[3], keepdims=0))  # [N,3,H]
    n.append(helper.make_node("ArgMax", ["col"], ["x1i"], axis=2, keepdims=0, select_last_index=0))
    n.append(helper.make_node("ArgMax", ["col"], ["x2l"], axis=2, keepdims=0, select_last_index=1))
    n.append(helper.make_node("ArgMax", ["row"], ["y1i"], axis=2, keepdims=0, select_last_index=0))
    n.append(helper.make_node("ArgMax", ["row"], ["y2l"], axis=2, keepdims=0, select_last_index=1))
    n.append(helper.make_node("Add", ["x2l", "one_i"], ["x2i"]))
    n.append(helper.make_node("Add", ["y2l", "one_i"], ["y2i"]))
    for v in ["x1", "x2", "y1", "y2"]:
        n.append(helper.make_node("Cast", [f"{v}i"], [f"{v}f"], to=TensorProto.FLOAT))
        n.append(helper.make_node("Unsqueeze", [f"{v}f", "ax2"], [f"{v}u"]))
    inits.append(const("ax2", np.array([2], dtype=np.int64)))
    n.append(helper.make_node("Concat", ["x1u", "y1u", "x2u", "y2u"], ["xyxy"], axis=2))  # [N,3,4]
    # score = present * pixels / box area
    n.append(helper.make_node("ReduceMax", ["col"], ["present"], axes=[2], keepdims=0))  # [N,3]
    inits.append(const("ax23", np.array([2, 3], dtype=np.int64)))
    n.append(helper.make_node("ReduceSum", ["M", "ax23"], ["count"], keepdims=0))
    n.append(helper.make_node("Sub", ["x2f", "x1f"], ["bw"]))
    n.append(helper.make_node("Sub", ["y2f", "y1f"], ["bh"]))
    n.append(helper.make_node("Mul", ["bw", "bh"], ["area"]))
    n.append(helper.make_node("Div", ["count", "area"], ["fill"]))
    n.append(helper.make_node("Mul", ["fill", "present"], ["score_raw"]))
    inits += [const("zero_f", np.float32(0.0)), const("one_f", np.float32(1.0))]
    n.append(helper.make_node("Clip", ["score_raw", "zero_f", "one_f"], ["score"]))
    return n, inits


def build_postprocessed():
    x = helper.make_tensor_value_info("images", TensorProto.UINT8, ["N", "H", "W", 3])
    nodes = [
        helper.make_node("Cast", ["images"], ["xf"], to=TensorProto.FLOAT),
        helper.make_node("Split", ["xf"], ["Rk", "Gk", "Bk"], axis=3, num_outputs=3) if OPSET >= 18 else
        helper.make_node("Split", ["xf"], ["Rk", "Gk", "Bk"], axis=3),
    ]
    for ch in "RGB":
        nodes.append(helper.make_node("Squeeze", [f"{ch}k", "ax3"], [ch]))
    inits = [const("ax3", np.array([3], dtype=np.int64))]
    cn, ci = colour_nodes("")
    nodes += cn
    inits += ci
    nodes.append(helper.make_node("Identity", ["xyxy"], ["boxes"]))
    nodes.append(helper.make_node("Identity", ["score"], ["scores"]))
    # labels: [0,1,2] broadcast to [N,3]
    inits.append(const("label_ids", np.array([[0, 1, 2]], dtype=np.int64)))
    nodes.append(helper.make_node("Shape", ["score"], ["score_shape"]))
    nodes.append(helper.make_node("Expand", ["label_ids", "score_shape"], ["labels"]))
    outs = [
        helper.make_tensor_value_info("boxes", TensorProto.FLOAT, ["N", 3, 4]),
        helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", 3]),
        helper.make_tensor_value_info("labels", TensorProto.INT64, ["N", 3]),
    ]
    graph = helper.make_graph(nodes, "gpumux_shapes", [x], outs, inits)
    return graph


def build_raw():
    x = helper.make_tensor_value_info("images", TensorProto.FLOAT, ["N", 3, "H", "W"])
    inits = [
        const("mean", np.array(MEAN, dtype=np.float32).reshape(1, 3, 1, 1)),
        const("std", np.array(STD, dtype=np.float32).reshape(1, 3, 1, 1)),
        const("ax1s", np.array([1], dtype=np.int64)),
    ]
    nodes = [
        helper.make_node("Mul", ["images", "std"], ["xs"]),
        helper.make_node("Add", ["xs", "mean"], ["xf"]),
        helper.make_node("Split", ["xf"], ["Rk", "Gk", "Bk"], axis=1),
    ]
    for ch in "RGB":
        nodes.append(helper.make_node("Squeeze", [f"{ch}k", "ax1s"], [ch]))
    cn, ci = colour_nodes("")
    nodes += cn
    inits += ci
    # normalise xyxy by the padded input size, convert to cxcywh
    nodes += [
        helper.make_node("Shape", ["images"], ["ishape"]),
        helper.make_node("Gather", ["ishape", "idx_hw"], ["hw_i"], axis=0),  # [H, W]
        helper.make_node("Cast", ["hw_i"], ["hw"], to=TensorProto.FLOAT),
        helper.make_node("Gather", ["hw", "idx_whwh"], ["whwh"], axis=0),  # [W,H,W,H]
        helper.make_node("Div", ["xyxy", "whwh"], ["nxyxy"]),
        helper.make_node("MatMul", ["nxyxy", "to_cxcywh"], ["pred_boxes"]),
    ]
    inits += [
        const("idx_hw", np.array([2, 3], dtype=np.int64)),
        const("idx_whwh", np.array([1, 0, 1, 0], dtype=np.int64)),
        # [x1,y1,x2,y2] @ T = [cx, cy, w, h]
        const("to_cxcywh", np.array([[0.5, 0, -1, 0], [0, 0.5, 0, -1], [0.5, 0, 1, 0], [0, 0.5, 0, 1]], dtype=np.float32)),
    ]
    # logits [N,Q=3,C=3]: query q scores class q with logit(score) (clamped), every other class -9
    inits += [
        const("eps", np.float32(1e-4)),
        const("one_m_eps", np.float32(1 - 1e-4)),
        const("eye", np.eye(3, dtype=np.float32).reshape(1, 3, 3)),
        const("off", np.float32(-9.0)),
        const("ax2u", np.array([2], dtype=np.int64)),
    ]
    nodes += [
        helper.make_node("Clip", ["score", "eps", "one_m_eps"], ["p"]),
        helper.make_node("Sub", ["one_f", "p"], ["q"]),
        helper.make_node("Div", ["p", "q"], ["odds"]),
        helper.make_node("Log", ["odds"], ["logit"]),  # [N,3]
        helper.make_node("Unsqueeze", ["logit", "ax2u"], ["logit3"]),  # [N,3,1]
        helper.make_node("Sub", ["one_f", "eye"], ["noteye"]),
        helper.make_node("Mul", ["logit3", "eye"], ["diag"]),
        helper.make_node("Mul", ["noteye", "off"], ["offdiag"]),
        helper.make_node("Add", ["diag", "offdiag"], ["pred_logits"]),
    ]
    outs = [
        helper.make_tensor_value_info("pred_logits", TensorProto.FLOAT, ["N", 3, 3]),
        helper.make_tensor_value_info("pred_boxes", TensorProto.FLOAT, ["N", 3, 4]),
    ]
    return helper.make_graph(nodes, "gpumux_shapes_raw", [x], outs, inits)


def detr_heads(image_shape_source, h_axis):
    """Nodes turning xyxy/score into pred_boxes (cxcywh normalised by the tensor's H, W) and pred_logits."""
    nodes = [
        helper.make_node("Shape", [image_shape_source], ["ishape"]),
        helper.make_node("Gather", ["ishape", "idx_hw"], ["hw_i"], axis=0),  # [H, W]
        helper.make_node("Cast", ["hw_i"], ["hw"], to=TensorProto.FLOAT),
        helper.make_node("Gather", ["hw", "idx_whwh"], ["whwh"], axis=0),  # [W,H,W,H]
        helper.make_node("Div", ["xyxy", "whwh"], ["nxyxy"]),
        helper.make_node("MatMul", ["nxyxy", "to_cxcywh"], ["pred_boxes"]),
        helper.make_node("Clip", ["score", "eps", "one_m_eps"], ["p"]),
        helper.make_node("Sub", ["one_f", "p"], ["q"]),
        helper.make_node("Div", ["p", "q"], ["odds"]),
        helper.make_node("Log", ["odds"], ["logit"]),
        helper.make_node("Unsqueeze", ["logit", "ax2u"], ["logit3"]),
        helper.make_node("Sub", ["one_f", "eye"], ["noteye"]),
        helper.make_node("Mul", ["logit3", "eye"], ["diag"]),
        helper.make_node("Mul", ["noteye", "off"], ["offdiag"]),
        helper.make_node("Add", ["diag", "offdiag"], ["pred_logits"]),
    ]
    inits = [
        const("idx_hw", np.array([h_axis, h_axis + 1], dtype=np.int64)),
        const("idx_whwh", np.array([1, 0, 1, 0], dtype=np.int64)),
        const("to_cxcywh", np.array([[0.5, 0, -1, 0], [0, 0.5, 0, -1], [0.5, 0, 1, 0], [0, 0.5, 0, 1]], dtype=np.float32)),
        const("eps", np.float32(1e-4)),
        const("one_m_eps", np.float32(1 - 1e-4)),
        const("eye", np.eye(3, dtype=np.float32).reshape(1, 3, 3)),
        const("off", np.float32(-9.0)),
        const("ax2u", np.array([2], dtype=np.int64)),
    ]
    return nodes, inits


def build_codetr_contract(upscale=2.0):
    x = helper.make_tensor_value_info("images", TensorProto.UINT8, ["N", "H", "W", 3])
    inits = [
        const("ax3", np.array([3], dtype=np.int64)),
        const("scales", np.array([1.0, upscale, upscale, 1.0], dtype=np.float32)),
    ]
    nodes = [
        helper.make_node("Cast", ["images"], ["xf0"], to=TensorProto.FLOAT),
        # the Co-DETR wrapper enlarges with F.interpolate(bilinear, align_corners=False): half-pixel linear
        helper.make_node("Resize", ["xf0", "", "scales"], ["xf"], mode="linear",
                         coordinate_transformation_mode="half_pixel"),
        helper.make_node("Split", ["xf"], ["Rk", "Gk", "Bk"], axis=3),
    ]
    for ch in "RGB":
        nodes.append(helper.make_node("Squeeze", [f"{ch}k", "ax3"], [ch]))
    cn, ci = colour_nodes("")
    hn, hi = detr_heads("xf", 1)
    outs = [
        helper.make_tensor_value_info("pred_logits", TensorProto.FLOAT, ["N", 3, 3]),
        helper.make_tensor_value_info("pred_boxes", TensorProto.FLOAT, ["N", 3, 4]),
    ]
    return helper.make_graph(nodes + cn + hn, "gpumux_shapes_detr", [x], outs, inits + ci + hi)


def save(graph, path):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="gpumux")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, path)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    save(build_postprocessed(), os.path.join(HERE, "model.onnx"))
    save(build_raw(), os.path.join(HERE, "..", "shapes-raw", "model.onnx"))
    save(build_codetr_contract(), os.path.join(HERE, "..", "shapes-detr", "model.onnx"))
