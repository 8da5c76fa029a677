"""Verify a few of playbooks/container_vs_pod.yml's observations without ns_facts.

The playbook asserts on the module's facts; these tests read the same things
straight from the kernel (/proc/PID/ns, /proc/PID/cgroup, the cgroup files),
asking docker only for each container's host PID, so a mistake in the module
cannot hide a mistake in the playbook. The cgroup version comes from
/sys/fs/cgroup's filesystem type: the file runs on v1 and v2 hosts alike.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

PREFIX = "cvp"
WEB, PLAIN = f"{PREFIX}_web", f"{PREFIX}_plain"
POD, POD_PID, POD_HOST = f"{PREFIX}-foo", f"{PREFIX}-foopid", f"{PREFIX}-host"
OWN = ("mnt", "uts", "ipc", "pid", "net")


def main_pid(host: Any, container: str) -> int:
    pid = int(host.check_output("docker inspect --format %s %s", "{{.State.Pid}}", container))
    assert pid > 0, f"{container} is not running"
    return pid


def ns_inode(host: Any, pid: int | str, ns: str) -> str:
    """The namespace's identity as the kernel prints it, e.g. net:[4026532265]."""
    return host.check_output("readlink /proc/%s/ns/%s", str(pid), ns)


@functools.cache
def reference(host: Any) -> str:
    """The host's namespaces: PID 1's, or (in a sandbox where PID 1 is unreadable) the reading shell's own."""
    return "1" if host.run("readlink /proc/1/ns/net").rc == 0 else "self"


@functools.cache
def cgroup_v2(host: Any) -> bool:
    return host.check_output("stat --file-system --format %%T %s", "/sys/fs/cgroup") == "cgroup2fs"


def cgroup_dir(host: Any, pid: int, controller: str) -> str:
    """The directory of the process's cgroup: v2's one hierarchy, or v1's hierarchy of controller."""
    for line in host.file(f"/proc/{pid}/cgroup").content_string.splitlines():
        _hierarchy, controllers, path = line.split(":", 2)
        if cgroup_v2(host) and controllers == "":
            return f"/sys/fs/cgroup{path}"
        if not cgroup_v2(host) and controller in controllers.split(","):
            return f"/sys/fs/cgroup/{controller}{path}"
    raise AssertionError(f"pid {pid} has no {controller} cgroup")


def test_512mb_is_536870912_in_the_kernel_and_half_a_cpu_is_half_the_period(host: Any) -> None:
    pid = main_pid(host, WEB)
    if cgroup_v2(host):
        directory = cgroup_dir(host, pid, "memory")
        memory = host.file(f"{directory}/memory.max").content_string.strip()
        quota, period = host.file(f"{directory}/cpu.max").content_string.split()
    else:
        memory = host.file(f"{cgroup_dir(host, pid, 'memory')}/memory.limit_in_bytes").content_string.strip()
        cpu = cgroup_dir(host, pid, "cpu")
        quota = host.file(f"{cpu}/cpu.cfs_quota_us").content_string.strip()
        period = host.file(f"{cpu}/cpu.cfs_period_us").content_string.strip()
    assert memory == "536870912"
    assert int(quota) * 2 == int(period), f"quota {quota}, period {period}"


@pytest.mark.parametrize("container", [WEB, PLAIN])
@pytest.mark.parametrize("ns", OWN)
def test_lone_container_has_its_own_namespace(host: Any, container: str, ns: str) -> None:
    pid = main_pid(host, container)
    other = main_pid(host, PLAIN if container == WEB else WEB)
    mine = ns_inode(host, pid, ns)
    assert mine != ns_inode(host, reference(host), ns), f"{container} is in the host's {mine}"
    assert mine != ns_inode(host, other, ns), f"{container} shares {mine} with another lone container"


@pytest.mark.parametrize("container", [WEB, PLAIN])
def test_lone_container_is_in_the_hosts_user_namespace(host: Any, container: str) -> None:
    assert ns_inode(host, main_pid(host, container), "user") == ns_inode(host, reference(host), "user")


@pytest.mark.parametrize(("pod", "shared"), [(POD, ("net", "ipc")), (POD_PID, ("net", "ipc", "pid"))])
@pytest.mark.parametrize("member", ["app", "sidecar"])
def test_pod_member_shares_exactly_these_namespaces_with_the_sandbox(host: Any, pod: str, shared: tuple[str, ...], member: str) -> None:
    sandbox, joined = main_pid(host, f"{pod}_sandbox"), main_pid(host, f"{pod}_{member}")
    for ns in OWN:
        same = ns_inode(host, sandbox, ns) == ns_inode(host, joined, ns)
        assert same == (ns in shared), f"{pod}_{member} {'shares' if same else 'does not share'} {ns} with the sandbox"


@pytest.mark.parametrize("ns", ["net", "ipc", "pid"])
def test_host_flags_put_the_pod_in_the_hosts_namespace(host: Any, ns: str) -> None:
    for role in ("sandbox", "app"):
        pid = main_pid(host, f"{POD_HOST}_{role}")
        assert ns_inode(host, pid, ns) == ns_inode(host, reference(host), ns), f"{POD_HOST}_{role} is not in the host's {ns}"


@pytest.mark.parametrize("pod", [POD, POD_PID])
def test_pod_cgroup_holds_one_child_per_container(host: Any, pod: str) -> None:
    pids = {role: main_pid(host, f"{pod}_{role}") for role in ("sandbox", "app", "sidecar")}
    dirs = {role: cgroup_dir(host, pid, "memory") for role, pid in pids.items()}
    parents = {directory.rsplit("/", 1)[0] for directory in dirs.values()}
    assert len(parents) == 1, dirs
    parent = parents.pop()
    children = host.check_output("find %s -mindepth 1 -maxdepth 1 -type d", parent).splitlines()
    assert sorted(children) == sorted(dirs.values())
