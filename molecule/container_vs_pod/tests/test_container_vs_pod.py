"""Verify a few of playbooks/container_vs_pod.yml's observations without ns_facts.

The playbook asserts on the module's facts; these tests read the same things
straight from the kernel (/proc/PID/ns, /proc/PID/status, /proc/PID/cgroup, the
cgroup files), asking docker or containerd (ctr) only for each container's host
PID, so a mistake in the module cannot hide a mistake in the playbook. The cgroup version comes from
/sys/fs/cgroup's filesystem type: the file runs on v1 and v2 hosts alike.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest

PREFIX = "cvp"
WEB, PLAIN = f"{PREFIX}_web", f"{PREFIX}_plain"
POD, POD_PID, POD_HOST = f"{PREFIX}-foo", f"{PREFIX}-foopid", f"{PREFIX}-host"
OWN = ("mnt", "uts", "ipc", "pid", "net")
CRI_POD, CRI_POD_PID, CRI_POD_HOST = f"{PREFIX}-foo-cri", f"{PREFIX}-foopid-cri", f"{PREFIX}-host-cri"
MIB = 1024 * 1024


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


# ---------------------------------------------------------------------------
# The Kubernetes side: the CRI pods, found through containerd (ctr), read from the kernel


def ctr(host: Any, *args: str) -> str:
    return host.check_output(" ".join(["ctr", "--namespace", "k8s.io"] + ["%s"] * len(args)), *args)


@functools.cache
def cri_pod(host: Any, pod: str) -> tuple[str, dict[str, tuple[str, int]]]:
    """The pod's uid and its running containers: name ('sandbox' for pause) -> (id, host PID)."""
    tasks = {row.split()[0]: row.split() for row in ctr(host, "tasks", "ls").splitlines()[1:]}
    running: dict[str, tuple[str, int]] = {}
    uids = set()
    for cid in ctr(host, "containers", "ls", "--quiet", f'labels."podlab.pod"=={pod}').split():
        annotations = json.loads(ctr(host, "containers", "info", cid))["Spec"]["annotations"]
        uids.add(annotations["io.kubernetes.cri.sandbox-uid"])
        kind = annotations["io.kubernetes.cri.container-type"]
        name = "sandbox" if kind == "sandbox" else annotations["io.kubernetes.cri.container-name"]
        if tasks.get(cid, ["", "0", "none"])[2] == "RUNNING":
            running[name] = (cid, int(tasks[cid][1]))
    assert len(uids) == 1, f"{pod}: the containers carry the uids {uids}"
    assert "sandbox" in running, f"{pod} has no running pause process: {running}"
    return uids.pop(), running


def stat_inode(host: Any, pid: int | str, ns: str) -> int:
    return int(host.check_output("stat --dereference --format %%i /proc/%s/ns/%s", str(pid), ns))


def status_field(host: Any, path: str, field: str) -> list[str]:
    line = next(row for row in host.file(path).content_string.splitlines() if row.startswith(f"{field}:"))
    return line.split()[1:]


@pytest.mark.parametrize("ns", OWN)
def test_cri_members_share_net_ipc_and_uts_with_pause_and_keep_their_own_mnt_and_pid(host: Any, ns: str) -> None:
    _uid, running = cri_pod(host, CRI_POD)
    pause = stat_inode(host, running["sandbox"][1], ns)
    for member in ("app", "sidecar"):
        same = stat_inode(host, running[member][1], ns) == pause
        assert same == (ns in ("net", "ipc", "uts")), f"{CRI_POD}/{member} {'shares' if same else 'does not share'} {ns} with pause"


def test_cri_share_pid_makes_pause_pid_1_in_every_member(host: Any) -> None:
    _uid, running = cri_pod(host, CRI_POD_PID)
    pause_pid = running["sandbox"][1]
    assert status_field(host, f"/proc/{pause_pid}/status", "NSpid")[-1] == "1"
    pause_name = status_field(host, f"/proc/{pause_pid}/status", "Name")
    for member in ("app", "sidecar"):
        pid = running[member][1]
        assert stat_inode(host, pid, "pid") == stat_inode(host, pause_pid, "pid"), f"{member} is not in pause's PID namespace"
        assert status_field(host, f"/proc/{pid}/status", "NSpid")[-1] != "1"
        # the member's own /proc (its mount namespace's): PID 1 there is pause
        assert status_field(host, f"/proc/{pid}/root/proc/1/status", "Name") == pause_name


@pytest.mark.parametrize("ns", ["net", "ipc", "pid", "uts"])
def test_cri_host_flags_put_the_members_in_the_hosts_namespaces(host: Any, ns: str) -> None:
    _uid, running = cri_pod(host, CRI_POD_HOST)
    for name, (_cid, pid) in running.items():
        assert stat_inode(host, pid, ns) == stat_inode(host, "self", ns), f"{CRI_POD_HOST}/{name} is not in the host's {ns}"


@pytest.mark.parametrize("pod", [CRI_POD, CRI_POD_PID])
def test_cri_cgroup_is_kubepods_qos_pod_uid_with_one_child_per_container(host: Any, pod: str) -> None:
    uid, running = cri_pod(host, pod)
    assert sorted(running) == ["app", "sandbox", "sidecar"]
    parent = cgroup_dir(host, running["sandbox"][1], "memory").rsplit("/", 1)[0]
    assert parent.endswith(f"/kubepods/burstable/pod{uid}"), parent
    for name, (cid, pid) in running.items():
        assert cgroup_dir(host, pid, "memory") == f"{parent}/{cid}", f"{pod}/{name}"
    children = host.check_output("find %s -mindepth 1 -maxdepth 1 -type d", parent).splitlines()
    assert sorted(children) == sorted(f"{parent}/{cid}" for cid, _pid in running.values())


@pytest.mark.parametrize(("member", "limit"), [("app", 256 * MIB), ("sidecar", 128 * MIB)])
def test_cri_member_memory_limit_is_in_its_own_cgroup(host: Any, member: str, limit: int) -> None:
    _uid, running = cri_pod(host, CRI_POD)
    directory = cgroup_dir(host, running[member][1], "memory")
    name = "memory.max" if cgroup_v2(host) else "memory.limit_in_bytes"
    assert int(host.file(f"{directory}/{name}").content_string.strip()) == limit, directory


def test_docker_pod_shares_ipc_net_and_the_cri_pod_ipc_net_uts(host: Any) -> None:
    _uid, running = cri_pod(host, CRI_POD)
    docker = {role: main_pid(host, f"{POD}_{role}") for role in ("app", "sidecar")}
    docker_shared = {ns for ns in OWN if stat_inode(host, docker["app"], ns) == stat_inode(host, docker["sidecar"], ns)}
    cri_shared = {ns for ns in OWN if stat_inode(host, running["app"][1], ns) == stat_inode(host, running["sidecar"][1], ns)}
    assert docker_shared == {"ipc", "net"}
    assert cri_shared == {"ipc", "net", "uts"}
