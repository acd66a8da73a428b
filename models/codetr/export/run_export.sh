#!/usr/bin/env bash
# Export + verification of Co-DETR, one step at a time (each in its own process, so each peak is its own):
#   for every shape NxHxW: export_onnx.py (with PyTorch reference outputs) -> verify-ort.ts on that graph
#   then merge_buckets.py joins the graphs into one model.onnx -> verify-ort.ts on every shape of the merge
#   -> make-manifest.ts writes $OUT/manifest.json (labels, buckets, max batch, thresholds, declared memory).
# $OUT/model.onnx + $OUT/manifest.json are the model folder a replica serves: upload them to the volume.
# Prints per step wall time and peak RSS, and writes $OUT/summary.tsv (the README's table comes from it).
#
#   OUT=/big/disk/codetr models/codetr/export/run_export.sh
#   CONFIG=~/ppe/co_dino_ppe.py CHECKPOINT=~/ppe/epoch_16.pth CLASSES=~/ppe/classes.txt NAME=ppe VERSION=2 \
#     SHAPES="1x720x1280 1x800x1280" OUT=/big/disk/ppe-2 models/codetr/export/run_export.sh
#
# Environment (either):
#   CODETR_ENV=$CODETR_ROOT/env.sh   from setup_sources.sh (no PyPI: source trees on PYTHONPATH), or
#   PY=python MMDET_DIR=~/mmdetection  a pip environment (mmdet==3.3.0, mmcv==2.1.0, mmengine, torch, onnx)
#                                      and an MMDetection 3.3.0 checkout (configs, demo/demo.jpg)
# Your model (defaults: the shipped Co-DINO Swin-L O365->COCO and its 80 COCO classes):
#   CONFIG=path/to/config.py   any Co-DINO/DINO config of projects/CO-DETR (relative paths: to MMDET_DIR)
#   CHECKPOINT=path/to/weights.pth   (default: --random-init ${SEED:-0}: an architecture check, no detections)
#   CLASSES=classes.txt   the training classes in training order: one a line, a JSON array or
#                  {"classes": [...]}. Default: the config's metainfo.classes; the count must match the head
#   NAME=codetr VERSION=1   the manifest's name/version (a new version is a new folder on the volume)
#   SCORE_THRESHOLD=0.3 TOP_K=300   default threshold and top-k (default: the template's, top-k at most
#                  queries x classes)
#   MEMORY=11GiB   declared peak of one replica at the max batch (default: the template's Co-DINO Swin-L figure
#                  for that batch; a replica's measured footprint replaces it after warm-up)
#   TEMPLATE=models/codetr/manifest.json   the manifest whose input/output contract, resize and NMS to keep
# Options:
#   SHAPES="1x720x1280 2x720x1280 ..."  batch x host bucket, each in the manifest. Default: every manifest
#                  bucket at batch 1..batching.maxBatch, as export_onnx.py does: the file that manifest serves.
#                  Each shape costs memory in the served session (ONNX Runtime keeps its folded constants:
#                  models/codetr/README.md), so export only the shapes the replicas will run; a file with fewer
#                  buckets needs a manifest listing only those (the replica's warm-up fails and says so else)
#   DEVICE=cpu|cuda:0 (default cpu)   MSDA=lowmem|reference   THREADS=2 (ORT intra-op threads)
#   REFERENCE=torch|tile  tile: shapes with batch > 1 get no PyTorch forward; every row is compared with
#                  the 1xHxW shape's PyTorch output for the same photo (list 1xHxW first; saves a slow forward)
#   SKIP_EXPORT=1  reuse $OUT/bucket-*.onnx and $OUT/ref    SKIP_MERGE=1  stop after the per-shape checks
#   RESUME=1       a stopped run goes on where it stopped (a batch-1 export takes ~30-40 min of CPU here): a
#                  shape whose graph exists is not exported again, and is skipped if its report passed
# Big files stay in $OUT (~880 MB per graph): never inside the repository.
set -euo pipefail
# One compound command, read whole before it runs: bash reads a script as it goes, so editing this file while
# an hour-long run executes would otherwise make the run read the new bytes at the old offset.
{
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
[[ -n ${CODETR_ENV:-} ]] && . "$CODETR_ENV"
PY=${PY:-/usr/bin/python3}
MMDET_DIR=${MMDET_DIR:?set MMDET_DIR to an MMDetection 3.3.0 tree (or CODETR_ENV to setup_sources.sh env.sh)}
OUT=${OUT:?set OUT to a directory outside the repository for the ONNX files}
TEMPLATE=$(realpath "${TEMPLATE:-$REPO/models/codetr/manifest.json}")
SHAPES=${SHAPES:-$("$PY" -c 'import json, sys
m = json.load(open(sys.argv[1]))
print(" ".join(f"{n}x{h}x{w}" for n in range(1, m["batching"]["maxBatch"] + 1) for h, w in m["preprocess"]["buckets"]))' \
  "$TEMPLATE")}
DEVICE=${DEVICE:-cpu}
MSDA=${MSDA:-lowmem}
THREADS=${THREADS:-2}
CONFIG=${CONFIG:-projects/CO-DETR/configs/codino/co_dino_5scale_swin_l_16xb1_16e_o365tococo.py}
[[ $CONFIG == /* || ! -f $CONFIG ]] || CONFIG=$(realpath "$CONFIG") # relative to here if it is here, else MMDET_DIR
[[ -z ${CLASSES:-} ]] || CLASSES=$(realpath "$CLASSES")
[[ -z ${CHECKPOINT:-} ]] || CHECKPOINT=$(realpath "$CHECKPOINT")
if [[ -n ${CHECKPOINT:-} ]]; then WEIGHTS=(--checkpoint "$CHECKPOINT"); EXPECT=(--expect-detections)
else WEIGHTS=(--random-init "${SEED:-0}"); EXPECT=(); fi
mkdir -p "$OUT/ref" "$OUT/logs"
SUMMARY=$OUT/summary.tsv
[[ -f $SUMMARY ]] || printf 'step\tshape\twall_s\tpeak_rss_gib\texit\n' >"$SUMMARY"
t0=$SECONDS

# timed NAME SHAPE LOG cmd...: runs cmd under /usr/bin/time -v, appends wall time and peak RSS to the summary
timed() {
  local name=$1 shape=$2 log=$3
  shift 3
  echo "[run_export +$((SECONDS - t0))s] $name $shape (log: $log)"
  local rc=0
  /usr/bin/time -v -o "$log.time" "$@" >"$log" 2>&1 || rc=$?
  local wall rss
  wall=$(awk -F': ' '/Elapsed/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; printf "%.0f", s}' "$log.time")
  rss=$(awk -F': ' '/Maximum resident/ {printf "%.2f", $2/1048576}' "$log.time")
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$shape" "$wall" "$rss" "$rc" >>"$SUMMARY"
  echo "[run_export +$((SECONDS - t0))s] $name $shape: ${wall} s, peak RSS ${rss} GiB, exit $rc"
  grep -h '^\[export\|"event": *"shape"\|"event":"shape"' "$log" | tail -3 || true
  return $rc
}

graphs=()
for shape in $SHAPES; do
  IFS=x read -r n h w <<<"$shape"
  graph=$OUT/bucket-${n}x${h}x${w}.onnx
  graphs+=("$graph")
  report=$OUT/logs/verify-$shape.json
  if [[ -n ${RESUME:-} && -f $graph && -f $report ]] &&
    "$PY" -c 'import json, sys; sys.exit(0 if json.load(open(sys.argv[1]))["pass"] else 1)' "$report"; then
    echo "[run_export +$((SECONDS - t0))s] $shape: $graph and a passed $report exist, skipped (RESUME=1)"
    continue
  fi
  if [[ -n ${RESUME:-} && -f $graph ]]; then
    echo "[run_export +$((SECONDS - t0))s] $shape: reusing $graph (RESUME=1)"
  elif [[ -z ${SKIP_EXPORT:-} ]]; then
    ref=(--reference-dir "$OUT/ref" --image "$MMDET_DIR/demo/demo.jpg")
    [[ ${REFERENCE:-torch} == tile && $n -gt 1 ]] && ref=()
    (cd "$MMDET_DIR" && timed export "$shape" "$OUT/logs/export-$shape.log" "$PY" "$HERE/export_onnx.py" \
      --config "$CONFIG" "${WEIGHTS[@]}" --manifest "$TEMPLATE" --device "$DEVICE" \
      --msda "$MSDA" --buckets "${h}x${w}" --batch-sizes "$n" --keep-buckets --out-dir "$OUT/tmp-$shape" \
      "${ref[@]}")
    mv "$OUT/tmp-$shape/bucket-${n}x${h}x${w}.onnx" "$graph"
    mv "$OUT/tmp-$shape/export.json" "$OUT/export.json" # the head's classes and queries, for make-manifest
    rm -rf "$OUT/tmp-$shape"
    [[ ${#ref[@]} -eq 0 ]] && "$PY" "$HERE/reference_outputs.py" --ref-dir "$OUT/ref" --tile "1x${h}x${w}" --to "$shape"
  fi
  (cd "$REPO" && timed verify-ort "$shape" "$OUT/logs/verify-$shape.log" node --import tsx \
    bench/codetr/verify/verify-ort.ts --onnx "$graph" --ref-dir "$OUT/ref" --shapes "$shape" \
    --manifest "$TEMPLATE" --threads "$THREADS" "${EXPECT[@]}" --report "$report") || echo "verification FAILED for $shape"
done

if [[ -z ${SKIP_MERGE:-} && ${#graphs[@]} -gt 1 ]]; then
  timed merge all "$OUT/logs/merge.log" "$PY" "$HERE/merge_buckets.py" "${graphs[@]}" --out "$OUT/model.onnx"
  ls -l "$OUT"/*.onnx* | tee -a "$OUT/logs/sizes.txt"
  (cd "$REPO" && timed verify-ort merged "$OUT/logs/verify-merged.log" node --import tsx \
    bench/codetr/verify/verify-ort.ts --onnx "$OUT/model.onnx" --ref-dir "$OUT/ref" --shapes "${SHAPES// /,}" \
    --manifest "$TEMPLATE" --threads "$THREADS" "${EXPECT[@]}" --report "$OUT/logs/verify-merged.json")
fi
# the model folder: model.onnx (one graph: renamed) + manifest.json
[[ ${#graphs[@]} -eq 1 && ! -f $OUT/model.onnx ]] && cp "${graphs[0]}" "$OUT/model.onnx"
if [[ -f $OUT/model.onnx ]]; then
  sha=$(sha256sum "$OUT/model.onnx" | cut -d' ' -f1)
  opt=()
  [[ -n ${CLASSES:-} ]] && opt+=(--labels "$CLASSES")
  [[ -n ${NAME:-} ]] && opt+=(--name "$NAME")
  [[ -n ${VERSION:-} ]] && opt+=(--version "$VERSION")
  [[ -n ${SCORE_THRESHOLD:-} ]] && opt+=(--score-threshold "$SCORE_THRESHOLD")
  [[ -n ${TOP_K:-} ]] && opt+=(--top-k "$TOP_K")
  [[ -n ${MEMORY:-} ]] && opt+=(--memory "$MEMORY")
  (cd "$REPO" && node --import tsx models/codetr/export/make-manifest.ts --template "$TEMPLATE" \
    --shapes "$SHAPES" --export-info "$OUT/export.json" --onnx model.onnx --sha256 "$sha" "${opt[@]}" \
    --out "$OUT/manifest.json")
  [[ ! -f $OUT/model.onnx.data ]] || echo "note: upload model.onnx.data beside model.onnx (external weights)"
fi
echo "[run_export +$((SECONDS - t0))s] done; $SUMMARY:"
column -t "$SUMMARY"
exit
}
