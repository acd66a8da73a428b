#!/usr/bin/env bash
# Co-DINO (Swin-L, random init) peak GPU memory and latency per bucket x batch in PyTorch FP32 and FP16, in one
# command on a machine that has a GPU and PyTorch but no internet, no Node and no mmdet (the lent H100/H200:
# PyTorch 2.11 on CUDA 13, Python 3.12). Three verbs:
#
#   prepare   here, once: packs the pure-Python source trees the model needs (mmdet 3.3.0 code + Co-DETR project
#             + the configs it inherits, mmcv 2.1.0 without its C++/CUDA sources, mmengine 0.10.3, addict,
#             pycocotools' Python part, and Debian's pure-Python termcolor/yapf/terminaltables) from the git
#             snapshots under $MIRROR the way setup_sources.sh extracts them, into $CARRY/codetr-src.tar.gz
#             (~4 MB; the device tool carries at most 64 MiB per command). Needs git and, for the fallbacks,
#             Debian's python3-termcolor python3-yapf python3-terminaltables (setup_sources.sh installs them).
#   device    there: unpacks the tarball into /tmp, checks the imports, runs gpu_memory_profile.py on cuda:0
#             for every manifest bucket x batch 1,2 x fp32,fp16 within a time budget, and writes
#             $OUT/calib.json, $OUT/calib.md and the logs (rewritten after every case: a kill keeps what ran).
#   dry-run   here (CPU): the same tarball and code path on a tiny bucket, batch 1, FP32, one run, device=cpu
#             (/usr/bin/python3 with Debian's torch, numpy, opencv: setup_sources.sh's apt packages).
#
# Environment:
#   MIRROR=/work/.mirror         (prepare) <owner>+<name>/repo git snapshots, as setup_sources.sh takes them
#   CARRY=models/codetr/export/carry   where the tarball goes / is read from (ignored by git)
#   OUT                          where results go (device: the device tool's $OUT; dry-run: a temp dir)
#   BUDGET_S=480                 (device) the profile's own time budget; a case that would not fit is skipped
#                                and listed as such. The whole command is killed at BUDGET_S + 60 s.
#   PY=python3 (device) or /usr/bin/python3 (dry-run)   PROFILE_ARGS: extra gpu_memory_profile.py arguments
set -euo pipefail
{
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
CARRY=${CARRY:-$HERE/carry}
TARBALL=$CARRY/codetr-src.tar.gz
CONFIG=projects/CO-DETR/configs/codino/co_dino_5scale_swin_l_16xb1_16e_o365tococo.py
verb=${1:-}
t0=$SECONDS
step() { echo "[gpu_calibrate +$((SECONDS - t0))s] $*"; }

prepare() {
  local mirror=${MIRROR:-/work/.mirror} stage
  stage=$(mktemp -d)
  trap 'rm -rf "$stage"' RETURN
  step "packing source trees from $mirror"
  mkdir -p "$stage"/src/{mmdetection,mmcv,mmengine,addict,cocoapi} "$stage/fallback"
  # only what building the model needs: the mmdet package, the Co-DETR project, the configs (its `mmdet::`
  # base is found through model-index.yml and every configs/*/metafile.yml). git still prints "invalid
  # object" for the notebook blob the fork's mirror lacks; the archive is complete.
  git -C "$mirror/BitStrawber+mmdetection/repo" archive 44ebd17b -- mmdet projects/CO-DETR configs model-index.yml \
    ':(exclude)demo/MMDet_Tutorial.ipynb' | tar -x -C "$stage/src/mmdetection"
  git -C "$mirror/open-mmlab+mmcv/repo" archive v2.1.0 -- mmcv ':(exclude)mmcv/ops/csrc' | tar -x -C "$stage/src/mmcv"
  git -C "$mirror/open-mmlab+mmengine/repo" archive v0.10.3 -- mmengine | tar -x -C "$stage/src/mmengine"
  git -C "$mirror/mewwts+addict/repo" archive v2.4.0 -- addict | tar -x -C "$stage/src/addict"
  git -C "$mirror/cocodataset+cocoapi/repo" archive 8c9bcc3 -- PythonAPI/pycocotools | tar -x -C "$stage/src/cocoapi"
  mkdir -p "$stage/src/mmdetection/mmdet/.mim"
  for f in configs model-index.yml; do # what `pip install -e .` links
    ln -sfn "../../$f" "$stage/src/mmdetection/mmdet/.mim/$f"
  done
  # Stand-ins for compiled code that cannot travel (built for another Python/torch): mmdet imports these at
  # module level, the forward pass never calls them. Any call raises and names the stand-in.
  local py=${PY:-/usr/bin/python3}
  $py "$HERE/stand_in.py" "$stage/src/mmcv/mmcv/_ext.py" "mmcv's compiled extension"
  $py "$HERE/stand_in.py" "$stage/src/cocoapi/PythonAPI/pycocotools/_mask.py" "pycocotools' compiled _mask"
  # fallbacks sit after site-packages (gpu_memory_profile.py --fallback-path): a real package wins
  $py "$HERE/stand_in.py" "$stage/fallback/shapely/__init__.py" shapely
  $py "$HERE/stand_in.py" "$stage/fallback/shapely/geometry.py" shapely.geometry
  # setuptools >= 81 has no pkg_resources; mmengine asks it for mmdet's path, then falls back to find_spec
  printf '%s\n' '"""Stand-in (gpu_calibrate.sh): no distribution is installed."""' \
    'class DistributionNotFound(Exception):' '    pass' '' '' 'def get_distribution(name):' \
    '    raise DistributionNotFound(name)' >"$stage/fallback/pkg_resources.py"
  local dist=/usr/lib/python3/dist-packages
  for p in termcolor.py terminaltables yapf; do
    [[ -e $dist/$p ]] || { echo "missing $dist/$p: apt-get install python3-termcolor python3-yapf python3-terminaltables" >&2; return 1; }
    cp -r "$dist/$p" "$stage/fallback/"
  done
  find "$stage" -name __pycache__ -prune -exec rm -rf {} +
  mkdir -p "$CARRY"
  tar -C "$stage" -czf "$TARBALL" src fallback
  local bytes
  bytes=$(stat -c %s "$TARBALL")
  step "wrote $TARBALL ($((bytes / 1024)) KiB)"
  ((bytes < 48 * 1024 * 1024)) || { echo "tarball over 48 MiB: the device tool carries 64 MiB in all" >&2; return 1; }
}

unpack() { # unpack DIR: the tarball into DIR, and the PYTHONPATH for it
  local dir=$1
  [[ -f $TARBALL ]] || { echo "no $TARBALL: run '$0 prepare' here first and carry ${CARRY#"$REPO"/}" >&2; return 1; }
  rm -rf "$dir" && mkdir -p "$dir" && tar -xzf "$TARBALL" -C "$dir"
  S=$dir/src
  export PYTHONPATH=$S/mmdetection:$S/mmcv:$S/mmengine:$S/addict:$S/cocoapi/PythonAPI
  FALLBACK=$dir/fallback
}

# profile OUT ARGS...: gpu_memory_profile.py from the mmdetection tree (the config's custom_imports need it),
# under ${LIMIT[@]} (a timeout on the device)
LIMIT=()
profile() {
  local out=$1
  shift
  (cd "$S/mmdetection" && PYTHONUNBUFFERED=1 ${LIMIT[@]+"${LIMIT[@]}"} "$PY" "$HERE/gpu_memory_profile.py" \
    --config "$CONFIG" --random-init 0 --manifest "$REPO/models/codetr/manifest.json" \
    --fallback-path "$FALLBACK" --out "$out" "$@")
}

case $verb in
  prepare) prepare ;;
  device)
    OUT=${OUT:?set OUT (the device tool sets it)}
    PY=${PY:-python3}
    BUDGET_S=${BUDGET_S:-480}
    unpack /tmp/codetr-calib
    step "machine" | tee "$OUT/machine.txt"
    { nvidia-smi || echo "no nvidia-smi"; "$PY" -VV; } >>"$OUT/machine.txt" 2>&1 || true
    read -r -a extra <<<"${PROFILE_ARGS:-}" # may add or override arguments (argparse: the last one wins)
    LIMIT=(timeout --signal=TERM --kill-after=15 $((BUDGET_S + 60)))
    rc=0
    set -o pipefail
    profile "$OUT" --device cuda:0 --budget-s "$BUDGET_S" ${extra[@]+"${extra[@]}"} 2>&1 | tee "$OUT/profile.log" || rc=$?
    step "done (exit $rc; 124: killed at the time box): $(cd "$OUT" && echo calib.* | tr ' ' ,) in $OUT"
    exit "$rc"
    ;;
  dry-run)
    PY=${PY:-/usr/bin/python3}
    [[ -f $TARBALL ]] || prepare
    work=$(mktemp -d)
    OUT=${OUT:-$work/out}
    mkdir -p "$OUT"
    unpack "$work/tree"
    read -r -a extra <<<"${PROFILE_ARGS:-}"
    profile "$OUT" --device cpu --buckets 80x80 --batches 1 --precisions fp32 --runs 1 --budget-s 600 \
      ${extra[@]+"${extra[@]}"}
    rm -rf "$work/tree"
    step "dry run passed: $OUT/calib.json"
    ;;
  *)
    sed -n '2,26p' "$0"
    exit 2
    ;;
esac
}
