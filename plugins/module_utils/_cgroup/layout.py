# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: where cgroups are: the hierarchies the kernel mounts (v1, v2), a cgroup's directories
in them, reading one of their files, and the processes in a tree. Not a public API."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ansible_collections.podlab.playground.plugins.module_utils import _mountinfo as mountinfo
from ansible_collections.podlab.playground.plugins.module_utils._cgroup.errors import CgroupError

CGROUP_ROOT = Path("/sys/fs/cgroup")
# The controllers a pod cgroup is made in (v1) or has enabled (v2), whether or not a limit is set,
# so that every container runc puts below it is accounted the same way.
MANAGED_CONTROLLERS = ("cpu", "memory", "pids")


def read_file(path: str | os.PathLike[str]) -> str | None:
    """A cgroup (or /proc, or unit) file's text, stripped; None if it does not exist.

    Bare os.open/os.read: ns_facts reads some 360 limit files for 10 pods, and Path.read_text's text-file layers
    cost several times the read itself (bench/ns_facts.py)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks).decode(errors="replace").strip()


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
        for mount in mountinfo.parse(text, ("cgroup", "cgroup2")):  # not a Path for each of a busy host's overlays
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

    def everywhere(self, relpath: str) -> list[Path]:
        """A cgroup's directory in every hierarchy, whether it exists there or not (relpath: below each root)."""
        rel = relpath.lstrip("/")
        return [hierarchy / rel for hierarchy in self.hierarchies()]

    def limit_dirs(self, relpaths: Mapping[str, str]) -> dict[str, Path]:
        """Where a cgroup's memory, cpu and pids limits live: {'unified': dir} on v2, {controller: dir} on v1.

        relpaths: the cgroup's path below each hierarchy's root, keyed as /proc/PID/cgroup keys them
        (co-mounted controllers joined by ',', v2's hierarchy as 'unified').
        """
        if self.version == 2:
            return {"unified": (self.unified or CGROUP_ROOT) / relpaths.get("unified", "/").lstrip("/")}
        dirs = {}
        for controllers, path in relpaths.items():
            for controller in controllers.split(","):
                if controller in MANAGED_CONTROLLERS and controller in self.v1:
                    dirs[controller] = self.v1[controller] / path.lstrip("/")
        return dirs


def populated_pids(dirs: list[Path]) -> dict[int, str]:
    """PIDs in these cgroup trees (any hierarchy), with their command names."""
    pids: dict[int, str] = {}
    for top in dirs:
        for dirpath, _dirnames, _files in os.walk(top):
            for line in (read_file(Path(dirpath) / "cgroup.procs") or "").split():
                pid = int(line)
                pids[pid] = read_file(Path(f"/proc/{pid}/comm")) or "?"
    return pids
