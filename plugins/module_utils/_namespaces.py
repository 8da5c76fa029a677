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
import functools
import os
import re
import socket
import threading
from typing import Any

from ansible_collections.podlab.playground.plugins.module_utils import _mountinfo as mountinfo

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


def _setns(fd: int, nstype: int) -> bool:
    """setns(2); os.setns exists from Python 3.12, the managed host may run 3.9-3.11."""
    if hasattr(os, "setns"):
        try:
            os.setns(fd, nstype)
        except OSError:
            return False
        return True
    return _libc().setns(fd, nstype) == 0


@functools.lru_cache(maxsize=1)
def _libc() -> Any:
    return ctypes.CDLL(None, use_errno=True)


def hostnames(pids_by_uts: dict[int, int | str], proc: str = "/proc") -> dict[int, str | None]:
    """The hostname inside each UTS namespace (inode -> name; None where it cannot be entered: not root, gone).

    Docker's view (Config.Hostname) is what was asked; this is what the kernel answers. A UTS
    namespace is per thread and setns into one is allowed in a threaded process, so one
    short-lived thread enters them all in turn and ends there; the module's other threads
    never leave the host's (bench/ns_facts.py: a fork per namespace took 2.6 ms each, this 22 us).
    """
    names: dict[int, str | None] = {inode: None for inode in pids_by_uts}

    def enter_each() -> None:
        for inode, pid in pids_by_uts.items():
            try:
                fd = os.open(f"{proc}/{pid}/ns/uts", os.O_RDONLY)
            except OSError:  # gone, or not ours to open
                continue
            try:
                if _setns(fd, CLONE_NEWUTS) and os.fstat(fd).st_ino == inode:
                    names[inode] = socket.gethostname()
            finally:
                os.close(fd)

    worker = threading.Thread(target=enter_each, name="podlab-uts-reader", daemon=True)
    worker.start()
    worker.join()
    return names


def snapshot(pid: int | str, proc: str = "/proc") -> dict[str, Any]:
    """Everything the facts say about one process but its hostname (see hostnames()). Raises ProcessGone if it exits mid-read."""
    namespaces = read_namespaces(pid, proc)
    status = read_status(pid, proc)
    return {
        "pid": int(pid),
        "comm": status["comm"],
        "ppid": status["ppid"],
        "nspid": status["nspid"],
        "namespaces": namespaces,
        "hostname": None,
        "cgroup": read_cgroups(pid, proc),
        "threads_differing": threads_differing(pid, namespaces, proc),
    }


_NSFS_ROOT = re.compile(r"([a-z_]+):\[(\d+)\]")


def persistent_namespaces(pid: int | str = "self", proc: str = "/proc") -> list[dict[str, Any]]:
    """Namespaces pinned by an nsfs bind mount (ip netns add, Docker's /run/docker/netns/*): they live on with
    no process in them, and lsns does not list them. Read from PID's mountinfo, i.e. its mount namespace's view."""
    try:
        text = _read(f"{proc}/{pid}/mountinfo")
    except ProcessGone:
        return []
    found: dict[tuple[str, int], dict[str, Any]] = {}
    for mount in mountinfo.parse(text):
        match = _NSFS_ROOT.fullmatch(mount.root) if mount.fstype == "nsfs" else None
        if match is None:
            continue
        # The same mount can be listed twice (propagation); the path and the namespace make it one.
        found[(mount.mount_point, int(match.group(2)))] = {
            "path": mount.mount_point, "type": match.group(1), "device": os.makedev(*mount.device), "inode": int(match.group(2)),
        }
    return sorted(found.values(), key=lambda entry: entry["path"])


def same(a: dict[str, dict[str, int]], b: dict[str, dict[str, int]], ns_type: str) -> bool:
    """Do two snapshots' namespace maps name the same namespace of this type?"""
    return ns_type in a and ns_type in b and a[ns_type] == b[ns_type]
