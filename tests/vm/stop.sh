#!/usr/bin/env bash
# Stop the QEMU that tests/vm/start.sh started (found only through its pid file) and
# remove the per-run overlay and inventory. The serial console log is kept.
# Idempotent: with nothing running it only tidies the run directory.
set -euo pipefail

cache=${PODLAB_CACHE_DIR:-/var/cache/podlab-playground}/vm
run=${PODLAB_VM_RUN_DIR:-$cache/run}
pidfile=$run/qemu.pid
overlay=$run/overlay.qcow2

log() { printf 'stop: %s\n' "$*" >&2; }

pid=$(cat "$pidfile" 2>/dev/null || true)
if [[ $pid =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$overlay"; then
  # The guest's disk is thrown away, so no clean shutdown is needed: SIGTERM ends QEMU at once.
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    [ -d "/proc/$pid" ] || break
    sleep 0.2
  done
  if [ -d "/proc/$pid" ]; then
    log "QEMU pid $pid ignored SIGTERM for 10 s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  log "stopped QEMU pid $pid"
elif [ -n "$pid" ]; then
  log "pid file names $pid, which is not our QEMU (already gone); nothing to stop"
else
  log "no VM recorded in $pidfile; nothing to stop"
fi
[ -f "$overlay" ] && log "the run wrote $(du -h "$overlay" | cut -f1) to its overlay $overlay (removed)"
rm -f "$pidfile" "$overlay" "$run/inventory.yml" "$run/ssh_config" "$run/qemu.err"
