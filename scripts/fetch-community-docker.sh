#!/usr/bin/env bash
# Put the community.docker collection (molecule/docker_host connects to its
# container with community.docker.docker) under
# ${PODLAB_CACHE_DIR:-/var/cache/podlab-playground}/collections/ansible_collections,
# taken from the `ansible` wheel on PyPI: Galaxy is unreachable here and no
# container registry is needed. Idempotent: with the pinned version in place it
# does nothing. Never committed; add the folder to ANSIBLE_COLLECTIONS_PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

version=${PODLAB_ANSIBLE_WHEEL_VERSION:-12.3.0}
dest=${PODLAB_CACHE_DIR:-/var/cache/podlab-playground}/collections
# community.docker and what its MANIFEST.json depends on
collections=(community/docker community/library_inventory_filtering_v1)
stamp=$dest/.from-ansible-$version

if [ -f "$stamp" ] && [ -f "$dest/ansible_collections/community/docker/MANIFEST.json" ]; then
  echo "fetch-community-docker: community.docker from ansible $version already in $dest"
  exit 0
fi

python=python3
[ -x .venv/2.19/bin/python ] && python=.venv/2.19/bin/python

mkdir -p "$dest"
work=$(mktemp -d "$dest/.fetch-XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "fetch-community-docker: pip download ansible==$version (no dependencies)"
"$python" -m pip download -q --disable-pip-version-check --no-deps --only-binary :all: \
  "ansible==$version" -d "$work/dl"
wheel=$(ls "$work"/dl/ansible-"$version"-*.whl)

# extract only the wanted collections, with Python's zipfile (no unzip needed)
"$python" - "$wheel" "$work/tree" "${collections[@]}" <<'PY'
import sys
import zipfile

wheel, target, *wanted = sys.argv[1:]
prefixes = tuple(f"ansible_collections/{name}/" for name in wanted)
with zipfile.ZipFile(wheel) as archive:
    members = [m for m in archive.namelist() if m.startswith(prefixes)]
    archive.extractall(target, members)
print(f"fetch-community-docker: extracted {len(members)} files of {', '.join(wanted)}")
PY

for c in "${collections[@]}"; do
  [ -f "$work/tree/ansible_collections/$c/MANIFEST.json" ] || {
    echo "fetch-community-docker: $c is not in ansible $version" >&2; exit 1; }
  mkdir -p "$dest/ansible_collections/${c%/*}"
  rm -rf "$dest/ansible_collections/$c"
  mv "$work/tree/ansible_collections/$c" "$dest/ansible_collections/$c"
done
rm -f "$dest"/.from-ansible-*
touch "$stamp"
echo "fetch-community-docker: community.docker $("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["collection_info"]["version"])' \
  "$dest/ansible_collections/community/docker/MANIFEST.json") in $dest"
