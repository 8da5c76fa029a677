"""Verify the pod the node's containerd serves (side_effect: serve_pod.yml), and ns_facts' view of it.

The node's containerd is the one roles/minikube_node configured through cri_runtime. The pod is
judged by molecule/cri's checks against the kernel (namespaces from /proc, cgroups and limits from
the cgroup files, localhost and shared memory between the members), loaded from their file, so a
pod on a minikube node and one on the playground's CRI runtime are held to one definition. Then
podlab.playground.ns_facts (cri_pods) runs on the node, as a user would run it on a kubelet node,
and what it reports is compared with those kernel readings.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


def cri_verifier() -> ModuleType:
    """molecule/cri's test_cri.py as a module; its tests and fixtures are collected here too."""
    path = Path(__file__).resolve().parents[2] / "cri" / "tests" / "test_cri.py"
    spec = importlib.util.spec_from_file_location("podlab_cri_verifier", path)
    assert spec and spec.loader, f"cannot load {path}"
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


kernel = cri_verifier()
# pytest collects what the module holds: molecule/cri's fixtures (pod, host_ns) and tests
globals().update({name: getattr(kernel, name) for name in dir(kernel) if name.startswith("test_") or name in ("pod", "host_ns")})

POD, MEMBERS, NAMESPACES = kernel.POD, kernel.MEMBERS, kernel.NAMESPACES


@pytest.fixture(scope="module")
def facts(host: Any) -> dict[str, Any]:
    """What ns_facts reports of the pod, run on the node as `ansible -m podlab.playground.ns_facts -a cri_pods=foo`."""
    result = host.ansible("podlab.playground.ns_facts", f"cri_pods={POD}", check=False)
    assert not result.get("warnings"), result.get("warnings")
    return result["ansible_facts"]["podlab_ns"]["pods"][POD]


def test_ns_facts_finds_the_pod_through_the_nodes_cri(facts: dict[str, Any], pod: dict[str, Any]) -> None:
    assert (facts["found"], facts["runtime"], facts["namespace"]) == (True, "cri", kernel.NAMESPACE)
    assert facts["uid"] == pod["uid"]
    assert facts["sandbox"]["process"]["pid"] == pod["procs"]["sandbox"].pid
    assert {name: m["process"]["pid"] for name, m in facts["members"].items()} == {
        name: pod["procs"][name].pid for name in MEMBERS}


@pytest.mark.parametrize("ns", NAMESPACES)
def test_ns_facts_namespaces_are_the_kernels(facts: dict[str, Any], pod: dict[str, Any], ns: str) -> None:
    seen = {"sandbox": facts["sandbox"], **facts["members"]}
    assert {name: c["process"]["namespaces"][ns]["inode"] for name, c in seen.items()} == {
        name: proc.ns[ns] for name, proc in pod["procs"].items()}


def test_ns_facts_share_matrix_is_the_seeds_kubernetes_table(facts: dict[str, Any]) -> None:
    for member in MEMBERS:
        share = facts["share"][member]
        assert {ns: share[ns] for ns in NAMESPACES} == {"net": "pod", "ipc": "pod", "uts": "pod", "pid": "private", "mnt": "private"}
    assert facts["pairs"]["/".join(sorted(MEMBERS))] == ["ipc", "net", "uts"]
    assert set(facts["hostnames"].values()) == {POD}
    assert facts["drift"] == {}


def test_ns_facts_cgroup_tree_is_kubelets(facts: dict[str, Any], pod: dict[str, Any]) -> None:
    cgroup = facts["cgroup"]
    assert cgroup["parent"] == f"{kernel.QOS_DIR}/pod{pod['uid']}"
    assert cgroup["limits"]["memory"] == kernel.POD_MEMORY
    assert sorted(cgroup["children"]) == sorted(["sandbox", *MEMBERS])
    for member in MEMBERS:
        assert cgroup["children"][member]["limits"]["memory"] == kernel.MEMBER_MEMORY[member]
