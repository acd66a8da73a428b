# fetch-model: put each model file on the model volume once. Arguments are triples <dest> <url> <sha256>.
# A file already present with the right sha256 is kept; otherwise it is downloaded to a temporary name in
# the same directory, verified, and renamed into place (readers never see a partial file). Concurrent pods
# on a shared volume serialise on a lock directory; a lock older than LOCK_TIMEOUT seconds is taken over.
# Any failure exits non-zero with a JSON log line saying what to fix: the replica never starts on a bad file.
set -eu

LOCK_TIMEOUT=${LOCK_TIMEOUT:-1800}

log() { printf '{"level":"%s","msg":"%s","file":"%s"}\n' "$1" "$2" "$3" >&2; }
die() { log error "$1" "$2"; exit 1; }
sha_of() { sha256sum "$1" | cut -d ' ' -f 1; }
verified() { [ -f "$1" ] && [ "$(sha_of "$1")" = "$2" ]; }

download() {
  if command -v curl >/dev/null 2>&1; then
    curl --fail --location --silent --show-error --retry 5 --retry-delay 5 --connect-timeout 30 -o "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$2" "$1"
  else
    die "the fetch image has neither curl nor wget" "$2"
  fi
}

fetch() {
  dest=$1 url=$2 sha=$3
  dir=$(dirname "$dest")
  mkdir -p "$dir" 2>/dev/null || die "cannot create the directory: make the volume writable by uid $(id -u) (hostPath: chown it on the node)" "$dir"
  if verified "$dest" "$sha"; then
    log info "present with the expected sha256; skipping the download" "$dest"
    return 0
  fi
  lock="$dest.lock"
  waited=0
  while ! mkdir "$lock" 2>/dev/null; do
    if [ "$waited" -ge "$LOCK_TIMEOUT" ]; then
      log warn "lock held longer than LOCK_TIMEOUT; taking it over" "$lock"
      rm -rf "$lock"
      waited=0
      continue
    fi
    sleep 5
    waited=$((waited + 5))
  done
  # Another pod may have finished the download while this one waited.
  if verified "$dest" "$sha"; then
    rmdir "$lock"
    log info "downloaded by another pod; verified" "$dest"
    return 0
  fi
  tmp="$dest.partial.$$"
  log info "downloading $url" "$dest"
  if ! download "$url" "$tmp"; then
    rm -f "$tmp"
    rmdir "$lock"
    die "download failed from $url" "$dest"
  fi
  actual=$(sha_of "$tmp")
  if [ "$actual" != "$sha" ]; then
    rm -f "$tmp"
    rmdir "$lock"
    die "sha256 mismatch: expected $sha, got $actual (wrong url or sha256 in the chart values?)" "$dest"
  fi
  mv -f "$tmp" "$dest"
  rmdir "$lock"
  log info "downloaded and verified" "$dest"
}

[ $(($# % 3)) -eq 0 ] || die "expected <dest> <url> <sha256> triples, got $# arguments" "-"
while [ $# -gt 0 ]; do
  fetch "$1" "$2" "$3"
  shift 3
done
