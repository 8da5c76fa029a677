# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: the lines of /proc/PID/mountinfo. Not a public API.

One parser for every reader (cgroup hierarchies, nsfs mounts), as proc(5) lays a line out:
ID PARENT MAJOR:MINOR ROOT MOUNT_POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS
"""
from __future__ import annotations

import re
from collections.abc import Collection
from typing import NamedTuple

_ESCAPE = re.compile(r"\\([0-7]{3})")  # the kernel writes space, tab, newline and backslash as \ooo


class Mount(NamedTuple):
    device: tuple[int, int]  # (major, minor)
    root: str
    mount_point: str
    fstype: str
    super_options: str


def unescape(field: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), field) if "\\" in field else field


def parse(text: str, fstypes: Collection[str] | None = None) -> list[Mount]:
    """Every well-formed line of a mountinfo file (only those of fstypes, when given); others (none on a sane kernel) are skipped."""
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        tail = right.split(" ")
        if not sep or len(tail) < 3 or (fstypes is not None and tail[0] not in fstypes):
            continue
        fields = left.split(" ")
        if len(fields) < 6:
            continue
        major, sep_colon, minor = fields[2].partition(":")
        if not (sep_colon and major.isdigit() and minor.isdigit()):
            continue
        mounts.append(Mount((int(major), int(minor)), unescape(fields[3]), unescape(fields[4]), tail[0], tail[2]))
    return mounts
