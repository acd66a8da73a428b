# syntax=docker/dockerfile:1
# gpumux replica image: one onnxruntime-node session on one GPU (CUDA execution provider), with sharp for
# decoding. It holds no model weights: the manifests ship here and the weights come from the model volume.
#   docker build -f docker/replica.Dockerfile -t gpumux/replica:0.1.0 .                          # CUDA (default)
#   docker build -f docker/replica.Dockerfile --target replica-cpu -t gpumux/replica:0.1.0-cpu .  # CPU only
# The CUDA image starts from NVIDIA's CUDA base image, not the cudnn-runtime one (which brings every CUDA
# library, NCCL, NPP, nvJPEG...). It adds only what onnxruntime's CUDA EP links: cuBLAS/cuBLASLt, cuFFT,
# cuRAND, NVRTC and cuDNN 9, for the CUDA major that the provider was built against. The build then runs ldd
# on every provider library (docker/check-cuda-libs.sh), so a mismatch stops the build instead of a replica.
# BUILD_BASE must provide node and npm in /usr/local/bin, like the official node image. CPU_RUNTIME_BASE
# needs glibc and libstdc++, and no shell. scripts/build-images.sh swaps in both to build without a registry.
ARG NODE_VERSION=24
ARG DEBIAN_RELEASE=trixie
ARG BUILD_BASE=node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim
ARG CPU_RUNTIME_BASE=gcr.io/distroless/cc-debian12:nonroot
# onnxruntime-node 1.30's CUDA provider comes from the Microsoft.ML.OnnxRuntime.Gpu.Linux NuGet package,
# built for CUDA 13 (it links libcublas.so.13) although its installer calls the flavour "cuda12".
ARG CUDA_VERSION=13.0.2
ARG UBUNTU_VERSION=24.04
ARG CUDA_RUNTIME_BASE=nvidia/cuda:${CUDA_VERSION}-base-ubuntu${UBUNTU_VERSION}

# ---- build: full install (TypeScript) and compile to dist/ --------------------------------------------
FROM ${BUILD_BASE} AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY cli ./cli
COPY common ./common
COPY models ./models
COPY replica ./replica
COPY gateway ./gateway
COPY scheduler ./scheduler
COPY protos ./protos
# models/codetr/verify imports test helpers, so `npm run build` compiles them as it does on a workstation.
COPY test/helpers ./test/helpers
RUN npm run build

# ---- deps: production dependencies, this platform's binaries only ---------------------------------------
FROM ${BUILD_BASE} AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# Scripts are off, so the root `prepare` (tsc, a dev dependency) does not run. onnxruntime-node keeps the CPU
# build that its npm package bundles. Source maps, TypeScript, docs and Bare-runtime addons (*.bare) go.
RUN set -eux; \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund; \
    for d in node_modules/onnxruntime-node/bin/napi-v*/*/*; do \
      case "$d" in */linux/x64) ;; *) rm -rf "$d" ;; esac; \
    done; \
    find node_modules \( -name '*.map' -o -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.bare' \
      -o -name '*.md' -o -name '*.markdown' \) -type f -delete
COPY --from=build /src/dist ./dist
COPY --from=build /src/bin ./bin
COPY --from=build /src/models ./models
RUN node dist/cli/main.js replica --help >/dev/null

# ---- replica-cpu: the CPU execution provider only (`gpumux up`-style hosts, CI, the image smoke test) ----
FROM ${BUILD_BASE} AS node
# Node >= 23 links libatomic.so.1, which distroless cc does not ship: it travels with the binary, into the same
# multiarch folder, where the loader looks without an ld.so.cache entry.
RUN set -eux; \
    mkdir -p /node-root/usr/local/bin; \
    cp /usr/local/bin/node /node-root/usr/local/bin/node; \
    for lib in $(ldd /usr/local/bin/node | awk '$1 ~ /^libatomic[.]so/ { print $3 }'); do \
      dir="$(dirname "$(realpath "$lib")")"; \
      mkdir -p "/node-root$dir"; \
      cp -L "$lib" "/node-root$dir/$(basename "$lib")"; \
    done
FROM ${CPU_RUNTIME_BASE} AS replica-cpu
COPY --from=node /node-root/ /
# Fails the build early if the base lacks a library the node binary links (libstdc++, libgcc_s).
RUN ["/usr/local/bin/node", "--version"]
WORKDIR /app
COPY --from=deps --chown=0:0 /app ./
# The root filesystem is read-only (chart securityContext): anything that writes under $HOME writes to the
# /tmp emptyDir instead.
ENV NODE_ENV=production \
    HOME=/tmp
# Loads ONNX Runtime's native binding and sharp's libvips in this base, as the replica will.
RUN ["/usr/local/bin/node", "-e", "require('/app/node_modules/onnxruntime-node'); require('/app/node_modules/sharp')"]
USER 10001:10001
EXPOSE 8081
ENTRYPOINT ["/usr/local/bin/node", "/app/dist/cli/main.js"]
CMD ["replica", "--help"]

# ---- deps-cuda: onnxruntime's CUDA provider libraries -----------------------------------------------------
FROM deps AS deps-cuda
# onnxruntime-node's own installer fetches libonnxruntime_providers_{cuda,shared,tensorrt}.so (its env var
# beats .npmrc's skip). gpumux never loads the TensorRT provider, and it would need TensorRT's libraries.
ENV ONNXRUNTIME_NODE_INSTALL=cuda12
RUN set -eux; \
    node node_modules/onnxruntime-node/script/install.js; \
    rm -f node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_tensorrt.so; \
    test -f node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so

# ---- replica (default): CUDA -----------------------------------------------------------------------------
FROM ${CUDA_RUNTIME_BASE} AS replica
ARG CUDA_VERSION
# cuDNN's package names the CUDA major (libcudnn9-cuda-13); the CUDA libraries name major-minor (13-0).
RUN set -eux; \
    cuda="$(echo "${CUDA_VERSION}" | cut -d. -f1,2 | tr . -)"; \
    major="$(echo "${CUDA_VERSION}" | cut -d. -f1)"; \
    apt-get update; \
    apt-get install -y --no-install-recommends \
      "libcublas-${cuda}" "libcufft-${cuda}" "libcurand-${cuda}" "cuda-nvrtc-${cuda}" "libcudnn9-cuda-${major}"; \
    apt-get clean; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/*
COPY --from=node /node-root/ /
# Fails the build early if the base lacks a library the node binary links (libstdc++, libgcc_s).
RUN node --version
WORKDIR /app
COPY --from=deps-cuda --chown=0:0 /app ./
# Every library the CUDA provider needs must resolve here, or the build stops with the missing names (a CUDA
# major that differs between this base and the provider shows up as libcublas.so.N "not found").
COPY --chown=0:0 docker/check-cuda-libs.sh /usr/local/bin/check-cuda-libs
RUN check-cuda-libs /app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64
# HOME: anything written under it lands in the /tmp emptyDir (the root filesystem is read-only). CUDA's JIT
# kernel cache goes there too, capped below the chart's 256 MiB /tmp sizeLimit.
ENV NODE_ENV=production \
    HOME=/tmp \
    CUDA_CACHE_PATH=/tmp/cuda-cache \
    CUDA_CACHE_MAXSIZE=134217728 \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
USER 10001:10001
EXPOSE 8081
ENTRYPOINT ["/usr/local/bin/node", "/app/dist/cli/main.js"]
CMD ["replica", "--help"]
