#!/usr/bin/env bash
# Builds mmcv 2.1.0's compiled CPU ops in place in the tree setup_sources.sh made ($CODETR_ROOT/src/mmcv),
# replacing its stand-in _ext.py. ~10-20 min on 2 cores, peak ~1 GB; needs libtorch-dev pybind11-dev
# ninja-build g++ (setup_sources.sh installs them with WITH_OPS=1). Only soft-NMS uses the result.
set -euo pipefail
ROOT=${CODETR_ROOT:-/tmp/codetr-export}
cd "$ROOT/src/mmcv"
echo "[mmcv ops] building (log: $ROOT/mmcv-build.log)"
MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS=${MAX_JOBS:-2} /usr/bin/time -v /usr/bin/python3 setup.py build_ext --inplace \
  >"$ROOT/mmcv-build.log" 2>&1
grep -E 'Elapsed|Maximum resident' "$ROOT/mmcv-build.log" || true
rm -f mmcv/_ext.py # the built mmcv/_ext.*.so takes over
. "$ROOT/env.sh"
$PY -c 'from mmcv.ops import soft_nms; import mmcv._ext as e; print("[mmcv ops] built:", e.__file__)'
