# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: one logical cgroup on cgroup v1, v2 or a systemd slice. Not a public API.

The flow is: CgroupSpec (validated, normalised request) -> Layout (what the
kernel mounts) -> a backend observes what exists -> plan() returns a list of
Actions with reasons -> Applier executes them. Check mode stops after plan().
This file never imports anything else of the collection's but _units.
"""
from __future__ import annotations

import contextlib
import os
import re
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ansible_collections.podlab.playground.plugins.module_utils import _mountinfo as mountinfo
from ansible_collections.podlab.playground.plugins.module_utils._units import (
    UNLIMITED,
    human_size,
    parse_count,
    parse_cpus,
    parse_size,
)

CGROUP_ROOT = Path("/sys/fs/cgroup")
SYSTEMD_UNIT_DIR = Path("/etc/systemd/system")
CFS_PERIOD_US = 100000
# v1 reads "no memory limit" back as PAGE_COUNTER_MAX * PAGE_SIZE; anything this large is unlimited.
V1_UNLIMITED_FLOOR = 1 << 62
# The controllers a pod cgroup is made in (v1) or has enabled (v2), whether or not a limit is set,
# so that every container runc puts below it is accounted the same way.
MANAGED_CONTROLLERS = ("cpu", "memory", "pids")
_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:@-]*$")


class CgroupError(Exception):
    """A problem the user can act on; the message says what and how."""


# ---------------------------------------------------------------------------
# Names


def split_name(name: str) -> list[str]:
    """Validate a cgroup name and return its path segments below the cgroup root.

    'pod-foo', '/pod-foo', 'podlab/pod-foo' and 'pod-foo.slice' are accepted;
    anything that could escape the root or that the kernel or systemd would
    read differently is refused before any change.
    """
    if not name or not name.strip():
        raise CgroupError("name is empty: give a cgroup name such as pod-foo or podlab/pod-foo")
    if name.startswith(str(CGROUP_ROOT)):
        raise CgroupError(
            f"name {name!r} is a filesystem path; give the cgroup's path below the hierarchy root, "
            "e.g. podlab/pod-foo (the module creates it in every hierarchy it needs)"
        )
    body = name[1:] if name.startswith("/") else name
    segments = body.split("/")
    for segment in segments:
        if segment in ("", ".", ".."):
            raise CgroupError(
                f"name {name!r} has an empty, '.' or '..' segment; use plain segments such as podlab/pod-foo"
            )
        if not _SEGMENT.match(segment):
            raise CgroupError(
                f"name {name!r}: segment {segment!r} may only hold letters, digits and _ . : @ - "
                "and must not start with '.' or '-'"
            )
    if segments[-1] in ("cgroup.procs", "tasks") or segments[0] in ("init.scope", "system.slice", "user.slice", "-.slice"):
        raise CgroupError(f"name {name!r} names a cgroup that systemd or the kernel own; pick another name")
    return segments


def slice_unit(segments: list[str]) -> str:
    """The systemd slice for a name, with '/' as the only nesting, as with cgroupfs.

    podlab/pod-foo -> podlab-pod\\x2dfoo.slice (in podlab.slice): a '-' inside a segment is escaped as
    systemd-escape does, because a bare '-' nests in systemd and pod foo-bar would land inside pod foo.
    A single name ending in .slice is taken as the user's own unit name, systemd's nesting included.
    """
    if len(segments) == 1 and segments[0].endswith(".slice"):
        joined = segments[0][: -len(".slice")]
        if not joined or "--" in joined or joined.endswith("-"):
            raise CgroupError(f"slice name {segments[0]!r} is not valid for systemd: no '--' and no trailing '-'")
        return segments[0]
    parts = (seg[: -len(".slice")] if seg.endswith(".slice") else seg for seg in segments)
    return "-".join(part.replace("-", "\\x2d") for part in parts) + ".slice"


def slice_path(unit: str) -> str:
    """podlab-pod.slice -> podlab.slice/podlab-pod.slice: where systemd puts the slice's cgroup."""
    parts = unit[: -len(".slice")].split("-")
    return "/".join("-".join(parts[: i + 1]) + ".slice" for i in range(len(parts)))


