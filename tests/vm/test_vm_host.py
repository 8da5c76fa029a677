# SPDX-License-Identifier: GPL-3.0-or-later
"""Check that the VM tier's guest is what the tier promises.

systemd as PID 1, cgroup v2 unified, Docker with the systemd cgroup driver, and a
``--cgroup-parent`` slice whose memory limit lands in the kernel's cgroup files.
Run by tests/vm/run.sh; by hand: PODLAB_VM_INVENTORY=.../inventory.yml pytest tests/vm.
"""
from __future__ import annotations

import os
import secrets
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import testinfra

INVENTORY = os.environ.get("PODLAB_VM_INVENTORY", "")
SLICE = "podlabvmcheck.slice"

pytestmark = pytest.mark.skipif(
    not INVENTORY, reason="no VM: set PODLAB_VM_INVENTORY (bash tests/vm/run.sh does)"
)


@pytest.fixture(scope="module")
def vm():
    # testinfra's ansible backend reads the inventory with ansible-inventory from PATH;
    # make it the one beside this interpreter (the venv) even when the venv is not activated.
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    return testinfra.get_host(f"ansible://vm?ansible_inventory={INVENTORY}")


def test_pid1_is_systemd(vm) -> None:
    assert vm.file("/proc/1/comm").content_string.strip() == "systemd"


def test_cgroup_v2_unified(vm) -> None:
    assert vm.check_output("stat -fc %T /sys/fs/cgroup") == "cgroup2fs"
    assert "memory" in vm.file("/sys/fs/cgroup/cgroup.controllers").content_string.split()


def test_docker_uses_systemd_driver_and_cgroup_v2(vm) -> None:
    assert vm.service("docker").is_enabled
    assert vm.service("docker").is_running
    info = vm.check_output("docker info --format '{{.CgroupDriver}} {{.CgroupVersion}}'")
    assert info.split() == ["systemd", "2"]


@pytest.fixture
def busybox_image(vm) -> Iterator[str]:
    """A busybox image imported inside the VM from its busybox-static package (no registry)."""
    image = f"podlabvmcheck/busybox:{secrets.token_hex(4)}"
    vm.check_output(
        "set -e; d=$(mktemp -d); mkdir -p $d/bin; cp /bin/busybox $d/bin/; ln -s busybox $d/bin/sh; "
        f"tar -C $d -c . | docker import - {shlex.quote(image)} >/dev/null; rm -rf $d"
    )
    yield image
    vm.run(f"docker rmi {shlex.quote(image)}")


def test_cgroup_parent_slice_memory_limit(vm, busybox_image: str) -> None:
    name = f"podlabvmcheck-{secrets.token_hex(4)}"
    try:
        cid = vm.check_output(
            f"docker run -d --name {name} --cgroup-parent {SLICE} --memory 64m "
            f"{shlex.quote(busybox_image)} /bin/busybox sleep 600"
        )
        pid = vm.check_output(f"docker inspect -f '{{{{.State.Pid}}}}' {cid}")
        scope = f"/sys/fs/cgroup/{SLICE}/docker-{cid}.scope"
        # The kernel's own view: the container's process sits in that scope, limited to 64 MiB.
        assert vm.file(f"/proc/{pid}/cgroup").content_string.strip() == f"0::/{SLICE}/docker-{cid}.scope"
        assert vm.file(f"{scope}/memory.max").content_string.strip() == str(64 * 1024 * 1024)
    finally:
        vm.run(f"docker rm -f {name}")
        vm.run(f"systemctl stop {SLICE}")
    assert not vm.file(f"/sys/fs/cgroup/{SLICE}").exists
