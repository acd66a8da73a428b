# fetch-model: put each model file on the model volume once. Arguments are triples <dest> <url> <sha256>.
# A file already present with the right sha256 is kept; otherwise it is downloaded to a temporary name in
# the same directory, verified, and renamed into place (readers never see a partial file). Concurrent pods
# on a shared volume serialise on a lock directory. The holder touches the lock every LOCK_HEARTBEAT seconds
# while it downloads, so a lock whose mtime is older than LOCK_TIMEOUT belongs to a pod that died (SIGKILL,
# node loss) and is taken over at once, however long the waiter has been waiting. On exit or a signal the
# holder removes its lock and its partial file.
# Any failure exits non-zero with a JSON log line saying what to fix: the replica never starts on a bad file.
set -eu

LOCK_TIMEOUT=${LOCK_TIMEOUT:-1800}
LOCK_HEARTBEAT=${LOCK_HEARTBEAT:-30}
LOCK_POLL=${LOCK_POLL:-5}

# What this process holds right now; cleanup() releases exactly that.
held_lock='' tmp='' heartbeat='' downloader=''
cleanup() {
  if [ -n "$downloader" ]; then kill "$downloader" 2>/dev/null || true; downloader=''; fi
  if [ -n "$heartbeat" ]; then kill "$heartbeat" 2>/dev/null || true; heartbeat=''; fi
  if [ -n "$tmp" ]; then rm -f "$tmp"; tmp=''; fi
  if [ -n "$held_lock" ]; then rmdir "$held_lock" 2>/dev/null || true; held_lock=''; fi
}
trap cleanup EXIT
trap 'cleanup; trap - EXIT; exit 130' INT
trap 'cleanup; trap - EXIT; exit 143' TERM
trap 'cleanup; trap - EXIT; exit 129' HUP

log() { printf '{"level":"%s","msg":"%s","file":"%s"}\n' "$1" "$2" "$3" >&2; }
die() { log error "$1" "$2"; exit 1; }
sha_of() { sha256sum "$1" | cut -d ' ' -f 1; }
verified() { [ -f "$1" ] && [ "$(sha_of "$1")" = "$2" ]; }

# Runs in a background subshell that becomes curl/wget (exec), so killing its pid stops the transfer.
download() {
  if command -v curl >/dev/null 2>&1; then
    exec curl --fail --location --silent --show-error --retry 5 --retry-delay 5 --connect-timeout 30 -o "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then
    exec wget -q -O "$2" "$1"
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
  while ! mkdir "$lock" 2>/dev/null; do
    # Age from the lock's mtime (refreshed by a live holder), not from when this waiter started.
    if mtime=$(stat -c %Y "$lock" 2>/dev/null) && [ $(($(date +%s) - mtime)) -ge "$LOCK_TIMEOUT" ]; then
      log warn "lock not refreshed for LOCK_TIMEOUT seconds (its pod died); taking it over" "$lock"
      rm -rf "$lock"
      continue
    fi
    sleep "$LOCK_POLL"
  done
  held_lock=$lock
  # Heartbeat: keeps the lock's mtime fresh while this pod lives; its sleep dies with it.
  (
    exec >/dev/null 2>&1
    trap 'kill "$nap" 2>/dev/null; exit 0' TERM
    while :; do
      sleep "$LOCK_HEARTBEAT" & nap=$!
      wait "$nap"
      touch "$lock" || exit 0
    done
  ) &
  heartbeat=$!
  # Another pod may have finished the download while this one waited.
  if verified "$dest" "$sha"; then
    cleanup
    log info "downloaded by another pod; verified" "$dest"
    return 0
  fi
  tmp="$dest.partial.$$"
  log info "downloading $url" "$dest"
  # In the background: the shell runs a trap only between commands, and `wait` lets SIGTERM in at once.
  download "$url" "$tmp" &
  downloader=$!
  if ! wait "$downloader"; then
    downloader=''
    die "download failed from $url" "$dest"
  fi
  downloader=''
  actual=$(sha_of "$tmp")
  if [ "$actual" != "$sha" ]; then
    die "sha256 mismatch: expected $sha, got $actual (wrong url or sha256 in the chart values?)" "$dest"
  fi
  mv -f "$tmp" "$dest"
  tmp=''
  cleanup
  log info "downloaded and verified" "$dest"
}

[ $(($# % 3)) -eq 0 ] || die "expected <dest> <url> <sha256> triples, got $# arguments" "-"
while [ $# -gt 0 ]; do
  fetch "$1" "$2" "$3"
  shift 3
done
