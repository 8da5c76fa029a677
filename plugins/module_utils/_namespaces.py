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


# A process's files are opened relative to one descriptor of its /proc/PID: the path is looked up once, and a PID
# reused while it is read gives ESRCH on the old directory instead of another process's files.


def _open_dir(path: str, dir_fd: int | None = None) -> int:
    try:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY, dir_fd=dir_fd)
    except (FileNotFoundError, ProcessLookupError):
        raise ProcessGone(path) from None


_READ_SIZE = 65536


def _read_at(name: str, dir_fd: int | None = None) -> str:
    """A whole /proc file (read until EOF: a seq file may come in pieces), decoded."""
    try:
        fd = os.open(name, os.O_RDONLY, dir_fd=dir_fd)
    except (FileNotFoundError, ProcessLookupError):
        raise ProcessGone(name) from None
    try:
        chunks = []
        while True:  # to the end: a seq file (mountinfo) may answer a read with less than it has
            chunk = os.read(fd, _READ_SIZE)
            if not chunk:
                break
            chunks.append(chunk)
    except ProcessLookupError:
        raise ProcessGone(name) from None
    finally:
        os.close(fd)
    return b"".join(chunks).decode("utf-8", errors="replace")


def _namespaces_at(ns_fd: int, pid: int | str) -> dict[str, dict[str, int]]:
    result = {}
    for name in sorted(os.listdir(ns_fd)):
        try:
            st = os.stat(name, dir_fd=ns_fd)
        except (FileNotFoundError, ProcessLookupError):
            raise ProcessGone(pid) from None
        result[name] = {"device": st.st_dev, "inode": st.st_ino}
    return result


def read_namespaces(pid: int | str, proc: str = "/proc") -> dict[str, dict[str, int]]:
    """Every namespace link the kernel has for the process (including *_for_children): type -> {device, inode}."""
    ns_fd = _open_dir(f"{proc}/{pid}/ns")
    try:
        return _namespaces_at(ns_fd, pid)
    finally:
        os.close(ns_fd)


def _read(path: str) -> str:
    return _read_at(path)


def _status_field(text: str, key: str) -> str | None:
    """The value of one 'Key:<tab>value' line of a status file (str.find: a regex over its ~55 lines cost more than the read)."""
    if text.startswith(key):
        start = len(key)
    else:
        at = text.find(f"\n{key}")  # after a newline: a command name cannot hold one (the kernel escapes it)
        if at < 0:
            return None
        start = at + 1 + len(key)
    end = text.find("\n", start)
    return text[start:] if end < 0 else text[start:end]


def parse_status(text: str, pid: int | str) -> dict[str, Any]:
    """Command name, parent, the NSpid chain (the PID in each nested PID namespace, outermost first) and the number of
    threads (None when the file does not say) of a status file."""
    name, ppid, nspid, threads = (_status_field(text, key) for key in ("Name:", "PPid:", "NSpid:", "Threads:"))
    threads = (threads or "").strip()
    return {
        "comm": (name or "").strip(),
        "ppid": int((ppid or "0").strip() or 0),
        "nspid": [int(p) for p in (str(pid) if nspid is None else nspid).split()],
        "threads": int(threads) if threads.isdigit() else None,
    }


def read_status(pid: int | str, proc: str = "/proc") -> dict[str, Any]:
    """Command name, parent and the NSpid chain of /proc/PID/status."""
    status = parse_status(_read(f"{proc}/{pid}/status"), pid)
    del status["threads"]
    return status


def parse_cgroups(text: str) -> dict[str, Any]:
    """A /proc/PID/cgroup file: the path per hierarchy ('unified' for v2's 0:: line) and the version it implies."""
    paths: dict[str, str] = {}
    for line in text.splitlines():
        hierarchy_id, controllers, path = line.split(":", 2)
        if hierarchy_id == "0" and controllers == "":
            paths["unified"] = path
        else:
            paths[controllers] = path
    return {"version": 2 if set(paths) == {"unified"} else 1, "paths": paths}


def read_cgroups(pid: int | str, proc: str = "/proc") -> dict[str, Any]:
    """/proc/PID/cgroup: the path per hierarchy and the version it implies (see parse_cgroups)."""
    return parse_cgroups(_read(f"{proc}/{pid}/cgroup"))


def _threads_differing_at(pid_fd: int, pid: int | str, process_ns: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    try:
        task_fd = _open_dir("task", pid_fd)
    except ProcessGone:
        return []
    try:
        tids = os.listdir(task_fd)
    finally:
        os.close(task_fd)
    if len(tids) == 1:  # the process's own thread only (most processes)
        return []
    differing = []
    for tid in sorted(tids, key=int):
        if tid == str(pid):
            continue
        own = {}
        for ns_type, ident in process_ns.items():
            try:
                seen = os.stat(f"task/{tid}/ns/{ns_type}", dir_fd=pid_fd)
            except (FileNotFoundError, ProcessLookupError):
                continue
            if (seen.st_dev, seen.st_ino) != (ident["device"], ident["inode"]):
                own[ns_type] = {"device": seen.st_dev, "inode": seen.st_ino}
        if own:
            differing.append({"tid": int(tid), "namespaces": own})
    return differing


def threads_differing(pid: int | str, process_ns: dict[str, dict[str, int]], proc: str = "/proc") -> list[dict[str, Any]]:
    """Threads whose namespaces are not their process's (setns/unshare in one thread): reported, not hidden."""
    try:
        pid_fd = _open_dir(f"{proc}/{pid}")
    except ProcessGone:
        return []
    try:
        return _threads_differing_at(pid_fd, pid, process_ns)
    finally:
        os.close(pid_fd)


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
    """Everything the facts say about one process but its hostname (see hostnames()). Raises ProcessGone if it exits mid-read.
    Every file is opened relative to one descriptor of /proc/PID, so all of them are the same process's."""
    pid_fd = _open_dir(f"{proc}/{pid}")
    try:
        ns_fd = _open_dir("ns", pid_fd)
        try:
            namespaces = _namespaces_at(ns_fd, pid)
        finally:
            os.close(ns_fd)
        status = parse_status(_read_at("status", pid_fd), pid)
        cgroup = parse_cgroups(_read_at("cgroup", pid_fd))
        # one thread (the status says so): no other thread can be elsewhere, and task/ need not be listed
        threads = [] if status["threads"] == 1 else _threads_differing_at(pid_fd, pid, namespaces)
    finally:
        os.close(pid_fd)
    return {
        "pid": int(pid),
        "comm": status["comm"],
        "ppid": status["ppid"],
        "nspid": status["nspid"],
        "namespaces": namespaces,
        "hostname": None,
        "cgroup": cgroup,
        "threads_differing": threads,
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
    for mount in mountinfo.parse(text, ("nsfs",)):
        match = _NSFS_ROOT.fullmatch(mount.root)
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
