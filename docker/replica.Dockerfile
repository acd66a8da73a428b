# syntax=docker/dockerfile:1
# gpumux replica image: one onnxruntime-node session on one GPU (CUDA execution provider), sharp for
# decoding. No model weights inside: manifests ship here, weights come from the model volume.
#   docker build -f docker/replica.Dockerfile -t gpumux/replica:0.1.0 .
# Instead of nvidia/cuda's cudnn-runtime image (every CUDA library, NCCL, NPP, nvJPEG...), start from the
# CUDA base image and add only what onnxruntime's CUDA EP loads: cuBLAS/cuBLASLt, cuFFT, cuRAND, NVRTC and
# cuDNN 9 (CUDA 12 build). The node binary is copied from the official Node image.
ARG NODE_VERSION=26
ARG CUDA_VERSION=12.8.1
ARG UBUNTU_VERSION=24.04

# ---- build: full install (TypeScript) and compile to dist/ --------------------------------------------
FROM node:${NODE_VERSION}-trixie-slim AS build
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
RUN npm run build

# ---- deps: production dependencies with onnxruntime's CUDA 12 provider --------------------------------
FROM node:${NODE_VERSION}-trixie-slim AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# Scripts off so that the root `prepare` (tsc, a dev dependency) does not run; then onnxruntime-node's own
# installer fetches libonnxruntime_providers_{cuda,shared}.so for CUDA 12 (its env var beats .npmrc's skip).
ENV ONNXRUNTIME_NODE_INSTALL=cuda12
RUN set -eux; \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund; \
    node node_modules/onnxruntime-node/script/install.js; \
    test -f node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so; \
    for d in node_modules/onnxruntime-node/bin/napi-v*/*/*; do \
      case "$d" in */linux/x64) ;; *) rm -rf "$d" ;; esac; \
    done; \
    find node_modules \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \
      -o -name '*.md' -o -name '*.markdown' \) -type f -delete
COPY --from=build /src/dist ./dist
COPY --from=build /src/bin ./bin
COPY --from=build /src/models ./models

# ---- runtime ---------------------------------------------------------------------------------------------
FROM node:${NODE_VERSION}-trixie-slim AS node
FROM nvidia/cuda:${CUDA_VERSION}-base-ubuntu${UBUNTU_VERSION}
ARG CUDA_VERSION
RUN set -eux; \
    cuda="$(echo "${CUDA_VERSION}" | cut -d. -f1,2 | tr . -)"; \
    apt-get update; \
    apt-get install -y --no-install-recommends \
      "libcublas-${cuda}" "libcufft-${cuda}" "libcurand-${cuda}" "cuda-nvrtc-${cuda}" libcudnn9-cuda-12; \
    apt-get clean; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/*
COPY --from=node /usr/local/bin/node /usr/local/bin/node
# Fails the build early if the base lacks a library the node binary links (libstdc++, libgcc_s).
RUN node --version
RUN groupadd --gid 10001 gpumux && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /app \
      --shell /usr/sbin/nologin gpumux
WORKDIR /app
COPY --from=deps --chown=root:root /app ./
ENV NODE_ENV=production \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
USER 10001:10001
EXPOSE 8081
ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["replica", "--help"]
