#!/usr/bin/env bash
# Debian packages the test suite uses (not needed to run gpumux): promtool to lint /metrics, Chromium for
# the operator page's browser test, python3-onnx for the ONNX graph tooling tests. With --bench also nginx
# and wrk for `npm run bench` (the gateway vs nginx comparison). Idempotent; needs root (or sudo) only when
# something is missing.
set -euo pipefail
need=()
command -v promtool >/dev/null || need+=(prometheus)
command -v chromium >/dev/null || need+=(chromium)
/usr/bin/python3 -c 'import onnx, numpy' 2>/dev/null || need+=(python3-onnx python3-numpy)
command -v cc >/dev/null || need+=(gcc libc6-dev) # the CUDA library check's tests compile fixture libraries
if [[ ${1:-} == --bench ]]; then
  command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || need+=(nginx-light)
  command -v wrk >/dev/null || need+=(wrk)
fi
if ((${#need[@]})); then
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
