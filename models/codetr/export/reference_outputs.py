"""PyTorch reference outputs for verify_ort.mjs: the inputs of one traced shape and what the wrapper returns.

For a shape (n, h, w): row 0 is the photo resized keep-ratio into the manifest's scale and padded into the
bucket (as verify_onnx.letterbox; into the bucket itself when the host scale would pick another), rows 1.. are uniform noise seeded 1, 2, ... (the export traced seed-0 noise,
so neither input is the one the tracer saw). Written as raw little-endian arrays beside a JSON description:
  <n>x<h>x<w>.images.u8  <n>x<h>x<w>.torch.pred_logits.f32  <n>x<h>x<w>.torch.pred_boxes.f32  <n>x<h>x<w>.json
"""
import json
import os

import numpy as np


def reference_images(manifest, shape, image_path):
    import cv2

    from verify_onnx import letterbox

    n, h, w = shape
    pre = manifest["preprocess"]
    photo = cv2.cvtColor(cv2.imread(image_path), cv2.COLOR_BGR2RGB)
    canvas, valid = letterbox(photo, pre["resize"]["scale"], [h, w], pre.get("padValue", 0))
    if canvas is None:
        # the host would pick another bucket for this photo (demo.jpg, 640x427, resizes to 1199x800 at the
        # host scale): fit it into this one instead, so every bucket is checked on a real photo
        canvas, valid = letterbox(photo, [w, h], [h, w], pre.get("padValue", 0))
    rows, names = [canvas], [f"photo:{os.path.basename(image_path)} valid {valid[0]}x{valid[1]}"]
    for seed in range(1, n):
        rows.append(np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8))
        names.append(f"noise:seed {seed}")
    return np.stack(rows), names


def save_reference(torch, wrapper, manifest, shape, image_path, out_dir, device):
    images, names = reference_images(manifest, shape, image_path)
    with torch.no_grad():
        logits, boxes = wrapper(torch.from_numpy(images).to(device))
    os.makedirs(out_dir, exist_ok=True)
    stem = os.path.join(out_dir, "x".join(map(str, shape)))
    images.tofile(stem + ".images.u8")
    logits.float().cpu().numpy().astype("<f4").tofile(stem + ".torch.pred_logits.f32")
    boxes.float().cpu().numpy().astype("<f4").tofile(stem + ".torch.pred_boxes.f32")
    with open(stem + ".json", "w") as f:
        json.dump({"shape": list(shape), "rows": names, "logits": list(logits.shape), "boxes": list(boxes.shape)}, f)


def tile_reference(ref_dir, source, target):
    """Reference for a larger batch without another PyTorch forward: every row of `target` (NxHxW) is row 0
    of `source` (1xHxW). Checks that each row of a batched graph gives the batch-1 model's answer."""
    n_src, h, w = (int(v) for v in source.split("x"))
    n, h2, w2 = (int(v) for v in target.split("x"))
    if n_src != 1 or (h, w) != (h2, w2):
        raise SystemExit(f"tile {source} -> {target}: the source must be batch 1 at the same bucket")
    src, dst = os.path.join(ref_dir, source), os.path.join(ref_dir, target)
    for suffix, dtype in ((".images.u8", np.uint8), (".torch.pred_logits.f32", "<f4"), (".torch.pred_boxes.f32", "<f4")):
        np.tile(np.fromfile(src + suffix, dtype=dtype), n).tofile(dst + suffix)
    with open(src + ".json") as f:
        info = json.load(f)
    rows = [f"{info['rows'][0]} (PyTorch at batch 1)"] * n
    with open(dst + ".json", "w") as f:
        json.dump({"shape": [n, h, w], "rows": rows, "tiled_from": source}, f)


if __name__ == "__main__":
    import argparse

    p = argparse.ArgumentParser(description="tile a batch-1 reference into a larger batch (no torch needed)")
    p.add_argument("--ref-dir", required=True)
    p.add_argument("--tile", required=True, metavar="1xHxW")
    p.add_argument("--to", required=True, metavar="NxHxW")
    a = p.parse_args()
    tile_reference(a.ref_dir, a.tile, a.to)
