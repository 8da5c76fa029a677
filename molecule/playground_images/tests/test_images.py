"""Verify the playground images against the real Docker daemon and kernel.

Every container gets a random name and is removed when its test ends. The image
names come from the scenario's inventory (podlab-molecule/*).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

KINDS = ("pause", "busybox", "debian")


def docker(host: Any, *args: str) -> Any:
    """Run the docker CLI on the host with each argument quoted."""
    return host.run(" ".join(["docker"] + ["%s"] * len(args)), *args)


def docker_ok(host: Any, *args: str) -> str:
    result = docker(host, *args)
    assert result.rc == 0, f"docker {' '.join(args)} failed: {result.stderr}"
    return result.stdout


def inspect(host: Any, *args: str) -> Any:
    return json.loads(docker_ok(host, *args))[0]


def wait_for(probe: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Return probe()'s first truthy value, or fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value or time.monotonic() > deadline:
            assert value, f"gave up after {timeout} s"
            return value
        time.sleep(0.2)


def ns_link(host: Any, pid: int, ns: str) -> str:
    """The kernel's namespace identity of a process, e.g. net:[4026532001]."""
    return host.check_output("readlink /proc/%s/ns/%s", str(pid), ns)


def proc_stats(text: str) -> list[tuple[str, str, str, str]]:
    """(pid, comm, state, ppid) of each /proc/PID/stat line."""
    rows = []
    for line in text.strip().splitlines():
        pid, _sep, rest = line.partition(" (")
        comm, _sep, fields = rest.rpartition(") ")
        state, ppid = fields.split()[:2]
        rows.append((pid, comm, state, ppid))
    return rows


@pytest.fixture(scope="module")
def images(host: Any) -> dict[str, str]:
    variables = host.ansible.get_variables()
    return {kind: variables[f"playground_images_{kind}_image"] for kind in KINDS}


@pytest.fixture(scope="module")
def hash_label(host: Any) -> str:
    return host.ansible.get_variables().get("playground_images_hash_label", "io.podlab.content-hash")


@pytest.fixture
def start(host: Any) -> Iterator[Callable[..., tuple[str, int]]]:
    """Start a detached container; return its name and host PID. Removed at teardown."""
    names: list[str] = []

    def _start(*run_args: str) -> tuple[str, int]:
        name = f"podlab-test-{uuid.uuid4().hex[:10]}"
        names.append(name)
        docker_ok(host, "run", "--detach", "--name", name, *run_args)
        pid = inspect(host, "container", "inspect", name)["State"]["Pid"]
        return name, pid

    yield _start
    if names:
        docker(host, "rm", "--force", "--volumes", *names)


@pytest.mark.parametrize("kind", KINDS)
def test_image_carries_content_hash_label(host: Any, images: dict[str, str], hash_label: str, kind: str) -> None:
    labels = inspect(host, "image", "inspect", images[kind])["Config"]["Labels"] or {}
    assert re.fullmatch(r"[0-9a-f]{64}", labels.get(hash_label, "")), labels


def test_pause_runs_tini_as_pid1_over_sleep(host: Any, images: dict[str, str], start: Callable[..., tuple[str, int]]) -> None:
    _name, pid = start(images["pause"])
    assert host.file(f"/proc/{pid}/comm").content_string.strip() == "tini"
    nspid = host.check_output("grep ^NSpid: /proc/%s/status", str(pid)).split()
    assert nspid[-1] == "1", f"tini is not PID 1 in its namespace: {nspid}"

    def children() -> list[str]:
        return host.file(f"/proc/{pid}/task/{pid}/children").content_string.split()

    assert [host.file(f"/proc/{c}/comm").content_string.strip() for c in wait_for(children)] == ["sleep"]


def test_pause_stops_cleanly_on_sigterm(host: Any, images: dict[str, str], start: Callable[..., tuple[str, int]]) -> None:
    name, _pid = start(images["pause"])
    began = time.monotonic()
    docker_ok(host, "stop", "--time", "10", name)
    elapsed = time.monotonic() - began
    state = inspect(host, "container", "inspect", name)["State"]
    assert elapsed < 3, f"docker stop took {elapsed:.1f} s: SIGTERM was not handled, SIGKILL was needed"
    assert state["ExitCode"] == 0, state


