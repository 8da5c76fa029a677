#!/usr/bin/env bash
# README command 1: set this host up and run the main job on its embedded default.
# Extra arguments go to ansible-playbook (e.g. -e podlab_pod_name=bar, -i INVENTORY).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/2.19/bin/ansible-playbook playbooks/docker_pod.yml "$@"
