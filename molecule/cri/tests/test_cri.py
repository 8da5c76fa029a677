"""Verify the pod of playbooks/cri_pod.yml against the kernel, not the module's word.

containerd is asked only which containers are the pod's (ctr, by the podlab.pod label and the
CRI's own annotations) and for their host PIDs; every other fact comes from /proc (namespace
inodes, NSpid, cgroup membership), the cgroup filesystem (limits) or a process inside a member.
The cgroup checks read the cgroup version from /sys/fs/cgroup's filesystem type, so the file
runs on cgroup v1 and v2 hosts with runc's cgroupfs driver.
"""

from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

POD = "foo"
NAMESPACE = "default"
MEMBERS = ("app", "sidecar")
NAMESPACES = ("net", "ipc", "uts", "pid", "mnt")
MIB = 1024 * 1024
MEMBER_MEMORY = {"app": 256 * MIB, "sidecar": 128 * MIB}
POD_MEMORY = 512 * MIB
POD_CPUS = 1
# app and sidecar limit memory only, the init container nothing: kubelet's Burstable class
QOS_DIR = "/kubepods/burstable"


@dataclass(frozen=True)
class Proc:
    """A container of the pod as the kernel sees it: its id, host PID and namespace inodes."""

    name: str
    id: str
    pid: int
    ns: dict[str, int]


def ctr(host: Any, *args: str) -> str:
    return host.check_output(" ".join(["ctr", "--namespace", "k8s.io"] + ["%s"] * len(args)), *args)


def read(host: Any, path: str) -> str:
    return host.file(path).content_string.strip()


