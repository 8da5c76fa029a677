# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: the cgroupfs and systemd backends: what exists of one cgroup, and the Actions
that make it as asked or remove it. Not a public API."""
from __future__ import annotations

import os
from pathlib import Path

from ansible_collections.podlab.playground.plugins.module_utils._cgroup.apply import Action
from ansible_collections.podlab.playground.plugins.module_utils._cgroup.errors import CgroupError
from ansible_collections.podlab.playground.plugins.module_utils._cgroup.layout import CGROUP_ROOT, MANAGED_CONTROLLERS, Layout, populated_pids, read_file
from ansible_collections.podlab.playground.plugins.module_utils._cgroup.limits import CFS_PERIOD_US, cpu_quota, read_limits
from ansible_collections.podlab.playground.plugins.module_utils._cgroup.names import slice_path, slice_unit
from ansible_collections.podlab.playground.plugins.module_utils._cgroup.spec import CgroupSpec, as_int
from ansible_collections.podlab.playground.plugins.module_utils._units import UNLIMITED, human_size

SYSTEMD_UNIT_DIR = Path("/etc/systemd/system")


class Backend:
    """Shared shape of the cgroupfs and systemd backends."""

    driver = ""

    def __init__(self, spec: CgroupSpec, layout: Layout) -> None:
        self.spec = spec
        self.layout = layout

    # paths of this cgroup per managed controller ("unified" on v2)
    def paths(self) -> dict[str, Path]:
        # The cgroups this collection makes have one path in every hierarchy.
        return self.layout.limit_dirs(dict.fromkeys(("unified", *MANAGED_CONTROLLERS), self.kernel_relpath()))

    def kernel_relpath(self) -> str:
        raise NotImplementedError

    def docker_parent(self) -> str:
        """The value for docker run --cgroup-parent with this backend's driver."""
        raise NotImplementedError

    def plan_present(self, unit_active: bool = False) -> list[Action]:
        raise NotImplementedError

    def all_dirs(self) -> list[Path]:
        """This cgroup in every hierarchy where it exists."""
        return [path for path in self.layout.everywhere(self.kernel_relpath()) if path.is_dir()]

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
            wanted["cpus"] = round(int(cpu_quota(spec.cpus)) / CFS_PERIOD_US, 4)
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
        available = set((read_file(root / "cgroup.controllers") or "").split())
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
                enabled = set((read_file(node / "cgroup.subtree_control") or "").split())
            lacking = [c for c in needed if c not in enabled]
            if lacking:
                if node != root and node.is_dir() and read_file(node / "cgroup.procs"):
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
                return [Action("write", str(p / "cpu.max"), f"{cpu_quota(self.spec.cpus)} {CFS_PERIOD_US}", reason)]
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
                Action("write", str(cpu / "cpu.cfs_quota_us"), _v1(cpu_quota(self.spec.cpus)), reason),
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
    grows_past = old_memsw is not None and old_memsw != UNLIMITED and (spec.memory == UNLIMITED or as_int(spec.memory) > as_int(old_memsw))
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
            props["CPUQuota"] = "" if s.cpus == UNLIMITED else f"{int(cpu_quota(s.cpus)) / CFS_PERIOD_US * 100:g}%"
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
        current_text = read_file(self.unit_path)
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


def systemd_is_running() -> bool:
    return Path("/run/systemd/system").is_dir()
