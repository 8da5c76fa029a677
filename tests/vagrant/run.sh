#!/usr/bin/env bash
# The Vagrantfile for real, here: bring up the machine docker-host with the libvirt provider on a
# local box made from the VM tier's image (QEMU software emulation), provisioned by the
# collection's playbooks through Vagrant's ansible provisioner, check it with testinfra over SSH,
# then destroy it. A trap always destroys the machine and stops the libvirt daemons this run
# started (and nothing else).
#
#   bash tests/vagrant/run.sh
#
# As root, after scripts/setup.sh and apt-get install vagrant vagrant-libvirt libvirt-daemon-system.
# Environment:
#   PODLAB_VAGRANT_PYTHON       Python with pytest-testinfra; its bin/ (ansible-playbook) goes
#                               first on PATH (default .venv/2.19/bin/python)
#   PODLAB_BOX                  the box (default local/bookworm, made by build-box.sh)
#   PODLAB_ANSIBLE_EXTRA_VARS   default: build only the pause and busybox images in the guest
#                               (pod foo runs on those; debootstrap under emulation costs minutes)
#   PODLAB_VAGRANT_IDEMPOTENCE  1 (default): provision again and fail when a task changes
#   PODLAB_VAGRANT_JUNIT_DIR    JUnit of the testinfra run (default tests/output/vagrant)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
here=tests/vagrant
machine=docker-host
cache=${PODLAB_CACHE_DIR:-/var/cache/podlab-playground}
run=$cache/vagrant/run
python=${PODLAB_VAGRANT_PYTHON:-.venv/2.19/bin/python}
junit_dir=${PODLAB_VAGRANT_JUNIT_DIR:-tests/output/vagrant}
idempotence=${PODLAB_VAGRANT_IDEMPOTENCE:-1}

log() { printf 'vagrant-tier: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (libvirtd)"
command -v vagrant >/dev/null || die "vagrant not found (apt-get install vagrant vagrant-libvirt libvirt-daemon-system)"
[ -x "$python" ] || die "$python not found (scripts/setup.sh makes it)"
python=$(cd "$(dirname "$python")" && pwd)/$(basename "$python")

PATH="$(dirname "$python"):$PATH"
export PATH
export VAGRANT_CHECKPOINT_DISABLE=1 VAGRANT_DEFAULT_PROVIDER=libvirt LIBVIRT_DEFAULT_URI=qemu:///system
# Vagrant's state (machine ids, the generated inventory) outside the checkout.
export VAGRANT_DOTFILE_PATH=$cache/vagrant/dotfile
export PODLAB_BOX=${PODLAB_BOX:-local/bookworm}
export PODLAB_ANSIBLE_EXTRA_VARS=${PODLAB_ANSIBLE_EXTRA_VARS:-'{"playground_images_build": ["pause", "busybox"]}'}
mkdir -p "$run" "$junit_dir"

t0=$SECONDS
timings=()
# step NAME COMMAND...: run and time one step.
step() {
  local name=$1 t=$SECONDS rc=0
  shift
  log "step: $name"
  "$@" || rc=$?
  timings+=("$([ "$rc" -eq 0 ] && echo PASS || echo "FAIL($rc)") $((SECONDS - t)) s: $name")
  return "$rc"
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local t=$SECONDS
  vagrant destroy -f "$machine" >&2 || log "WARNING: vagrant destroy -f $machine failed"
  timings+=("$((SECONDS - t)) s: vagrant destroy -f $machine")
  bash "$here/libvirt.sh" stop || log "WARNING: stopping libvirt failed"
  timings+=("total: $((SECONDS - t0)) s")
  log "summary:"
  local line
  for line in "${timings[@]}"; do log "  $line"; done
  if [ "$rc" -eq 0 ]; then log "passed"; else log "FAILED (exit $rc)"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "libvirt daemons and storage pool" bash "$here/libvirt.sh" start
step "box $PODLAB_BOX (cached when unchanged)" bash "$here/build-box.sh"
# A machine left by an interrupted run would make "up" resume it instead of starting clean.
vagrant destroy -f "$machine" >/dev/null 2>&1 || true
step "vagrant up $machine --provider=libvirt (boot + docker_host.yml + docker_pod.yml)" \
  vagrant up "$machine" --provider=libvirt
vagrant ssh-config "$machine" >"$run/ssh_config"

pytest_rc=0
step "testinfra over SSH ($here/test_docker_host.py)" \
  env PODLAB_VAGRANT_SSH_CONFIG="$run/ssh_config" PODLAB_VAGRANT_MACHINE="$machine" \
  "$python" -m pytest -p no:cacheprovider -v --junitxml "$junit_dir/vagrant.xml" "$here/test_docker_host.py" \
  || pytest_rc=$?

idempotence_rc=0
if [ "$idempotence" = 1 ]; then
  # Every play recap of a second provisioning must say changed=0.
  reprovision() {
    vagrant provision "$machine" 2>&1 | tee "$run/provision-again.log"
    [ "${PIPESTATUS[0]}" -eq 0 ] || return 1
    if grep -E "^$machine +: .*changed=[1-9]" "$run/provision-again.log"; then
      log "the second provisioning changed something (above); see $run/provision-again.log"
      return 1
    fi
    [ "$(grep -cE "^$machine +: .*changed=0" "$run/provision-again.log")" -ge 2 ] \
      || { log "no play recap for $machine in $run/provision-again.log"; return 1; }
  }
  step "vagrant provision $machine again: idempotent" reprovision || idempotence_rc=$?
fi
[ "$pytest_rc" -eq 0 ] && [ "$idempotence_rc" -eq 0 ]
