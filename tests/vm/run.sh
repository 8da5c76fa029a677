#!/usr/bin/env bash
# The VM tier in one command: build the image (cached), boot the VM, run commands
# against it with PODLAB_VM_INVENTORY exported, and always stop the VM.
#
#   bash tests/vm/run.sh                      # the default commands below
#   bash tests/vm/run.sh 'CMD ...' ['CMD ...']  # each argument is run by bash -c from the repo root
#
# Every command runs even when an earlier one fails; the exit status is non-zero when any failed.
# PODLAB_VM_PYTHON picks the Python (default: .venv/2.19/bin/python, made by scripts/setup.sh).
# The default commands write JUnit files to ${PODLAB_VM_JUNIT_DIR:-tests/output/vm}/, merged
# into vm.xml there at the end (what tests/suite.py counts).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
here=tests/vm
python=${PODLAB_VM_PYTHON:-.venv/2.19/bin/python}
junit_dir=${PODLAB_VM_JUNIT_DIR:-tests/output/vm}
junit_parts=()

if [ $# -eq 0 ]; then
  mkdir -p "$junit_dir"
  junit_parts=("$junit_dir/vm-host.xml" "$junit_dir/vm-integration.xml")
  rm -f "${junit_parts[@]}" "$junit_dir/vm.xml"
  q() { printf '%q' "$1"; }
  set -- \
    "$(q "$python") -m pytest -p no:cacheprovider -v --junitxml $(q "${junit_parts[0]}") tests/vm/test_vm_host.py" \
    "$(q "$python") tests/integration/run.py --inventory \"\$PODLAB_VM_INVENTORY\" --junit $(q "${junit_parts[1]}") --suite vm cgroup_parent docker_pod ns_facts cri_pod"
fi

# merge_junit OUT PART...: one <testsuites> file of the parts that exist.
merge_junit() {
  python3 - "$@" <<'PY'
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
out, parts = sys.argv[1], [Path(p) for p in sys.argv[2:] if Path(p).exists()]
root = ET.Element("testsuites", name="vm-tier")
for part in parts:
    tree = ET.parse(part).getroot()
    root.extend([tree] if tree.tag == "testsuite" else list(tree))
ET.ElementTree(root).write(out, encoding="unicode", xml_declaration=True)
PY
}

log() { printf 'vm-tier: %s\n' "$*" >&2; }
t0=$SECONDS
timings=()

bash "$here/build-image.sh"
timings+=("image build (cached when unchanged): $((SECONDS - t0)) s")

stop_vm() { bash "$here/stop.sh" || true; }
trap stop_vm EXIT
trap 'exit 130' INT TERM
t=$SECONDS
set +e
inventory=$(bash "$here/start.sh")
rc=$?
set -e
if [ "$rc" -eq 3 ]; then
  trap - EXIT  # someone else's VM: leave it alone
  exit 3
fi
[ "$rc" -eq 0 ] || exit "$rc"
timings+=("boot to SSH and docker ready: $((SECONDS - t)) s")
export PODLAB_VM_INVENTORY=$inventory
log "inventory $PODLAB_VM_INVENTORY"

failed=0
for cmd in "$@"; do
  log "running: $cmd"
  t=$SECONDS
  if bash -c "$cmd"; then status=PASS; else status=FAIL; failed=$((failed + 1)); fi
  timings+=("$status $((SECONDS - t)) s: $cmd")
done

stop_vm
trap - EXIT
if [ ${#junit_parts[@]} -gt 0 ]; then
  merge_junit "$junit_dir/vm.xml" "${junit_parts[@]}"
  log "JUnit: $junit_dir/vm.xml"
fi
timings+=("total: $((SECONDS - t0)) s")
log "summary:"
for line in "${timings[@]}"; do log "  $line"; done
if [ "$failed" -gt 0 ]; then
  log "$failed of $# command(s) failed"
  exit 1
fi
log "all $# command(s) passed"