# ---------------------------------------------------------------------------
# Desired state


def shares_to_weight(shares: int) -> int:
    """cpu.shares (v1, 2..262144) -> cpu.weight (v2, 1..10000), runc's linear mapping."""
    return 1 + ((shares - 2) * 9999) // 262142


def weight_to_shares(weight: int) -> int:
    """cpu.weight (v2) -> cpu.shares (v1), the inverse of shares_to_weight."""
    return 2 + ((weight - 1) * 262142) // 9999


@dataclass(frozen=True)
class CgroupSpec:
    """The request, validated and normalised. None means 'not managed'."""

    name: str
    segments: tuple[str, ...]
    memory: int | str | None = None
    memory_swap: int | str | None = None
    cpus: float | str | None = None
    cpu_weight: int | None = None
    cpu_shares: int | None = None
    pids_max: int | str | None = None

    @classmethod
    def from_params(cls, params: dict, page_size: int) -> "CgroupSpec":
        segments = tuple(split_name(params["name"]))
        try:
            memory = _round_page(parse_size(params["memory"], "memory"), page_size) if params.get("memory") is not None else None
            swap = (
                _round_page(parse_size(params["memory_swap"], "memory_swap"), page_size)
                if params.get("memory_swap") is not None
                else None
            )
            cpus = parse_cpus(params["cpus"]) if params.get("cpus") is not None else None
            pids = parse_count(params["pids_max"], "pids_max") if params.get("pids_max") is not None else None
        except ValueError as exc:
            raise CgroupError(str(exc)) from None
        weight, shares = params.get("cpu_weight"), params.get("cpu_shares")
        if weight is not None and shares is not None:
            raise CgroupError("cpu_weight and cpu_shares say the same thing; set only one")
        if weight is not None and not 1 <= weight <= 10000:
            raise CgroupError(f"cpu_weight must be between 1 and 10000 (100 is the default share), got {weight}")
        if shares is not None and not 2 <= shares <= 262144:
            raise CgroupError(f"cpu_shares must be between 2 and 262144 (1024 is the default share), got {shares}")
        if swap is not None:
            if memory is None or memory == UNLIMITED:
                raise CgroupError("memory_swap needs a memory limit too: it is the total of memory and swap, as in docker run")
            if isinstance(swap, int) and isinstance(memory, int) and swap < memory:
                raise CgroupError(
                    f"memory_swap ({human_size(swap)}) is memory plus swap and cannot be below memory ({human_size(memory)})"
                )
        if isinstance(memory, int) and memory < page_size:
            raise CgroupError(f"memory must be at least one page ({page_size} bytes), got {params['memory']!r}")
        return cls(params["name"], segments, memory, swap, cpus, weight, shares, pids)

    @property
    def relpath(self) -> str:
        return "/".join(self.segments)

    @property
    def swap_only(self) -> int | str | None:
        """Swap alone (v2's memory.swap.max, systemd's MemorySwapMax=): memory_swap minus memory."""
        if self.memory_swap is None or self.memory_swap == UNLIMITED:
            return self.memory_swap
        return _as_int(self.memory_swap) - _as_int(self.memory)

    @property
    def cpu_weight_v2(self) -> int | None:
        """The CPU weight in cgroup v2 units, whichever unit the user gave."""
        return self.cpu_weight if self.cpu_weight is not None else (shares_to_weight(self.cpu_shares) if self.cpu_shares else None)

    @property
    def cpu_shares_v1(self) -> int | None:
        """The CPU weight in cgroup v1 units, whichever unit the user gave."""
        return self.cpu_shares if self.cpu_shares is not None else (weight_to_shares(self.cpu_weight) if self.cpu_weight else None)


def _as_int(value: object) -> int:
    if isinstance(value, (int, str)):
        return int(value)
    raise CgroupError(f"expected a whole number, got {value!r}")


