"""Docker's cgroup parents and the cgroup names they were made from: a pod whose containers predate the podlab.cgroup
label still names its old cgroup, confined to the cgroup root as a labelled name is."""
from __future__ import annotations

import pytest

from ansible_collections.podlab.playground.plugins.module_utils._cgroup.errors import CgroupError
from ansible_collections.podlab.playground.plugins.module_utils._pod.docker import cgroup_of_parent, cgroup_parent_of, unlabelled_cgroups
from ansible_collections.podlab.playground.plugins.module_utils._pod.model import LABEL_CGROUP, LABEL_POD, ContainerView


@pytest.mark.parametrize(("name", "driver", "parent"), [
    ("pod-foo", "cgroupfs", "/pod-foo"),
    ("/pod-foo", "cgroupfs", "/pod-foo"),
    ("podlab/pod-foo", "cgroupfs", "/podlab/pod-foo"),
    ("pod-foo", "systemd", "pod\\x2dfoo.slice"),
    ("podlab/pod-foo", "systemd", "podlab-pod\\x2dfoo.slice"),
    ("mine.slice", "systemd", "mine.slice"),
])
def test_the_parent_docker_is_given_and_back(name, driver, parent):
    assert cgroup_parent_of(name, driver) == parent
    back = cgroup_of_parent(parent, driver)
    assert back is not None
    assert cgroup_parent_of(back, driver) == parent  # the same cgroup, whichever way it was written


@pytest.mark.parametrize(("parent", "driver"), [
    ("", "cgroupfs"),
    ("", "systemd"),
    ("/", "cgroupfs"),
    ("/../escape", "cgroupfs"),
    ("/a/../../b", "cgroupfs"),
    ("/pod/memory.limit_in_bytes", "cgroupfs"),
    ("/pod/tasks", "cgroupfs"),
    ("/system.slice", "cgroupfs"),
    ("/pod-foo\n", "cgroupfs"),
    ("/pod foo", "cgroupfs"),
    ("system.slice", "systemd"),
    ("system-podlab.slice", "systemd"),
    ("user.slice", "systemd"),
    ("machine.slice", "systemd"),
    ("-.slice", "systemd"),
    ("pod-foo", "systemd"),  # not a slice: Docker's systemd driver takes none other
    ("a--b.slice", "systemd"),
    ("pod\\x5cfoo.slice", "systemd"),  # another escape than the module writes
    ("pod.slice\n", "systemd"),
])
def test_a_parent_outside_what_the_module_makes_names_no_cgroup(parent, driver):
    assert cgroup_of_parent(parent, driver) is None


def test_a_relative_cgroupfs_parent_is_below_the_root():
    assert cgroup_of_parent("pod-foo", "cgroupfs") == "pod-foo"


def test_names_the_module_refuses_have_no_parent():
    with pytest.raises(CgroupError):
        cgroup_parent_of("../x", "cgroupfs")


def container(parent: str, label: str | None = None) -> ContainerView:
    labels = {LABEL_POD: "foo", **({LABEL_CGROUP: label} if label is not None else {})}
    return ContainerView(id=parent or "none", name="foo_x", labels=labels, status="running", raw={"HostConfig": {"CgroupParent": parent}})


@pytest.mark.parametrize(("containers", "driver", "known", "found"), [
    # made before the label: the parent names the old cgroup
    ([container("/old")], "cgroupfs", {"new"}, {"old"}),
    ([container("old\\x2dpod.slice")], "systemd", {"new"}, {"old-pod"}),
    # the pod's own cgroup now, however written, and a labelled one, are not others
    ([container("/new")], "cgroupfs", {"new"}, set()),
    ([container("/podlab/new")], "cgroupfs", {"/podlab/new"}, set()),
    ([container("new.slice")], "systemd", {"new"}, set()),
    # a labelled container is judged by its label (the caller), whatever its parent
    ([container("/old", label="old")], "cgroupfs", {"new"}, set()),
    # no parent, or one outside the cgroup root
    ([container(""), container("/../etc")], "cgroupfs", {"new"}, set()),
    ([container("system.slice")], "systemd", {"new"}, set()),
    # several containers of one pod name it once
    ([container("/old"), container("/old"), container("/older")], "cgroupfs", {"new"}, {"old", "older"}),
])
def test_cgroups_of_containers_made_before_the_label(containers, driver, known, found):
    assert unlabelled_cgroups(containers, driver, known) == found
