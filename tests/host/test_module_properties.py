# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Host-level property tests: generated arguments for docker_pod, cri_pod, cgroup_parent and ns_facts, each run as
the real module (in this process) against the real Docker daemon, containerd's CRI and the kernel.

Every example is either refused (the module fails with a msg and no exception text, and the host is as before) or
accepted and works (what it made is really there, read from the kernel; the same arguments with state absent remove it;
the host is then as before). The host is the tier's part of it (podlab_host.Snapshot).

  .venv/2.19/bin/python -m pytest tests/host                             # the suite's fixed examples (profile ci)
  HYPOTHESIS_PROFILE=nightly .venv/2.19/bin/python -m pytest tests/host  # many more, new ones each run
"""
from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import podlab_host as host
import podlab_strategies as strategies
import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis.database import DirectoryBasedExampleDatabase
from podlab_host import Tier

from ansible_collections.podlab.playground.plugins.module_utils._cgroup_parent import ARGUMENT_SPEC as CGROUP_SPEC
from ansible_collections.podlab.playground.plugins.module_utils._ns_facts import ARGUMENT_SPEC as NS_FACTS_SPEC
from ansible_collections.podlab.playground.plugins.module_utils._pod.cri_spec import CRI_ARGUMENT_SPEC, pod_uid
from ansible_collections.podlab.playground.plugins.module_utils._pod.model import LABEL_POD
from ansible_collections.podlab.playground.plugins.module_utils._pod.spec import ARGUMENT_SPEC
from ansible_collections.podlab.playground.plugins.modules import cgroup_parent, cri_pod, docker_pod, ns_facts

T = TypeVar("T")
PREFIX_FACTS = f"{host.PREFIX}facts"  # the pods ns_facts reads (fact_pods)
TRACE = os.environ.get("PODLAB_HOST_TRACE") == "1"  # one line per example on stderr (pytest -s)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
# Examples per test: ci is the suite's (a fixed seed, about a minute in all on 2 cores), nightly an opt-in long run.
EXAMPLES = {
    "ci": {"docker_pod": 70, "cri_pod": 50, "cgroup_parent": 70, "ns_facts": 35},
    "nightly": {"docker_pod": 2000, "cri_pod": 1500, "cgroup_parent": 3000, "ns_facts": 1500},
}[PROFILE]


def tier_settings(module: str) -> settings:
    return settings(
        max_examples=EXAMPLES[module], deadline=None, derandomize=PROFILE == "ci", print_blob=True,
        database=None if PROFILE == "ci" else DirectoryBasedExampleDatabase(str(host.ROOT / "tests" / "output" / "hypothesis-host")),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large,
                               HealthCheck.function_scoped_fixture],  # the session's fixtures, made once, not per example
    )


@dataclass(frozen=True)
class Module:
    """A module under test: how it is run, its options, and how an accepted run is checked against the kernel."""

    name: str
    main: Callable[[], None]
    argument_spec: dict[str, Any]
    verify: Callable[[dict[str, Any], dict[str, Any]], None]
    absent: Callable[[dict[str, Any]], dict[str, Any] | None]  # the arguments that remove what a run made, None: nothing to remove


def core_raises(spec: dict[str, Any], params: dict[str, Any]) -> bool:
    """ansible-core's own validator raises for a few inputs before any of the module's code (the unit tier's note):
    not the module's to catch, so such examples are left out."""
    try:
        ArgumentSpecValidator(spec).validate(params)
    except (TypeError, OverflowError):
        return True
    return False


def own(result: dict[str, Any]) -> None:
    """The IDs and UID a run reported are the tier's from now on (a cgroup named by ID or UID only is recognised so)."""
    pod = result.get("pod") or {}
    for entry in [pod.get("sandbox") or {}, *(pod.get("members") or []), *(pod.get("init_containers") or [])]:
        if entry.get("id"):
            host.OWNED.ids.add(entry["id"])
    if pod.get("uid"):
        host.OWNED.uids.add(pod["uid"])


# -- known gaps -------------------------------------------------------------------------------------------------------
# What this tier found that the modules do not do yet, each recognised exactly: counted and shown in the summary as
# "known gap: ...", not failed. PODLAB_HOST_STRICT=1 fails on them too (to check a fix); delete an entry once fixed.

@dataclass(frozen=True)
class Finding:
    """What went wrong in one example: the host's differences, and the message of a refusal or of a failed absent."""

    differences: list[host.Difference]
    refused: str = ""
    absent_failed: str = ""
    raised: str = ""


def _cgroup_name(module: Module, params: dict[str, Any]) -> str | None:
    name = params.get("name") if module.name == "cgroup_parent" else (params.get("cgroup_parent") or {}).get("name")
    return name.strip("/") if isinstance(name, str) else None


def _only_new_cgroups(finding: Finding, names: set[str]) -> bool:
    """The only difference: new cgroup directories named so (at a hierarchy's root, or under Docker's own cgroup)."""
    below = tuple(f"/{n}" for n in names)
    return bool(finding.differences) and all(d.kind == "cgroups" and not d.gone and all(rel in names or rel.endswith(below) for _h, rel in d.new)
                                             for d in finding.differences)


def _nested_parents_left(module: Module, params: dict[str, Any], finding: Finding) -> bool:
    """cgroup_parent (and a pod's cgroup_parent.name) a/b: present makes a, absent removes a/b only."""
    name = _cgroup_name(module, params)
    if not name or "/" not in name or finding.refused or finding.absent_failed:
        return False
    return _only_new_cgroups(finding, {name.rsplit("/", depth)[0] for depth in range(1, name.count("/") + 1)})


KNOWN_GAPS = {
    # documented (docs/cgroup_parent.md): the parents of a nested name are shared, as kubepods/<qos> is
    "absent leaves the parents that present made for a nested cgroup name": _nested_parents_left,
}
STRICT = os.environ.get("PODLAB_HOST_STRICT") == "1"


def known_gap(module: Module, params: dict[str, Any], finding: Finding) -> str | None:
    if STRICT:
        return None
    return next((gap for gap, applies in KNOWN_GAPS.items() if applies(module, params, finding)), None)


# -- the property -----------------------------------------------------------------------------------------------------

def judge(tier: Tier, module: Module, params: dict[str, Any]) -> None:
    if core_raises(module.argument_spec, params):
        event("left out: ansible-core's validator raises")
        assume(False)
    before = host.take_snapshot()
    start = time.monotonic()
    outcome = None
    verdict = "?"
    try:
        outcome = host.run_module(module.main, params)
        own(outcome.result)
        if outcome.failed:
            problems = outcome.refusal_problems()
            if problems and outcome.error and (gap := known_gap(module, params, Finding([], raised=outcome.error))):
                verdict = f"known gap: {gap}"
                return
            assert not problems, "\n".join(problems)
            differences = host.compare(before, host.take_snapshot(), locks=tier.compare_locks)
            gap = known_gap(module, params, Finding(differences, refused=str(outcome.result.get("msg")))) if differences else None
            assert gap or not differences, f"refused ({outcome.result.get('msg')}), but the host changed: {list(map(str, differences))}"
            verdict = f"known gap: {gap}" if gap else "refused"
            return
        assert "exception" not in outcome.result, outcome.result
        module.verify(params, outcome.result)
        removal = module.absent(params)
        absent_msg = ""
        if removal is not None:
            gone = host.run_module(module.main, removal)
            own(gone.result)
            absent_msg = str(gone.result.get("msg") or gone.error or "") if gone.failed else ""
        differences = host.compare(before, host.take_snapshot(), locks=tier.compare_locks)
        gap = known_gap(module, params, Finding(differences, absent_failed=absent_msg)) if differences or absent_msg else None
        if gap:
            verdict = f"known gap: {gap}"
            return
        assert not absent_msg, f"accepted, but state absent failed: {absent_msg}"
        assert not differences, f"accepted, but after state absent the host is not as before: {list(map(str, differences))}"
        verdict = "accepted"
    finally:
        removed = host.clean(before)
        if verdict != "?":
            tier.count(module.name, verdict)
            event(verdict)
        if TRACE:
            msg = (outcome.result.get("msg") or "") if outcome else ""
            print(f"{module.name} {time.monotonic() - start:5.2f}s {verdict}: {msg[:160]!r} {params!r:.300}{' CLEANED ' if removed else ''}",
                  file=sys.stderr)


# -- what an accepted run made, read from the kernel ------------------------------------------------------------------

def _running_pids(pod: dict[str, Any]) -> list[int]:
    return [m["pid"] for m in pod.get("members") or [] if m.get("pid")]


def _unless_ended(read: Callable[[], T]) -> T | None:
    """What read() gives of a process, None when the process has ended meanwhile (a member whose command was done)."""
    try:
        return read()
    except (FileNotFoundError, ProcessLookupError):
        return None


def _members_share_the_sandbox(pod: dict[str, Any], kinds: tuple[str, ...]) -> None:
    sandbox = pod["sandbox"]["pid"]
    wanted = {kind: host.ns_id(sandbox, kind) for kind in kinds}  # the pause process does not end
    for member in pod["members"]:
        if not member.get("pid"):
            continue
        seen = _unless_ended(lambda pid=member["pid"]: {kind: host.ns_id(pid, kind) for kind in kinds})
        assert seen is None or seen == wanted, f"member {member['name']} (pid {member['pid']}) is not in its sandbox's namespaces: {seen} {wanted}"


def _cgroup_holds(pod: dict[str, Any], needle: str) -> None:
    for path in (pod["cgroup"].get("paths") or {}).values():
        assert Path(path).is_dir(), f"the pod's cgroup {path} is not there"
    for pid in [pod["sandbox"]["pid"], *_running_pids(pod)]:
        paths = _unless_ended(lambda pid=pid: host.cgroup_paths(pid)) if pid != pod["sandbox"]["pid"] else host.cgroup_paths(pid)
        for controllers, path in (paths or {}).items():
            assert needle in path, f"pid {pid} is in {controllers}:{path}, not in the pod's cgroup {needle}"


def _wanted_state(params: dict[str, Any]) -> str:
    state = params.get("state") or "started"
    return "started" if state in ("present", "restarted") else state


def verify_docker_pod(params: dict[str, Any], result: dict[str, Any]) -> None:
    pod = result["pod"]
    if _wanted_state(params) == "absent":
        assert pod["state"] == "absent", pod
        return
    api = host.docker_api()
    sandbox = api.inspect_container(pod["sandbox"]["id"])
    assert sandbox["Config"]["Labels"].get(LABEL_POD) == pod["name"]
    members = {m["name"]: api.inspect_container(m["id"]) for m in pod["members"]}
    assert all(c["Config"]["Labels"].get(LABEL_POD) == pod["name"] for c in members.values())
    if _wanted_state(params) == "stopped":
        assert not sandbox["State"]["Running"] and not any(c["State"]["Running"] for c in members.values()), "state stopped, but running"
        return
    assert sandbox["State"]["Running"] and sandbox["State"]["Pid"] == pod["sandbox"]["pid"], sandbox["State"]
    kinds = ("net", "ipc", *(("pid",) if params.get("share_pid") else ()))
    _members_share_the_sandbox(pod, kinds)
    if params.get("host_network"):
        assert host.ns_id(pod["sandbox"]["pid"], "net") == host.ns_id(os.getpid(), "net"), "host_network, but not the host's network"
    parent = pod["cgroup"].get("parent")
    if parent:
        _cgroup_holds(pod, parent.strip("/"))


def verify_cri_pod(params: dict[str, Any], result: dict[str, Any]) -> None:
    pod = result["pod"]
    if _wanted_state(params) == "absent":
        assert pod["state"] == "absent", pod
        return
    sandbox = host.cri_call(lambda cri: cri.pod_sandbox_status(pod["sandbox"]["id"]))
    assert sandbox, f"the CRI has no sandbox {pod['sandbox']['id']}"
    assert sandbox["status"]["metadata"]["name"] == pod["name"] and sandbox["status"]["metadata"]["uid"] == pod["uid"]
    for member in pod["members"]:
        assert host.cri_call(lambda cri, cid=member["id"]: cri.container_status(cid)), f"the CRI has no container {member['id']}"
    if _wanted_state(params) == "stopped":
        assert sandbox["status"]["state"] == "SANDBOX_NOTREADY", sandbox["status"]["state"]
        return
    assert sandbox["status"]["state"] == "SANDBOX_READY", sandbox["status"]["state"]
    _members_share_the_sandbox(pod, ("net", "ipc", "uts", *(("pid",) if params.get("share_pid") else ())))
    _cgroup_holds(pod, f"pod{pod['uid']}")


def verify_cgroup(params: dict[str, Any], result: dict[str, Any]) -> None:
    cgroup = result["cgroup"]
    paths = {key: Path(p) for key, p in (cgroup.get("paths") or {}).items()}
    if (params.get("state") or "present") == "absent":
        assert not any(p.exists() for p in paths.values()), f"state absent, but {paths} are there"
        return
    assert paths, cgroup
    for path in paths.values():
        assert path.is_dir(), f"cgroup {path} is not there"
    limits = cgroup.get("limits") or {}
    if "memory" in paths and isinstance(limits.get("memory"), int):
        assert int((paths["memory"] / "memory.limit_in_bytes").read_text()) == limits["memory"]
    if "pids" in paths and limits.get("pids_max") is not None:
        assert (paths["pids"] / "pids.max").read_text().strip() == str(limits["pids_max"])


def verify_ns_facts(params: dict[str, Any], result: dict[str, Any]) -> None:
    facts = result["ansible_facts"]["podlab_ns"]
    processes = [*facts.get("processes", {}).values(), *(c.get("process") for c in facts.get("containers", {}).values())]
    for pod in facts.get("pods", {}).values():
        if pod.get("found"):
            processes += [pod["sandbox"].get("process"), *(m.get("process") for m in pod["members"].values())]
    for process in filter(None, processes):
        kernel = _unless_ended(lambda p=process: {kind: host.ns_id(p["pid"], kind) for kind in p["namespaces"]})  # any process may end
        facts_ns = {kind: (ident["device"], ident["inode"]) for kind, ident in process["namespaces"].items()}
        assert kernel is None or kernel == facts_ns, f"pid {process['pid']}: the facts {facts_ns} are not the kernel's {kernel}"
    for name, pod in facts.get("pods", {}).items():
        if not pod.get("found") or PREFIX_FACTS not in name or not (pod["sandbox"] or {}).get("process"):
            continue  # not one of the fixture pods, or a partial view (another proc) that has no processes
        sandbox = pod["sandbox"]["process"]["pid"]
        for member, container in pod["members"].items():
            if container.get("process"):
                assert host.ns_id(container["process"]["pid"], "net") == host.ns_id(sandbox, "net")
                assert pod["share"][member]["net"] == "pod", pod["share"]


def _pod_absent(params: dict[str, Any]) -> dict[str, Any] | None:
    return None if _wanted_state(params) == "absent" else {**params, "state": "absent"}


def _cgroup_absent(params: dict[str, Any]) -> dict[str, Any] | None:
    return None if params.get("state") == "absent" else {**params, "state": "absent"}


DOCKER_POD = Module("docker_pod", docker_pod.main, ARGUMENT_SPEC, verify_docker_pod, _pod_absent)
CRI_POD = Module("cri_pod", cri_pod.main, CRI_ARGUMENT_SPEC, verify_cri_pod, _pod_absent)
CGROUP_PARENT = Module("cgroup_parent", cgroup_parent.main, CGROUP_SPEC, verify_cgroup, _cgroup_absent)
NS_FACTS = Module("ns_facts", ns_facts.main, NS_FACTS_SPEC, verify_ns_facts, lambda params: None)


# The issue's classes, every run (hypothesis' explicit examples), beside the generated ones.
@tier_settings("docker_pod")
@given(params=strategies.docker_pod_params())
@example(params={"name": f"{host.PREFIX}ex", "docker_host": "http://[::1", "containers": [{"name": "app", "image": "podlab/busybox:1"}]})
@example(params={"name": f"{host.PREFIX}ex", "containers": [{"name": "app", "image": "podlab/busybox:1", "memory": "1"}]})
@example(params={"name": f"{host.PREFIX}ex", "containers": [{"name": "app", "image": "podlab/busybox:1", "user": "nosuchuser",
                                                            "command": ["sleep", "600"]}], "volumes": ["data"]})
@example(params={"name": f"{host.PREFIX}ex", "cgroup_parent": {"create": False, "name": f"{host.PREFIX}/../x"}})
@example(params={"name": f"{host.PREFIX}ex", "hostname": "a..b"})
def test_docker_pod_arguments_are_refused_cleanly_or_make_a_pod_that_absent_removes(tier, params):
    judge(tier, DOCKER_POD, params)


@tier_settings("cri_pod")
@given(params=strategies.cri_pod_params())
@example(params={"name": f"{host.PREFIX}ex", "cri_socket": "unix://[::1", "containers": [{"name": "app", "image": "podlab/busybox:1"}]})
@example(params={"name": f"{host.PREFIX}ex", "uid": f"{host.PREFIX}-{'x' * 300}",
                 "containers": [{"name": "app", "image": "podlab/busybox:1", "command": ["sleep", "600"]}]})
def test_cri_pod_arguments_are_refused_cleanly_or_make_a_pod_that_absent_removes(tier, params):
    namespace = params.get("namespace") if isinstance(params.get("namespace"), str) else "default"
    if isinstance(params.get("name"), str):
        host.OWNED.uids.add(pod_uid(namespace, params["name"]))  # the UID the module derives: its cgroup is the tier's
    judge(tier, CRI_POD, params)


@tier_settings("cgroup_parent")
@given(params=strategies.cgroup_parent_params())
@example(params={"name": f"{host.PREFIX}/memory.limit_in_bytes"})
@example(params={"name": f"{host.PREFIX}\n", "memory": "64m"})
@example(params={"name": host.PREFIX, "docker_host": "http://[::1"})
def test_cgroup_parent_arguments_are_refused_cleanly_or_make_a_cgroup_that_absent_removes(tier, params):
    judge(tier, CGROUP_PARENT, params)


@pytest.fixture(scope="module")
def fact_pods(tier: Tier) -> Iterator[dict[str, Any]]:
    """A Docker pod and a CRI pod for ns_facts to read, made before its examples and removed after them."""
    member = {"name": "app", "image": "podlab/busybox:1", "command": ["sleep", "3600"]}
    pods = {}
    for module, name in ((docker_pod, PREFIX_FACTS), (cri_pod, f"{PREFIX_FACTS}cri")):
        made = host.run_module(module.main, {"name": name, "containers": [member]})
        assert not made.failed, made.result.get("msg") or made.error
        own(made.result)
        pods[module] = made.result["pod"]
    docker, cri = pods[docker_pod], pods[cri_pod]
    try:
        yield {
            "pod": docker["name"], "sandbox_pid": docker["sandbox"]["pid"], "sandbox_name": docker["sandbox"]["container"],
            "member_pid": docker["members"][0]["pid"], "member_name": docker["members"][0]["container"], "member_id": docker["members"][0]["id"],
            "member_id12": docker["members"][0]["id"][:12], "member_id3": docker["members"][0]["id"][:3],
            "cri_pod": cri["name"], "cri_sandbox_pid": cri["sandbox"]["pid"], "cri_sandbox_id12": cri["sandbox"]["id"][:12],
            "cri_member_pid": cri["members"][0]["pid"], "cri_member_id": cri["members"][0]["id"],
        }
    finally:
        for module, name in ((docker_pod, PREFIX_FACTS), (cri_pod, f"{PREFIX_FACTS}cri")):
            gone = host.run_module(module.main, {"name": name, "state": "absent"})
            assert not gone.failed, gone.result.get("msg") or gone.error


@tier_settings("ns_facts")
@given(params=strategies.ns_facts_params())
@example(params={"containers": ["", ".", "/"]})
@example(params={"containers": ["../../info"]})
@example(params={"containers": [f"{strategies.REF}member_name"], "docker_host": "http://[::1"})
def test_ns_facts_arguments_are_refused_cleanly_or_give_the_kernels_facts_and_change_nothing(tier, fact_pods, params):
    judge(tier, NS_FACTS, strategies.resolve(params, fact_pods))
