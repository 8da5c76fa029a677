#!/usr/bin/env bash
# Set up this checkout on a Debian/Ubuntu host: apt packages, a Docker daemon that answers,
# the virtualenv(s) from the pinned requirements/, and this checkout linked in as the
# collection podlab.playground. Idempotent. As root, or as a user with sudo.
#
#   scripts/setup.sh              what the playground needs (README command 1)
#   scripts/setup.sh --test       also what the test suite needs (README command 2)
#   scripts/setup.sh --no-daemon  do not start dockerd (the quick test tier needs none)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_lib.sh
as_root "$@"
root=$PWD

test_tier=false daemon=true
for arg in "$@"; do
  case $arg in
    --test) test_tier=true ;;
    --no-daemon) daemon=false ;;
    *) echo "setup: unknown argument $arg (use --test, --no-daemon)" >&2; exit 2 ;;
  esac
done

apt_packages=(
  docker.io            # dockerd 20.10 + containerd + runc
  python3-venv         # the controller's virtualenv
  busybox-static tini  # the offline pause and busybox images
)
test_apt_packages=(
  python3-docker       # the modules' dependency on a managed Debian host (SDK 5.0.3): integration tier 2.19
  debootstrap          # offline image: Debian minbase with python3 (molecule/docker_host, fresh_machine)
  cgroup-tools         # cgcreate/cgget, to compare with by hand
  iproute2             # ip netns: a pinned network namespace in ns_facts' integration target
  shellcheck           # ansible-test sanity
  qemu-system-x86 qemu-utils e2fsprogs openssh-client  # the cgroup v2 + systemd VM tier (tests/vm)
  chromium             # the pod picture's screenshot test (tests/integration/targets/report)
  vagrant vagrant-libvirt libvirt-daemon-system  # the Vagrantfile: validated in the suite, brought up by tests/vagrant/run.sh
  time                 # GNU time: the module's peak RSS in bench/scale.py
  rsync git make
)
$test_tier && apt_packages+=("${test_apt_packages[@]}")

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: apt packages present"
fi

if $daemon; then
  scripts/ensure-dockerd.sh
fi

# requirements_text FILE: the file and the files it includes with -r, which decide what is installed.
requirements_text() {
  cat "$1"
  sed -n 's/^-r[[:space:]]*//p' "$1" | while read -r included; do requirements_text "$(dirname "$1")/$included"; done
}

# venv_for TIER PYTHON REQUIREMENTS: create .venv/TIER and pip install REQUIREMENTS into it,
# only when they changed since they were last installed there.
venv_for() {
  local venv=".venv/$1" python=$2 req=$3 stamp
  stamp="$venv/.installed-$(basename "$req")"
  if [ ! -x "$venv/bin/python" ]; then
    echo "setup: creating $venv with $python"
    "$python" -m venv "$venv"
  fi
  if ! requirements_text "$req" | cmp -s - "$stamp"; then
    echo "setup: pip install -r $req into $venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$req"
    requirements_text "$req" >"$stamp"
    # what it includes is installed too: a later run that asks for only that installs nothing
    sed -n 's/^-r[[:space:]]*//p' "$req" | while read -r included; do
      requirements_text "$(dirname "$req")/$included" >"$venv/.installed-$included"
    done
  fi
}

if $test_tier; then
  venv_for 2.19 /usr/bin/python3 requirements/ansible-2.19.txt
  if py312=$(scripts/find-python312.sh); then
    venv_for 2.21 "$py312" requirements/ansible-2.21.txt
  else
    echo "setup: no Python 3.12 found; the ansible-core 2.21 tier will be skipped (set PODLAB_PYTHON312)"
  fi
else
  venv_for 2.19 /usr/bin/python3 requirements/playground.txt
fi

# ansible.cfg points collections_path at .collections
mkdir -p .collections/ansible_collections/podlab
ln -sfn "$root" .collections/ansible_collections/podlab/playground
echo "setup: done"
