#!/usr/bin/env bash
# PID 1 of the systemd platform: systemd needs /sys and the cgroup hierarchies
# read-write before it starts, which a container without --privileged does not
# get (the same remount as prepare.yml), then systemd takes over as PID 1.
set -euo pipefail
mount -o remount,rw /proc/sys
mount -o remount,rw /sys
while read -r target fstype vfs fs; do
  case $vfs in ro*) ;; *) continue ;; esac
  opts=$(tr , '\n' <<<"$fs" | { grep -v -x -e rw -e ro || true; } | paste -sd, -)
  umount "$target"
  mount -t "$fstype" -o "${opts:-rw}" "$fstype" "$target"
done < <(findmnt -rn -t cgroup,cgroup2 -o TARGET,FSTYPE,VFS-OPTIONS,FS-OPTIONS)
exec /lib/systemd/systemd
