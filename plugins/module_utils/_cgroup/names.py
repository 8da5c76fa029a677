# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: cgroup names: which are accepted, and the systemd slice each one is. Not a public API."""
from __future__ import annotations

import re

from ansible_collections.podlab.playground.plugins.module_utils._cgroup.errors import CgroupError
from ansible_collections.podlab.playground.plugins.module_utils._cgroup.layout import CGROUP_ROOT

_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:@-]*")
# The prefixes of the kernel's control files (v1 and v2): a segment of that shape names a file in the
# cgroup above, not a cgroup (pod/memory.limit_in_bytes).
_CONTROL_PREFIXES = ("cgroup.", "memory.", "cpu.", "cpuacct.", "cpuset.", "pids.", "io.", "blkio.", "devices.", "freezer.",
                     "hugetlb.", "net_cls.", "net_prio.", "perf_event.", "rdma.", "misc.")
_CONTROL_FILES = ("tasks", "notify_on_release", "release_agent")


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
        if not _SEGMENT.fullmatch(segment):
            raise CgroupError(
                f"name {name!r}: segment {segment!r} may only hold letters, digits and _ . : @ - "
                "and must not start with '.' or '-'"
            )
    control = [s for s in segments if s in _CONTROL_FILES or s.startswith(_CONTROL_PREFIXES)]
    if control:
        raise CgroupError(f"name {name!r}: segment {control[0]!r} is the name of a kernel control file, not of a cgroup; "
                          "pick another name")
    if segments[0] in ("init.scope", "system.slice", "user.slice", "-.slice"):
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
