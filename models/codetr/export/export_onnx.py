#!/usr/bin/env python3
"""Exports MMDetection's Co-DINO 5-scale Swin-L (co_dino_5scale_swin_large_16e_o365tococo) to gpumux's ONNX.

    images       uint8   [N,h,w,3]  RGB at the host bucket: resized keep-ratio into (1280, 800) and padded
                                    bottom/right (a 1280x720 frame is copied as is into 720x1280)
    pred_logits  float32 [N,900,80] last decoder layer, before sigmoid
    pred_boxes   float32 [N,900,4]  cxcywh, normalised to the padded input (host bucket = enlarged input)

The graph first enlarges `images` by the manifest's preprocess.graphUpscale (1.6: bilinear, ONNX Resize) to
mmdet's Large test scale (2048, 1280), e.g. 720x1280 -> 1152x2048, then normalises (mean
123.675/116.28/103.53, std 58.395/57.12/57.375), on the GPU: the replica's CPU only decodes and copies rows
(codino_wrapper.CoDinoOnnx explains how this compares to mmdet's cv2 resize). gpumux does the sigmoid,
top-300 and class-aware NMS in TypeScript (manifest.json `outputs`, `postprocess`).

Static shapes, merged into one file: every (batch, height, width) in the manifest — buckets x batch sizes
1..maxBatch — is traced on its own at a fixed shape, then merge_buckets.py joins the graphs into one
model.onnx that picks the graph by the input's shape (weights stored once). Why not dynamic H/W:
  - the pure-PyTorch deformable attention splits and reshapes its value tensor by the level sizes held in
    `spatial_shapes`, a tensor built with torch.as_tensor from Python ints: the tracer records the sizes of
    the shape it traced as constants, so a graph traced at one size is wrong at another;
  - Swin pads each stage to a multiple of its 12x12 window and crops back behind `if pad_r > 0 or pad_b > 0`,
    a Python branch decided once at trace time (1152 needs no padding at stride 4, 1280 and 2048 do);
  - static graphs let ONNX Runtime fold the positional encodings and Swin's shift masks into constants.
The manifest names one ONNX file and a replica runs one session, so the merge keeps that contract.

Opset 17 (>= 16, where GridSample entered the standard). No custom ops: mmcv's CUDA deformable attention is
replaced by a pure-PyTorch path (codino_wrapper.patch_msda), and mmcv's old `register_extra_symbolics`
(which exports grid_sample as the custom op mmcv::grid_sampler; Sense-X/Co-DETR issue #16) is never called.
The script fails if any node of the result is outside the default ONNX domain.

Run on CPU with random weights (--random-init) against MMDetection 3.3.0's source: ../README.md has the
commands and the measurements; run_export.sh is the repeatable driver (setup, export, merge, verify).

Example (from an MMDetection 3.x checkout, so `projects.CO-DETR` imports):
  python /path/to/gpumux/models/codetr/export/export_onnx.py \
    --config projects/CO-DETR/configs/codino/co_dino_5scale_swin_l_16xb1_16e_o365tococo.py \
    --checkpoint co_dino_5scale_swin_large_16e_o365tococo-614254c9.pth \
    --manifest /path/to/gpumux/models/codetr/manifest.json --out-dir export/ --device cuda:0
"""
import argparse
import hashlib
import inspect
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

OUTPUT_NAMES = ["pred_logits", "pred_boxes"]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, help="MMDetection config of the model")
    weights = p.add_mutually_exclusive_group(required=True)
    weights.add_argument("--checkpoint", help=".pth weights")
    weights.add_argument("--random-init", type=int, metavar="SEED",
                         help="no checkpoint: the model's init_weights() under this seed (architecture check)")
    p.add_argument("--manifest", default=os.path.join(HERE, "..", "manifest.json"), help="gpumux manifest")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--device", default="cuda:0", help="cuda:N, or cpu (works in principle; tens of GB of RAM, slow)")
    p.add_argument("--opset", type=int, default=17)
    p.add_argument("--msda", choices=["lowmem", "reference"], default="lowmem",
                   help="pure-PyTorch deformable attention: level-by-level (default) or mmcv's own fallback")
    p.add_argument("--batch-sizes", default=None, help="comma list; default 1..manifest batching.maxBatch")
    p.add_argument("--buckets", default=None, help="comma list of HxW host buckets; default all of the manifest's")
    p.add_argument("--with-mask", action="store_true",
                   help="add input img_masks [N,H,W] uint8 (1 = padding), exact mmdet padding; the manifest then "
                        "needs inputs.mask = {name: img_masks, datatype: UINT8}")
    p.add_argument("--keep-buckets", action="store_true", help="keep the per-shape ONNX files after merging")
    p.add_argument("--reference-dir", help="also run each traced shape in PyTorch on --image (and seeded noise) "
                                           "and save inputs and outputs there for verify_ort.mjs")
    p.add_argument("--image", help="the photo for --reference-dir (mmdetection's demo/demo.jpg works)")
    return p.parse_args(argv)


