#!/usr/bin/env bash
# Make the VM tier's cached Debian bookworm image (tests/vm/build-image.sh) a local Vagrant box
# for the libvirt provider, and add it to Vagrant as local/bookworm (PODLAB_BOX_NAME).
#
# The box carries its own Vagrantfile with what booting it here needs and a real user's box
# does not: QEMU without KVM (driver "qemu", CPU model qemu64), direct kernel boot (the image
# has no boot loader; kernel and initrd go to /var/lib/libvirt/boot/), root over SSH with the
# VM tier's key. So the project's Vagrantfile stays the one users run with KVM or VirtualBox.
#
# Idempotent: the stamp (the image's stamp + this script) is kept in
# ${PODLAB_CACHE_DIR:-/var/cache/podlab-playground}/vagrant/box.stamp; when it matches and
# Vagrant lists the box, nothing is done. Needs root, vagrant, vagrant-libvirt, tar.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

cache=${PODLAB_CACHE_DIR:-/var/cache/podlab-playground}
vm=$cache/vm
work=$cache/vagrant
box_name=${PODLAB_BOX_NAME:-local/bookworm}
boot_dir=/var/lib/libvirt/boot
kernel=$boot_dir/podlab-bookworm-vmlinuz
initrd=$boot_dir/podlab-bookworm-initrd.img
export VAGRANT_CHECKPOINT_DISABLE=1 LIBVIRT_DEFAULT_URI=qemu:///system
# Vagrant keeps a data directory (.vagrant/) in the working directory unless told otherwise.
export VAGRANT_DOTFILE_PATH=${VAGRANT_DOTFILE_PATH:-$work/dotfile}

log() { printf 'build-box: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (the image's cache, $boot_dir)"
command -v vagrant >/dev/null || die "vagrant not found (apt-get install vagrant vagrant-libvirt)"

bash tests/vm/build-image.sh
mkdir -p "$work" "$boot_dir"
exec 9>"$work/.box.lock"
flock 9

stamp=$( { cat "$vm/stamp"; cat "${BASH_SOURCE[0]}"; } | sha256sum | cut -d' ' -f1)
box_listed() {
  vagrant box list --machine-readable 2>/dev/null \
    | awk -F, -v n="$box_name" '$3 == "box-name" {name = $4} $3 == "box-provider" && name == n && $4 == "libvirt" {found = 1} END {exit !found}'
}
# The kernel and initrd are outside the box (libvirt boots them from $boot_dir): copy when different.
for pair in "vmlinuz:$kernel" "initrd.img:$initrd"; do
  cmp -s "$vm/${pair%%:*}" "${pair#*:}" || install -m 0644 "$vm/${pair%%:*}" "${pair#*:}"
done
if [ "$(cat "$work/box.stamp" 2>/dev/null)" = "$stamp" ] && box_listed; then
  log "box $box_name up to date (stamp $stamp)"
  exit 0
fi

start=$SECONDS
build=$work/build
rm -rf "$build"
mkdir -p "$build"
trap 'rm -rf "$build"' EXIT

virtual_size=$(qemu-img info --output=json "$vm/disk.qcow2" | python3 -c 'import json, sys; print(-(-json.load(sys.stdin)["virtual-size"] // 2**30))')
printf '{"provider": "libvirt", "format": "qcow2", "virtual_size": %s}\n' "$virtual_size" >"$build/metadata.json"
cp "$vm/id_ed25519" "$build/id_ed25519"
cat >"$build/Vagrantfile" <<VAGRANTFILE
# The box's own settings (made by tests/vagrant/build-box.sh): a Debian bookworm image booted
# by libvirt with QEMU's software emulation, no boot loader, root's SSH key in the box.
Vagrant.configure("2") do |config|
  config.vm.provider "libvirt" do |lv|
    lv.driver = "qemu"
    lv.cpu_mode = "custom"
    lv.cpu_model = "qemu64"
    lv.kernel = "$kernel"
    lv.initrd = "$initrd"
    lv.cmd_line = "root=/dev/vda rw console=ttyS0 net.ifnames=0 mitigations=off"
  end
  config.ssh.username = "root"
  config.ssh.private_key_path = File.expand_path("id_ed25519", __dir__)
  config.ssh.insert_key = false
  config.vm.synced_folder ".", "/vagrant", disabled: true
end
VAGRANTFILE
# The box holds a hard link to the cached disk, not a copy: tar reads it once.
ln "$vm/disk.qcow2" "$build/box.img" 2>/dev/null || cp "$vm/disk.qcow2" "$build/box.img"
tar -C "$build" -cf "$build/bookworm.box" metadata.json Vagrantfile id_ed25519 box.img
log "box file made in $((SECONDS - start)) s ($(du -h "$build/bookworm.box" | cut -f1))"

vagrant box add --force --name "$box_name" "$build/bookworm.box" >&2
# vagrant-libvirt copies a box's image into the storage pool once, named after the box and the
# image's mtime; remove the copies of earlier builds of this box (unused ones only: libvirt
# refuses to delete nothing in use, so check the domains first).
if virsh -q version >/dev/null 2>&1 && virsh -q pool-info default >/dev/null 2>&1; then
  prefix="${box_name//\//-VAGRANTSLASH-}_vagrant_box_image_"
  if [ -z "$(virsh -q list --all --name)" ]; then
    for vol in $(virsh -q vol-list default | awk -v p="$prefix" 'index($1, p) == 1 {print $1}'); do
      virsh -q vol-delete --pool default "$vol" >/dev/null && log "removed stale pool volume $vol"
    done
  fi
fi
echo "$stamp" >"$work/box.stamp"
log "box $box_name added in $((SECONDS - start)) s"
