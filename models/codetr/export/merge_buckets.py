#!/usr/bin/env python3
"""Merges static-shape ONNX exports (one per input shape) into one ONNX file that dispatches on the shape.

Why: Co-DINO's graph is only trustworthy when traced at a fixed input shape (see export_onnx.py: the
multi-scale deformable attention fallback splits its value tensor by level sizes that the tracer records as
constants, and Swin's window padding branches are decided in Python). gpumux's manifest names ONE ONNX file
and the replica runs ONE session whose memory is sized at warm-up. So each (batch, height, width) is exported
on its own, and this tool joins them:

    images ─ Shape ─ equals (N0,H0,W0)? ─ If ─ then: graph for shape 0
                                              else: equals (N1,H1,W1)? ─ If ─ ... else: graph for the last shape

Weights are stored once: initializers with the same dtype, dims and bytes are deduplicated across the
bucket graphs and moved to the outer graph, where every branch reads them by outer-scope reference. An input
of any other shape falls through to the last graph, whose static Reshapes reject it with an ONNX Runtime
error (the replica never sends one: v2 infer and the pre-processor only produce manifest bucket shapes).

Needs only the `onnx` Python package (Debian: python3-onnx). Tested by merge_buckets.test.ts, which builds
small bucket graphs with make_fixture.py, merges them and runs the result in onnxruntime-node.

Usage:
  python3 merge_buckets.py --out model.onnx bucket-1x1152x2048.onnx bucket-1x1280x2048.onnx ...
  (each file's `images` input must have a fully static shape; input and output names must agree; other
  inputs such as `img_masks` are passed through to the chosen graph)
"""
import argparse
import hashlib
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# ONNX files over 2 GiB must keep their weights in a side file; Co-DINO Swin-L FP32 is ~0.9 GB of weights,
# so one file is expected, but very many buckets can cross the limit.
PROTOBUF_LIMIT = 2 * 1024**3 - 1


def static_shape(model, input_name):
    for value in model.graph.input:
        if value.name == input_name:
            dims = value.type.tensor_type.shape.dim
            if not dims or any(not d.HasField("dim_value") for d in dims):
                raise ValueError(f"input {input_name!r} must have a fully static shape, got {dims}")
            return tuple(d.dim_value for d in dims)
    raise ValueError(f"no graph input named {input_name!r}")


def tensor_key(tensor):
    """Identity of a weight by content, so folded copies that torch named differently still dedupe."""
    array = numpy_helper.to_array(tensor)
    digest = hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()
    return (tensor.data_type, tuple(tensor.dims), digest)


def rename_graph(graph, prefix, keep, shared):
    """Prefixes every value name in `graph` except the names in `keep`; initializer names map to `shared`."""

    def new_name(name):
        if name == "" or name in keep:
            return name
        if name in shared:
            return shared[name]
        return prefix + name

    for node in graph.node:
        for attr in node.attribute:
            if attr.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
                # torch.onnx tracing does not emit control flow for this model; a nested graph would need
                # its own outer-scope renaming, which this tool does not do.
                raise NotImplementedError(f"node {node.name or node.op_type} has a subgraph; not supported")
        node.input[:] = [new_name(n) for n in node.input]
        node.output[:] = [new_name(n) for n in node.output]
        if node.name:
            node.name = prefix + node.name
    for value in list(graph.value_info) + list(graph.output):
        value.name = new_name(value.name)


def free_value_info(name, like):
    """A value of `like`'s dtype and rank whose dims are left symbolic (they differ between buckets)."""
    rank = len(like.type.tensor_type.shape.dim)
    dims = [f"{name.replace('/', '_')}_d{i}" for i in range(rank)]
    return helper.make_tensor_value_info(name, like.type.tensor_type.elem_type, dims)


def branch_condition(nodes, inits, shape, index):
    """Nodes computing `Shape(images) == shape` as a bool scalar named cond_<index>."""
    expected = f"expected_shape_{index}"
    inits.append(numpy_helper.from_array(np.array(shape, dtype=np.int64), expected))
    nodes.append(helper.make_node("Equal", ["images_shape", expected], [f"dims_equal_{index}"]))
    nodes.append(helper.make_node("Cast", [f"dims_equal_{index}"], [f"dims_equal_i_{index}"], to=TensorProto.INT64))
    nodes.append(helper.make_node("ReduceMin", [f"dims_equal_i_{index}"], [f"all_equal_i_{index}"], keepdims=0))
    nodes.append(helper.make_node("Cast", [f"all_equal_i_{index}"], [f"cond_{index}"], to=TensorProto.BOOL))
    return f"cond_{index}"


