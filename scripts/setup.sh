#!/usr/bin/env bash
# Set up this checkout on a Debian/Ubuntu host (root or sudo): apt packages,
# a Docker daemon that answers, the virtualenvs with pinned requirements, and
# this checkout linked in as the collection podlab.playground. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

sudo_=""
[ "$(id -u)" -eq 0 ] || sudo_=sudo

apt_packages=(
  docker.io            # dockerd 20.10 + containerd + runc
  python3-docker       # the modules' dependency on a managed Debian host (SDK 5.0.3)
  python3-venv
  busybox-static tini  # offline images: pause and busybox
  debootstrap          # offline image: Debian minbase with python3
  cgroup-tools         # cgcreate/cgget, to compare with by hand
  util-linux           # lsns, nsenter
  iproute2             # ip netns: a pinned network namespace in ns_facts' integration target
  shellcheck           # ansible-test sanity
  qemu-system-x86 qemu-utils e2fsprogs openssh-client  # the cgroup v2 + systemd VM tier (tests/vm)
  chromium             # the pod picture's screenshot test (tests/integration/targets/report)
  vagrant vagrant-libvirt libvirt-daemon-system  # the Vagrantfile: validated in the suite, brought up by tests/vagrant/run.sh
  rsync git make
)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: apt-get install ${missing[*]}"
  $sudo_ env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: apt packages present"
fi

$sudo_ "$root/scripts/ensure-dockerd.sh"

# venv_for TIER PYTHON: create .venv/TIER and install requirements/ansible-TIER.txt,
# only when the requirements changed since the last install.
venv_for() {
  local python=$2 venv=".venv/$1" req="requirements/ansible-$1.txt"
  if [ ! -x "$venv/bin/python" ]; then
    echo "setup: creating $venv with $python"
    "$python" -m venv "$venv"
  fi
  if ! cmp -s "$req" "$venv/.installed-requirements"; then
    echo "setup: pip install -r $req into $venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$req"
    cp "$req" "$venv/.installed-requirements"
  fi
}

venv_for 2.19 /usr/bin/python3
if py312=$(scripts/find-python312.sh); then
  venv_for 2.21 "$py312"
else
  echo "setup: no Python 3.12 found; the ansible-core 2.21 tier will be skipped (set PODLAB_PYTHON312)"
fi

# ansible.cfg points collections_path at .collections
mkdir -p .collections/ansible_collections/podlab
ln -sfn "$root" .collections/ansible_collections/podlab/playground
echo "setup: done (activate with: . .venv/2.19/bin/activate)"