def export_shapes(manifest, batch_sizes, only_buckets=None):
    """(batch, height, width) of every graph to trace, at the host buckets (the graph's input shape).
    --buckets may name buckets the manifest lacks: make-manifest.ts writes the manifest of what was exported."""
    buckets = [tuple(b) for b in manifest["preprocess"]["buckets"]]  # [height, width]
    if only_buckets:
        buckets = [tuple(int(side) for side in b.split("x")) for b in only_buckets.split(",")]
    if batch_sizes is None:
        batch_sizes = list(range(1, manifest["batching"]["maxBatch"] + 1))
    return [(n, h, w) for (h, w) in buckets for n in batch_sizes]


def graph_upscale_of(manifest):
    return float(manifest["preprocess"].get("graphUpscale", 1))


def backbone_size(h, w, upscale):
    """The enlarged size the backbone sees; whole pixels and a multiple of 32 (mmdet's pad_size_divisor), or
    the export would not be the model mmdet runs."""
    size = []
    for side in (h, w):
        big = side * upscale
        if abs(big - round(big)) > 1e-6 or round(big) % 32:
            raise SystemExit(f"bucket side {side} x graphUpscale {upscale} = {big:g}: not a whole multiple of 32")
        size.append(int(round(big)))
    return tuple(size)


def check_upscale(model, upscale):
    """The enlargement must be in the graph as a bilinear half-pixel Resize (what F.interpolate(...,
    align_corners=False) exports), and only when the manifest asks for one."""
    if upscale == 1:
        return
    found = []
    for node in model.graph.node:
        if node.op_type == "Resize":
            attrs = {a.name: a.s.decode() for a in node.attribute if a.type == a.STRING}
            found.append(attrs)
            if attrs.get("mode") == "linear" and attrs.get("coordinate_transformation_mode") in (
                "half_pixel",
                "pytorch_half_pixel",
            ):
                return
    raise SystemExit(f"graphUpscale {upscale}: no bilinear half-pixel Resize in the graph (Resize nodes: {found})")


def export_one(torch, wrapper, shape, path, opset, with_mask, device):
    n, h, w = shape
    # Random pixels, not zeros: the encoder's top-900 proposal selection must see varied scores while tracing.
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, h, w, 3), dtype=torch.uint8, generator=gen).to(device)
    args, input_names = (images,), ["images"]
    if with_mask:
        args = (images, torch.zeros((n, h, w), dtype=torch.uint8, device=device))
        input_names.append("img_masks")
    kwargs = dict(
        export_params=True,
        opset_version=opset,
        do_constant_folding=True,
        input_names=input_names,
        output_names=OUTPUT_NAMES,
        dynamic_axes=None,  # static on purpose, see the module docstring
    )
    # torch >= 2.5 has a second (dynamo) exporter; this model is traced with the TorchScript one, which
    # mmdet/mmcv code is known to trace. Older torch has no `dynamo` argument.
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False
    started = time.time()
    with torch.no_grad():
        torch.onnx.export(wrapper, args, path, **kwargs)
    progress(f"exported {n}x{h}x{w} -> {path} in {time.time() - started:.0f} s")


def peak_rss_gib():
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # Linux: KiB


def progress(message):
    print(f"[export {time.strftime('%H:%M:%S')} peak RSS {peak_rss_gib():.1f} GiB] {message}", file=sys.stderr,
          flush=True)


def head_facts(detector):
    """What the exported head outputs, from the built model (not assumed: a fine-tuned config has its own
    classes and may have its own query count); the pixels its data_preprocessor expects; and the class names
    when the config names them (`metainfo.classes`, else a checkpoint's dataset_meta)."""
    head = detector.query_head
    pre = detector.data_preprocessor
    facts = {
        "numClasses": int(head.cls_out_channels),
        "numQueries": int(head.num_query),
        # mmdet decodes BGR and converts when bgr_to_rgb: the model's channel order is RGB then, BGR else
        "colorSpace": "RGB" if getattr(pre, "_channel_conversion", True) else "BGR",
        "mean": [round(float(v), 6) for v in pre.mean.flatten()],
        "std": [round(float(v), 6) for v in pre.std.flatten()],
    }
    cfg = getattr(detector, "cfg", None)
    classes = None
    if cfg is not None:
        classes = (cfg.get("metainfo") or {}).get("classes")
        if not classes:
            dataset = (cfg.get("test_dataloader") or {}).get("dataset") or {}
            classes = (dataset.get("metainfo") or {}).get("classes")
    if not classes and getattr(detector, "from_checkpoint", False):
        classes = (getattr(detector, "dataset_meta", None) or {}).get("classes")
    if classes and len(classes) == facts["numClasses"]:
        facts["classes"] = [str(c) for c in classes]
    elif classes:
        progress(f"the config names {len(classes)} classes for a head of {facts['numClasses']}: not used")
    return facts


