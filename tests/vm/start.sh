#!/usr/bin/env bash
# Boot the VM tier's image under QEMU (TCG) on a per-run overlay, wait until SSH and
# Docker answer, and write an Ansible inventory for the host "vm".
#
# Run directory: ${PODLAB_VM_RUN_DIR:-${PODLAB_CACHE_DIR:-/var/cache/podlab-playground}/vm/run}
#   overlay.qcow2  per-run disk backed by the cached image (the cache is never written)
#   qemu.pid       the QEMU this script started (stop.sh ends only that one)
#   console.log    the guest's serial console
#   inventory.yml  the inventory (its path is also printed on stdout, last line)
#   ssh_config     the same host for plain ssh: ssh -F .../ssh_config vm
# Exit status 3: a VM from this run directory is already running (it is left alone).
# Timeouts: PODLAB_VM_BOOT_TIMEOUT (SSH, default 300 s), PODLAB_VM_DOCKER_TIMEOUT (default 300 s).
set -euo pipefail

cache=${PODLAB_CACHE_DIR:-/var/cache/podlab-playground}/vm
run=${PODLAB_VM_RUN_DIR:-$cache/run}
boot_timeout=${PODLAB_VM_BOOT_TIMEOUT:-300}
docker_timeout=${PODLAB_VM_DOCKER_TIMEOUT:-300}
memory=${PODLAB_VM_MEMORY:-2048}
cpus=${PODLAB_VM_CPUS:-2}
key=$cache/id_ed25519
pidfile=$run/qemu.pid
overlay=$run/overlay.qcow2
console=$run/console.log
inventory=$run/inventory.yml

log() { printf 'start: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

for f in vmlinuz initrd.img disk.qcow2 stamp id_ed25519; do
  [ -s "$cache/$f" ] || die "$cache/$f missing; build the image first: bash tests/vm/build-image.sh"
done
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found (apt-get install qemu-system-x86 qemu-utils)"

# Is the QEMU recorded in our pid file alive (and really ours, not a recycled pid)?
our_qemu_pid() {
  local pid
  pid=$(cat "$pidfile" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$overlay" || return 1
  echo "$pid"
}

if pid=$(our_qemu_pid); then
  log "ERROR: a VM from $run is already running (QEMU pid $pid); stop it with: bash tests/vm/stop.sh (or set PODLAB_VM_RUN_DIR)"
  exit 3
fi
mkdir -p "$run"
rm -f "$pidfile" "$inventory" "$run/ssh_config"
qemu-img create -q -f qcow2 -b "$cache/disk.qcow2" -F qcow2 "$overlay"

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

started=$SECONDS
port=""
for attempt in 1 2 3 4 5; do
  candidate=$(free_port)
  # -daemonize returns once QEMU is set up, so a port taken in between fails here and is retried.
  if qemu-system-x86_64 \
      -name podlab-vm -nodefaults -display none -no-reboot \
      -accel tcg,thread=multi -cpu max -m "$memory" -smp "$cpus" \
      -kernel "$cache/vmlinuz" -initrd "$cache/initrd.img" \
      -append "root=/dev/vda rw console=ttyS0 net.ifnames=0 mitigations=off" \
      -drive "file=$overlay,if=virtio,format=qcow2,cache=unsafe,discard=unmap" \
      -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$candidate-:22" -device virtio-net-pci,netdev=n0 \
      -device virtio-rng-pci \
      -serial "file:$console" \
      -daemonize -pidfile "$pidfile" 2>"$run/qemu.err"; then
    port=$candidate
    break
  fi
  log "QEMU did not start on port $candidate (attempt $attempt): $(tr '\n' ' ' <"$run/qemu.err")"
done
[ -n "$port" ] || die "QEMU failed to start 5 times; last error in $run/qemu.err"
pid=$(our_qemu_pid) || die "QEMU started but its pid file $pidfile does not name it"
log "QEMU pid $pid, SSH forwarded from 127.0.0.1:$port, console $console"

cat >"$run/ssh_config" <<EOF
Host vm
  HostName 127.0.0.1
  Port $port
  User root
  IdentityFile $key
  IdentitiesOnly yes
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  LogLevel ERROR
  BatchMode yes
  ConnectTimeout 10
EOF
vm_ssh() { ssh -F "$run/ssh_config" vm "$@"; }

fail_with_console() {
  log "ERROR: $1"
  log "last lines of the serial console ($console):"
  tail -n 40 "$console" >&2 || true
  log "the VM is still running (run.sh stops it; by hand: bash tests/vm/stop.sh)"
  exit 1
}

# wait_for WHAT TIMEOUT COMMAND...: retry COMMAND until it succeeds, QEMU dies, or time runs out.
wait_for() {
  local what=$1 timeout=$2 t0=$SECONDS
  shift 2
  until "$@" >/dev/null 2>&1; do
    our_qemu_pid >/dev/null || fail_with_console "QEMU exited while waiting for $what"
    [ $((SECONDS - t0)) -lt "$timeout" ] || fail_with_console "$what did not answer within $timeout s"
    sleep 2
  done
}

wait_for "SSH on 127.0.0.1:$port" "$boot_timeout" vm_ssh true
ssh_at=$((SECONDS - started))
log "SSH answers after $ssh_at s"
wait_for "docker info in the VM" "$docker_timeout" vm_ssh docker info
log "docker answers after $((SECONDS - started)) s"

cat >"$inventory.tmp" <<EOF
# Written by tests/vm/start.sh for the QEMU pid $pid; removed by tests/vm/stop.sh.
all:
  hosts:
    vm:
      ansible_host: 127.0.0.1
      ansible_port: $port
      ansible_user: root
      ansible_ssh_private_key_file: $key
      ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes -o LogLevel=ERROR
      ansible_python_interpreter: /usr/bin/python3
      # One SSH round trip per module instead of three: ~1 s less per task on this slow guest.
      ansible_pipelining: true
EOF
mv "$inventory.tmp" "$inventory"
echo "$inventory"
