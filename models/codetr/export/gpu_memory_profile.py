#!/usr/bin/env python3
"""Co-DINO's peak GPU memory and latency in PyTorch per bucket x batch, FP32 and FP16: what the manifest's
memory.byMaxBatch should say on a given GPU (the seed measured 9.6 GB, nvidia-smi 9830 MiB, batch 1 on an
RTX 4090). gpu_calibrate.sh runs it on a lent GPU machine (`device`) and as a CPU dry run (`dry-run`).

Same model as the export (codino_wrapper.CoDinoOnnx: uint8 NHWC at the host bucket, in-graph 1.6x
enlargement, raw heads). Deformable attention: `--msda lowmem` (default) is the export's pure-PyTorch path
(grid_sample, level by level: what the ONNX graph computes, and it needs no compiled mmcv); `--msda mmcv`
keeps mmcv's CUDA kernel, for an mmcv built with its ops. Per case (batch, precision, bucket; batch 1 of
every precision before batch 2, buckets smallest first), in one process:
  - torch.cuda.max_memory_allocated / max_memory_reserved over one warm-up and the timed runs, after
    empty_cache + reset_peak_memory_stats (reserved is what the caching allocator holds: closer to what
    nvidia-smi shows for the process),
  - nvidia-smi's used memory on the device after the case, and its idle figure before the model was built,
  - latency p50/min over the timed runs (synchronised), and the host's peak RSS so far.
FP16 is torch.autocast(float16) over the FP32 weights (PyTorch's usual mixed precision), not a .half() model.

Time box: --budget-s bounds the whole profile. A case is skipped (and listed as skipped, with the reason) when
its projected time — the last case's per-image-pixel time scaled to this one, times the runs — exceeds what
is left; the timed runs of a case are cut to its share of what is left (at least one). After every case
OUT/calib.json and OUT/calib.md are rewritten, so a kill keeps everything measured so far.
"""
import argparse
import json
import os
import platform
import resource
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
    p.add_argument("--buckets", help="HxW,... host buckets (default: the manifest's)")
    p.add_argument("--batches", default="1,2")
    p.add_argument("--precisions", default="fp32,fp16")
    p.add_argument("--runs", type=int, default=5, help="timed runs per case, after one warm-up run")
    p.add_argument("--msda", choices=["lowmem", "reference", "mmcv"], default="lowmem")
    p.add_argument("--budget-s", type=float, default=480, help="time box for the whole profile")
    p.add_argument("--out", help="directory for calib.json and calib.md")
    p.add_argument("--fallback-path", action="append", default=[],
                   help="searched after site-packages (stand-ins for packages the machine may lack)")
    return p.parse_args(argv)


def parse_buckets(text, manifest):
    if text:
        return [tuple(int(v) for v in b.split("x")) for b in text.split(",")]
    return sorted({tuple(b) for b in manifest["preprocess"]["buckets"]}, key=lambda b: (b[0] * b[1], b))


