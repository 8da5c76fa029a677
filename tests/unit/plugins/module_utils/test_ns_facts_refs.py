"""ns_facts refuses container and pod references Docker cannot take, before any read; a prefix of several ids is not guessed."""
from __future__ import annotations

import pytest

from ansible_collections.podlab.playground.plugins.module_utils._ns_facts import NsFactsManager

from .test_ns_facts_cri import Failed, FakeModule


@pytest.mark.parametrize("ref", ["", ".", "/", "..", "../../info", "a/b", "-x", "foo\n", "a b"])
def test_a_container_reference_docker_cannot_take_is_refused(ref):
    with pytest.raises(Failed, match=r"ns_facts: containers \[.*\]: give a container's name"):
        NsFactsManager(FakeModule(containers=[ref])).validate()


@pytest.mark.parametrize("ref", ["", "/foo", "../x", "foo\n"])
def test_a_pod_name_docker_pod_cannot_have_is_refused(ref):
    with pytest.raises(Failed, match=r"ns_facts: pods \[.*\]: give a pod's name"):
        NsFactsManager(FakeModule(pods=[ref])).validate()


@pytest.mark.parametrize("ref", ["foo_app", "/foo_app", "4f2a", "4f2a9c0d" * 8])
def test_names_and_ids_pass(ref):
    NsFactsManager(FakeModule(containers=[ref])).validate()


def test_a_prefix_of_two_read_containers_is_not_resolved_to_either():
    manager = NsFactsManager(FakeModule())
    manager.inspected = {"abc123": {"Id": "abc123", "Name": "/one"}, "abc456": {"Id": "abc456", "Name": "/two"}}
    assert manager.find("abc") is None  # Docker decides (and refuses an ambiguous prefix)
    assert manager.find("abc4")["Name"] == "/two"
    assert manager.find("one")["Id"] == "abc123"
    assert manager.find("/two")["Id"] == "abc456"
    assert manager.find("") is None


@pytest.mark.parametrize("proc", ["proc", "relative/proc", "/" + "p" * 256, "/host/" + "x" * 300 + "/proc"])
def test_a_proc_that_cannot_be_a_procfs_mount_is_refused(proc):
    with pytest.raises(Failed, match=r"ns_facts: proc .*: give the absolute path of a procfs mount"):
        NsFactsManager(FakeModule(proc=proc)).validate()


@pytest.mark.parametrize("proc", ["/proc", "/host/proc"])
def test_a_procfs_path_passes(proc):
    NsFactsManager(FakeModule(proc=proc)).validate()


def test_a_recorded_inspect_is_found_by_id_name_and_prefix_and_the_first_of_two_is_kept():
    manager = NsFactsManager(FakeModule())
    first = {"Id": "abc123", "Name": "/one", "State": {"Running": False, "Pid": 0}}
    assert manager.record(first) is first
    assert manager.record({**first, "Name": "/one"}) is first  # the same container read twice (by name and by id)
    assert manager.record(None) is None  # gone between the list and the inspect
    assert manager.find("one") is first and manager.find("/one") is first and manager.find("abc") is first
    assert manager.snapshots == {}  # not running: no process to read
