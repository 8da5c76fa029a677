"""Verify the containerd of playbooks/cri_node.yml from the kernel and the runtime, not the role's word.

The process comes from the role's pid file and /proc (its command line, binary,
capabilities), the socket from the file system, the plugins, images and CRI
status from containerd itself (ctr, and the CRI's own Status call through the
host's Python gRPC), the image IDs from Docker, the addresses from the kernel.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

import pytest

PIDFILE = "/run/podlab-cri-containerd.pid"
CONFIG = "/etc/containerd/config.toml"
SOCKET = "/run/containerd/containerd.sock"
DOCKER_CONTAINERD_SOCKET = "/run/docker/containerd/containerd.sock"
CONFLIST = "/etc/cni/podlab.d/10-podlab-cri.conflist"
BRIDGE = "podlab-cri0"
PODMAN_DEFAULT = ipaddress.ip_network("10.88.0.0/16")
# Docker image -> the name containerd gives it on import
IMAGES = {"podlab/pause:1": "docker.io/podlab/pause:1", "podlab/busybox:1": "docker.io/podlab/busybox:1"}
CAP_SYS_RESOURCE = 24
# The collection's own CRI client (plugins/module_utils/_cri), through the link scripts/setup.sh makes.
COLLECTIONS = Path(__file__).resolve().parents[3] / ".collections"
CRI_STATUS = """
import json, sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.podlab.playground.plugins.module_utils._cri.client import CriClient
client = CriClient("unix://" + sys.argv[2], timeout=10)
print(json.dumps({c["type"]: c for c in client.status()["status"]["conditions"]}))
"""


def ctr(host: Any, *args: str, socket: str = SOCKET) -> str:
    return host.check_output(" ".join(["ctr", "--address", "%s"] + ["%s"] * len(args)), socket, *args)


@pytest.fixture(scope="module")
def pid(host: Any) -> int:
    pidfile = host.file(PIDFILE)
    assert pidfile.exists, f"{PIDFILE} is missing: the role did not start containerd"
    return int(pidfile.content_string.strip())


@pytest.fixture(scope="module")
def config(host: Any) -> str:
    return host.file(CONFIG).content_string


def test_containerd_runs_with_the_roles_config(host: Any, pid: int) -> None:
    assert host.file(f"/proc/{pid}/exe").linked_to == "/usr/bin/containerd"
    cmdline = host.file(f"/proc/{pid}/cmdline").content.split(b"\0")
    assert [arg.decode() for arg in cmdline if arg] == ["/usr/bin/containerd", "--config", CONFIG]


def test_socket_is_served_by_the_roles_containerd(host: Any, pid: int) -> None:
    assert host.file(SOCKET).is_socket
    # /proc/net/unix: Num RefCount Protocol Flags Type St Inode Path; flags 00010000 = listening
    rows = [line.split() for line in host.file("/proc/net/unix").content_string.splitlines()[1:]]
    inodes = {row[6] for row in rows if len(row) == 8 and row[7] == SOCKET and row[3] == "00010000"}
    assert inodes, f"nothing listens on {SOCKET}"
    fds = host.check_output("ls -l /proc/%s/fd", str(pid))
    assert any(f"socket:[{inode}]" in fds for inode in inodes), f"containerd {pid} does not hold the listening {SOCKET}"


def test_cri_plugin_loaded(host: Any) -> None:
    rows = [line.split() for line in ctr(host, "plugins", "ls").splitlines()]
    cri = [row for row in rows if row[:2] == ["io.containerd.grpc.v1", "cri"]]
    assert cri and cri[0][-1] == "ok", rows


def test_cri_status_says_runtime_and_network_ready(host: Any) -> None:
    # the CRI's own answer, through the collection's client on Debian's python3-grpcio and python3-protobuf
    conditions = json.loads(host.check_output("/usr/bin/python3 -c %s %s %s", CRI_STATUS, str(COLLECTIONS), SOCKET))
    for condition in ("RuntimeReady", "NetworkReady"):
        assert conditions[condition]["status"], conditions


@pytest.mark.parametrize(("docker_name", "ref"), IMAGES.items())
def test_image_in_k8s_io_is_dockers(host: Any, docker_name: str, ref: str) -> None:
    rows = {row.split()[0]: row.split()[2] for row in ctr(host, "--namespace", "k8s.io", "images", "ls").splitlines()[1:]}
    assert ref in rows, f"{ref} is not in k8s.io: {sorted(rows)}"
    manifest = json.loads(ctr(host, "--namespace", "k8s.io", "content", "get", rows[ref]))
    docker_id = host.check_output("docker image inspect --format {{.Id}} %s", docker_name)
    assert manifest["config"]["digest"] == docker_id


def test_sandbox_image_is_the_imported_pause_image(config: str) -> None:
    assert f'sandbox_image = "{IMAGES["podlab/pause:1"]}"' in config


def test_restrict_oom_score_adj_follows_containerds_capabilities(host: Any, pid: int, config: str) -> None:
    status = host.file(f"/proc/{pid}/status").content_string
    cap_eff = int(next(line.split()[1] for line in status.splitlines() if line.startswith("CapEff:")), 16)
    has_sys_resource = bool(cap_eff >> CAP_SYS_RESOURCE & 1)
    assert f"restrict_oom_score_adj = {str(not has_sys_resource).lower()}" in config


def test_cgroup_driver_fits_the_host(host: Any, config: str) -> None:
    v2 = host.check_output("stat --file-system --format %%T /sys/fs/cgroup") == "cgroup2fs"
    systemd = host.file("/run/systemd/system").is_directory
    assert f"SystemdCgroup = {str(v2 and systemd).lower()}" in config


def test_no_metrics_listener(config: str) -> None:
    assert '[metrics]\n  address = ""' in config


def test_conflist_bridge_of_its_own_on_a_free_subnet(host: Any) -> None:
    conflist = json.loads(host.file(CONFLIST).content_string)
    assert [plugin["type"] for plugin in conflist["plugins"]] == ["bridge", "portmap", "loopback"]
    bridge = conflist["plugins"][0]
    assert bridge["bridge"] == BRIDGE
    subnet = ipaddress.ip_network(bridge["ipam"]["ranges"][0][0]["subnet"])
    # docker0's network as the kernel has it
    docker0 = json.loads(host.check_output("ip -json -4 address show dev docker0"))[0]["addr_info"][0]
    docker_net = ipaddress.ip_network(f"{docker0['local']}/{docker0['prefixlen']}", strict=False)
    assert not subnet.overlaps(docker_net), f"{subnet} overlaps docker0's {docker_net}"
    assert not subnet.overlaps(PODMAN_DEFAULT)
    assert host.file("/etc/cni/podlab.d").is_directory
    assert host.check_output("ls /etc/cni/podlab.d").split() == ["10-podlab-cri.conflist"]


@pytest.mark.parametrize("plugin", ["bridge", "portmap", "loopback", "host-local"])
def test_cni_plugin_installed(host: Any, plugin: str) -> None:
    assert host.file(f"/usr/lib/cni/{plugin}").mode & 0o111


def test_dockers_own_containerd_is_apart_and_answers(host: Any, pid: int) -> None:
    ctr(host, "version", socket=DOCKER_CONTAINERD_SOCKET)
    processes = [line.split() for line in host.check_output("ps -eo pid=,args=").splitlines()]
    docker_containerd = [row[0] for row in processes if "/var/run/docker/containerd/containerd.toml" in row]
    assert docker_containerd, "dockerd's own containerd does not run"
    assert str(pid) not in docker_containerd