def nvidia_smi_used_mib(index):
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits", "-i",
                              str(index)], capture_output=True, text=True, check=False, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return int(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip().isdigit() else None


def host_peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def plan_runs(runs, warmup_s, left_s, cases_left):
    """Timed runs that fit this case's share of the time left (at least one, at most `runs`)."""
    share = left_s / max(cases_left, 1)
    return max(1, min(runs, int((share - warmup_s) / max(warmup_s, 1e-3))))


def projected_s(per_pixel_s, pixels, runs):
    """A case's time from the last case's seconds per image pixel: warm-up + runs (None before any case)."""
    return None if per_pixel_s is None else per_pixel_s * pixels * (runs + 1)


def markdown(doc):
    env = doc["environment"]
    lines = [f"Co-DINO Swin-L ({doc['weights']}), PyTorch {env['torch']} on {env['device_name']}, "
             f"msda {doc['msda']}, {doc['runs']} timed runs after one warm-up; graph upscale {doc['graph_upscale']}.",
             "", "| precision | batch | bucket (in graph) | max allocated | max reserved | nvidia-smi used (idle) "
             "| latency p50 (min) | runs | host peak RSS |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in doc["rows"]:
        case = f"| {r['precision']} | {r['batch']} | {r['bucket'][0]}x{r['bucket'][1]} " \
               f"({r['backbone_input'][0]}x{r['backbone_input'][1]})"
        if "skipped" in r or "oom" in r:
            lines.append(f"{case} | {'OOM' if 'oom' in r else 'skipped'}: {r.get('oom') or r['skipped']} "
                         "| | | | | |")
            continue
        mib = lambda v: "n/a" if v is None else f"{v:.0f} MiB"  # noqa: E731
        smi = "n/a" if r["nvidia_smi_used_mib"] is None else \
            f"{r['nvidia_smi_used_mib']} MiB ({r['nvidia_smi_idle_mib']})"
        lines.append(f"{case} | {mib(r['max_allocated_mib'])} | {mib(r['max_reserved_mib'])} | {smi} "
                     f"| {r['latency_ms_p50']:.1f} ms ({r['latency_ms_min']:.1f}) | {r['runs']} "
                     f"| {r['host_peak_rss_mib']:.0f} MiB |")
    lines += ["", f"Model built in {doc['build_s']:.1f} s ({doc['parameters_m']:.2f} M parameters), host peak RSS "
              f"{doc['host_peak_rss_after_build_mib']:.0f} MiB after the build; profile {doc['elapsed_s']:.0f} s "
              f"of a {doc['budget_s']:.0f} s budget{'' if doc['complete'] else ' (not finished)'}."]
    return "\n".join(lines) + "\n"


def write(doc, out, table=True, echo=True):
    if echo:  # the newest row (or the environment, before any): one JSON line per case in the log
        print(json.dumps(doc["rows"][-1]) if doc["rows"] else json.dumps(doc["environment"]), flush=True)
    if not out:
        return
    os.makedirs(out, exist_ok=True)
    files = [("calib.json", json.dumps(doc, indent=1) + "\n")] + ([("calib.md", markdown(doc))] if table else [])
    for name, text in files:
        tmp = os.path.join(out, name + ".tmp")
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, os.path.join(out, name))


def main(argv=None):
    args = parse_args(argv)
    sys.path.extend(args.fallback_path)
    started = time.monotonic()
    import torch

    from codino_wrapper import CoDinoOnnx, load_detector, patch_msda

    cuda = args.device.startswith("cuda")
    with open(args.manifest) as f:
        manifest = json.load(f)
    upscale = float(manifest["preprocess"].get("graphUpscale", 1))
    buckets = parse_buckets(args.buckets, manifest)
    batches = [int(b) for b in args.batches.split(",")]
    precisions = args.precisions.split(",")
    if not cuda and precisions != ["fp32"]:
        raise SystemExit("--device cpu: FP32 only (autocast float16 is a CUDA measurement)")
    index = int(args.device.split(":")[1]) if cuda and ":" in args.device else 0
    idle = nvidia_smi_used_mib(index) if cuda else None
    import mmcv
    import mmdet

    environment = {
        "python": platform.python_version(), "torch": torch.__version__, "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if cuda else None,
        "cudnn_benchmark": torch.backends.cudnn.benchmark, "mmdet": mmdet.__version__, "mmcv": mmcv.__version__,
        "device": args.device, "device_name": torch.cuda.get_device_name(index) if cuda else platform.processor()
        or "cpu", "device_total_mib": torch.cuda.get_device_properties(index).total_memory / 2**20 if cuda else None,
        "threads": torch.get_num_threads(),
    }
    doc = {"model": "co_dino_5scale_swin_large_16e_o365tococo", "environment": environment, "rows": [],
           "complete": False, "phase": "building the model"}
    write(doc, args.out, table=False)  # a kill during the build still leaves the environment
    build_started = time.monotonic()
    detector = load_detector(args.config, args.checkpoint, args.device, random_init=args.random_init)
    undo = patch_msda(args.msda) if args.msda != "mmcv" else None
    wrapper = CoDinoOnnx(detector, graph_upscale=upscale).to(args.device).eval()
    doc = {
        "model": doc["model"],
        "weights": args.checkpoint or f"random init, seed {args.random_init}", "msda": args.msda,
        "graph_upscale": upscale, "runs": args.runs, "budget_s": args.budget_s, "environment": environment,
        "build_s": time.monotonic() - build_started,
        "parameters_m": sum(p.numel() for p in detector.parameters()) / 1e6,
        "host_peak_rss_after_build_mib": host_peak_rss_mib(),
        "device_allocated_after_build_mib": torch.cuda.memory_allocated(index) / 2**20 if cuda else None,
        "rows": [], "elapsed_s": 0.0, "complete": False,
    }
    write(doc, args.out)

    cases = [(batch, precision, bucket) for batch in batches for precision in precisions for bucket in buckets]
    per_pixel_s = None
    for done, (batch, precision, (h, w)) in enumerate(cases):
        big = (round(h * upscale), round(w * upscale))
        pixels = batch * big[0] * big[1]
        row = {"precision": precision, "batch": batch, "bucket": [h, w], "backbone_input": list(big)}
        left = args.budget_s - (time.monotonic() - started)
        guess = projected_s(per_pixel_s, pixels, 1)
        if guess is not None and guess > left:
            row["skipped"] = f"projected {guess:.0f} s (warm-up + 1 run) > {left:.0f} s left of the budget"
        else:
            images = torch.randint(0, 256, (batch, h, w, 3), dtype=torch.uint8, device=args.device)
            if cuda:
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats(index)
            calls = undo.calls() if undo else None
            times = []
            try:
                autocast = torch.autocast("cuda", dtype=torch.float16, enabled=precision == "fp16") if cuda \
                    else torch.autocast("cpu", enabled=False)
                with torch.no_grad(), autocast:
                    runs = 0
                    while True:
                        if cuda:
                            torch.cuda.synchronize(index)
                        t = time.perf_counter()
                        logits, boxes = wrapper(images)
                        if cuda:
                            torch.cuda.synchronize(index)
                        times.append(time.perf_counter() - t)
                        if len(times) == 1:  # the warm-up run (cuDNN/allocator growth) decides the timed runs
                            left = args.budget_s - (time.monotonic() - started)
                            runs = plan_runs(args.runs, times[0], left, len(cases) - done)
                        elif len(times) > runs:
                            break
                if tuple(logits.shape) != (batch, 900, 80) or tuple(boxes.shape) != (batch, 900, 4):
                    raise SystemExit(f"unexpected outputs {tuple(logits.shape)} {tuple(boxes.shape)}")
                if undo and undo.calls() == calls:
                    raise SystemExit(f"--msda {args.msda}: the patched attention never ran")
                timed = sorted(t * 1000 for t in times[1:])
                per_pixel_s = min(times[1:]) / pixels
                row.update({
                    "max_allocated_mib": torch.cuda.max_memory_allocated(index) / 2**20 if cuda else None,
                    "max_reserved_mib": torch.cuda.max_memory_reserved(index) / 2**20 if cuda else None,
                    "nvidia_smi_used_mib": nvidia_smi_used_mib(index) if cuda else None,
                    "nvidia_smi_idle_mib": idle, "warmup_ms": times[0] * 1000, "runs": len(timed),
                    "latency_ms_p50": timed[len(timed) // 2], "latency_ms_min": timed[0],
                    "host_peak_rss_mib": host_peak_rss_mib(),
                })
            except torch.cuda.OutOfMemoryError as err:
                row["oom"] = str(err).splitlines()[0]
            del images
        doc["rows"].append(row)
        doc["elapsed_s"] = time.monotonic() - started
        write(doc, args.out)
    doc["complete"] = True
    doc["elapsed_s"] = time.monotonic() - started
    write(doc, args.out, echo=False)
    print(markdown(doc), end="")


if __name__ == "__main__":
    main()