def check_graph(onnx, path, shape, upscale=1.0, facts=None):
    model = onnx.load(path)
    check_upscale(model, upscale)
    onnx.checker.check_model(path)  # by path: works past protobuf's 2 GiB limit with external data
    custom = sorted({node.domain for node in model.graph.node if node.domain not in ("", "ai.onnx")})
    if custom:
        raise SystemExit(f"{path}: custom-op domains {custom}; onnxruntime-node cannot load them")
    ops = {node.op_type for node in model.graph.node}
    if "GridSample" not in ops:
        raise SystemExit(f"{path}: no GridSample node; the deformable attention did not take the PyTorch path")
    n = shape[0]
    facts = facts or {"numQueries": 900, "numClasses": 80}
    want = {"pred_logits": [n, facts["numQueries"], facts["numClasses"]], "pred_boxes": [n, facts["numQueries"], 4]}
    for out in model.graph.output:
        dims = [d.dim_value for d in out.type.tensor_type.shape.dim]
        if dims != want[out.name]:
            raise SystemExit(f"{path}: output {out.name} has shape {dims}, expected {want[out.name]}")


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 24), b""):
            digest.update(chunk)
    return digest.hexdigest()


def main(argv=None):
    args = parse_args(argv)
    import onnx
    import torch

    from codino_wrapper import CoDinoOnnx, load_detector, patch_msda
    from merge_buckets import PROTOBUF_LIMIT, merge

    with open(args.manifest) as f:
        manifest = json.load(f)
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")] if args.batch_sizes else None
    shapes = export_shapes(manifest, batch_sizes, args.buckets)
    upscale = graph_upscale_of(manifest)
    for _, h, w in shapes:
        backbone_size(h, w, upscale)  # fails before the (slow) model load
    os.makedirs(args.out_dir, exist_ok=True)

    if args.reference_dir and not args.image:
        raise SystemExit("--reference-dir needs --image")
    t_start = started = time.time()
    detector = load_detector(args.config, args.checkpoint, args.device, random_init=args.random_init)
    detector.from_checkpoint = args.checkpoint is not None
    progress(f"model built in {time.time() - started:.0f} s "
             f"({sum(p.numel() for p in detector.parameters()) / 1e6:.2f} M parameters)")
    facts = dict(head_facts(detector), config=args.config,
                 weights=args.checkpoint or "random-init {}".format(args.random_init))
    with open(os.path.join(args.out_dir, "export.json"), "w") as f:
        json.dump(facts, f, indent=2)  # make-manifest.ts reads it (labels, class count, queries)
    progress(f"head: {facts['numClasses']} classes, {facts['numQueries']} queries"
             + (f", classes from the config: {facts['classes'][:5]}..." if "classes" in facts else ""))
    undo = patch_msda(args.msda)
    try:
        wrapper = CoDinoOnnx(detector, with_mask=args.with_mask, graph_upscale=upscale,
                             mean=facts["mean"], std=facts["std"]).to(args.device).eval()
        paths = []
        for shape in shapes:
            path = os.path.join(args.out_dir, "bucket-{}x{}x{}.onnx".format(*shape))
            calls = undo.calls()
            export_one(torch, wrapper, shape, path, args.opset, args.with_mask, args.device)
            if undo.calls() == calls:
                raise SystemExit(f"--msda {args.msda}: the patched attention never ran; the export took another path")
            check_graph(onnx, path, shape, upscale, facts)
            paths.append(path)
            if args.reference_dir:
                from reference_outputs import save_reference

                started = time.time()
                save_reference(torch, wrapper, manifest, shape, args.image, args.reference_dir, args.device)
                progress(f"PyTorch reference outputs for {'x'.join(map(str, shape))} in {time.time() - started:.0f} s")
            if args.device.startswith("cuda"):
                torch.cuda.empty_cache()  # each trace holds activations of the largest shape
    finally:
        undo()

    merged, merged_shapes = merge([onnx.load(p) for p in paths])
    out = os.path.join(args.out_dir, "model.onnx")
    if merged.ByteSize() > PROTOBUF_LIMIT:
        onnx.save(merged, out, save_as_external_data=True, location="model.onnx.data")
    else:
        onnx.save(merged, out)
    onnx.checker.check_model(out)
    if not args.keep_buckets:
        for p in paths:
            os.remove(p)
    digest = sha256_of(out)
    progress(f"merged {len(paths)} graph(s) into {out}, {os.path.getsize(out) / 2**20:.0f} MiB")
    print(json.dumps({"file": out, "bytes": os.path.getsize(out), "sha256": digest,
                      "shapes": ["x".join(map(str, s)) for s in merged_shapes], "opset": args.opset,
                      "graph_upscale": upscale, "msda": args.msda,
                      "weights": "random-init {}".format(args.random_init) if args.checkpoint is None else args.checkpoint,
                      "wall_s": round(time.time() - t_start), "peak_rss_gib": round(peak_rss_gib(), 2)}, indent=2))


if __name__ == "__main__":
    main()
