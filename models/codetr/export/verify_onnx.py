#!/usr/bin/env python3
"""Compares the exported model.onnx (ONNX Runtime) with Co-DINO in PyTorch on one image, per shape bucket.

For each bucket the image is resized keep-ratio into the manifest's (host) scale with cv2 bilinear (the
replica uses libvips there; a 1280x720 frame is not resized at all), padded bottom/right with the manifest's padValue into the bucket, and
run through:
  - ONNX Runtime (CUDA EP when available, else CPU) on model.onnx;
  - the same wrapper in PyTorch with mmcv's CUDA deformable-attention kernel — the model as MMDetection
    runs it — so the difference covers the export and the pure-PyTorch attention path together. Both
    enlarge the input by the manifest's graphUpscale inside the model (F.interpolate / ONNX Resize).
Also run (informational, not pass/fail):
  - `vs_cv2_resize`: mmdet's own pre-processing instead of the in-graph enlargement: the image resized with
    cv2 straight to scale x graphUpscale, padded into bucket x graphUpscale, through the PyTorch model
    without graph upscale. `upscale_abs_diff` is the pixel difference of the two enlargements (grey levels).
    Expected: for a frame at the host scale (1280x720) only cv2's rounding to uint8 differs, mean ~0.25
    grey levels, and the detections match as in `pass`; a frame larger than the host scale is shrunk on the
    host before the graph enlarges it, so small objects may differ there;
  - the same PyTorch model told where the padding is (img_masks, as mmdet does), to show what the
    mask-free export changes on padded buckets.
Reported: per-query differences of sigmoid scores and of boxes in pixels, and whether the detections both
sides keep (score >= --threshold after top-300) match one to one (same label, IoU >= 0.9, |d score| <= 0.02).
Query-wise numbers can show a few large outliers when two encoder proposals tie in the top-900 selection
and swap places; the detection match is the pass/fail criterion. Exit status 1 when it fails.

Also reports, for the ONNX Runtime run: which execution provider ran each operator type (from the ORT
profile: a GridSample on the CPU provider means the CUDA EP lacks a kernel for it), latency over --runs
runs after one warm-up, and the GPU's used-memory growth from nvidia-smi (same method as gpumux's replica).

NOT RUN in the gpumux workplace (no GPU, no PyPI). Needs: onnxruntime-gpu, torch, mmdet/mmcv (as
export_onnx.py), numpy, opencv-python.

  python verify_onnx.py --onnx export/model.onnx --config ... --checkpoint ... --image demo/demo.jpg
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--onnx", required=True)
    p.add_argument("--config", required=True)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--image", required=True, help="a photo with objects (mmdetection's demo/demo.jpg works)")
    p.add_argument("--manifest", default=os.path.join(HERE, "..", "manifest.json"))
    p.add_argument("--device", default="cuda:0")
    p.add_argument("--threshold", type=float, default=0.3)
    p.add_argument("--runs", type=int, default=10)
    return p.parse_args(argv)


def graph_bucket(bucket, upscale):
    return [int(round(side * upscale)) for side in bucket]


def letterbox(image_rgb, scale, bucket, pad_value):
    """mmdet Resize(keep_ratio=True): factor = min(long/long_side, short/short_side); then pad bottom/right."""
    import cv2

    h, w = image_rgb.shape[:2]
    factor = min(max(scale) / max(h, w), min(scale) / min(h, w))
    new_w, new_h = int(w * factor + 0.5), int(h * factor + 0.5)
    bh, bw = bucket
    if new_h > bh or new_w > bw:
        return None, None
    resized = cv2.resize(image_rgb, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    canvas = np.full((bh, bw, 3), pad_value, dtype=np.uint8)
    canvas[:new_h, :new_w] = resized
    return canvas, (new_h, new_w)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def decode(logits, boxes, height, width, top_k, threshold):
    """gpumux's post-processing without NMS: sigmoid, top-k over queries x classes, cxcywh -> xyxy pixels."""
    scores = sigmoid(logits).reshape(-1)
    order = np.argsort(-scores)[:top_k]
    keep = order[scores[order] >= threshold]
    query, label = keep // logits.shape[-1], keep % logits.shape[-1]
    cx, cy, bw, bh = boxes[query].T
    xyxy = np.stack([(cx - bw / 2) * width, (cy - bh / 2) * height, (cx + bw / 2) * width, (cy + bh / 2) * height], 1)
    return xyxy, scores[keep], label


