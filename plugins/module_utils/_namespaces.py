# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: what /proc says about a process's namespaces and cgroups. Not a public API.

Only reads; nothing here changes the host. A namespace is identified by the
(device, inode) of /proc/PID/ns/TYPE, as the kernel documents; lsns's PID
column is only the lowest PID it saw, never an identity.
"""
from __future__ import annotations

import ctypes
import os
import socket
from typing import Any

NAMESPACE_TYPES = ("cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts")
CLONE_NEWUTS = 0x04000000


class ProcessGone(Exception):
    """The process exited while it was being read."""


def ns_identity(pid: int | str, ns_type: str, proc: str = "/proc") -> tuple[int, int] | None:
    """(device, inode) of /proc/PID/ns/TYPE: the namespace's identity; None if the process is gone."""
    try:
        st = os.stat(f"{proc}/{pid}/ns/{ns_type}")
    except (FileNotFoundError, ProcessLookupError):
        return None
    return st.st_dev, st.st_ino


def read_namespaces(pid: int | str, proc: str = "/proc") -> dict[str, dict[str, int]]:
    """Every namespace link the kernel has for the process (including *_for_children): type -> {device, inode}."""
    base = f"{proc}/{pid}/ns"
    try:
        names = sorted(os.listdir(base))
    except FileNotFoundError:
        raise ProcessGone(pid) from None
    result = {}
    for name in names:
        ident = ns_identity(pid, name, proc)
        if ident is None:
            raise ProcessGone(pid)
        result[name] = {"device": ident[0], "inode": ident[1]}
    return result


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except (FileNotFoundError, ProcessLookupError):
        raise ProcessGone(path) from None


def read_status(pid: int | str, proc: str = "/proc") -> dict[str, Any]:
    """Command name, parent and the NSpid chain (the PID in each nested PID namespace, outermost first)."""
    fields = dict(line.split(":", 1) for line in _read(f"{proc}/{pid}/status").splitlines() if ":" in line)
    return {
        "comm": fields.get("Name", "").strip(),
        "ppid": int(fields.get("PPid", "0").strip() or 0),
        "nspid": [int(p) for p in fields.get("NSpid", str(pid)).split()],
    }


def read_cgroups(pid: int | str, proc: str = "/proc") -> dict[str, Any]:
    """/proc/PID/cgroup: the path per hierarchy ('unified' for v2's 0:: line) and the version it implies."""
    paths: dict[str, str] = {}
    for line in _read(f"{proc}/{pid}/cgroup").splitlines():
        hierarchy_id, controllers, path = line.split(":", 2)
        if hierarchy_id == "0" and controllers == "":
            paths["unified"] = path
        else:
            paths[controllers] = path
    return {"version": 2 if set(paths) == {"unified"} else 1, "paths": paths}


def threads_differing(pid: int | str, process_ns: dict[str, dict[str, int]], proc: str = "/proc") -> list[dict[str, Any]]:
    """Threads whose namespaces are not their process's (setns/unshare in one thread): reported, not hidden."""
    try:
        tids = os.listdir(f"{proc}/{pid}/task")
    except FileNotFoundError:
        return []
    differing = []
    for tid in sorted(tids, key=int):
        if tid == str(pid):
            continue
        own = {}
        for ns_type, ident in process_ns.items():
            seen = ns_identity(f"{pid}/task/{tid}", ns_type, proc)
            if seen is not None and (seen[0], seen[1]) != (ident["device"], ident["inode"]):
                own[ns_type] = {"device": seen[0], "inode": seen[1]}
        if own:
            differing.append({"tid": int(tid), "namespaces": own})
    return differing


def hostname_in(pid: int | str, proc: str = "/proc") -> str | None:
    """The hostname as seen inside the process's UTS namespace (setns in a forked child; needs root).

    Docker's view (Config.Hostname) is what was asked; this is what the kernel answers.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    try:
        fd = os.open(f"{proc}/{pid}/ns/uts", os.O_RDONLY)
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # the child joins the UTS namespace, reports, and exits without cleanup handlers
        try:
            os.close(read_end)
            name = socket.gethostname() if libc.setns(fd, CLONE_NEWUTS) == 0 else ""
            os.write(write_end, name.encode())
        finally:
            os._exit(0)
    os.close(write_end)
    os.close(fd)
    with os.fdopen(read_end, "rb") as handle:
        name = handle.read().decode(errors="replace")
    os.waitpid(child, 0)
    return name or None


def snapshot(pid: int | str, proc: str = "/proc", hostname_cache: dict[int, str | None] | None = None) -> dict[str, Any]:
    """Everything the facts say about one process. Raises ProcessGone if it exits mid-read."""
    namespaces = read_namespaces(pid, proc)
    status = read_status(pid, proc)
    uts = namespaces.get("uts", {}).get("inode")
    cache = hostname_cache if hostname_cache is not None else {}
    if uts is not None and uts not in cache:
        cache[uts] = hostname_in(pid, proc)
    return {
        "pid": int(pid),
        "comm": status["comm"],
        "ppid": status["ppid"],
        "nspid": status["nspid"],
        "namespaces": namespaces,
        "hostname": cache.get(uts) if uts is not None else None,
        "cgroup": read_cgroups(pid, proc),
        "threads_differing": threads_differing(pid, namespaces, proc),
    }


def same(a: dict[str, dict[str, int]], b: dict[str, dict[str, int]], ns_type: str) -> bool:
    """Do two snapshots' namespace maps name the same namespace of this type?"""
    return ns_type in a and ns_type in b and a[ns_type] == b[ns_type]
