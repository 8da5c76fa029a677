from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest

from ansible_collections.podlab.playground.plugins.module_utils._namespaces import (
    ProcessGone,
    _read,
    hostnames,
    parse_cgroups,
    parse_status,
    persistent_namespaces,
    read_cgroups,
    read_namespaces,
    read_status,
    snapshot,
    threads_differing,
)


def fake_process(proc: Path, pid: int, *, ns: dict[str, Path], status: str, cgroup: str, threads: dict[int, dict[str, Path]] | None = None) -> None:
    """A /proc/PID shaped like the kernel's: ns links point at files whose inodes stand for namespaces."""
    base = proc / str(pid)
    (base / "ns").mkdir(parents=True)
    for name, target in ns.items():
        os.symlink(target, base / "ns" / name)
    (base / "status").write_text(status)
    (base / "cgroup").write_text(cgroup)
    (base / "task" / str(pid)).mkdir(parents=True)
    for tid, tns in (threads or {}).items():
        (base / "task" / str(tid) / "ns").mkdir(parents=True)
        for name, target in {**ns, **tns}.items():
            os.symlink(target, base / "task" / str(tid) / "ns" / name)


@pytest.fixture
def namespaces(tmp_path):
    out = {}
    for name in ("net_a", "net_b", "uts_a", "pid_a", "pid_child"):
        out[name] = tmp_path / "nsfiles" / name
        out[name].parent.mkdir(exist_ok=True)
        out[name].write_text(name)
    return out


STATUS = "Name:\tsleep\nState:\tS (sleeping)\nPPid:\t41\nNSpid:\t4242\t7\t1\n"
CGROUP_V1 = "12:memory:/pod-foo/abc\n4:cpu,cpuacct:/pod-foo/abc\n1:name=systemd:/pod-foo/abc\n0::/\n"
CGROUP_V2 = "0::/pod.slice/docker-abc.scope\n"


def test_identity_is_device_and_inode(tmp_path, namespaces):
    proc = tmp_path / "proc"
    fake_process(proc, 4242, ns={"net": namespaces["net_a"], "uts": namespaces["uts_a"], "pid": namespaces["pid_a"],
                                 "pid_for_children": namespaces["pid_child"]}, status=STATUS, cgroup=CGROUP_V1)
    ns = read_namespaces(4242, str(proc))
    assert set(ns) == {"net", "uts", "pid", "pid_for_children"}
    assert ns["net"] == {"device": os.stat(namespaces["net_a"]).st_dev, "inode": os.stat(namespaces["net_a"]).st_ino}
    assert ns["pid"] != ns["pid_for_children"]


def test_status_gives_comm_parent_and_the_nspid_chain(tmp_path, namespaces):
    proc = tmp_path / "proc"
    fake_process(proc, 4242, ns={"net": namespaces["net_a"]}, status=STATUS, cgroup=CGROUP_V1)
    assert read_status(4242, str(proc)) == {"comm": "sleep", "ppid": 41, "nspid": [4242, 7, 1]}


@pytest.mark.parametrize(
    ("text", "version", "paths"),
    [
        (CGROUP_V1, 1, {"memory": "/pod-foo/abc", "cpu,cpuacct": "/pod-foo/abc", "name=systemd": "/pod-foo/abc", "unified": "/"}),
        (CGROUP_V2, 2, {"unified": "/pod.slice/docker-abc.scope"}),
    ],
)
def test_cgroup_paths_per_hierarchy_and_version(tmp_path, namespaces, text, version, paths):
    proc = tmp_path / "proc"
    fake_process(proc, 4242, ns={"net": namespaces["net_a"]}, status=STATUS, cgroup=text)
    assert read_cgroups(4242, str(proc)) == {"version": version, "paths": paths}


def test_threads_in_other_namespaces_are_reported(tmp_path, namespaces):
    proc = tmp_path / "proc"
    fake_process(proc, 4242, ns={"net": namespaces["net_a"], "uts": namespaces["uts_a"]}, status=STATUS, cgroup=CGROUP_V1,
                 threads={4243: {}, 4244: {"net": namespaces["net_b"]}})
    differing = threads_differing(4242, read_namespaces(4242, str(proc)), str(proc))
    assert [t["tid"] for t in differing] == [4244]
    assert set(differing[0]["namespaces"]) == {"net"}


def test_a_vanished_process_raises_process_gone(tmp_path):
    with pytest.raises(ProcessGone):
        read_namespaces(999999, str(tmp_path))


def test_snapshot_reads_the_fake_process_and_leaves_the_hostname_to_hostnames(tmp_path, namespaces):
    proc = tmp_path / "proc"
    fake_process(proc, 4242, ns={"net": namespaces["net_a"], "uts": namespaces["uts_a"]}, status=STATUS, cgroup=CGROUP_V1)
    snap = snapshot(4242, str(proc))
    assert snap["hostname"] is None
    assert snap["pid"] == 4242 and snap["comm"] == "sleep" and snap["nspid"] == [4242, 7, 1]
    assert snap["namespaces"]["uts"]["inode"] == os.stat(namespaces["uts_a"]).st_ino
    assert snap["threads_differing"] == []


