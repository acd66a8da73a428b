#!/usr/bin/env bash
# Sets up MMDetection 3.3.0 / mmcv 2.1.0 / mmengine 0.10.3 without PyPI (Debian 12's torch 1.13.1, CPU) from
# git snapshots of the upstream repositories, and writes $CODETR_ROOT/env.sh for run_export.sh.
#   MIRROR      directory holding <owner>+<name>/repo git dirs of BitStrawber/mmdetection (carries upstream
#               commit 44ebd17b = v3.3.0), open-mmlab/mmcv, open-mmlab/mmengine, mewwts/addict,
#               cocodataset/cocoapi
#   CODETR_ROOT where the source trees and env.sh go (default /tmp/codetr-export); nothing goes into the repo
#   WITH_OPS=1  then also run build_mmcv_ops.sh (mmcv's compiled CPU ops, ~10-20 min on 2 cores; only
#               soft-NMS needs them: mmdet's own test_step and the soft-NMS fixture). Until then a stand-in
#               mmcv/_ext.py whose every attribute raises lets mmcv.ops import (the export calls no op).
# With PyPI instead: `pip install torch==1.13.1 mmengine==0.10.3 mmcv==2.1.0 mmdet==3.3.0 onnx` and skip this.
set -euo pipefail
ROOT=${CODETR_ROOT:-/tmp/codetr-export}
MIRROR=${MIRROR:?set MIRROR to the directory of <owner>+<name>/repo git snapshots}
S=$ROOT/src
PY=/usr/bin/python3 # Debian's python: a pyenv python3 first on PATH has none of Debian's packages
t0=$SECONDS
step() { echo "[setup +$((SECONDS - t0))s] $*"; }

step "apt packages"
pkgs=(python3-torch python3-torchvision python3-numpy python3-opencv python3-scipy python3-matplotlib
  python3-yaml python3-yapf python3-termcolor python3-rich python3-terminaltables python3-shapely
  python3-onnx python3-packaging python3-six python3-tqdm python3-regex python3-psutil python3-pil
  python3-setuptools python3-platformdirs python3-tabulate cython3 time)
[[ -n ${WITH_OPS:-} ]] && pkgs+=(libtorch-dev pybind11-dev ninja-build g++)
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null

step "source trees into $S"
rm -rf "$S" && mkdir -p "$S"/{mmdetection,mmcv,mmengine,addict,cocoapi}
# the fork's mirror lacks one notebook blob, hence the exclude
git -C "$MIRROR/BitStrawber+mmdetection/repo" archive 44ebd17b -- . ':(exclude)demo/MMDet_Tutorial.ipynb' | tar -x -C "$S/mmdetection"
git -C "$MIRROR/open-mmlab+mmcv/repo" archive v2.1.0 | tar -x -C "$S/mmcv"
git -C "$MIRROR/open-mmlab+mmengine/repo" archive v0.10.3 | tar -x -C "$S/mmengine"
git -C "$MIRROR/mewwts+addict/repo" archive v2.4.0 | tar -x -C "$S/addict"         # not in Debian 12
git -C "$MIRROR/cocodataset+cocoapi/repo" archive 8c9bcc3 | tar -x -C "$S/cocoapi" # pycocotools: not in Debian 12

step "pycocotools _mask (cython3)"
(cd "$S/cocoapi/PythonAPI" && $PY setup.py build_ext --inplace >"$ROOT/cocoapi-build.log" 2>&1)
# what `pip install -e .` of mmdet creates; the config's `mmdet::` base paths resolve through it
mkdir -p "$S/mmdetection/mmdet/.mim"
for f in tools configs demo model-index.yml dataset-index.yml; do ln -sfn "../../$f" "$S/mmdetection/mmdet/.mim/$f"; done

# Stand-in for mmcv's compiled extension until build_mmcv_ops.sh replaces it (the export never calls an op).
$PY "$(dirname "$0")/stand_in.py" "$S/mmcv/mmcv/_ext.py" "mmcv's compiled extension" "build_mmcv_ops.sh builds it"

cat >"$ROOT/env.sh" <<ENV
export PYTHONPATH=$S/mmdetection:$S/mmcv:$S/mmengine:$S/addict:$S/cocoapi/PythonAPI
export OMP_NUM_THREADS=\${OMP_NUM_THREADS:-2} # Debian's torch 1.13 starts with 1 intra-op thread otherwise
export PY=$PY
export MMDET_DIR=$S/mmdetection
ENV
step "checking imports"
(. "$ROOT/env.sh" && $PY -c 'import torch, mmdet, mmcv, mmengine, mmcv.ops; print("torch", torch.__version__, "mmdet", mmdet.__version__, "mmcv", mmcv.__version__)')
if [[ -n ${WITH_OPS:-} ]]; then
  CODETR_ROOT=$ROOT "$(dirname "$0")/build_mmcv_ops.sh"
fi
step "done: . $ROOT/env.sh"