def wait_for(probe: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Return probe()'s first truthy value, or fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value or time.monotonic() > deadline:
            assert value, f"gave up after {timeout} s"
            return value
        time.sleep(0.2)


def nspid(host: Any, pid: int) -> list[int]:
    """The PID of a process in each PID namespace it is in, outermost first (/proc/PID/status)."""
    line = host.check_output("grep ^NSpid: /proc/%s/status", str(pid))
    return [int(field) for field in line.split()[1:]]


@pytest.fixture(scope="module")
def pod(host: Any) -> dict[str, Any]:
    """The pod's uid and its running containers (sandbox, app, sidecar) as Procs, read once."""
    ids = ctr(host, "containers", "ls", "--quiet", f'labels."podlab.pod"=={POD}').split()
    tasks = {row.split()[0]: row.split() for row in ctr(host, "tasks", "ls").splitlines()[1:]}
    procs: dict[str, Proc] = {}
    uids = set()
    for cid in ids:
        annotations = json.loads(ctr(host, "containers", "info", cid))["Spec"]["annotations"]
        assert annotations["io.kubernetes.cri.sandbox-name"] == POD
        assert annotations["io.kubernetes.cri.sandbox-namespace"] == NAMESPACE
        uids.add(annotations["io.kubernetes.cri.sandbox-uid"])
        kind = annotations["io.kubernetes.cri.container-type"]
        name = "sandbox" if kind == "sandbox" else annotations["io.kubernetes.cri.container-name"]
        if tasks.get(cid, ["", "0", "none"])[2] != "RUNNING":
            continue  # the init container, done
        pid = int(tasks[cid][1])
        paths = [f"/proc/{pid}/ns/{ns}" for ns in NAMESPACES]
        inodes = host.check_output(" ".join(["stat", "--dereference", "--format", "%%i"] + ["%s"] * len(paths)), *paths).split()
        assert name not in procs, f"two running containers named {name} in pod {POD}: {ids}"
        procs[name] = Proc(name, cid, pid, dict(zip(NAMESPACES, map(int, inodes), strict=True)))
    assert sorted(procs) == sorted(["sandbox", *MEMBERS]), f"running containers of pod {POD}: {sorted(procs)} of {ids}"
    assert len(uids) == 1, f"the pod's containers carry the uids {uids}"
    return {"uid": uids.pop(), "procs": procs}


@pytest.fixture(scope="module")
def host_ns(host: Any) -> dict[str, int]:
    """The namespaces of a process on the host (the verifier's own; PID 1's may be out of reach)."""
    paths = [f"/proc/self/ns/{ns}" for ns in NAMESPACES]
    inodes = host.check_output(" ".join(["stat", "--dereference", "--format", "%%i"] + ["%s"] * len(paths)), *paths).split()
    return dict(zip(NAMESPACES, map(int, inodes), strict=True))


@functools.cache
def cgroup_version(host: Any) -> int:
    fstype = host.check_output("stat --file-system --format %%T %s", "/sys/fs/cgroup")
    assert fstype in ("cgroup2fs", "tmpfs"), f"/sys/fs/cgroup is {fstype}: neither cgroup v2 nor v1"
    return 2 if fstype == "cgroup2fs" else 1


def cgroup_paths(host: Any, pid: int) -> dict[str, str]:
    """Hierarchy line (its controllers, '' for the unified one) -> the process's cgroup path."""
    paths: dict[str, str] = {}
    for line in read(host, f"/proc/{pid}/cgroup").splitlines():
        _hierarchy, controllers, path = line.split(":", 2)
        paths[controllers] = path
    return paths


@functools.cache
def mounted_hierarchies(host: Any) -> frozenset[str]:
    """The /proc/PID/cgroup keys of the hierarchies mounted here: runc places a process only in those
    (a container's view of a hybrid host may lack the unified one)."""
    controllers = {line.split()[0] for line in read(host, "/proc/cgroups").splitlines()[1:]}
    keys = set()
    for line in host.check_output("findmnt -rn -t cgroup,cgroup2 -o FSTYPE,FS-OPTIONS").splitlines():
        fstype, options = line.split()
        if fstype == "cgroup2":
            keys.add("")
        else:
            keys.add(",".join(o for o in options.split(",") if o in controllers or o.startswith("name=")))
    return frozenset(keys)


def cgroup_dir(host: Any, controller: str, path: str) -> str:
    return f"/sys/fs/cgroup{path}" if cgroup_version(host) == 2 else f"/sys/fs/cgroup/{controller}{path}"


def memory_limit(host: Any, path: str) -> int | None:
    """The memory limit of a cgroup, None for unlimited (v1: a huge number, v2: max)."""
    if cgroup_version(host) == 1:
        value = int(read(host, cgroup_dir(host, "memory", path) + "/memory.limit_in_bytes"))
        return None if value >= 2**62 else value
    value = read(host, cgroup_dir(host, "memory", path) + "/memory.max")
    return None if value == "max" else int(value)


def cpu_limit(host: Any, path: str) -> float | None:
    """CPUs the cgroup may use (quota / period), None for unlimited."""
    if cgroup_version(host) == 1:
        quota = int(read(host, cgroup_dir(host, "cpu", path) + "/cpu.cfs_quota_us"))
        period = int(read(host, cgroup_dir(host, "cpu", path) + "/cpu.cfs_period_us"))
    else:
        quota_text, period_text = read(host, cgroup_dir(host, "cpu", path) + "/cpu.max").split()
        quota, period = (-1 if quota_text == "max" else int(quota_text)), int(period_text)
    return None if quota < 0 else quota / period


def exec_in(host: Any, proc: Proc, *argv: str) -> Any:
    """Run argv in the container through containerd (ctr tasks exec), as kubectl exec would."""
    exec_id = f"molecule-{time.monotonic_ns()}"
    return host.run(" ".join(["ctr", "--namespace", "k8s.io", "tasks", "exec", "--exec-id", "%s", "%s"] + ["%s"] * len(argv)),
                    exec_id, proc.id, *argv)


# ---------------------------------------------------------------------------
# Namespaces


@pytest.mark.parametrize("member", MEMBERS)
@pytest.mark.parametrize("ns", ["net", "ipc", "uts"])
def test_member_shares_net_ipc_and_uts_with_the_pause_process(pod: dict[str, Any], member: str, ns: str) -> None:
    pause, joined = pod["procs"]["sandbox"], pod["procs"][member]
    assert joined.ns[ns] == pause.ns[ns], f"{member} is in {ns}:[{joined.ns[ns]}], pause in {ns}:[{pause.ns[ns]}]"


@pytest.mark.parametrize("ns", ["pid", "mnt"])
def test_members_have_their_own_pid_and_mnt(pod: dict[str, Any], ns: str) -> None:
    inodes = [pod["procs"][name].ns[ns] for name in ("sandbox", *MEMBERS)]
    assert len(set(inodes)) == len(inodes), f"{ns} namespaces of pause, {', '.join(MEMBERS)}: {inodes}"


@pytest.mark.parametrize("ns", ["net", "ipc", "uts", "pid", "mnt"])
def test_the_pod_is_not_in_the_hosts_namespaces(pod: dict[str, Any], host_ns: dict[str, int], ns: str) -> None:
    assert pod["procs"]["sandbox"].ns[ns] != host_ns[ns], f"pause is in the host's {ns} namespace"


def test_pause_and_each_member_are_pid_1_of_their_own_pid_namespace(host: Any, pod: dict[str, Any]) -> None:
    for name, proc in pod["procs"].items():
        assert nspid(host, proc.pid)[-1] == 1, f"{name} (host PID {proc.pid}) is not PID 1 in its PID namespace"


def test_the_pod_has_one_hostname_its_name(host: Any, pod: dict[str, Any]) -> None:
    hostnames = {name: host.check_output("nsenter --uts --target %s hostname", str(p.pid)) for name, p in pod["procs"].items()}
    assert set(hostnames.values()) == {POD}, hostnames
    assert host.check_output("hostname") != POD, "the test cannot tell the pod's UTS namespace from the host's"


# ---------------------------------------------------------------------------
# What sharing gives the members


def test_app_answers_the_sidecar_over_localhost_with_the_init_containers_page(host: Any, pod: dict[str, Any]) -> None:
    def fetch() -> str:
        return exec_in(host, pod["procs"]["sidecar"], "wget", "-qO-", "http://127.0.0.1/").stdout.strip()

    assert wait_for(fetch) == f"hello from pod {POD}"


def test_shm_segment_made_in_one_member_is_seen_by_the_other(host: Any, pod: dict[str, Any]) -> None:
    app, sidecar = pod["procs"]["app"], pod["procs"]["sidecar"]
    made = exec_in(host, app, "ipcmk", "-M", "4096")
    match = re.search(r"Shared memory id: (\d+)", made.stdout)
    assert match, made.stdout + made.stderr
    shmid = match.group(1)
    try:
        # the kernel's list of the IPC namespace sidecar is in
        kernel = host.check_output("nsenter --ipc --target %s cat /proc/sysvipc/shm", str(sidecar.pid))
        assert shmid in [line.split()[1] for line in kernel.splitlines()[1:]], kernel
        host_shm = read(host, "/proc/sysvipc/shm")
        assert shmid not in [line.split()[1] for line in host_shm.splitlines()[1:]], "the segment is in the host's IPC namespace"
    finally:
        exec_in(host, app, "ipcrm", "-m", shmid)


# ---------------------------------------------------------------------------
# Cgroups


@pytest.mark.parametrize("name", ["sandbox", *MEMBERS])
def test_container_cgroup_is_a_child_of_the_pod_cgroup_in_every_hierarchy(host: Any, pod: dict[str, Any], name: str) -> None:
    proc = pod["procs"][name]
    wanted = f"{QOS_DIR}/pod{pod['uid']}/{proc.id}"
    paths = {key: path for key, path in cgroup_paths(host, proc.pid).items() if key in mounted_hierarchies(host)}
    assert paths and set(paths.values()) == {wanted}, f"{name} is in {paths}, not {wanted}"


@pytest.mark.parametrize("member", MEMBERS)
def test_member_memory_limit_is_in_its_cgroup(host: Any, pod: dict[str, Any], member: str) -> None:
    path = f"{QOS_DIR}/pod{pod['uid']}/{pod['procs'][member].id}"
    assert memory_limit(host, path) == MEMBER_MEMORY[member], path


def test_pod_cgroup_carries_the_pod_limits(host: Any, pod: dict[str, Any]) -> None:
    path = f"{QOS_DIR}/pod{pod['uid']}"
    assert memory_limit(host, path) == POD_MEMORY, path
    assert cpu_limit(host, path) == POD_CPUS, path
