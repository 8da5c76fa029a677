#!/usr/bin/env bash
# Build the collection tarball, install it into an empty collections path, and
# render every module's documentation with ansible-doc from that install.
set -euo pipefail
cd "$(dirname "$0")/.."
tier=${1:-2.19}
bin=.venv/$tier/bin
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$bin/ansible-galaxy" collection build --force --output-path "$work/dist" .
tarball=$(ls "$work"/dist/podlab-playground-*.tar.gz)
"$bin/ansible-galaxy" collection install --force -p "$work/collections" "$tarball"

status=0
for module in plugins/modules/*.py; do
  name=$(basename "$module" .py)
  if ANSIBLE_COLLECTIONS_PATH="$work/collections" "$bin/ansible-doc" "podlab.playground.$name" >"$work/doc.txt" 2>&1 \
     && grep -q 'OPTIONS' "$work/doc.txt" && grep -q 'RETURN VALUES' "$work/doc.txt"; then
    echo "ansible-doc podlab.playground.$name: ok"
  else
    echo "ansible-doc podlab.playground.$name: FAILED"; cat "$work/doc.txt"; status=1
  fi
done
tar -tzf "$tarball" | grep -E '^(\.venv|\.collections|tests/output)/' && { echo "tarball holds build leftovers"; status=1; }
exit $status
