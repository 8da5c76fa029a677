"""Verify the pods of playbooks/docker_pod.yml against the kernel, not the module's word.

Every fact comes from /proc (namespace inodes, NSpid, cgroup membership), the
cgroup filesystem (limits) or a process inside a member; docker is asked only
for each container's host PID. The cgroup checks read the cgroup version from
/sys/fs/cgroup's filesystem type, so the file runs on cgroup v1 (cgroupfs) and
v2 (systemd) hosts alike.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

# The pods the scenario's converge runs: name -> share_pid.
PODS = {"foo": False, "foopid": True}
MEMBERS = ("app", "sidecar")
NAMESPACES = ("net", "ipc", "uts", "pid", "mnt")
MIB = 1024 * 1024
MEMBER_MEMORY = {"app": 256 * MIB, "sidecar": 128 * MIB}
POD_MEMORY = 512 * MIB
POD_CPUS = 1


@dataclass(frozen=True)
class Proc:
    """A container of the pod as the kernel sees it: its host PID and namespace inodes."""

    container: str
    pid: int
    ns: dict[str, int]


def docker(host: Any, *args: str) -> Any:
    """Run the docker CLI on the host with each argument quoted."""
    return host.run(" ".join(["docker"] + ["%s"] * len(args)), *args)


def docker_ok(host: Any, *args: str) -> str:
    result = docker(host, *args)
    assert result.rc == 0, f"docker {' '.join(args)} failed: {result.stderr}"
    return result.stdout


def wait_for(probe: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Return probe()'s first truthy value, or fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value or time.monotonic() > deadline:
            assert value, f"gave up after {timeout} s"
            return value
        time.sleep(0.2)


def read(host: Any, path: str) -> str:
    return host.file(path).content_string.strip()


def proc(host: Any, container: str) -> Proc:
    pid = int(docker_ok(host, "inspect", "--format", "{{.State.Pid}}", container).strip())
    assert pid > 0, f"{container} is not running"
    paths = [f"/proc/{pid}/ns/{ns}" for ns in NAMESPACES]
    inodes = host.check_output(" ".join(["stat", "--dereference", "--format", "%%i"] + ["%s"] * len(paths)), *paths).split()
    return Proc(container, pid, dict(zip(NAMESPACES, map(int, inodes), strict=True)))


def nspid(host: Any, pid: int) -> list[int]:
    """The PID of a process in each PID namespace it is in, outermost first (/proc/PID/status)."""
    line = host.check_output("grep ^NSpid: /proc/%s/status", str(pid))
    return [int(field) for field in line.split()[1:]]


@functools.cache
def cgroup_version(host: Any) -> int:
    fstype = host.check_output("stat --file-system --format %%T %s", "/sys/fs/cgroup")
    assert fstype in ("cgroup2fs", "tmpfs"), f"/sys/fs/cgroup is {fstype}: neither cgroup v2 nor v1"
    return 2 if fstype == "cgroup2fs" else 1


def cgroup_paths(host: Any, pid: int) -> dict[str, str]:
    """Controller (v1, plus '' for a hybrid host's unified line) or '' (v2) -> the process's cgroup path."""
    paths: dict[str, str] = {}
    for line in read(host, f"/proc/{pid}/cgroup").splitlines():
        _hierarchy, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            paths[controller] = path
    return paths


def cgroup_mount(host: Any, controller: str) -> str:
    """Where the hierarchy holding controller is mounted (v1), or the v2 mount for ''."""
    for line in read(host, "/proc/self/mountinfo").splitlines():
        fields, _sep, tail = line.partition(" - ")
        root, mount_point = fields.split()[3:5]
        fstype, _source, options = tail.split()
        wanted = fstype == "cgroup2" if controller == "" else fstype == "cgroup" and controller in options.split(",")
        if wanted:
            assert root == "/", f"the {controller or 'v2'} hierarchy is mounted from {root}: run the verifier in the host's cgroup namespace"
            return mount_point
    raise AssertionError(f"no cgroup hierarchy with {controller or 'cgroup2'} is mounted")


def cgroup_dir(host: Any, pid: int, controller: str) -> str:
    """The directory of the process's cgroup in the hierarchy that has controller."""
    key = controller if cgroup_version(host) == 1 else ""
    return cgroup_mount(host, key) + cgroup_paths(host, pid)[key]


def memory_limit(host: Any, directory: str) -> int | None:
    """The memory limit of a cgroup directory, None for unlimited (v1: a huge number, v2: max)."""
    if cgroup_version(host) == 1:
        value = int(read(host, f"{directory}/memory.limit_in_bytes"))
        return None if value >= 2**62 else value
    value = read(host, f"{directory}/memory.max")
    return None if value == "max" else int(value)


def cpu_limit(host: Any, directory: str) -> float | None:
    """CPUs the cgroup may use (quota / period), None for unlimited."""
    if cgroup_version(host) == 1:
        quota = int(read(host, f"{directory}/cpu.cfs_quota_us"))
        period = int(read(host, f"{directory}/cpu.cfs_period_us"))
    else:
        quota_text, period_text = read(host, f"{directory}/cpu.max").split()
        quota, period = (-1 if quota_text == "max" else int(quota_text)), int(period_text)
    return None if quota < 0 else quota / period


def pod_cgroup_names(pod: str) -> tuple[str, str]:
    """The pod cgroup's last path segment: pod-NAME on cgroupfs, pod\\x2dNAME.slice on systemd ('-' escaped, as systemd-escape does)."""
    return f"pod-{pod}", f"pod\\x2d{pod}.slice"


@pytest.fixture(scope="module")
def procs(host: Any) -> dict[str, dict[str, Proc]]:
    """pod -> sandbox/app/sidecar -> Proc, read once for the module."""
    return {pod: {role: proc(host, f"{pod}_{role}") for role in ("sandbox", *MEMBERS)} for pod in PODS}


# ---------------------------------------------------------------------------
# Namespaces


@pytest.mark.parametrize("pod", PODS)
@pytest.mark.parametrize("member", MEMBERS)
@pytest.mark.parametrize("ns", ["net", "ipc"])
def test_member_shares_net_and_ipc_with_the_sandbox(procs: dict[str, dict[str, Proc]], pod: str, member: str, ns: str) -> None:
    sandbox, joined = procs[pod]["sandbox"], procs[pod][member]
    assert joined.ns[ns] == sandbox.ns[ns], f"{joined.container} is in {ns}:[{joined.ns[ns]}], the sandbox in {ns}:[{sandbox.ns[ns]}]"


@pytest.mark.parametrize("pod", PODS)
@pytest.mark.parametrize("ns", ["uts", "mnt"])
def test_members_have_their_own_uts_and_mnt(procs: dict[str, dict[str, Proc]], pod: str, ns: str) -> None:
    inodes = [procs[pod][role].ns[ns] for role in ("sandbox", *MEMBERS)]
    assert len(set(inodes)) == len(inodes), f"{ns} namespaces of sandbox, {', '.join(MEMBERS)}: {inodes}"


def test_members_have_their_own_pid_namespace_without_share_pid(host: Any, procs: dict[str, dict[str, Proc]]) -> None:
    pod = "foo"
    inodes = [procs[pod][role].ns["pid"] for role in ("sandbox", *MEMBERS)]
    assert len(set(inodes)) == len(inodes), f"pid namespaces of sandbox, {', '.join(MEMBERS)}: {inodes}"
    for member in MEMBERS:
        assert nspid(host, procs[pod][member].pid)[-1] == 1, f"{pod}_{member}'s command is not PID 1 in its own PID namespace"


@pytest.mark.parametrize("member", MEMBERS)
def test_members_join_the_sandbox_pid_namespace_with_share_pid(host: Any, procs: dict[str, dict[str, Proc]], member: str) -> None:
    pod = "foopid"
    sandbox, joined = procs[pod]["sandbox"], procs[pod][member]
    assert joined.ns["pid"] == sandbox.ns["pid"]
    assert read(host, f"/proc/{sandbox.pid}/comm") == "tini"
    assert nspid(host, sandbox.pid)[-1] == 1, "the sandbox's tini is not PID 1 in the pod's PID namespace"
    assert nspid(host, joined.pid)[-1] > 1, f"{joined.container}'s command is PID 1: it has a PID namespace of its own"
    assert docker_ok(host, "exec", joined.container, "cat", "/proc/1/comm").strip() == "tini"


@pytest.mark.parametrize("pod", PODS)
def test_sandbox_and_members_have_the_pods_hostname(host: Any, procs: dict[str, dict[str, Proc]], pod: str) -> None:
    hostnames = {role: host.check_output("nsenter --uts --target %s hostname", str(p.pid)) for role, p in procs[pod].items()}
    assert set(hostnames.values()) == {pod}, hostnames
    assert host.check_output("hostname") != pod, "the test cannot tell the pod's UTS namespaces from the host's"


# ---------------------------------------------------------------------------
# What sharing gives the members


@pytest.mark.parametrize("pod", PODS)
def test_app_answers_the_sidecar_over_localhost_with_the_init_containers_page(host: Any, pod: str) -> None:
    def fetch() -> str:
        return docker(host, "exec", f"{pod}_sidecar", "wget", "-qO-", "http://127.0.0.1/").stdout.strip()

    assert wait_for(fetch) == f"hello from pod {pod}"


@pytest.mark.parametrize("pod", PODS)
def test_shm_segment_made_in_one_member_is_seen_by_the_other(host: Any, procs: dict[str, dict[str, Proc]], pod: str) -> None:
    made = docker_ok(host, "exec", f"{pod}_app", "ipcmk", "-M", "4096")
    match = re.search(r"Shared memory id: (\d+)", made)
    assert match, made
    shmid = match.group(1)
    try:
        seen = docker_ok(host, "exec", f"{pod}_sidecar", "ipcs", "-m")
        # key shmid owner perms bytes nattch status
        rows = [line.split() for line in seen.splitlines()]
        assert [row[1] for row in rows if row[1:2] == [shmid] and row[4:5] == ["4096"]], f"sidecar does not see shmid {shmid}:\n{seen}"
        # and the kernel agrees: the segment is in the namespace both share, not the host's
        kernel = host.check_output("nsenter --ipc --target %s cat /proc/sysvipc/shm", str(procs[pod]["sidecar"].pid))
        assert shmid in [line.split()[1] for line in kernel.splitlines()[1:]], kernel
    finally:
        docker(host, "exec", f"{pod}_app", "ipcrm", "-m", shmid)
    left = docker_ok(host, "exec", f"{pod}_sidecar", "ipcs", "-m")
    assert shmid not in [line.split()[1] for line in left.splitlines() if len(line.split()) > 1], left


# ---------------------------------------------------------------------------
# Cgroups


@pytest.mark.parametrize("pod", PODS)
@pytest.mark.parametrize("member", MEMBERS)
def test_member_memory_limit_is_in_its_cgroup(host: Any, procs: dict[str, dict[str, Proc]], pod: str, member: str) -> None:
    directory = cgroup_dir(host, procs[pod][member].pid, "memory")
    assert memory_limit(host, directory) == MEMBER_MEMORY[member], directory


@pytest.mark.parametrize("pod", PODS)
@pytest.mark.parametrize("role", ["sandbox", *MEMBERS])
def test_container_cgroup_sits_directly_under_the_pod_cgroup(host: Any, procs: dict[str, dict[str, Proc]], pod: str, role: str) -> None:
    paths = cgroup_paths(host, procs[pod][role].pid)
    if cgroup_version(host) == 2:
        paths = {"": paths[""]}
    for controller, path in paths.items():
        parent = path.rsplit("/", 2)
        assert len(parent) == 3 and parent[1] in pod_cgroup_names(pod), f"{pod}_{role} is in {controller or 'v2'}:{path}"


@pytest.mark.parametrize("pod", PODS)
def test_pod_cgroup_carries_the_pod_limits(host: Any, procs: dict[str, dict[str, Proc]], pod: str) -> None:
    memory = cgroup_dir(host, procs[pod]["sandbox"].pid, "memory").rsplit("/", 1)[0]
    cpu = cgroup_dir(host, procs[pod]["sandbox"].pid, "cpu").rsplit("/", 1)[0]
    assert memory.rsplit("/", 1)[1] in pod_cgroup_names(pod), memory
    assert memory_limit(host, memory) == POD_MEMORY, memory
    assert cpu_limit(host, cpu) == POD_CPUS, cpu