def test_pause_reaps_orphans_of_containers_sharing_its_pid_namespace(host: Any, images: dict[str, str], start: Callable[..., tuple[str, int]]) -> None:
    pause, _pid = start(images["pause"])
    # The subshell exits at once: its "sleep 1" is orphaned, re-parented to the
    # namespace's PID 1 (tini), and must be reaped there when it exits.
    script = "(sleep 1 &); cat /proc/[0-9]*/stat; echo ---; sleep 3; cat /proc/[0-9]*/stat; true"
    out = docker_ok(host, "run", "--rm", "--pid", f"container:{pause}", images["busybox"], "sh", "-c", script)
    before, after = (proc_stats(part) for part in out.split("---"))
    assert ("1", "tini") in [(pid, comm) for pid, comm, _state, _ppid in before]
    assert any(comm == "sleep" and ppid == "1" for _pid, comm, _state, ppid in before), before
    zombies = [row for row in after if row[2] == "Z"]
    assert not zombies, f"tini left zombies: {zombies}"


def test_busybox_has_the_playground_applets(host: Any, images: dict[str, str]) -> None:
    applets = "sh sleep httpd wget ipcs ipcmk ipcrm nsenter hostname ps ip mount unshare"
    out = docker_ok(host, "run", "--rm", images["busybox"], "sh", "-c", f"for a in {applets}; do command -v $a || echo MISSING $a; done")
    assert "MISSING" not in out, out


def test_busybox_serves_http_to_a_container_sharing_its_network(host: Any, images: dict[str, str], start: Callable[..., tuple[str, int]]) -> None:
    token = uuid.uuid4().hex
    server, server_pid = start(images["busybox"], "sh", "-c", f"mkdir -p /www && echo {token} > /www/index.html && exec httpd -f -p 80 -h /www")
    client, client_pid = start("--network", f"container:{server}", images["busybox"], "sleep", "300")
    assert ns_link(host, client_pid, "net") == ns_link(host, server_pid, "net")

    def fetch() -> str:
        return docker(host, "exec", client, "wget", "-qO-", "http://127.0.0.1/").stdout.strip()

    assert wait_for(fetch) == token
    # a container in its own network namespace has no such server on 127.0.0.1
    # (busybox's wget -T crashes with SIGSEGV here, so timeout(1) bounds it instead)
    alone = docker(host, "run", "--rm", images["busybox"], "timeout", "2", "wget", "-qO-", "http://127.0.0.1/")
    assert alone.rc == 1 and "Connection refused" in alone.stderr, (alone.rc, alone.stderr)
    assert token not in alone.stdout


def test_busybox_shm_segment_is_visible_through_a_shared_ipc_namespace(host: Any, images: dict[str, str], start: Callable[..., tuple[str, int]]) -> None:
    owner, owner_pid = start("--ipc", "shareable", images["busybox"], "sh", "-c", "ipcmk -M 4096 && exec sleep 300")

    def segments(*run_args: str) -> set[str]:
        out = docker_ok(host, "run", "--rm", *run_args, images["busybox"], "ipcs", "-m")
        # key shmid owner perms bytes nattch
        return {fields[0] for fields in (line.split() for line in out.splitlines()) if fields[4:5] == ["4096"]}

    keys = wait_for(lambda: segments("--ipc", f"container:{owner}"))
    assert len(keys) == 1, keys
    assert not keys & segments(), "a container with its own IPC namespace sees the segment"
    _peer, peer_pid = start("--ipc", f"container:{owner}", images["busybox"], "sleep", "300")
    assert ns_link(host, peer_pid, "ipc") == ns_link(host, owner_pid, "ipc")


def test_debian_runs_python3(host: Any, images: dict[str, str]) -> None:
    suite = host.ansible.get_variables().get("playground_images_debian_suite", "bookworm")
    code = 'import platform, sys; print(sys.version_info[0], platform.freedesktop_os_release()["VERSION_CODENAME"])'
    out = docker_ok(host, "run", "--rm", images["debian"], "python3", "-c", code)
    assert out.split() == ["3", suite]


def test_debian_default_command_keeps_running(host: Any, images: dict[str, str], start: Callable[..., tuple[str, int]]) -> None:
    name, pid = start(images["debian"])
    assert inspect(host, "image", "inspect", images["debian"])["Config"]["Cmd"] == ["sleep", "infinity"]
    time.sleep(1)
    assert inspect(host, "container", "inspect", name)["State"]["Running"]
    assert host.file(f"/proc/{pid}/comm").content_string.strip() == "sleep"
