# SPDX-License-Identifier: GPL-3.0-or-later
"""Check the Vagrant machine docker-host after the collection provisioned it.

Read from the guest's kernel over SSH: systemd and cgroup v2, Docker on the systemd cgroup
driver (written by the docker_host role), and the seed's pod foo (docker_pod.yml): its
members in the pod's slice, found from the sandbox's /proc/PID/cgroup, with the slice's
limits, and sharing the sandbox's network and IPC namespaces but not its PID namespace.
Run by tests/vagrant/run.sh; by hand, with the machine up:
  vagrant ssh-config docker-host >ssh_config
  PODLAB_VAGRANT_SSH_CONFIG=ssh_config pytest tests/vagrant/test_docker_host.py
"""
from __future__ import annotations

import json
import os
import posixpath
import shlex
from dataclasses import dataclass

import pytest
import testinfra

SSH_CONFIG = os.environ.get("PODLAB_VAGRANT_SSH_CONFIG", "")
MACHINE = os.environ.get("PODLAB_VAGRANT_MACHINE", "docker-host")
POD = os.environ.get("PODLAB_VAGRANT_POD", "foo")
# docker_pod.yml's defaults for pod foo: 512Mi and 1 CPU for the pod, 256Mi app, 128Mi sidecar.
POD_MEMORY = 512 * 2**20
POD_CPU_MAX = "100000 100000"
MEMBER_MEMORY = {"app": 256 * 2**20, "sidecar": 128 * 2**20}

pytestmark = pytest.mark.skipif(
    not SSH_CONFIG, reason="no Vagrant machine: set PODLAB_VAGRANT_SSH_CONFIG (tests/vagrant/run.sh does)"
)


@dataclass(frozen=True)
class Container:
    """A container of the pod as the guest's Docker and kernel see it."""

    cid: str
    name: str
    role: str
    member: str
    pid: int


@pytest.fixture(scope="module")
def guest():
    # sudo: a box that logs in as an unprivileged user (debian/bookworm64) reads /proc as root too.
    return testinfra.get_host(f"ssh://{MACHINE}", ssh_config=SSH_CONFIG, sudo=True)


@pytest.fixture(scope="module")
def pod(guest) -> dict[str, Container]:
    """The pod's running containers by role ("sandbox") or member name ("app", "sidecar")."""
    ids = guest.check_output(f"docker ps -q --no-trunc --filter label=podlab.pod={shlex.quote(POD)}").split()
    assert ids, f"no running container of pod {POD} in the guest: did docker_pod.yml run?"
    containers = {}
    for info in json.loads(guest.check_output(f"docker inspect {' '.join(ids)}")):
        labels = info["Config"]["Labels"] or {}
        container = Container(
            cid=info["Id"],
            name=info["Name"].lstrip("/"),
            role=labels.get("podlab.role", ""),
            member=labels.get("podlab.member", ""),
            pid=info["State"]["Pid"],
        )
        containers["sandbox" if container.role == "sandbox" else container.member] = container
    assert {"sandbox", "app", "sidecar"} <= containers.keys(), f"pod {POD} runs {sorted(containers)}"
    return containers


def cgroup_of(guest, pid: int) -> str:
    """The process's cgroup v2 path, from the kernel's one line "0::PATH"."""
    lines = guest.file(f"/proc/{pid}/cgroup").content_string.splitlines()
    assert len(lines) == 1 and lines[0].startswith("0::"), f"pid {pid} is not in a cgroup v2 unified hierarchy: {lines}"
    return lines[0][3:]


def read(guest, path: str) -> str:
    return guest.file(path).content_string.strip()


def test_systemd_is_pid1_and_cgroup_v2_unified(guest) -> None:
    assert read(guest, "/proc/1/comm") == "systemd"
    assert guest.check_output("stat -fc %T /sys/fs/cgroup") == "cgroup2fs"
    assert {"cpu", "memory", "pids"} <= set(read(guest, "/sys/fs/cgroup/cgroup.controllers").split())


def test_docker_runs_on_the_systemd_cgroup_driver(guest) -> None:
    assert guest.service("docker").is_enabled
    assert guest.service("docker").is_running
    info = guest.check_output("docker info --format '{{.CgroupDriver}} {{.CgroupVersion}}'")
    assert info.split() == ["systemd", "2"]
    # The driver is the docker_host role's choice, written to daemon.json, not Docker's own default.
    daemon = json.loads(guest.file("/etc/docker/daemon.json").content_string)
    assert "native.cgroupdriver=systemd" in daemon.get("exec-opts", [])


def test_pod_members_sit_in_the_pod_slice(guest, pod: dict[str, Container]) -> None:
    sandbox = pod["sandbox"]
    sandbox_cgroup = cgroup_of(guest, sandbox.pid)
    pod_slice, scope = posixpath.split(sandbox_cgroup)
    # systemd driver: the container is docker-ID.scope inside the pod's slice ("-" escaped as \x2d).
    assert scope == f"docker-{sandbox.cid}.scope"
    assert pod_slice.endswith(".slice") and POD in posixpath.basename(pod_slice), sandbox_cgroup
    for name in ("app", "sidecar"):
        member = pod[name]
        assert cgroup_of(guest, member.pid) == f"{pod_slice}/docker-{member.cid}.scope", name
        assert read(guest, f"/sys/fs/cgroup{pod_slice}/docker-{member.cid}.scope/memory.max") == str(MEMBER_MEMORY[name])


def test_pod_slice_holds_the_pod_limits(guest, pod: dict[str, Container]) -> None:
    pod_slice = posixpath.dirname(cgroup_of(guest, pod["sandbox"].pid))
    assert read(guest, f"/sys/fs/cgroup{pod_slice}/memory.max") == str(POD_MEMORY)
    assert read(guest, f"/sys/fs/cgroup{pod_slice}/cpu.max") == POD_CPU_MAX


@pytest.mark.parametrize("member", ["app", "sidecar"])
def test_members_share_net_and_ipc_with_the_sandbox(guest, pod: dict[str, Container], member: str) -> None:
    def namespaces(pid: int) -> dict[str, str]:
        kinds = ("net", "ipc", "pid", "mnt")
        links = guest.check_output("readlink " + " ".join(f"/proc/{pid}/ns/{kind}" for kind in kinds)).split()
        return dict(zip(kinds, links, strict=True))

    sandbox, joined = namespaces(pod["sandbox"].pid), namespaces(pod[member].pid)
    assert joined["net"] == sandbox["net"]
    assert joined["ipc"] == sandbox["ipc"]
    # docker_pod.yml runs pod foo without share_pid: each member has its own PID namespace.
    assert joined["pid"] != sandbox["pid"]
    assert joined["mnt"] != sandbox["mnt"]


def test_sidecar_reaches_the_app_on_the_pods_loopback(guest, pod: dict[str, Container]) -> None:
    # Same network namespace: the app's httpd answers the sidecar on 127.0.0.1 (an IP: busybox's
    # static wget cannot resolve names).
    page = guest.check_output(f"docker exec {pod['sidecar'].name} wget -qO- http://127.0.0.1/")
    assert page == f"hello from pod {POD}"