def data_inputs(model):
    """Graph inputs that are not weights (old exporters also list initializers as inputs)."""
    weights = {t.name for t in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in weights]


def merge(models, input_name="images"):
    """Dispatches on `input_name`'s shape; other inputs (e.g. img_masks) reach the chosen graph unchanged."""
    first = models[0]
    output_names = [o.name for o in first.graph.output]
    input_names = [i.name for i in data_inputs(first)]
    if input_name not in input_names:
        raise ValueError(f"the bucket graphs have no input {input_name!r}")
    shapes = []
    for m in models:
        if [o.name for o in m.graph.output] != output_names:
            raise ValueError("every bucket graph must have the same outputs in the same order")
        if [i.name for i in data_inputs(m)] != input_names:
            raise ValueError(f"every bucket graph must have the inputs {input_names}")
        shapes.append(static_shape(m, input_name))
    if len(set(shapes)) != len(shapes):
        raise ValueError(f"two bucket graphs have the same input shape: {shapes}")
    if len(models) == 1:
        return first, shapes  # one shape: nothing to dispatch

    # Dedupe weights by content; the outer graph owns them.
    outer_inits, by_key, branches = [], {}, []
    for index, m in enumerate(models):
        graph = m.graph
        shared = {}
        for init in graph.initializer:
            key = tensor_key(init)
            if key not in by_key:
                by_key[key] = f"w{len(by_key)}"
                renamed = onnx.TensorProto()
                renamed.CopyFrom(init)
                renamed.name = by_key[key]
                outer_inits.append(renamed)
            shared[init.name] = by_key[key]
        branch = onnx.GraphProto()
        branch.CopyFrom(graph)
        del branch.initializer[:]
        del branch.input[:]  # If branches take no inputs: `images` and weights come from the outer scope
        rename_graph(branch, f"b{index}/", keep=set(input_names), shared=shared)
        branch.name = "bucket_" + "x".join(str(d) for d in shapes[index])
        branches.append(branch)

    nodes = [helper.make_node("Shape", [input_name], ["images_shape"])]
    conds = [branch_condition(nodes, outer_inits, shapes[i], i) for i in range(len(models) - 1)]

    # Build the If chain from the innermost (last two buckets) outwards.
    else_graph = branches[-1]
    for index in range(len(models) - 2, -1, -1):
        outs = [f"if{index}/{name}" for name in output_names] if index > 0 else output_names
        if_node = helper.make_node(
            "If", [conds[index]], outs, name=f"dispatch_{index}", then_branch=branches[index], else_branch=else_graph
        )
        if index == 0:
            nodes.append(if_node)
        else:
            # The else branch of the enclosing If is a graph holding this If; its outputs are this If's outputs.
            holder_outputs = [free_value_info(o, v) for o, v in zip(outs, first.graph.output)]
            else_graph = helper.make_graph([if_node], f"dispatch_else_{index}", [], holder_outputs)
    graph_outputs = [free_value_info(o.name, o) for o in first.graph.output]

    # The merged inputs keep each input's dtype and rank; their dims vary with the bucket.
    merged_inputs = [free_value_info(i.name, i) for i in data_inputs(first)]
    graph = helper.make_graph(nodes, "gpumux_buckets", merged_inputs, graph_outputs, initializer=outer_inits)

    opsets = {}
    for m in models:
        for op in m.opset_import:
            opsets[op.domain] = max(opsets.get(op.domain, 0), op.version)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid(d, v) for d, v in sorted(opsets.items())],
        producer_name="gpumux merge_buckets.py",
    )
    model.ir_version = max(m.ir_version for m in models)
    meta = model.metadata_props.add()
    meta.key = "gpumux.buckets"
    meta.value = ";".join("x".join(str(d) for d in s) for s in shapes)
    return model, shapes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", help="static-shape ONNX files, one per input shape")
    parser.add_argument("--out", required=True)
    parser.add_argument("--input-name", default="images")
    args = parser.parse_args(argv)

    models = [onnx.load(path) for path in args.inputs]
    model, shapes = merge(models, args.input_name)
    size = model.ByteSize()
    if size > PROTOBUF_LIMIT:
        # ONNX Runtime resolves the side file relative to the model's path; keep both in the same folder.
        onnx.save(model, args.out, save_as_external_data=True, location=args.out.rsplit("/", 1)[-1] + ".data")
    else:
        onnx.save(model, args.out)
    onnx.checker.check_model(args.out)
    print(f"merged {len(shapes)} bucket graphs {shapes} into {args.out} ({size / 1e6:.1f} MB)", file=sys.stderr)


if __name__ == "__main__":
    main()
