#!/bin/sh
# check-cuda-libs DIR...: every shared library that ONNX Runtime's native files in DIR need (ldd, transitively)
# must resolve in this image. Run as a build step of the CUDA replica image, after onnxruntime-node's CUDA
# provider is installed. A provider built for another CUDA major than the base image's (libcublas.so.13 on a
# CUDA 12 base) otherwise passes the build and fails in every replica at its first session.
#
# Checked: libonnxruntime_providers_*.so, libonnxruntime.so*, *.node in each DIR.
# CHECK_CUDA_LIBS_RUNTIME: sonames that are allowed to be missing at build time because the NVIDIA container
# runtime mounts them from the host's driver into the container (default: libcuda.so.1 libnvidia-ml.so.1;
# set it empty to allow none).
# Exit: 0 all resolve; 1 something is missing (named on stderr); 2 nothing to check.
set -eu

runtime_provided="${CHECK_CUDA_LIBS_RUNTIME-libcuda.so.1 libnvidia-ml.so.1}"
checked=0
missing_all=""

for dir in "$@"; do
  for lib in "$dir"/libonnxruntime_providers_*.so "$dir"/libonnxruntime.so* "$dir"/*.node; do
    [ -f "$lib" ] || continue
    checked=$((checked + 1))
    # ONNX Runtime loads libonnxruntime_providers_shared.so from this folder before the CUDA provider, which
    # links it: a sibling resolves at run time without an rpath, so it does here too.
    if ! out="$(LD_LIBRARY_PATH="$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ldd "$lib" 2>&1)"; then
      echo "check-cuda-libs: ldd cannot read $lib: $out" >&2
      missing_all="$missing_all ?"
      continue
    fi
    for soname in $(printf '%s\n' "$out" | awk '$2 == "=>" && $3 == "not" { print $1 }'); do
      case " $runtime_provided " in *" $soname "*) continue ;; esac
      echo "check-cuda-libs: $(basename "$lib") needs $soname, which does not resolve in this image" >&2
      missing_all="$missing_all $soname"
    done
  done
done

if [ "$checked" -eq 0 ]; then
  echo "check-cuda-libs: no ONNX Runtime libraries in: $*" >&2
  exit 2
fi

if [ -n "$missing_all" ]; then
  missing_all=" $(printf '%s\n' $missing_all | sort -u | tr '\n' ' ' | sed 's/ $//')"
  # The CUDA major the provider wants, read off the first CUDA toolkit library it misses (cuDNN has its own).
  wanted="$(printf '%s\n' $missing_all | sed -n 's/^lib\(cublas\|cublasLt\|cudart\|cufft\|curand\|nvrtc\)\.so\.\([0-9][0-9]*\)$/\2/p' | head -n 1)"
  have="$(ldconfig -p 2>/dev/null | sed -n 's/^[[:space:]]*libcublas\.so\.\([0-9][0-9]*\) .*/\1/p' | head -n 1)"
  {
    echo "check-cuda-libs: FAILED: $checked ONNX Runtime libraries checked; missing:$missing_all"
    if [ -n "$wanted" ]; then
      echo "  The CUDA provider was built for CUDA $wanted; this image has CUDA ${have:-libraries of no known major}."
      echo "  Build with a matching base (--build-arg CUDA_VERSION=$wanted.x.y, an nvidia/cuda tag), or install"
      echo "  an onnxruntime-node whose CUDA provider matches this base."
    else
      echo "  Install the packages that provide these libraries in the image (cuDNN: libcudnn9-cuda-<major>)."
    fi
  } >&2
  exit 1
fi

echo "check-cuda-libs: $checked ONNX Runtime libraries checked; every library they need resolves"
