# syntax=docker/dockerfile:1
# gpumux gateway image — also runs the scheduler (`gpumux scheduler`): neither needs a GPU or CUDA.
# Size: see docs/k3s.md (estimated; no container engine ran where this was written).
#   docker build -f docker/gateway.Dockerfile -t gpumux/gateway:0.1.0 .
# Node: the Active LTS line on 2026-11-25 is 26 (24 is in maintenance); override with --build-arg NODE_VERSION.
ARG NODE_VERSION=26
ARG DEBIAN_RELEASE=trixie

# ---- build: full install (TypeScript) and compile to dist/ --------------------------------------------
FROM node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
# Scripts off: the root `prepare` (tsc) needs the sources, copied below; .npmrc keeps onnxruntime's CUDA
# download off.
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

# ---- deps: production dependencies only, trimmed ------------------------------------------------------
FROM node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY --from=build /src/dist ./dist
COPY --from=build /src/bin ./bin
COPY --from=build /src/models ./models
# Source maps, type declarations and docs are dead weight at run time. onnxruntime-node ships binaries for
# five platforms (~290 MB): keep this one's CPU build only, and drop it entirely when the CLI loads without
# it (the gateway and scheduler never run a model; the replica CLI should import onnxruntime lazily).
RUN set -eux; \
    find node_modules \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \
      -o -name '*.md' -o -name '*.markdown' \) -type f -delete; \
    arch="$(node -p 'process.arch')"; \
    for d in node_modules/onnxruntime-node/bin/napi-v*/*/*; do \
      case "$d" in */linux/"$arch") ;; *) rm -rf "$d" ;; esac; \
    done; \
    mv node_modules/onnxruntime-node /tmp/onnxruntime-node; \
    if node dist/cli/main.js --help >/dev/null 2>&1 && node dist/cli/main.js gateway --help >/dev/null 2>&1; then \
      echo "gateway image: the CLI loads without onnxruntime-node; not shipping it"; \
    else \
      echo "gateway image: the CLI imports onnxruntime-node eagerly; keeping its linux/$arch CPU build"; \
      mv /tmp/onnxruntime-node node_modules/onnxruntime-node; \
    fi; \
    rm -rf /tmp/onnxruntime-node; \
    node dist/cli/main.js --help >/dev/null

# ---- runtime: distroless (glibc, libstdc++, CA certificates; no shell, no package manager) + node ------
# The node binary alone: npm, corepack and yarn from the node image never reach this layer.
FROM node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim AS node
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=node /usr/local/bin/node /usr/local/bin/node
# Fails the build early if the base lacks a library the node binary links (libstdc++, libgcc_s).
RUN ["/usr/local/bin/node", "--version"]
WORKDIR /app
COPY --from=deps --chown=0:0 /app ./
ENV NODE_ENV=production
# The chart runs everything as uid/gid 10001 (securityContext); the image default is the same.
USER 10001:10001
EXPOSE 8080 8090 8070
ENTRYPOINT ["/usr/local/bin/node", "/app/dist/cli/main.js"]
CMD ["gateway", "--host", "0.0.0.0"]
