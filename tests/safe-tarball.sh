#!/usr/bin/env bash
# The collection tarball must never carry what a working checkout accumulates: Vagrant's
# machine state (the VMs' private SSH keys), virtualenvs, the .collections link, tool caches,
# test output. Copies the tree (what git lists), adds one of each, builds with
# ansible-galaxy, and fails if any of them is in the tarball.
#
#   bash tests/safe-tarball.sh [TIER]     (TIER: the .venv/TIER whose ansible-galaxy builds; 2.19)
set -euo pipefail
cd "$(dirname "$0")/.."
galaxy=$PWD/.venv/${1:-2.19}/bin/ansible-galaxy
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tree=$work/tree
mkdir -p "$tree"
git ls-files -z --cached --others --exclude-standard | rsync -a --from0 --files-from=- ./ "$tree/"

planted=(
  .vagrant/machines/x/libvirt/private_key
  .venv/2.19/bin/python
  .venv-other/pyvenv.cfg
  .collections/ansible_collections/podlab/playground/x
  .cache/x
  .pytest_cache/v/cache/nodeids
  molecule/default/.pytest_cache/v/cache/nodeids
  .mypy_cache/3.11/x.json
  .ruff_cache/x
  .ansible/tmp/x
  tests/output/suite/x.log
  podlab-playground-0.0.1.tar.gz
)
for f in "${planted[@]}"; do
  mkdir -p "$tree/$(dirname "$f")"
  echo "planted by tests/safe-tarball.sh" >"$tree/$f"
done

(cd "$tree" && "$galaxy" collection build --force --output-path "$work/dist" . >/dev/null)
tarball=$(ls "$work"/dist/podlab-playground-*.tar.gz)
tar -tzf "$tarball" | sed 's#^\./##' >"$work/listing"
status=0
for f in "${planted[@]}"; do
  if grep -qxF "$f" "$work/listing"; then
    echo "safe-tarball: FAILED: $f is in the tarball (add it to build_ignore in galaxy.yml)"; status=1
  else
    echo "safe-tarball: $f left out: ok"
  fi
done
leftovers=$(grep -E '(^|/)(\.vagrant|\.venv[^/]*|\.collections|\.pytest_cache|\.mypy_cache|\.ruff_cache|\.ansible|__pycache__)(/|$)|^tests/output/' "$work/listing" || true)
if [ -n "$leftovers" ]; then
  echo "safe-tarball: FAILED: the tarball holds build leftovers:"; echo "$leftovers"; status=1
fi
[ "$status" -eq 0 ] && echo "safe-tarball: $(wc -l <"$work/listing") entries, nothing planted was packed"
exit $status
