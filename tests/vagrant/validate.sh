#!/usr/bin/env bash
# Check the Vagrantfile without starting anything (offline, about 2 s): Vagrant loads it and
# validates every setting of the machines, the libvirt provider and the ansible provisioners,
# and each playbook the provisioners run must exist. Exit status non-zero on any problem.
#
#   bash tests/vagrant/validate.sh
#
# Needs vagrant and vagrant-libvirt (apt-get install vagrant vagrant-libvirt): without the
# libvirt plugin Vagrant has no usable provider here (no VirtualBox) and refuses to validate.
# The virtualbox block is not checked here: Vagrant validates only the provider it would use.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

log() { printf 'vagrant-validate: %s\n' "$*" >&2; }

command -v vagrant >/dev/null || { log "ERROR: vagrant not found (apt-get install vagrant vagrant-libvirt)"; exit 1; }
# Vagrant would otherwise ask the network for updates and write .vagrant/ into the checkout.
export VAGRANT_CHECKPOINT_DISABLE=1
VAGRANT_DOTFILE_PATH=$(mktemp -d)
export VAGRANT_DOTFILE_PATH
trap 'rm -rf "$VAGRANT_DOTFILE_PATH"' EXIT

failed=0
if ! vagrant validate; then
  log "ERROR: vagrant validate failed (above)"
  failed=1
fi
# Vagrant checks the playbooks only when it provisions; check them now.
playbooks=$(grep -oE '"playbooks/[^"]+\.ya?ml"' Vagrantfile | tr -d '"' | sort -u)
[ -n "$playbooks" ] || { log "ERROR: found no playbooks/*.yml named in the Vagrantfile"; failed=1; }
for playbook in $playbooks; do
  if [ -f "$playbook" ]; then
    log "playbook $playbook exists"
  else
    log "ERROR: the Vagrantfile runs $playbook, which does not exist"
    failed=1
  fi
done
exit "$failed"
