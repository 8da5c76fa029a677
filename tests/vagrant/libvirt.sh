#!/usr/bin/env bash
# Start or stop the libvirt daemons the Vagrant tier needs, on a host without systemd.
#
#   bash tests/vagrant/libvirt.sh start   # virtlogd + libvirtd when not running, pool "default"
#   bash tests/vagrant/libvirt.sh stop    # ends only the daemons that "start" started
#
# "start" records the pid of each daemon it starts in
# ${PODLAB_CACHE_DIR:-/var/cache/podlab-playground}/vagrant/run/<daemon>.pid; daemons that were
# already running are not recorded and "stop" leaves them alone. Before ending a libvirtd it
# started, "stop" ends what that libvirtd still runs: domains (destroy) and active networks
# (their dnsmasq), since those outlive the daemon. Both commands are idempotent.
set -euo pipefail

state=${PODLAB_CACHE_DIR:-/var/cache/podlab-playground}/vagrant/run
pool_dir=/var/lib/libvirt/images
export LIBVIRT_DEFAULT_URI=qemu:///system

log() { printf 'libvirt: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# running_pid DAEMON: the pid in the daemon's own pid file when that process is alive and is DAEMON.
running_pid() {
  local pid
  pid=$(cat "/run/$1.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ] || return 1
  echo "$pid"
}

# recorded_pid DAEMON: the pid we recorded when we started DAEMON, if that process is still it.
recorded_pid() {
  local pid
  pid=$(cat "$state/$1.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ] || return 1
  echo "$pid"
}

start_daemon() {
  local daemon=$1 pid
  if pid=$(running_pid "$daemon"); then
    log "$daemon already running (pid $pid); left as it is"
    return 0
  fi
  command -v "$daemon" >/dev/null || die "$daemon not found (apt-get install libvirt-daemon-system)"
  "$daemon" -d
  for _ in $(seq 1 50); do
    pid=$(running_pid "$daemon") && break
    sleep 0.1
  done
  [ -n "${pid:-}" ] || die "$daemon -d did not write a live pid to /run/$daemon.pid"
  echo "$pid" >"$state/$daemon.pid"
  log "started $daemon (pid $pid, recorded in $state/$daemon.pid)"
}

stop_daemon() {
  local daemon=$1 pid
  if ! pid=$(recorded_pid "$daemon"); then
    [ -f "$state/$daemon.pid" ] && log "$daemon we started is gone already"
    rm -f "$state/$daemon.pid"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    [ -d "/proc/$pid" ] || break
    sleep 0.1
  done
  if [ -d "/proc/$pid" ]; then
    log "$daemon (pid $pid) ignored SIGTERM for 10 s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$state/$daemon.pid"
  log "stopped $daemon (pid $pid)"
}

start() {
  mkdir -p "$state"
  start_daemon virtlogd
  start_daemon libvirtd
  local t0=$SECONDS
  until virsh -q version >/dev/null 2>&1; do
    [ $((SECONDS - t0)) -lt 30 ] || die "libvirtd does not answer on $LIBVIRT_DEFAULT_URI after 30 s"
    sleep 0.5
  done
  if ! virsh -q pool-info default >/dev/null 2>&1; then
    mkdir -p "$pool_dir"
    virsh -q pool-define-as default dir --target "$pool_dir" >/dev/null
    log "defined storage pool default ($pool_dir)"
  fi
  if [ "$(virsh -q pool-info default | awk '$1 == "State:" {print $2}')" != running ]; then
    virsh -q pool-start default >/dev/null
    log "started storage pool default"
  fi
}

stop() {
  local dom net
  # Only a libvirtd we started: what it still runs is ours too, and would outlive it.
  if recorded_pid libvirtd >/dev/null && virsh -q version >/dev/null 2>&1; then
    for dom in $(virsh -q list --name); do
      log "destroying domain $dom (still running under the libvirtd we started)"
      virsh -q destroy "$dom" >/dev/null || true
    done
    for net in $(virsh -q net-list --name); do
      log "stopping network $net (its dnsmasq would outlive libvirtd)"
      virsh -q net-destroy "$net" >/dev/null || true
    done
  fi
  stop_daemon libvirtd
  stop_daemon virtlogd
}

[ "$(id -u)" -eq 0 ] || die "must run as root (libvirtd, /run)"
case ${1:-} in
  start) start ;;
  stop) stop ;;
  *) die "usage: $0 start|stop" ;;
esac
