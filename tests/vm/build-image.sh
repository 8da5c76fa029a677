#!/usr/bin/env bash
# Build the VM tier's Debian bookworm image (systemd, cgroup v2, docker.io baked in)
# into ${PODLAB_CACHE_DIR:-/var/cache/podlab-playground}/vm/, outside the checkout.
#
# Output: vmlinuz, initrd.img, disk.qcow2, id_ed25519{,.pub}, stamp.
# The stamp holds a hash of this script and the public key: when both are unchanged
# and the files exist, this is a no-op; any change to the recipe rebuilds.
# Needs root, debootstrap, qemu-utils (qemu-img), e2fsprogs (mkfs.ext4 -d), ssh-keygen.
set -euo pipefail

cache=${PODLAB_CACHE_DIR:-/var/cache/podlab-playground}/vm
suite=bookworm
# The mirrors this host's apt uses for the suite (apt-get indextargets), unless given.
# shellcheck disable=SC2016 # $(REPO_URI) is apt's field syntax, not the shell's
host_mirror() { apt-get indextargets --format '$(REPO_URI) $(RELEASE)' | awk -v r="$1" '$2 == r {sub("/$", "", $1); print $1; exit}'; }
mirror=${PODLAB_VM_MIRROR:-$(host_mirror "$suite")}
security_mirror=${PODLAB_VM_SECURITY_MIRROR:-$(host_mirror "$suite-security")}
if [ -z "$mirror" ] || [ -z "$security_mirror" ]; then
  echo "build-image: this host's apt has no $suite or $suite-security source; set PODLAB_VM_MIRROR and PODLAB_VM_SECURITY_MIRROR" >&2
  exit 1
fi
disk_size=10G

# What ENVIRONMENT-VM.md measured as a bootable systemd host, installed by debootstrap,
# minus ifupdown and isc-dhcp-client: systemd-networkd does DHCP (ifupdown's units wait for
# "udevadm settle" and AppArmor, which held SSH back ~20 s under TCG).
base_packages=(
  linux-image-amd64 systemd-sysv systemd udev openssh-server python3 sudo
  iproute2 ca-certificates dbus kmod netbase procps
)
# What the collection's modules and tests need on a Docker host, installed by apt in the chroot.
# apparmor: a recommend of docker.io that real Debian Docker hosts have; the kernel enables it.
# containerd's CRI plugin, the CNI plugins and the CRI client's libraries: what the cri_runtime
# role would install, in the image so that the cri_pod target does not spend minutes of TCG on apt.
extra_packages=(docker.io python3-docker cgroup-tools util-linux busybox-static tini apparmor
                containerd containernetworking-plugins python3-grpcio python3-protobuf)
# Timers that would wake a slow TCG guest for nothing during tests.
masked_units=(apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer)

# fd 3: the caller's stderr, so messages from traps still reach it inside redirected blocks.
exec 3>&2
log() { printf 'build-image: %s\n' "$*" >&3; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, chroot, mounts)"
for tool in debootstrap qemu-img mkfs.ext4 ssh-keygen flock findmnt sha256sum; do
  command -v "$tool" >/dev/null || die "$tool not found (apt-get install debootstrap qemu-utils e2fsprogs openssh-client util-linux)"
done

mkdir -p "$cache"
# One builder at a time; concurrent callers wait and then see the fresh stamp.
exec 9>"$cache/.build.lock"
flock 9

key=$cache/id_ed25519
if [ ! -s "$key" ] || [ ! -s "$key.pub" ]; then
  rm -f "$key" "$key.pub"
  ssh-keygen -q -t ed25519 -N '' -C podlab-vm-tier -f "$key"
  log "generated SSH key $key"
fi

recipe_hash=$(cat "${BASH_SOURCE[0]}" "$key.pub" | sha256sum | cut -d' ' -f1)
outputs=(vmlinuz initrd.img disk.qcow2)
up_to_date() {
  [ "$(cat "$cache/stamp" 2>/dev/null)" = "$recipe_hash" ] || return 1
  local f
  for f in "${outputs[@]}"; do [ -s "$cache/$f" ] || return 1; done
}
if up_to_date; then
  log "image up to date in $cache (recipe $recipe_hash)"
  exit 0
fi

work=$cache/build
rootfs=$work/rootfs

