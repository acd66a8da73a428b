#!/usr/bin/env python3
"""Co-DINO's peak GPU memory and latency in PyTorch per bucket x batch, FP32 and FP16: what the manifest's
memory.byMaxBatch should say on a given GPU (the seed measured 9.6 GB, nvidia-smi 9830 MiB, batch 1 on an
RTX 4090). PREPARED, NOT RUN: the gpumux workplace has no GPU.

Same model as the export (codino_wrapper.CoDinoOnnx: uint8 NHWC at the host bucket, in-graph 1.6x
enlargement, raw heads), with mmcv's CUDA deformable-attention kernel (no patch_msda: the model as
MMDetection runs it). Per (precision, batch, bucket), in one process, largest shapes last:
  - torch.cuda.max_memory_allocated / max_memory_reserved after one warm-up and --runs timed runs
    (reserved is what the caching allocator holds: closer to what nvidia-smi shows for the process),
  - nvidia-smi's used memory on the device (the replica's footprint method), minus the idle baseline,
  - latency p50/min (torch.cuda.synchronize around each run).
Prints one JSON line per row and a Markdown table at the end.

  . $CODETR_ROOT/env.sh   # or a pip env with mmdet==3.3.0, mmcv==2.1.0 (CUDA build)
  cd $MMDET_DIR && python /path/to/gpumux/models/codetr/export/gpu_memory_profile.py \\
    --config projects/CO-DETR/configs/codino/co_dino_5scale_swin_l_16xb1_16e_o365tococo.py \\
    --checkpoint co_dino_5scale_swin_large_16e_o365tococo-614254c9.pth   # or --random-init 0

Caveat for ONNX Runtime's CUDA provider (what gpumux serves with): its memory differs from PyTorch's (its
own arena, no mmcv kernel: GridSample). onnxruntime-node downloads its CUDA provider library at `npm
install` from outside the npm registry, so it cannot be installed on a machine without internet access.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True)
    weights = p.add_mutually_exclusive_group(required=True)
    weights.add_argument("--checkpoint")
    weights.add_argument("--random-init", type=int, metavar="SEED")
    p.add_argument("--manifest", default=os.path.join(HERE, "..", "manifest.json"))
    p.add_argument("--device", default="cuda:0")
    p.add_argument("--batches", default="1,2")
    p.add_argument("--precisions", default="fp32,fp16")
    p.add_argument("--runs", type=int, default=5)
    return p.parse_args(argv)


def nvidia_smi_used_mib(index):
    out = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits", "-i", str(index)],
                         capture_output=True, text=True, check=False)
    return int(out.stdout.strip()) if out.returncode == 0 else None


def main(argv=None):
    args = parse_args(argv)
    import torch

    from codino_wrapper import CoDinoOnnx, load_detector

    with open(args.manifest) as f:
        manifest = json.load(f)
    upscale = float(manifest["preprocess"].get("graphUpscale", 1))
    buckets = sorted({tuple(b) for b in manifest["preprocess"]["buckets"]}, key=lambda b: b[0] * b[1])
    index = int(args.device.split(":")[1])
    idle = nvidia_smi_used_mib(index)
    detector = load_detector(args.config, args.checkpoint, args.device, random_init=args.random_init)
    rows = []
    for precision in args.precisions.split(","):
        dtype = {"fp32": torch.float32, "fp16": torch.float16}[precision]
        wrapper = CoDinoOnnx(detector, graph_upscale=upscale).to(args.device).eval()
        for batch in [int(b) for b in args.batches.split(",")]:
            for h, w in buckets:
                images = torch.randint(0, 256, (batch, h, w, 3), dtype=torch.uint8, device=args.device)
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats(args.device)
                times = []
                try:
                    with torch.no_grad(), torch.autocast("cuda", dtype=dtype, enabled=dtype != torch.float32):
                        for run in range(args.runs + 1):
                            torch.cuda.synchronize()
                            started = time.perf_counter()
                            wrapper(images)
                            torch.cuda.synchronize()
                            if run:  # the first run is the warm-up (cuDNN autotuning, allocator growth)
                                times.append((time.perf_counter() - started) * 1000)
                    used = nvidia_smi_used_mib(index)
                    row = {
                        "precision": precision, "batch": batch, "bucket": [h, w],
                        "backbone_input": [round(h * upscale), round(w * upscale)],
                        "max_allocated_mib": torch.cuda.max_memory_allocated(args.device) / 2**20,
                        "max_reserved_mib": torch.cuda.max_memory_reserved(args.device) / 2**20,
                        "nvidia_smi_used_mib": used, "nvidia_smi_idle_mib": idle,
                        "latency_ms_p50": sorted(times)[len(times) // 2], "latency_ms_min": min(times),
                    }
                except torch.cuda.OutOfMemoryError as err:
                    row = {"precision": precision, "batch": batch, "bucket": [h, w], "oom": str(err).splitlines()[0]}
                rows.append(row)
                print(json.dumps(row), flush=True)
    print("\n| precision | batch | bucket | max allocated | max reserved | nvidia-smi used | latency p50 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        if "oom" in r:
            print(f"| {r['precision']} | {r['batch']} | {r['bucket']} | OOM | | | |")
            continue
        print(f"| {r['precision']} | {r['batch']} | {r['bucket'][0]}x{r['bucket'][1]} | {r['max_allocated_mib']:.0f} MiB "
              f"| {r['max_reserved_mib']:.0f} MiB | {r['nvidia_smi_used_mib']} MiB | {r['latency_ms_p50']:.0f} ms |")


if __name__ == "__main__":
    main()
