# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: namespace identities read from /proc. Not a public API.

Only reads; nothing here changes the host.
"""
from __future__ import annotations

import os

NAMESPACE_TYPES = ("mnt", "uts", "ipc", "pid", "net", "user", "cgroup", "time")


def ns_identity(pid: int, ns_type: str, proc: str = "/proc") -> tuple[int, int] | None:
    """(device, inode) of /proc/PID/ns/TYPE: the namespace's identity; None if the process is gone."""
    try:
        st = os.stat(f"{proc}/{pid}/ns/{ns_type}")
    except (FileNotFoundError, ProcessLookupError):
        return None
    return st.st_dev, st.st_ino