# Unmount everything below the rootfs, deepest first; never rm -rf through a live bind mount.
unmount_rootfs() {
  local targets t
  [ -d "$rootfs" ] || return 0
  targets=$(findmnt -rn -o TARGET | awk -v r="$rootfs" '$0 == r || index($0, r "/") == 1' | sort -r)
  for t in $targets; do
    umount "$t" 2>/dev/null || umount -l "$t" || true
  done
  ! findmnt -rn -o TARGET | awk -v r="$rootfs" '$0 == r || index($0, r "/") == 1 {found=1} END {exit !found}'
}
remove_work() {
  if unmount_rootfs; then
    rm -rf "$work"
  else
    log "WARNING: mounts remain below $rootfs; left $work in place"
  fi
}
cleanup() {
  local rc=$?
  remove_work
  [ "$rc" -eq 0 ] || log "failed (exit $rc); partial build removed"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A previous build that was killed hard may have left its tree (and mounts) behind.
remove_work
mkdir -p "$work"
start=$SECONDS

log "debootstrap $suite from $mirror into $rootfs"
debootstrap --variant=minbase --include="$(IFS=,; echo "${base_packages[*]}")" \
  "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || { tail -n 30 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
log "debootstrap done after $((SECONDS - start)) s"

# The initrd built by debootstrap is what the host boots; never rebuild it in the guest
# (an update-initramfs under TCG takes ~10 min).
sed -i 's/^update_initramfs=.*/update_initramfs=no/' "$rootfs/etc/initramfs-tools/update-initramfs.conf"

cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $mirror $suite main
deb $mirror $suite-updates main
deb $security_mirror $suite-security main
EOF

# Packages installed in a chroot must not start services on the build host.
printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
mount -t proc proc "$rootfs/proc"
mount -t sysfs sysfs "$rootfs/sys"
mount --bind /dev "$rootfs/dev"
mount --bind /dev/pts "$rootfs/dev/pts"
in_root() { chroot "$rootfs" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"; }

log "apt-get install ${extra_packages[*]}"
if ! { in_root apt-get -q update && in_root apt-get -q -y install --no-install-recommends "${extra_packages[@]}"; } >"$work/apt.log" 2>&1; then
  tail -n 30 "$work/apt.log" >&2
  die "apt-get install in the chroot failed"
fi
in_root apt-get -q clean
# Docker starts at boot through systemd (the package enables it; make sure).
in_root systemctl enable docker.service containerd.service systemd-networkd.service >/dev/null 2>&1
in_root systemctl mask "${masked_units[@]}" >/dev/null 2>&1
rm -f "$rootfs/usr/sbin/policy-rc.d"
unmount_rootfs || die "could not unmount the chroot's proc/sys/dev"
log "packages installed after $((SECONDS - start)) s"

# Guest configuration: name, disk, network (slirp's DHCP and DNS), root's SSH key.
echo podlab-vm >"$rootfs/etc/hostname"
cat >"$rootfs/etc/hosts" <<'EOF'
127.0.0.1 localhost
127.0.1.1 podlab-vm
::1 localhost ip6-localhost ip6-loopback
EOF
echo '/dev/vda / ext4 defaults,errors=remount-ro 0 1' >"$rootfs/etc/fstab"
# DHCP from slirp through systemd-networkd; net.ifnames=0 on the kernel command line keeps the name eth0.
cat >"$rootfs/etc/systemd/network/10-podlab-dhcp.network" <<'EOF'
[Match]
Name=eth0 en*

[Network]
DHCP=ipv4
EOF
echo 'nameserver 10.0.2.3' >"$rootfs/etc/resolv.conf"
install -d -m 0700 "$rootfs/root/.ssh"
install -m 0600 "$key.pub" "$rootfs/root/.ssh/authorized_keys"
cat >"$rootfs/etc/ssh/sshd_config.d/podlab.conf" <<'EOF'
PermitRootLogin prohibit-password
PasswordAuthentication no
UseDNS no
EOF

kernels=("$rootfs"/boot/vmlinuz-*)
initrds=("$rootfs"/boot/initrd.img-*)
if [ ${#kernels[@]} -ne 1 ] || [ ! -f "${kernels[0]}" ] || [ ${#initrds[@]} -ne 1 ] || [ ! -f "${initrds[0]}" ]; then
  die "expected one kernel and one initrd in $rootfs/boot, found: ${kernels[*]} ${initrds[*]}"
fi
cp "${kernels[0]}" "$work/vmlinuz"
cp "${initrds[0]}" "$work/initrd.img"

log "making the $disk_size ext4 disk"
truncate -s "$disk_size" "$work/disk.raw"
mkfs.ext4 -q -F -L podlab-root -d "$rootfs" "$work/disk.raw"
qemu-img convert -O qcow2 "$work/disk.raw" "$work/disk.qcow2"
rm -f "$work/disk.raw"

# Replace the outputs by rename (a running VM keeps its open backing file), stamp last.
rm -f "$cache/stamp"
for f in "${outputs[@]}"; do mv -f "$work/$f" "$cache/$f"; done
echo "$recipe_hash" >"$cache/stamp"
log "image built in $((SECONDS - start)) s: $cache ($(du -sh "$cache" | cut -f1))"
