#!/usr/bin/env bash
# Make sure a Docker daemon answers; start one if none does.
# systemd where it is PID 1, else dockerd in the background with its log in
# ${PODLAB_DOCKERD_LOG:-/var/log/podlab-dockerd.log}. Idempotent.
set -euo pipefail
. "$(dirname "$0")/_lib.sh"
as_root "$@"

log=${PODLAB_DOCKERD_LOG:-/var/log/podlab-dockerd.log}

answers() { docker info >/dev/null 2>&1; }

if answers; then
  echo "ensure-dockerd: a Docker daemon already answers; leaving it alone"
  exit 0
fi
command -v dockerd >/dev/null || { echo "ensure-dockerd: dockerd is not installed (apt-get install docker.io)" >&2; exit 1; }

if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
  echo "ensure-dockerd: starting docker.service with systemd"
  systemctl start docker.service
else
  echo "ensure-dockerd: no systemd as PID 1; starting dockerd in the background (log: $log)"
  nohup dockerd >>"$log" 2>&1 </dev/null &
  echo $! >/run/podlab-dockerd.pid
fi

for _ in $(seq 1 60); do
  if answers; then echo "ensure-dockerd: dockerd answers"; exit 0; fi
  sleep 1
done
echo "ensure-dockerd: dockerd did not answer within 60 s; see $log" >&2
tail -n 20 "$log" >&2 || true
exit 1
