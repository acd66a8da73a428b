# syntax=docker/dockerfile:1
# gpumux gateway image. It also runs the scheduler (`gpumux scheduler`), and neither of them needs a GPU or
# CUDA. Sizes measured by scripts/build-images.sh are in docs/k3s.md "Images".
#   docker build -f docker/gateway.Dockerfile -t gpumux/gateway:0.1.0 .
# Node 24 (LTS, maintained until April 2028) rather than 26: its binary is 127 MB against 26's 150 MB, which
# keeps this image under 200 MB. --build-arg NODE_VERSION=26 works as well (docs/k3s.md "Images").
# BUILD_BASE must provide node and npm in /usr/local/bin, like the official node image. RUNTIME_BASE needs
# glibc and libstdc++, and no shell. scripts/build-images.sh swaps in both to build without a registry.
ARG NODE_VERSION=24
ARG DEBIAN_RELEASE=trixie
ARG BUILD_BASE=node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim
ARG RUNTIME_BASE=gcr.io/distroless/cc-debian12:nonroot

# ---- build: full install (TypeScript) and compile to dist/ --------------------------------------------
FROM ${BUILD_BASE} AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
# Scripts are off: the root `prepare` (tsc) needs the sources, which are copied below. .npmrc keeps
# onnxruntime's CUDA download off.
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

# ---- deps: production dependencies only, trimmed ------------------------------------------------------
FROM ${BUILD_BASE} AS deps
# Packages that only the replica imports (ONNX Runtime, sharp/libvips, koffi for ONNX Runtime's C API; not
# busboy: the gateway parses multipart too, common/http/multipart.ts). The gateway and scheduler never load
# them; test/container-images/dockerfiles.test.ts checks that against their imports, and the import step
# below checks it against the compiled code.
ARG REPLICA_ONLY_PACKAGES="onnxruntime-node onnxruntime-common sharp @img koffi @koromix adm-zip global-agent"
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY --from=build /src/dist ./dist
COPY --from=build /src/bin ./bin
COPY --from=build /src/models ./models
# Source maps, TypeScript sources and declarations, docs, and prebuilt addons for the Bare runtime (*.bare,
# which Node never loads) are dead weight at run time.
RUN set -eux; \
    for p in ${REPLICA_ONLY_PACKAGES}; do rm -rf "node_modules/$p"; done; \
    find node_modules \( -name '*.map' -o -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.bare' \
      -o -name '*.md' -o -name '*.markdown' \) -type f -delete; \
    node --input-type=module -e "for (const m of ['gateway/index.js', 'gateway/config.js', \
      'scheduler/kubernetes-stack.js', 'scheduler/config/load.js', 'scheduler/http.js', 'common/kube-client.js']) \
      await import('/app/dist/' + m); await import('@kubernetes/client-node');"; \
    node dist/cli/main.js gateway --help >/dev/null; \
    node dist/cli/main.js scheduler --help >/dev/null

# ---- runtime: distroless (glibc, libstdc++, CA certificates; no shell, no package manager) + node ------
# The node binary alone: npm, corepack and yarn never reach this layer.
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
FROM ${RUNTIME_BASE}
COPY --from=node /node-root/ /
# Fails the build early if the base lacks a library the node binary links (libstdc++, libgcc_s).
RUN ["/usr/local/bin/node", "--version"]
WORKDIR /app
COPY --from=deps --chown=0:0 /app ./
ENV NODE_ENV=production
# The chart runs everything as uid/gid 10001 (securityContext), and the image default is the same. The files
# belong to root and are world-readable, so any uid can run them and none can change them.
USER 10001:10001
EXPOSE 8080 8090 8070
ENTRYPOINT ["/usr/local/bin/node", "/app/dist/cli/main.js"]
CMD ["gateway", "--host", "0.0.0.0"]
