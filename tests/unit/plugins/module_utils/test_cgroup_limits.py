"""read_file and read_limits on a tree laid out as the kernel lays cgroup files out (v1 and v2): what a missing
cgroup, a cgroup without limit files and a non-UTF-8 file read as."""
from __future__ import annotations

import pytest

from ansible_collections.podlab.playground.plugins.module_utils._cgroup.layout import read_file
from ansible_collections.podlab.playground.plugins.module_utils._cgroup.limits import read_limits
from ansible_collections.podlab.playground.plugins.module_utils._units import UNLIMITED

V1_NO_LIMIT = "9223372036854771712"  # what v1 shows for "no memory limit" with 4 KiB pages


def write(directory, **files):
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name.replace("__", ".")).write_text(f"{text}\n")


def test_read_file_strips_and_gives_none_for_a_missing_file(tmp_path):
    (tmp_path / "f").write_text("  42\n")
    assert read_file(tmp_path / "f") == "42"
    assert read_file(str(tmp_path / "f")) == "42"
    assert read_file(tmp_path / "nope") is None


def test_read_file_reads_a_file_larger_than_one_read(tmp_path):
    (tmp_path / "big").write_text("x" * 200_000)
    assert read_file(tmp_path / "big") == "x" * 200_000


def test_read_file_replaces_bytes_that_are_not_utf8(tmp_path):
    (tmp_path / "comm").write_bytes(b"ab\xffc\n")  # a process may name itself so
    assert read_file(tmp_path / "comm") == "ab\ufffdc"


def test_read_file_raises_what_is_not_a_missing_file(tmp_path):
    with pytest.raises(IsADirectoryError):
        read_file(tmp_path)


def v1_paths(root):
    return {c: root / c / "pod" for c in ("memory", "cpu", "pids")}


def test_v1_limits(tmp_path):
    paths = v1_paths(tmp_path)
    write(paths["memory"], memory__limit_in_bytes=268435456, memory__memsw__limit_in_bytes=V1_NO_LIMIT)
    write(paths["cpu"], cpu__cfs_quota_us=50000, cpu__cfs_period_us=100000, cpu__shares=512)
    write(paths["pids"], pids__max="max")
    assert read_limits(1, paths) == {"memory": 268435456, "memory_swap": UNLIMITED, "cpus": 0.5, "cpu_shares": 512,
                                     "cpu_weight": 20, "pids_max": UNLIMITED}


def test_v1_paths_as_strings_read_the_same(tmp_path):
    paths = v1_paths(tmp_path)
    write(paths["memory"], memory__limit_in_bytes=1048576)
    assert read_limits(1, {k: str(v) for k, v in paths.items()}) == read_limits(1, paths)
    assert read_limits(1, paths)["memory"] == 1048576


def test_a_missing_cgroup_has_no_limits(tmp_path):
    assert read_limits(1, v1_paths(tmp_path)) == {}
    assert read_limits(2, {"unified": tmp_path / "nope"}) == {}
    assert read_limits(1, {}) == {}


def test_a_cgroup_without_limit_files_has_every_limit_unknown(tmp_path):
    # v2: a cgroup whose parent enables no controller has none of the limit files
    (tmp_path / "pod").mkdir()
    unknown = {"memory": None, "memory_swap": None, "cpus": None, "cpu_weight": None, "cpu_shares": None, "pids_max": None}
    assert read_limits(2, {"unified": tmp_path / "pod"}) == unknown
    paths = v1_paths(tmp_path)
    paths["cpu"].mkdir(parents=True)
    assert read_limits(1, paths) == unknown


def test_v2_limits(tmp_path):
    write(tmp_path / "pod", cpu__max="150000 100000", memory__max=1073741824, memory__swap__max=0, cpu__weight=100, pids__max=64)
    assert read_limits(2, {"unified": tmp_path / "pod"}) == {"memory": 1073741824, "memory_swap": 1073741824, "cpus": 1.5,
                                                             "cpu_weight": 100, "cpu_shares": 2597, "pids_max": 64}


def test_v2_no_limits(tmp_path):
    write(tmp_path / "pod", cpu__max="max 100000", memory__max="max", memory__swap__max="max", cpu__weight=100, pids__max="max")
    limits = read_limits(2, {"unified": tmp_path / "pod"})
    assert (limits["memory"], limits["memory_swap"], limits["cpus"], limits["pids_max"]) == (UNLIMITED,) * 4
