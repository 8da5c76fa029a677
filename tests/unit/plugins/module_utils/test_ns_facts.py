from __future__ import annotations

import pytest

from ansible_collections.podlab.playground.plugins.module_utils._ns_facts import (
    expected_relation,
    relation,
    share_matrix,
    shared_pairs,
)


def ns(**inodes):
    return {t: {"device": 4, "inode": i} for t, i in inodes.items()}


HOST = ns(net=1, ipc=2, uts=3, pid=4, mnt=5, user=6, cgroup=7, time=8)
SANDBOX = ns(net=11, ipc=12, uts=13, pid=14, mnt=15, user=6, cgroup=7, time=8)


@pytest.mark.parametrize(
    ("ns_type", "mode", "version", "expected"),
    [
        ("net", "container:abc", 1, ("container", "abc")),
        ("net", "bridge", 1, ("private", None)),
        ("net", "host", 1, ("host", None)),
        ("ipc", "shareable", 1, ("private", None)),
        ("pid", "", 1, ("private", None)),
        ("cgroup", "", 1, ("host", None)),
        ("cgroup", "", 2, ("private", None)),
        ("cgroup", "private", 1, ("private", None)),
        ("user", "", 2, ("host", None)),
        ("user", "remapped", 2, ("private", None)),
    ],
)
def test_what_dockers_recorded_mode_promises(ns_type, mode, version, expected):
    assert expected_relation(ns_type, mode, version) == expected


@pytest.mark.parametrize(
    ("own", "ref", "expected"),
    [(ns(net=1), None, "host"), (ns(net=11), SANDBOX, "container"), (ns(net=1), HOST, "container"), (ns(net=99), SANDBOX, "private"), ({}, None, "absent")],
)
def test_what_the_kernel_shows(own, ref, expected):
    assert relation("net", own, HOST, ref) == expected


def test_share_matrix_says_host_pod_or_private():
    members = {"app": ns(net=11, ipc=12, uts=21, pid=22, mnt=23, user=6, cgroup=7, time=8)}
    assert share_matrix(members, SANDBOX, HOST) == {
        "app": {"net": "pod", "ipc": "pod", "uts": "private", "pid": "private", "mnt": "private",
                "user": "host", "cgroup": "host", "time": "host"},
    }


def test_share_pid_shows_as_pod():
    members = {"app": ns(pid=14)}
    assert share_matrix(members, SANDBOX, HOST)["app"]["pid"] == "pod"


def test_pairs_list_what_two_members_share_beyond_the_host():
    members = {
        "sidecar": ns(net=11, ipc=12, uts=31, user=6),
        "app": ns(net=11, ipc=12, uts=21, user=6),
        "lone": ns(net=99, ipc=98, uts=97, user=6),
    }
    assert shared_pairs(members, HOST) == {"app/lone": [], "app/sidecar": ["ipc", "net"], "lone/sidecar": []}