def _round_page(value: int | str, page_size: int) -> int | str:
    # The kernel rounds memory limits down to whole pages; compare what it will read back.
    return value if value == UNLIMITED else (int(value) // page_size) * page_size


# ---------------------------------------------------------------------------
# What the kernel mounts


@dataclass
class Layout:
    """cgroup mounts from /proc/self/mountinfo."""

    version: int
    v1: dict[str, Path] = field(default_factory=dict)  # controller or name=... -> mount point
    unified: Path | None = None
    nested_root: bool = False  # a mount's root is not '/': we see a cgroup namespace, not the host's tree

    @classmethod
    def from_mountinfo(cls, text: str) -> "Layout":
        v1: dict[str, Path] = {}
        unified = None
        nested = False
        for mount in mountinfo.parse(text):
            fstype, mount_point, root = mount.fstype, Path(mount.mount_point), mount.root
            if fstype == "cgroup2":
                unified = mount_point
                nested = nested or root != "/"
            elif fstype == "cgroup":
                nested = nested or root != "/"
                for opt in mount.super_options.split(","):
                    if opt in ("rw", "ro") or opt.startswith(("relatime", "nosuid", "nodev", "noexec", "clone_children", "release_agent", "noprefix", "xattr")):
                        continue
                    v1[opt] = mount_point
        if not v1 and unified is None:
            raise CgroupError("no cgroup filesystem is mounted (see /proc/self/mountinfo); mount cgroup2 on /sys/fs/cgroup")
        controllers = {k for k in v1 if not k.startswith("name=")}
        return cls(version=1 if controllers else 2, v1=v1, unified=unified, nested_root=nested)

    @classmethod
    def detect(cls) -> "Layout":
        return cls.from_mountinfo(Path("/proc/self/mountinfo").read_text())

    def hierarchies(self) -> list[Path]:
        """Every mounted hierarchy, distinct, v1 and unified: runc creates a parent in all of them."""
        seen: list[Path] = []
        for path in [*self.v1.values(), *([self.unified] if self.unified else [])]:
            if path not in seen:
                seen.append(path)
        return seen


# ---------------------------------------------------------------------------
# Plans


@dataclass(frozen=True)
class Action:
    """One step of a plan. `describe()` is what check mode prints."""

    op: str  # mkdir | write | enable | rmdir | kill | unit_file | unit_remove | systemctl
    target: str
    value: str = ""
    reason: str = ""

    def describe(self) -> str:
        text = {
            "mkdir": f"create cgroup {self.target}",
            "write": f"write {self.value!r} to {self.target}",
            "enable": f"enable controllers {self.value} in {self.target}",
            "rmdir": f"remove cgroup {self.target}",
            "kill": f"stop processes in {self.target}: {self.value}",
            "unit_file": f"write unit file {self.target}",
            "unit_remove": f"remove unit file {self.target}",
            "systemctl": f"systemctl {self.value} {self.target}".replace("  ", " "),
        }[self.op]
        return f"{text} ({self.reason})" if self.reason else text


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return None


def _norm_bytes(text: str | None, version: int) -> int | str | None:
    if text is None:
        return None
    if text in ("max", "-1"):
        return UNLIMITED
    value = int(text)
    return UNLIMITED if version == 1 and value >= V1_UNLIMITED_FLOOR else value


def _norm_count(text: str | None) -> int | str | None:
    if text is None:
        return None
    return UNLIMITED if text in ("max", "-1") else int(text)


def _cpu_quota(cpus: float | str | None) -> str:
    """CFS quota in microseconds per CFS_PERIOD_US for a number of CPUs (the kernel's floor is 1 ms)."""
    if cpus is None or cpus == UNLIMITED:
        return UNLIMITED
    return str(max(1000, round(float(cpus) * CFS_PERIOD_US)))


def _cpus_from_quota(quota: str | None, period: str | None) -> float | str | None:
    if quota is None:
        return None
    if quota in ("max", "-1"):
        return UNLIMITED
    return round(int(quota) / int(period or CFS_PERIOD_US), 4)


def populated_pids(dirs: list[Path]) -> dict[int, str]:
    """PIDs in these cgroup trees (any hierarchy), with their command names."""
    pids: dict[int, str] = {}
    for top in dirs:
        for dirpath, _dirnames, _files in os.walk(top):
            for line in (_read(Path(dirpath) / "cgroup.procs") or "").split():
                pid = int(line)
                pids[pid] = _read(Path(f"/proc/{pid}/comm")) or "?"
    return pids


def read_limits(version: int, paths: dict[str, Path]) -> dict[str, object]:
    """The limits the kernel enforces on a cgroup, normalised; {} if it does not exist.

    paths: the cgroup's directory per controller ('memory', 'cpu', 'pids' on v1; 'unified' on v2).
    """
    if version == 2:
        p = paths["unified"]
        if not p.is_dir():
            return {}
        cpu_max = (_read(p / "cpu.max") or "").split()
        memory = _norm_bytes(_read(p / "memory.max"), 2)
        swap = _norm_bytes(_read(p / "memory.swap.max"), 2)
        weight = _read(p / "cpu.weight")
        return {
            "memory": memory,
            "memory_swap": (memory + swap) if isinstance(memory, int) and isinstance(swap, int) else (UNLIMITED if swap == UNLIMITED else None),
            "cpus": _cpus_from_quota(*cpu_max) if len(cpu_max) == 2 else None,
            "cpu_weight": int(weight) if weight else None,
            "cpu_shares": weight_to_shares(int(weight)) if weight else None,
            "pids_max": _norm_count(_read(p / "pids.max")),
        }
    mem, cpu, pids = paths.get("memory"), paths.get("cpu"), paths.get("pids")
    if not any(p and p.is_dir() for p in (mem, cpu, pids)):
        return {}
    shares = _read(cpu / "cpu.shares") if cpu else None
    return {
        "memory": _norm_bytes(_read(mem / "memory.limit_in_bytes"), 1) if mem else None,
        "memory_swap": _norm_bytes(_read(mem / "memory.memsw.limit_in_bytes"), 1) if mem else None,
        "cpus": _cpus_from_quota(_read(cpu / "cpu.cfs_quota_us"), _read(cpu / "cpu.cfs_period_us")) if cpu else None,
        "cpu_shares": int(shares) if shares else None,
        "cpu_weight": shares_to_weight(int(shares)) if shares else None,
        "pids_max": _norm_count(_read(pids / "pids.max")) if pids else None,
    }


class Backend:
    """Shared shape of the cgroupfs and systemd backends."""

    driver = ""

    def __init__(self, spec: CgroupSpec, layout: Layout) -> None:
        self.spec = spec
        self.layout = layout

    # paths of this cgroup per managed controller ("unified" on v2)
    def paths(self) -> dict[str, Path]:
        rel = self.kernel_relpath()
        if self.layout.version == 2:
            return {"unified": (self.layout.unified or CGROUP_ROOT) / rel}
        return {c: self.layout.v1[c] / rel for c in MANAGED_CONTROLLERS if c in self.layout.v1}

    def kernel_relpath(self) -> str:
        raise NotImplementedError

    def docker_parent(self) -> str:
        """The value for docker run --cgroup-parent with this backend's driver."""
        raise NotImplementedError

    def plan_present(self, unit_active: bool = False) -> list[Action]:
        raise NotImplementedError

    def all_dirs(self) -> list[Path]:
        """This cgroup in every hierarchy where it exists."""
        rel = self.kernel_relpath()
        return [h / rel for h in self.layout.hierarchies() if (h / rel).is_dir()]

    def exists(self) -> bool:
        return bool(self.all_dirs())

    def read_limits(self) -> dict[str, object]:
        """The limits the kernel enforces on this cgroup now, normalised; {} if it does not exist."""
        return read_limits(self.layout.version, self.paths())

    def limit_diff(self, current: dict[str, object]) -> list[tuple[str, object, object]]:
        """(option, now, wanted) for every limit the user set that the kernel does not show."""
        spec = self.spec
        wanted: dict[str, object] = {
            "memory": spec.memory,
            "memory_swap": spec.memory_swap,
            "cpus": spec.cpus,
            "cpu_weight": spec.cpu_weight,
            "cpu_shares": spec.cpu_shares,
            "pids_max": spec.pids_max,
        }
        # Compare the weight in the kernel's own unit: the conversion is lossy one way.
        if self.layout.version == 1:
            wanted["cpu_weight"], wanted["cpu_shares"] = None, spec.cpu_shares_v1
        else:
            wanted["cpu_shares"], wanted["cpu_weight"] = None, spec.cpu_weight_v2
        if isinstance(spec.cpus, float):
            wanted["cpus"] = round(int(_cpu_quota(spec.cpus)) / CFS_PERIOD_US, 4)
        return [(k, current.get(k), w) for k, w in wanted.items() if w is not None and current.get(k) != w]

    def plan_absent(self, force: bool) -> list[Action]:
        dirs = self.all_dirs()
        if not dirs:
            return []
        actions: list[Action] = []
        pids = populated_pids(dirs)
        if pids:
            listing = ", ".join(f"{pid} ({comm})" for pid, comm in sorted(pids.items()))
            if not force:
                raise CgroupError(
                    f"it is populated: {len(pids)} process(es) in it ({listing}); "
                    "stop the containers that use it (e.g. docker rm -f), or set force: true to stop them with SIGKILL"
                )
            actions.append(Action("kill", self.spec.relpath, listing, "force: true and the cgroup is populated"))
        for top in dirs:
            for dirpath, _dirs, _files in sorted(os.walk(top, topdown=False), key=lambda w: -len(w[0])):
                actions.append(Action("rmdir", dirpath, reason="state: absent, leaf first"))
        return actions


class CgroupfsBackend(Backend):
    """Directories in /sys/fs/cgroup written directly: what Docker's cgroupfs driver expects."""

    driver = "cgroupfs"

    def kernel_relpath(self) -> str:
        return self.spec.relpath

    def docker_parent(self) -> str:
        return "/" + self.spec.relpath

    def plan_present(self, unit_active: bool = False) -> list[Action]:
        actions: list[Action] = []
        if self.layout.version == 2:
            actions += self._plan_v2_tree()
        else:
            for controller, path in self.paths().items():
                if not path.is_dir():
                    actions.append(Action("mkdir", str(path), reason=f"missing in the {controller} hierarchy"))
        current = self.read_limits() if self.exists() else {}
        for option, now, wanted in self.limit_diff(current):
            actions += self._writes(option, now, wanted)
        return _order_memory_writes(actions, current, self.spec)

    def _plan_v2_tree(self) -> list[Action]:
        root = self.layout.unified or CGROUP_ROOT
        available = set((_read(root / "cgroup.controllers") or "").split())
        needed = [c for c in MANAGED_CONTROLLERS if c in available]
        missing = self._required_controllers() - available
        if missing:
            raise CgroupError(
                f"controller(s) {', '.join(sorted(missing))} are not available in {root}/cgroup.controllers; "
                "enable them on the kernel command line or drop the limits that need them"
            )
        actions: list[Action] = []
        node = root
        chain = [root] + [root / "/".join(self.spec.segments[: i + 1]) for i in range(len(self.spec.segments))]
        for node in chain:
            if node != root and not node.is_dir():
                actions.append(Action("mkdir", str(node), reason="missing on the unified hierarchy"))
                enabled: set[str] = set()
            else:
                enabled = set((_read(node / "cgroup.subtree_control") or "").split())
            lacking = [c for c in needed if c not in enabled]
            if lacking:
                if node != root and node.is_dir() and _read(node / "cgroup.procs"):
                    raise CgroupError(
                        f"{node} holds processes, so cgroup v2 will not enable controllers below it "
                        "(no internal processes rule); choose a name under a cgroup without processes"
                    )
                actions.append(Action("enable", str(node / "cgroup.subtree_control"), " ".join("+" + c for c in lacking), "so limits apply below it"))
        return actions

    def _required_controllers(self) -> set[str]:
        s = self.spec
        needs = set()
        if s.memory is not None or s.memory_swap is not None:
            needs.add("memory")
        if s.cpus is not None or s.cpu_weight is not None or s.cpu_shares is not None:
            needs.add("cpu")
        if s.pids_max is not None:
            needs.add("pids")
        return needs

    def _writes(self, option: str, now: object, wanted: object) -> list[Action]:
        paths = self.paths()
        reason = f"{option}: {_show(now)} -> {_show(wanted)}"
        if self.layout.version == 2:
            p = paths["unified"]
            if option == "memory":
                return [Action("write", str(p / "memory.max"), str(wanted), reason)]
            if option == "memory_swap":
                return [Action("write", str(p / "memory.swap.max"), str(self.spec.swap_only), reason)]
            if option == "cpus":
                return [Action("write", str(p / "cpu.max"), f"{_cpu_quota(self.spec.cpus)} {CFS_PERIOD_US}", reason)]
            if option == "cpu_weight":
                return [Action("write", str(p / "cpu.weight"), str(wanted), reason)]
            if option == "pids_max":
                return [Action("write", str(p / "pids.max"), str(wanted), reason)]
            return []
        if option == "memory":
            return [Action("write", str(paths["memory"] / "memory.limit_in_bytes"), _v1(wanted), reason)]
        if option == "memory_swap":
            memsw = paths["memory"] / "memory.memsw.limit_in_bytes"
            if not memsw.exists() and not (paths["memory"].parent / "memory.memsw.limit_in_bytes").exists():
                raise CgroupError(
                    "memory_swap needs swap accounting, which this kernel has off (no memory.memsw.limit_in_bytes); "
                    "boot with swapaccount=1 or leave memory_swap unset"
                )
            return [Action("write", str(memsw), _v1(wanted), reason)]
        if option == "cpus":
            cpu = paths["cpu"]
            return [
                Action("write", str(cpu / "cpu.cfs_period_us"), str(CFS_PERIOD_US), "CFS period for the quota"),
                Action("write", str(cpu / "cpu.cfs_quota_us"), _v1(_cpu_quota(self.spec.cpus)), reason),
            ]
        if option == "cpu_shares":
            return [Action("write", str(paths["cpu"] / "cpu.shares"), str(wanted), reason)]
        if option == "pids_max":
            return [Action("write", str(paths["pids"] / "pids.max"), str(wanted), reason)]
        return []


def _v1(value: object) -> str:
    return "-1" if value == UNLIMITED else str(value)


def _show(value: object) -> str:
    if value is None:
        return "unset"
    return human_size(value) if isinstance(value, int) and value >= 1 << 20 else str(value)


def _order_memory_writes(actions: list[Action], current: dict[str, object], spec: CgroupSpec) -> list[Action]:
    """On v1, memory.limit_in_bytes may never exceed memory.memsw.limit_in_bytes: raise memsw first when memory grows past it."""
    mem = [a for a in actions if a.target.endswith("memory.limit_in_bytes")]
    memsw = [a for a in actions if a.target.endswith("memory.memsw.limit_in_bytes")]
    if not mem or not memsw:
        return actions
    old_memsw = current.get("memory_swap")
    grows_past = old_memsw is not None and old_memsw != UNLIMITED and (spec.memory == UNLIMITED or _as_int(spec.memory) > _as_int(old_memsw))
    rest = [a for a in actions if a not in mem and a not in memsw]
    return rest + (memsw + mem if grows_past else mem + memsw)


class SystemdBackend(Backend):
    """A slice unit with the limits as unit properties: what Docker's systemd driver expects."""

    driver = "systemd"

    def __init__(self, spec: CgroupSpec, layout: Layout) -> None:
        super().__init__(spec, layout)
        self.unit = slice_unit(list(spec.segments))

    def kernel_relpath(self) -> str:
        return slice_path(self.unit)

    def docker_parent(self) -> str:
        return self.unit

    @property
    def unit_path(self) -> Path:
        return SYSTEMD_UNIT_DIR / self.unit

    def wanted_properties(self) -> dict[str, str]:
        """The unit properties for the limits this task sets (and only those)."""
        s, v2 = self.spec, self.layout.version == 2
        props: dict[str, str] = {}
        if s.memory is not None:
            props["MemoryMax" if v2 else "MemoryLimit"] = _sd(s.memory)
        if s.memory_swap is not None:
            if not v2:
                raise CgroupError("memory_swap with the systemd driver needs cgroup v2 (systemd has no swap property on v1)")
            props["MemorySwapMax"] = _sd(s.swap_only)
        if s.cpus is not None:
            props["CPUQuota"] = "" if s.cpus == UNLIMITED else f"{int(_cpu_quota(s.cpus)) / CFS_PERIOD_US * 100:g}%"
            props["CPUQuotaPeriodSec"] = f"{CFS_PERIOD_US // 1000}ms"
        if s.cpu_weight is not None or s.cpu_shares is not None:
            if v2:
                props["CPUWeight"] = str(s.cpu_weight_v2)
            else:
                props["CPUShares"] = str(s.cpu_shares_v1)
        if s.pids_max is not None:
            props["TasksMax"] = _sd(s.pids_max)
        return props

    def unit_text(self, existing: str | None = None) -> str:
        """The unit file: the limits this task sets, over those an earlier run set (a limit not given is kept,
        as with cgroupfs). Accounting is always on, so systemd keeps the cpu, memory and pids controllers
        enabled and their files readable even with no limit."""
        props = {k: v for k, v in _slice_properties(existing).items() if k in SLICE_PROPERTIES}
        props.update(self.wanted_properties())
        body = "\n".join(f"{key}={props[key]}" for key in SLICE_PROPERTIES if key in props)
        return (
            "# Managed by podlab.playground.cgroup_parent; edits are overwritten.\n"
            "[Unit]\n"
            f"Description=podlab.playground cgroup {self.spec.name}\n"
            "Before=slices.target\n\n"
            "[Slice]\n"
            "CPUAccounting=yes\nMemoryAccounting=yes\nTasksAccounting=yes\n"
            f"{body}\n"
        )

    def plan_present(self, unit_active: bool = False) -> list[Action]:
        actions: list[Action] = []
        current_text = _read(self.unit_path)
        text = self.unit_text(current_text)
        if current_text != text.strip():
            why = "missing" if current_text is None else "limits differ from the unit file"
            actions.append(Action("unit_file", str(self.unit_path), text, why))
            actions.append(Action("systemctl", "", "daemon-reload", "load the changed unit"))
        if not unit_active:
            actions.append(Action("systemctl", self.unit, "start", "the slice is not active"))
        elif current_text == text.strip():
            # Unit file as wanted and active: the kernel must show it too; systemd re-applies on reload.
            current = self.read_limits()
            drift = self.limit_diff(current)
            if drift:
                option, now, wanted = drift[0]
                actions.append(Action("systemctl", "", "daemon-reload", f"kernel shows {option}={_show(now)}, unit says {_show(wanted)}"))
        return actions

    def plan_absent(self, force: bool, unit_active: bool = False) -> list[Action]:
        actions = super().plan_absent(force)
        stop = [Action("systemctl", self.unit, "stop", "state: absent")] if unit_active else []
        removal = []
        if self.unit_path.exists():
            removal = [
                Action("unit_remove", str(self.unit_path), reason="state: absent"),
                Action("systemctl", "", "daemon-reload", "forget the removed unit"),
            ]
        # systemd removes its own cgroup on stop; rmdir stays for leftovers in other v1 hierarchies.
        return stop + [a for a in actions if a.op == "kill"] + [a for a in actions if a.op == "rmdir"] + removal


# The limit properties the module writes, in the order it writes them.
SLICE_PROPERTIES = ("MemoryMax", "MemoryLimit", "MemorySwapMax", "CPUQuota", "CPUQuotaPeriodSec", "CPUWeight", "CPUShares", "TasksMax")


def _slice_properties(text: str | None) -> dict[str, str]:
    """Key=Value lines of a unit file's [Slice] section."""
    props: dict[str, str] = {}
    section = ""
    for raw in (text or "").splitlines():
        line = raw.strip()
        if line.startswith("["):
            section = line
        elif section == "[Slice]" and "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            props[key] = value
    return props


def _sd(value: object) -> str:
    return "infinity" if value == UNLIMITED else str(value)


# ---------------------------------------------------------------------------
# Applying a plan


Runner = Callable[[list[str]], tuple[int, str, str]]


class Applier:
    """Executes Actions. `run` runs an argv; `write_file(path, text)` writes a regular file atomically."""

    def __init__(self, run: Runner, write_file: Callable[[Path, str], None], systemctl: str | None) -> None:
        self.run = run
        self.write_file = write_file
        self.systemctl = systemctl
        self.stopped: list[dict[str, object]] = []

    def apply(self, actions: list[Action], backend: Backend) -> None:
        for action in actions:
            getattr(self, "_" + action.op)(action, backend)

    def _mkdir(self, action: Action, backend: Backend) -> None:
        os.makedirs(action.target, exist_ok=True)

    def _write(self, action: Action, backend: Backend) -> None:
        try:
            with open(action.target, "w") as handle:
                handle.write(action.value)
        except OSError as exc:
            hint = ""
            if exc.errno == 16:  # EBUSY
                hint = "; the cgroup uses more than the new limit: stop some of its processes first"
            elif exc.errno == 22:  # EINVAL
                hint = "; the kernel refused the value (on v1 memory must not exceed memory_swap)"
            raise CgroupError(f"cannot write {action.value!r} to {action.target}: {exc.strerror}{hint}") from None

    def _enable(self, action: Action, backend: Backend) -> None:
        for token in action.value.split():
            self._write(Action("write", action.target, token), backend)

    def _rmdir(self, action: Action, backend: Backend) -> None:
        try:
            os.rmdir(action.target)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise CgroupError(f"cannot remove {action.target}: {exc.strerror}; a process may have joined it since the plan was made") from None

    def _kill(self, action: Action, backend: Backend) -> None:
        deadline = time.monotonic() + 10
        while True:
            pids = populated_pids(backend.all_dirs())
            if not pids:
                return
            for pid, comm in pids.items():
                if all(s["pid"] != pid for s in self.stopped):
                    self.stopped.append({"pid": pid, "comm": comm})
                with contextlib.suppress(ProcessLookupError):  # it exited by itself meanwhile
                    os.kill(pid, signal.SIGKILL)
            if time.monotonic() > deadline:
                raise CgroupError(f"processes {sorted(pids)} in {backend.spec.name} did not exit within 10 s of SIGKILL")
            time.sleep(0.1)

    def _unit_file(self, action: Action, backend: Backend) -> None:
        self.write_file(Path(action.target), action.value)

    def _unit_remove(self, action: Action, backend: Backend) -> None:
        Path(action.target).unlink(missing_ok=True)

    def _systemctl(self, action: Action, backend: Backend) -> None:
        if not self.systemctl:
            raise CgroupError("the systemd driver needs systemctl, which is not on PATH")
        if action.value == "stop":  # systemd stops what is in the slice: say what that was
            self.stopped += [{"pid": pid, "comm": comm} for pid, comm in populated_pids(backend.all_dirs()).items()]
        argv = [self.systemctl, action.value] + ([action.target] if action.target else [])
        rc, out, err = self.run(argv)
        if rc != 0:
            raise CgroupError(f"{' '.join(argv)} failed (rc={rc}): {(err or out).strip()}")


def systemd_is_running() -> bool:
    return Path("/run/systemd/system").is_dir()
