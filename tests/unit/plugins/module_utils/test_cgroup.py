from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.podlab.playground.plugins.module_utils._cgroup.backends import CgroupfsBackend, SystemdBackend
from ansible_collections.podlab.playground.plugins.module_utils._cgroup.errors import CgroupError
from ansible_collections.podlab.playground.plugins.module_utils._cgroup.layout import Layout
from ansible_collections.podlab.playground.plugins.module_utils._cgroup.limits import shares_to_weight, weight_to_shares
from ansible_collections.podlab.playground.plugins.module_utils._cgroup.names import slice_path, slice_unit, split_name
from ansible_collections.podlab.playground.plugins.module_utils._cgroup.spec import CgroupSpec
from ansible_collections.podlab.playground.plugins.module_utils._units import UNLIMITED

PAGE = 4096

# Trimmed from a real hybrid host (Debian bookworm VM) and a unified one.
MOUNTINFO_V1 = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
"""
MOUNTINFO_V2 = """\
25 30 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
"""
MOUNTINFO_NESTED = """\
700 690 0:31 /docker/abc /sys/fs/cgroup ro,nosuid - cgroup2 cgroup2 rw
"""


@pytest.mark.parametrize(
    ("name", "segments"),
    [("pod-foo", ["pod-foo"]), ("/pod-foo", ["pod-foo"]), ("podlab/pod-foo", ["podlab", "pod-foo"]), ("pod-foo.slice", ["pod-foo.slice"])],
)
def test_split_name_accepts(name, segments):
    assert split_name(name) == segments


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "empty"),
        ("../etc", "'..'"),
        ("a/../../b", "'..'"),
        ("a//b", "empty"),
        ("a/", "empty"),
        ("./a", "'.'"),
        ("/sys/fs/cgroup/memory/x", "filesystem path"),
        ("-lead", "must not start"),
        ("sp ace", "may only hold"),
        ("system.slice", "systemd or the kernel own"),
        ("init.scope", "systemd or the kernel own"),
    ],
)
def test_split_name_refuses_escapes(name, message):
    with pytest.raises(CgroupError, match=message):
        split_name(name)


@pytest.mark.parametrize(
    ("segments", "unit", "path"),
    [
        (["pod-foo"], "pod\\x2dfoo.slice", "pod\\x2dfoo.slice"),
        (["podlab", "pod-foo"], "podlab-pod\\x2dfoo.slice", "podlab.slice/podlab-pod\\x2dfoo.slice"),
        (["podlab", "foo-bar"], "podlab-foo\\x2dbar.slice", "podlab.slice/podlab-foo\\x2dbar.slice"),
        (["podlab.slice", "foo"], "podlab-foo.slice", "podlab.slice/podlab-foo.slice"),
        (["foo"], "foo.slice", "foo.slice"),
        # a unit name the user gives keeps systemd's own nesting
        (["pod-foo.slice"], "pod-foo.slice", "pod.slice/pod-foo.slice"),
    ],
)
def test_slice_unit_and_path(segments, unit, path):
    assert slice_unit(segments) == unit
    assert slice_path(unit) == path


def test_pods_with_dashes_do_not_nest_in_each_other():
    assert not slice_path(slice_unit(["pod-foo-bar"])).startswith(slice_path(slice_unit(["pod-foo"])))


@pytest.mark.parametrize("name", ["a--b.slice", "a-.slice"])
def test_slice_unit_refuses_what_systemd_refuses(name):
    with pytest.raises(CgroupError, match="not valid for systemd"):
        slice_unit([name])


@pytest.mark.parametrize(("shares", "weight"), [(2, 1), (1024, 39), (262144, 10000)])
def test_shares_weight_conversion_matches_runc(shares, weight):
    assert shares_to_weight(shares) == weight


@pytest.mark.parametrize("weight", [1, 100, 200, 10000])
def test_weight_to_shares_stays_in_range_and_round_trips_closely(weight):
    shares = weight_to_shares(weight)
    assert 2 <= shares <= 262144
    assert abs(shares_to_weight(shares) - weight) <= 1


def test_layout_v1_hybrid():
    layout = Layout.from_mountinfo(MOUNTINFO_V1)
    assert layout.version == 1
    assert layout.v1["cpu"] == Path("/sys/fs/cgroup/cpu,cpuacct")
    assert layout.v1["cpuacct"] == Path("/sys/fs/cgroup/cpu,cpuacct")
    assert layout.v1["name=systemd"] == Path("/sys/fs/cgroup/systemd")
    assert layout.unified == Path("/sys/fs/cgroup/unified")
    # co-mounted controllers are one hierarchy; the hybrid unified mount is one more
    assert len(layout.hierarchies()) == 5
    assert not layout.nested_root


def test_layout_v2():
    layout = Layout.from_mountinfo(MOUNTINFO_V2)
    assert layout.version == 2
    assert layout.v1 == {}
    assert layout.hierarchies() == [Path("/sys/fs/cgroup")]


def test_layout_sees_a_cgroup_namespace():
    assert Layout.from_mountinfo(MOUNTINFO_NESTED).nested_root


def test_layout_without_cgroups():
    with pytest.raises(CgroupError, match="no cgroup filesystem"):
        Layout.from_mountinfo("22 1 0:5 / /proc rw - proc proc rw\n")


def spec(**params):
    base = {"name": "podlab/pod-foo"}
    base.update(params)
    return CgroupSpec.from_params(base, PAGE)


def test_spec_rounds_memory_to_pages_as_the_kernel_does():
    assert spec(memory="1000000001").memory == 999997440
    assert spec(memory="512MB").memory == 536870912
    assert spec(memory="max").memory == UNLIMITED


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"memory_swap": "1g"}, "needs a memory limit"),
        ({"memory": "1g", "memory_swap": "512m"}, "cannot be below memory"),
        ({"cpu_weight": 0}, "between 1 and 10000"),
        ({"cpu_shares": 1}, "between 2 and 262144"),
        ({"cpu_weight": 100, "cpu_shares": 1024}, "set only one"),
        ({"memory": "100"}, "at least one page"),
        ({"cpus": "lots"}, "cpus"),
        ({"pids_max": "0"}, "pids_max"),
    ],
)
def test_spec_refuses_before_any_change(params, message):
    with pytest.raises(CgroupError, match=message):
        spec(**params)


def make_v1_tree(root: Path) -> Layout:
    for controller in ("cpu", "memory", "pids", "freezer"):
        (root / controller).mkdir(parents=True)
    return Layout(version=1, v1={c: root / c for c in ("cpu", "memory", "pids", "freezer")})


def write_limits_v1(path: Layout, rel: str, memory: str, memsw: str) -> None:
    mem = path.v1["memory"] / rel
    mem.mkdir(parents=True, exist_ok=True)
    (mem / "memory.limit_in_bytes").write_text(memory + "\n")
    (mem / "memory.memsw.limit_in_bytes").write_text(memsw + "\n")
    for controller in ("cpu", "pids"):
        (path.v1[controller] / rel).mkdir(parents=True, exist_ok=True)


def test_v1_plan_creates_in_each_managed_hierarchy(tmp_path):
    layout = make_v1_tree(tmp_path)
    actions = CgroupfsBackend(spec(memory="512m"), layout).plan_present()
    mkdirs = [a.target for a in actions if a.op == "mkdir"]
    assert mkdirs == [str(tmp_path / c / "podlab/pod-foo") for c in ("cpu", "memory", "pids")]
    writes = [(a.target, a.value) for a in actions if a.op == "write"]
    assert writes == [(str(tmp_path / "memory/podlab/pod-foo/memory.limit_in_bytes"), "536870912")]


def test_v1_memory_growing_past_memsw_writes_memsw_first(tmp_path):
    layout = make_v1_tree(tmp_path)
    write_limits_v1(layout, "podlab/pod-foo", str(256 << 20), str(512 << 20))
    actions = CgroupfsBackend(spec(memory="1g", memory_swap="2g"), layout).plan_present()
    files = [Path(a.target).name for a in actions if a.op == "write"]
    assert files == ["memory.memsw.limit_in_bytes", "memory.limit_in_bytes"]


def test_v1_memory_shrinking_writes_memory_first(tmp_path):
    layout = make_v1_tree(tmp_path)
    write_limits_v1(layout, "podlab/pod-foo", str(1 << 30), str(2 << 30))
    actions = CgroupfsBackend(spec(memory="256m", memory_swap="512m"), layout).plan_present()
    files = [Path(a.target).name for a in actions if a.op == "write"]
    assert files == ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"]


def test_v1_unlimited_reads_back_as_max_and_is_not_rewritten(tmp_path):
    layout = make_v1_tree(tmp_path)
    write_limits_v1(layout, "podlab/pod-foo", "9223372036854771712", "9223372036854771712")
    backend = CgroupfsBackend(spec(memory="max"), layout)
    assert backend.read_limits()["memory"] == UNLIMITED
    assert backend.plan_present() == []


def test_absent_removes_leaf_first_in_every_hierarchy(tmp_path):
    layout = make_v1_tree(tmp_path)
    for controller in ("cpu", "memory", "pids", "freezer"):
        (tmp_path / controller / "podlab/pod-foo/ctr1").mkdir(parents=True)
    actions = CgroupfsBackend(spec(), layout).plan_absent(force=False)
    targets = [a.target for a in actions]
    assert len(targets) == 8
    for controller in ("cpu", "memory", "pids", "freezer"):
        leaf = targets.index(str(tmp_path / controller / "podlab/pod-foo/ctr1"))
        parent = targets.index(str(tmp_path / controller / "podlab/pod-foo"))
        assert leaf < parent


def test_absent_refuses_a_populated_cgroup_without_force(tmp_path):
    layout = make_v1_tree(tmp_path)
    leaf = tmp_path / "memory/podlab/pod-foo/ctr1"
    leaf.mkdir(parents=True)
    (leaf / "cgroup.procs").write_text("999999999\n")
    with pytest.raises(CgroupError, match=r"populated.*999999999.*force: true"):
        CgroupfsBackend(spec(), layout).plan_absent(force=False)
    actions = CgroupfsBackend(spec(), layout).plan_absent(force=True)
    assert actions[0].op == "kill"


def test_absent_of_nothing_is_a_no_op(tmp_path):
    assert CgroupfsBackend(spec(), make_v1_tree(tmp_path)).plan_absent(force=False) == []


def make_v2_tree(root: Path, root_enabled: str = "cpu memory pids") -> Layout:
    root.mkdir(exist_ok=True)
    (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (root / "cgroup.subtree_control").write_text(root_enabled + "\n")
    return Layout(version=2, unified=root)


def test_v2_plan_enables_controllers_along_the_path(tmp_path):
    layout = make_v2_tree(tmp_path / "cg", root_enabled="memory")
    actions = CgroupfsBackend(spec(cpus="0.5"), layout).plan_present()
    described = [(a.op, a.target, a.value) for a in actions]
    root = tmp_path / "cg"
    assert described == [
        ("enable", str(root / "cgroup.subtree_control"), "+cpu +pids"),
        ("mkdir", str(root / "podlab"), ""),
        ("enable", str(root / "podlab/cgroup.subtree_control"), "+cpu +memory +pids"),
        ("mkdir", str(root / "podlab/pod-foo"), ""),
        ("enable", str(root / "podlab/pod-foo/cgroup.subtree_control"), "+cpu +memory +pids"),
        ("write", str(root / "podlab/pod-foo/cpu.max"), "50000 100000"),
    ]


def test_v2_refuses_a_parent_with_processes(tmp_path):
    layout = make_v2_tree(tmp_path / "cg")
    busy = tmp_path / "cg/podlab"
    busy.mkdir()
    (busy / "cgroup.subtree_control").write_text("\n")
    (busy / "cgroup.procs").write_text("1234\n")
    with pytest.raises(CgroupError, match="no internal processes"):
        CgroupfsBackend(spec(), layout).plan_present()


def test_v2_refuses_limits_whose_controller_is_missing(tmp_path):
    layout = make_v2_tree(tmp_path / "cg")
    (tmp_path / "cg/cgroup.controllers").write_text("cpu memory\n")
    with pytest.raises(CgroupError, match="pids"):
        CgroupfsBackend(spec(pids_max="10"), layout).plan_present()


def test_v2_swap_is_written_as_swap_only(tmp_path):
    layout = make_v2_tree(tmp_path / "cg")
    actions = CgroupfsBackend(spec(memory="256m", memory_swap="1g"), layout).plan_present()
    writes = {Path(a.target).name: a.value for a in actions if a.op == "write"}
    assert writes == {"memory.max": str(256 << 20), "memory.swap.max": str(768 << 20)}


@pytest.mark.parametrize(
    ("version", "params", "lines"),
    [
        (2, {"memory": "512m", "cpus": "0.5", "pids_max": "100"}, ["MemoryMax=536870912", "CPUQuota=50%", "CPUQuotaPeriodSec=100ms", "TasksMax=100"]),
        (2, {"memory": "max", "cpus": "max", "pids_max": "max"}, ["MemoryMax=infinity", "CPUQuota=", "TasksMax=infinity"]),
        (2, {"memory": "256m", "memory_swap": "512m"}, ["MemoryMax=268435456", "MemorySwapMax=268435456"]),
        (2, {"cpu_shares": 1024}, ["CPUWeight=39"]),
        (1, {"memory": "512m", "cpu_weight": 100}, ["MemoryLimit=536870912", "CPUShares=2597"]),
    ],
)
def test_systemd_unit_carries_limits_as_properties(version, params, lines):
    layout = Layout(version=version, unified=Path("/sys/fs/cgroup"), v1={} if version == 2 else {"memory": Path("/m")})
    text = SystemdBackend(spec(**params), layout).unit_text()
    assert "[Slice]" in text
    for line in lines:
        assert line in text.splitlines()


def test_systemd_v1_refuses_swap():
    layout = Layout(version=1, v1={"memory": Path("/m")})
    with pytest.raises(CgroupError, match="needs cgroup v2"):
        SystemdBackend(spec(memory="256m", memory_swap="512m"), layout).unit_text()


def test_systemd_docker_parent_is_the_slice():
    backend = SystemdBackend(spec(), Layout(version=2, unified=Path("/sys/fs/cgroup")))
    assert backend.docker_parent() == "podlab-pod\\x2dfoo.slice"
    assert backend.paths() == {"unified": Path("/sys/fs/cgroup/podlab.slice/podlab-pod\\x2dfoo.slice")}


def test_systemd_unit_keeps_limits_a_later_task_does_not_set():
    layout = Layout(version=2, unified=Path("/sys/fs/cgroup"))
    first = SystemdBackend(spec(memory="512m", cpus="0.5", pids_max="100"), layout).unit_text()
    second = SystemdBackend(spec(memory="1g"), layout).unit_text(first)
    lines = second.splitlines()
    assert "MemoryMax=1073741824" in lines
    assert "CPUQuota=50%" in lines and "TasksMax=100" in lines
    assert "MemoryMax=536870912" not in lines
    # and running the same task again writes the same text
    assert SystemdBackend(spec(memory="1g"), layout).unit_text(second) == second


def test_systemd_unit_always_keeps_the_controllers_on():
    text = SystemdBackend(spec(cpus="max"), Layout(version=2, unified=Path("/sys/fs/cgroup"))).unit_text()
    assert {"CPUAccounting=yes", "MemoryAccounting=yes", "TasksAccounting=yes"} <= set(text.splitlines())
