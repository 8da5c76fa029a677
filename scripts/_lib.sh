# Sourced by the scripts in this directory: what they share.
# shellcheck shell=bash

# as_root "$@": continue as root. Root goes on; another user is re-run through sudo (keeping
# the PODLAB_* and CI variables, which sudo would drop); without sudo, say how to run it.
as_root() {
  [ "$(id -u)" -eq 0 ] && return 0
  local script keep=() kv
  script=$(readlink -f "$0")
  if ! command -v sudo >/dev/null 2>&1; then
    echo "$(basename "$0"): this needs root (apt packages, the Docker daemon, cgroups) and sudo is not installed;" \
         "run it as root: su -c '$script${*:+ $*}'" >&2
    exit 1
  fi
  while IFS= read -r -d '' kv; do
    case $kv in PODLAB_*=* | CI=* | DEBIAN_FRONTEND=*) keep+=("$kv") ;; esac
  done < <(env -0)
  echo "$(basename "$0"): not root; running it again with sudo" >&2
  exec sudo -- env "${keep[@]}" "$script" "$@"
}
