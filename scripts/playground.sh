#!/usr/bin/env bash
# README command 1: set this host up for the playground and run the main job on its
# embedded default (localhost). As root, or as a user with sudo (it re-runs itself with sudo).
# Installs only what the playground needs; extra arguments go to ansible-playbook
# (e.g. -e podlab_pod_name=bar, -i INVENTORY).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_lib.sh
as_root "$@"
scripts/setup.sh
exec .venv/2.19/bin/ansible-playbook playbooks/docker_pod.yml "$@"
