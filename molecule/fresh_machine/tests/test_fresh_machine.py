"""Verify what README command 1 left on the fresh machine, from the kernel inside it.

The seed's pod foo runs on the Docker daemon scripts/setup.sh started in the
container: its containers' PIDs come from the inner `docker inspect`, their
namespaces from /proc/PID/ns, their limits from the cgroup files, and the page
from a process inside the sidecar. The readers are those of the main
playbook's verifier (molecule/default/tests/test_default.py), loaded from its
file, so both scenarios judge the pod by one definition.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

CHECKOUT = "/srv/playground"
POD = "foo"
ROLES = ("sandbox", "app", "sidecar")
MEMBERS = ("app", "sidecar")


def main_playbook_verifier() -> ModuleType:
    """molecule/default's test_default.py as a module (its tests are not collected here, only its readers used)."""
    path = Path(__file__).resolve().parents[2] / "default" / "tests" / "test_default.py"
    spec = importlib.util.spec_from_file_location("podlab_default_verifier", path)
    assert spec and spec.loader, f"cannot load {path}"
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


kernel = main_playbook_verifier()


@pytest.fixture(scope="module")
def procs(host: Any) -> dict[str, Any]:
    """sandbox/app/sidecar -> the container's host PID (in the fresh machine) and namespace inodes."""
    return {role: kernel.proc(host, f"{POD}_{role}") for role in ROLES}


def test_setup_made_the_venv_and_linked_the_checkout_in_as_the_collection(host: Any) -> None:
    link = host.file(f"{CHECKOUT}/.collections/ansible_collections/podlab/playground")
    assert link.is_symlink
    assert link.linked_to == CHECKOUT
    assert host.file(f"{CHECKOUT}/.venv/2.19/bin/ansible-playbook").is_file


def test_dockerd_is_the_one_setup_started_in_the_background(host: Any) -> None:
    pid = host.file("/run/podlab-dockerd.pid").content_string.strip()
    assert host.file(f"/proc/{pid}/comm").content_string.strip() == "dockerd"
    assert "API listen on /var/run/docker.sock" in host.file("/var/log/podlab-dockerd.log").content_string


@pytest.mark.parametrize("role", ROLES)
def test_pod_container_runs(host: Any, role: str) -> None:
    state = kernel.docker_ok(host, "inspect", "--format", "{{.State.Status}}", f"{POD}_{role}").strip()
    assert state == "running", f"{POD}_{role} is {state}"


@pytest.mark.parametrize("member", MEMBERS)
@pytest.mark.parametrize("ns", ["net", "ipc"])
def test_member_shares_net_and_ipc_with_the_sandbox(procs: dict[str, Any], member: str, ns: str) -> None:
    sandbox, joined = procs["sandbox"], procs[member]
    assert joined.ns[ns] == sandbox.ns[ns], f"{joined.container} is in {ns}:[{joined.ns[ns]}], the sandbox in {ns}:[{sandbox.ns[ns]}]"


@pytest.mark.parametrize("ns", ["pid", "mnt"])
def test_sandbox_and_members_have_their_own_pid_and_mnt(procs: dict[str, Any], ns: str) -> None:
    inodes = {role: procs[role].ns[ns] for role in ROLES}
    assert len(set(inodes.values())) == len(ROLES), f"{ns} namespaces: {inodes}"


def test_pod_is_not_in_the_machines_net_namespace(host: Any, procs: dict[str, Any]) -> None:
    machine = int(host.check_output("stat --dereference --format %s /proc/self/ns/net", "%i"))
    assert procs["sandbox"].ns["net"] != machine


@pytest.mark.parametrize("member", MEMBERS)
def test_member_memory_limit_is_in_its_cgroup(host: Any, procs: dict[str, Any], member: str) -> None:
    directory = kernel.cgroup_dir(host, procs[member].pid, "memory")
    assert kernel.memory_limit(host, directory) == kernel.MEMBER_MEMORY[member], directory


def test_pod_cgroup_holds_the_pod_memory_limit(host: Any, procs: dict[str, Any]) -> None:
    parents = {kernel.cgroup_dir(host, procs[role].pid, "memory").rsplit("/", 1)[0] for role in ROLES}
    assert len(parents) == 1, f"the pod's containers sit in different memory cgroups: {parents}"
    (pod_cgroup,) = parents
    assert pod_cgroup.rsplit("/", 1)[1] in kernel.pod_cgroup_names(POD), pod_cgroup
    assert kernel.memory_limit(host, pod_cgroup) == kernel.POD_MEMORY, pod_cgroup


def test_app_answers_the_sidecar_over_localhost(host: Any) -> None:
    def fetch() -> str:
        return str(kernel.docker(host, "exec", f"{POD}_sidecar", "wget", "-qO-", "http://127.0.0.1:80/").stdout.strip())

    assert kernel.wait_for(fetch) == f"hello from pod {POD}"