def iou(a, b):
    x1, y1 = np.maximum(a[0], b[0]), np.maximum(a[1], b[1])
    x2, y2 = np.minimum(a[2], b[2]), np.minimum(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def match(dets_a, dets_b):
    """Greedy one-to-one matching; returns (matched, unmatched_a, unmatched_b)."""
    boxes_a, scores_a, labels_a = dets_a
    boxes_b, scores_b, labels_b = dets_b
    used, matched, missing = set(), 0, 0
    for i in range(len(scores_a)):
        best = None
        for j in range(len(scores_b)):
            if j in used or labels_b[j] != labels_a[i] or abs(scores_b[j] - scores_a[i]) > 0.02:
                continue
            if iou(boxes_a[i], boxes_b[j]) >= 0.9:
                best = j
                break
        if best is None:
            missing += 1
        else:
            used.add(best)
            matched += 1
    return matched, missing, len(scores_b) - len(used)


def gpu_used_mib(index):
    out = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits", "-i", str(index)],
                         capture_output=True, text=True, check=False)
    return int(out.stdout.strip()) if out.returncode == 0 else None


def providers_by_op(profile_path):
    with open(profile_path) as f:
        events = json.load(f)
    table = {}
    for event in events:
        args = event.get("args", {})
        if event.get("cat") == "Node" and "provider" in args:
            table.setdefault(args.get("op_name", "?"), set()).add(args["provider"])
    return {op: sorted(p) for op, p in sorted(table.items())}