def test_hostnames_enters_a_real_uts_namespace_from_a_thread_and_leaves_the_caller_where_it_was():
    own_uts = os.stat(f"/proc/{os.getpid()}/ns/uts").st_ino
    names = hostnames({own_uts: os.getpid()})
    if os.geteuid() == 0:
        assert names == {own_uts: socket.gethostname()}
    else:  # setns needs CAP_SYS_ADMIN
        assert names == {own_uts: None}
    assert os.stat(f"/proc/self/task/{threading.get_native_id()}/ns/uts").st_ino == own_uts


def test_hostnames_gives_none_for_a_gone_process_or_a_reused_pid(tmp_path):
    own_uts = os.stat(f"/proc/{os.getpid()}/ns/uts").st_ino
    # A PID whose uts namespace is not the one asked about (the process was replaced) gives None, not another's name.
    assert hostnames({own_uts + 1: os.getpid(), own_uts: 999999999}) == {own_uts + 1: None, own_uts: None}


def test_snapshot_of_this_process_is_real():
    snap = snapshot(os.getpid())
    assert {"net", "mnt", "pid", "user", "uts", "ipc"} <= set(snap["namespaces"])
    assert snap["nspid"][0] == os.getpid()


MOUNTINFO = """\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
76 27 0:4 net:[4026531833] /run/docker/netns/default rw - nsfs nsfs rw
94 27 0:4 net:[4026532184] /run/docker/netns/b7b0cc96a0dc rw - nsfs nsfs rw
95 27 0:4 net:[4026532300] /run/netns/my\\040lab rw shared:40 - nsfs nsfs rw
96 30 0:4 net:[4026532300] /run/netns/my\\040lab rw shared:40 - nsfs nsfs rw
97 27 0:4 ipc:[4026532400] /run/ipcns/held rw - nsfs nsfs rw
98 27 0:50 / /proc/sys/fs/binfmt_misc rw - binfmt_misc binfmt_misc rw
"""


def test_persistent_namespaces_come_from_nsfs_mounts_once_each(tmp_path):
    (tmp_path / "4242").mkdir()
    (tmp_path / "4242" / "mountinfo").write_text(MOUNTINFO)
    found = persistent_namespaces(4242, str(tmp_path))
    assert [(e["path"], e["type"], e["inode"]) for e in found] == [
        ("/run/docker/netns/b7b0cc96a0dc", "net", 4026532184),
        ("/run/docker/netns/default", "net", 4026531833),
        ("/run/ipcns/held", "ipc", 4026532400),
        ("/run/netns/my lab", "net", 4026532300),
    ]
    assert {e["device"] for e in found} == {os.makedev(0, 4)}


def test_persistent_namespaces_of_a_gone_process_are_none(tmp_path):
    assert persistent_namespaces(999999, str(tmp_path)) == []


def test_persistent_namespace_devices_match_the_ns_links_of_this_kernel():
    own = os.stat("/proc/self/ns/net")
    for entry in persistent_namespaces():
        assert entry["device"] == own.st_dev  # one nsfs: identities compare with read_namespaces()


def test_a_status_counts_threads_and_a_process_of_one_thread_is_not_listed_further(tmp_path, namespaces):
    proc = tmp_path / "proc"
    fake_process(proc, 4242, ns={"net": namespaces["net_a"]}, status=STATUS + "Threads:\t1\n", cgroup=CGROUP_V1,
                 threads={4244: {"net": namespaces["net_b"]}})
    assert parse_status(STATUS + "Threads:\t3\n", 4242)["threads"] == 3
    assert parse_status(STATUS, 4242)["threads"] is None
    # the status is the kernel's word at the time it was read: one thread, so task/ is not read
    assert snapshot(4242, str(proc))["threads_differing"] == []
    (proc / "4242" / "status").write_text(STATUS + "Threads:\t2\n")
    assert [t["tid"] for t in snapshot(4242, str(proc))["threads_differing"]] == [4244]


def test_a_long_proc_file_is_read_to_its_end():
    # mountinfo is a seq file: the kernel answers a read with a page or so at a time
    with open("/proc/self/mountinfo", encoding="utf-8") as handle:
        expected = handle.read()
    assert _read("/proc/self/mountinfo") == expected


def test_parse_cgroups_is_read_cgroups_without_the_file():
    assert parse_cgroups(CGROUP_V2) == {"version": 2, "paths": {"unified": "/pod.slice/docker-abc.scope"}}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Name:\tPPid:\t9\nPPid:\t3\nNSpid:\t7\t1", {"comm": "PPid:\t9", "ppid": 3, "nspid": [7, 1], "threads": None}),
        ("Umask:\t0022\nPPid:\t3\n", {"comm": "", "ppid": 3, "nspid": [4242], "threads": None}),
        ("", {"comm": "", "ppid": 0, "nspid": [4242], "threads": None}),
    ],
)
def test_status_fields_are_whole_lines_and_missing_ones_have_defaults(text, expected):
    assert parse_status(text, 4242) == expected