def main(argv=None):
    args = parse_args(argv)
    import cv2
    import onnxruntime as ort
    import torch

    from codino_wrapper import CoDinoOnnx, load_detector

    with open(args.manifest) as f:
        manifest = json.load(f)
    pre = manifest["preprocess"]
    upscale = float(pre.get("graphUpscale", 1))
    image = cv2.cvtColor(cv2.imread(args.image), cv2.COLOR_BGR2RGB)

    gpu_index = int(args.device.split(":")[1]) if args.device.startswith("cuda") else None
    before = gpu_used_mib(gpu_index) if gpu_index is not None else None
    options = ort.SessionOptions()
    options.enable_profiling = True
    options.profile_file_prefix = os.path.join(os.path.dirname(os.path.abspath(args.onnx)), "ort-profile")
    providers = [("CUDAExecutionProvider", {"device_id": gpu_index})] if gpu_index is not None else []
    session = ort.InferenceSession(args.onnx, options, providers=providers + ["CPUExecutionProvider"])
    print(f"ONNX Runtime {ort.__version__} providers: {session.get_providers()}")

    # The PyTorch side keeps mmcv's CUDA kernel: no patch_msda here.
    detector = load_detector(args.config, args.checkpoint, args.device)
    reference = CoDinoOnnx(detector, graph_upscale=upscale).to(args.device).eval()
    # mmdet's own pre-processing: cv2 resizes straight to the backbone's size, no enlargement in the model
    direct = CoDinoOnnx(detector).to(args.device).eval()
    # mmdet's own treatment of padding (masked, boxes relative to the valid region): how much the mask-free
    # export loses on padded buckets. Informational; 16:9 frames fill the 2048x1152 bucket and lose nothing.
    masked = CoDinoOnnx(detector, with_mask=True, graph_upscale=upscale).to(args.device).eval()

    failures = 0
    for bucket in pre["buckets"]:
        canvas, valid = letterbox(image, pre["resize"]["scale"], bucket, pre.get("padValue", 0))
        if canvas is None:
            print(f"bucket {bucket}: the image does not resize into it; skipped (try a portrait/landscape image)")
            continue
        batch = canvas[None]
        hh, hw = bucket  # host bucket: the model's input
        bh, bw = graph_bucket(bucket, upscale)  # what the backbone sees; boxes are reported in these pixels
        pad_mask = np.ones((1, hh, hw), dtype=np.uint8)
        pad_mask[:, : valid[0], : valid[1]] = 0
        feeds = {"images": batch}
        if "img_masks" in [i.name for i in session.get_inputs()]:  # a --with-mask export
            feeds["img_masks"] = pad_mask
        ort_logits, ort_boxes = session.run(["pred_logits", "pred_boxes"], feeds)
        with_mask = "img_masks" in feeds
        with torch.no_grad():
            torch_feeds = [torch.from_numpy(batch).to(args.device)]
            if with_mask:
                torch_feeds.append(torch.from_numpy(pad_mask).to(args.device))
            pt_logits, pt_boxes = (t.float().cpu().numpy() for t in (masked if with_mask else reference)(*torch_feeds))

        score_diff = np.abs(sigmoid(ort_logits) - sigmoid(pt_logits))
        box_diff = np.abs(ort_boxes - pt_boxes) * np.array([bw, bh, bw, bh])
        top_k = manifest["postprocess"].get("topK", 300)
        dets_onnx = decode(ort_logits[0], ort_boxes[0], bh, bw, top_k, args.threshold)
        dets_torch = decode(pt_logits[0], pt_boxes[0], bh, bw, top_k, args.threshold)
        matched, only_torch, only_onnx = match(dets_torch, dets_onnx)
        with torch.no_grad():
            mk_logits, mk_boxes = (t.float().cpu().numpy() for t in masked(
                torch.from_numpy(batch).to(args.device), torch.from_numpy(pad_mask).to(args.device)))
        dets_masked = decode(mk_logits[0], mk_boxes[0], bh, bw, top_k, args.threshold)  # boxes rescaled in-graph
        vs_masked = dict(zip(["matched", "only_mmdet_masked", "only_onnx"], match(dets_masked, dets_onnx)))
        vs_cv2, full = None, None
        if upscale != 1:
            full_scale = [side * upscale for side in pre["resize"]["scale"]]
            full, _ = letterbox(image, full_scale, [bh, bw], pre.get("padValue", 0))
            if full is None:  # mmdet rounds its own size: it can exceed host size x graphUpscale by a pixel
                vs_cv2 = "skipped: mmdet's resize is a pixel larger than bucket x graphUpscale for this image"
        if full is not None:
            with torch.no_grad():
                full_t = torch.from_numpy(full[None]).to(args.device)
                dr_logits, dr_boxes = (t.float().cpu().numpy() for t in direct(full_t))
                enlarged = torch.nn.functional.interpolate(
                    torch.from_numpy(batch).to(args.device).permute(0, 3, 1, 2).float(),
                    scale_factor=upscale, mode="bilinear", align_corners=False)
                px = (enlarged - full_t.permute(0, 3, 1, 2).float()).abs()
            dets_direct = decode(dr_logits[0], dr_boxes[0], bh, bw, top_k, args.threshold)
            vs_cv2 = dict(zip(["matched", "only_cv2_resize", "only_onnx"], match(dets_direct, dets_onnx)))
            vs_cv2["score_abs_diff_p99"] = float(np.quantile(np.abs(sigmoid(ort_logits) - sigmoid(dr_logits)), 0.99))
            vs_cv2["upscale_abs_diff"] = {"mean": float(px.mean()), "max": float(px.max())}
        ok = only_torch == 0 and only_onnx == 0
        failures += 0 if ok else 1
        print(json.dumps({
            "bucket": bucket, "valid": valid,
            "score_abs_diff": {"p50": float(np.median(score_diff)), "p99": float(np.quantile(score_diff, 0.99)),
                               "max": float(score_diff.max())},
            "box_px_diff": {"p50": float(np.median(box_diff)), "p99": float(np.quantile(box_diff, 0.99)),
                            "max": float(box_diff.max())},
            "detections_torch": len(dets_torch[1]), "matched": matched,
            "only_torch": only_torch, "only_onnx": only_onnx, "pass": ok,
            "padding_share": round(1 - valid[0] * valid[1] / (hh * hw), 3), "vs_mmdet_masked": vs_masked,
            "graph_upscale": upscale, "backbone_input": [bh, bw], "vs_cv2_resize": vs_cv2,
        }))

    # Latency and memory at the largest bucket and batch 1, the replica's steady state.
    h, w = max(pre["buckets"], key=lambda b: b[0] * b[1])
    batch = np.full((1, h, w, 3), 114, dtype=np.uint8)
    session.run(None, {"images": batch})
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        session.run(None, {"images": batch})
        times.append((time.perf_counter() - started) * 1000)
    after = gpu_used_mib(gpu_index) if gpu_index is not None else None
    profile = session.end_profiling()
    placement = providers_by_op(profile)
    on_cpu = [op for op, provs in placement.items() if provs == ["CPUExecutionProvider"]]
    print(json.dumps({
        "latency_ms_1x{}x{}".format(h, w): {"p50": float(np.median(times)), "min": float(min(times))},
        "gpu_used_growth_mib": (after - before) if before is not None and after is not None else None,
        "note": "growth includes the PyTorch reference model loaded in the same process; run ORT alone for the "
                "replica's footprint",
        "ops_on_cpu_only": on_cpu,
    }, indent=2))
    for path in glob.glob(options.profile_file_prefix + "*.json"):
        os.remove(path)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
