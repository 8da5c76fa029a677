# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: the manager behind the ns_facts module. Not a public API.

Reads only: /proc for the PIDs it needs (one pass), one label-filtered Docker
list per pod, one inspect per named container. Never changes anything.
"""
from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

from ansible_collections.podlab.playground.plugins.module_utils._cgroup import CgroupError, Layout, read_limits
from ansible_collections.podlab.playground.plugins.module_utils._docker import DockerClient, DockerException, DockerUnavailable, docker_host
from ansible_collections.podlab.playground.plugins.module_utils._namespaces import NAMESPACE_TYPES, ProcessGone, snapshot

SCHEMA_VERSION = 1
FACTS_KEY = "podlab_ns"
ARGUMENT_SPEC: dict[str, Any] = {
    "pids": {"type": "list", "elements": "int", "default": []},
    "containers": {"type": "list", "elements": "str", "default": []},
    "pods": {"type": "list", "elements": "str", "default": []},
    "proc": {"type": "path", "default": "/proc"},
    "docker_host": {"type": "str"},
}
# How Docker records each namespace's mode: (inspect section, key). mnt is always private, time never set.
DOCKER_MODES = {
    "net": ("HostConfig", "NetworkMode"),
    "ipc": ("HostConfig", "IpcMode"),
    "pid": ("HostConfig", "PidMode"),
    "uts": ("HostConfig", "UTSMode"),
    "cgroup": ("HostConfig", "CgroupnsMode"),
    "user": ("HostConfig", "UsernsMode"),
}


def expected_relation(ns_type: str, mode: str, cgroup_version: int) -> tuple[str, str | None]:
    """What Docker's recorded mode promises: ('host'|'private'|'container', container ref or None)."""
    if mode.startswith("container:"):
        return "container", mode.split(":", 1)[1]
    if mode == "host":
        return "host", None
    if ns_type == "cgroup" and mode == "":
        # Docker's default cgroupns: host on v1, private on v2.
        return ("host" if cgroup_version == 1 else "private"), None
    if ns_type == "user":
        return ("private" if mode not in ("", "host") else "host"), None
    return "private", None


def relation(ns_type: str, proc_ns: dict[str, Any], host_ns: dict[str, Any], ref_ns: dict[str, Any] | None) -> str:
    """What the kernel shows: host first (not isolated at all), then the referenced container, else private."""
    own = proc_ns.get(ns_type)
    if own is None:
        return "absent"
    if own == host_ns.get(ns_type):
        return "host"
    if ref_ns is not None and own == ref_ns.get(ns_type):
        return "container"
    return "private"


def share_matrix(members: dict[str, dict[str, Any]], sandbox_ns: dict[str, Any], host_ns: dict[str, Any]) -> dict[str, dict[str, str]]:
    """For every member and namespace type: 'host' (PID 1's), 'pod' (the sandbox's) or 'private'."""
    matrix = {}
    for name, ns in members.items():
        row = {}
        for ns_type in NAMESPACE_TYPES:
            if ns_type not in ns:
                continue
            if ns[ns_type] == host_ns.get(ns_type):
                row[ns_type] = "host"
            elif ns[ns_type] == sandbox_ns.get(ns_type):
                row[ns_type] = "pod"
            else:
                row[ns_type] = "private"
        matrix[name] = row
    return matrix


def shared_pairs(members: dict[str, dict[str, Any]], host_ns: dict[str, Any]) -> dict[str, list[str]]:
    """'a/b' -> the namespace types a and b share that are not simply the host's."""
    pairs = {}
    for (a, ns_a), (b, ns_b) in itertools.combinations(sorted(members.items()), 2):
        pairs[f"{a}/{b}"] = [t for t in NAMESPACE_TYPES if t in ns_a and ns_a[t] == ns_b.get(t) and ns_a[t] != host_ns.get(t)]
    return pairs


class NsFactsManager:
    def __init__(self, module: Any) -> None:
        self.module = module
        self.params = module.params
        self.proc = self.params["proc"]
        self.warnings: list[str] = []
        self.hostnames: dict[int, str | None] = {}
        self.layout: Layout | None = None
        self._client: DockerClient | None = None

    # -- reading -------------------------------------------------------------

    def process(self, pid: int, what: str) -> dict[str, Any] | None:
        try:
            return snapshot(pid, self.proc, self.hostnames)
        except ProcessGone:
            self.warnings.append(f"{what} (pid {pid}) exited while it was read; left out")
        except PermissionError:
            self.warnings.append(f"{what} (pid {pid}) cannot be read (permission denied): run as root")
        return None

    def reference(self) -> dict[str, Any]:
        """The host's namespaces: PID 1's, or this process's when PID 1 is out of reach (said in a warning)."""
        if os.geteuid() != 0:
            self.warnings.append("not running as root: other users' processes and hostnames inside namespaces cannot be read")
        if self.proc.rstrip("/") != "/proc":
            self.warnings.append(f"reading {self.proc}, not the host's /proc: the view is partial")
        host = self.process(1, "PID 1")
        if host is not None:
            return {"source": "pid 1", **host}
        self.warnings = [w for w in self.warnings if not w.startswith("PID 1")]
        self.warnings.append(
            "PID 1's namespaces cannot be read here (a sandbox or a container); the host reference is this module's own process"
        )
        own = self.process(os.getpid(), "this module")
        return {"source": "self", **(own or {})}

    def client(self) -> DockerClient:
        if self._client is None:
            self._client = DockerClient(docker_host(self.params.get("docker_host")))
        return self._client

    def cgroup_version(self) -> int:
        if self.layout is None:
            try:
                self.layout = Layout.detect()
            except CgroupError:
                return 0
        return self.layout.version

    # -- containers ----------------------------------------------------------

    def container_facts(self, inspected: dict[str, Any], host: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> dict[str, Any]:
        name = inspected["Name"].lstrip("/")
        running = bool(inspected["State"].get("Running"))
        pid = int(inspected["State"].get("Pid") or 0)
        proc = self.process(pid, f"container {name}") if running and pid else None
        modes = {t: inspected[section].get(key) or "" for t, (section, key) in DOCKER_MODES.items()}
        facts: dict[str, Any] = {
            "id": inspected["Id"], "name": name, "state": inspected["State"].get("Status"), "pid": pid or None,
            "labels": inspected["Config"].get("Labels") or {}, "modes": modes, "process": proc, "kernel": {}, "drift": [],
        }
        if proc is None:
            return facts
        version = proc["cgroup"]["version"]
        for ns_type in NAMESPACE_TYPES:
            if ns_type not in proc["namespaces"]:
                continue
            expected, ref = expected_relation(ns_type, modes.get(ns_type, ""), version)
            ref_facts = self.resolve(ref, by_id) if ref else None
            ref_ns = (ref_facts or {}).get("namespaces") if ref_facts else None
            seen = relation(ns_type, proc["namespaces"], host.get("namespaces", {}), ref_ns)
            facts["kernel"][ns_type] = seen
            if expected != seen and not (expected == "private" and seen == "host" and ns_type in ("user", "time")):
                facts["drift"].append(self.drift(ns_type, modes.get(ns_type, ""), (expected, seen), proc, ref_facts))
        return facts

    def resolve(self, ref: str, by_id: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
        """The process snapshot of the container a 'container:REF' mode names (name or ID, as Docker stored it)."""
        for cid, known in by_id.items():
            if cid == ref or cid.startswith(ref) or known.get("_name") == ref.lstrip("/"):
                return known
        try:
            inspected = self.client().inspect(ref)
        except DockerException:
            inspected = None
        if not inspected or not inspected["State"].get("Running"):
            return None
        proc = self.process(int(inspected["State"]["Pid"]), f"container {ref}")
        if proc is not None:
            by_id[inspected["Id"]] = {**proc, "_name": inspected["Name"].lstrip("/")}
        return proc

    @staticmethod
    def drift(ns_type: str, mode: str, seen: tuple[str, str], proc: dict[str, Any], ref: dict[str, Any] | None) -> dict[str, Any]:
        """One disagreement: seen is (what Docker's mode promises, what the kernel shows)."""
        expected, kernel = seen
        detail = f"{ns_type}:[{proc['namespaces'][ns_type]['inode']}]"
        if expected == "container" and ref:
            detail += f" is not {ns_type}:[{ref['namespaces'][ns_type]['inode']}] of the container it joined"
        elif expected == "container":
            detail += " (the container it joined is not running)"
        return {"type": ns_type, "docker": mode or "default", "expected": expected, "kernel": kernel, "detail": detail}

    # -- pods ----------------------------------------------------------------

    @staticmethod
    def limit_dirs(layout: Layout, proc: dict[str, Any]) -> dict[str, Path]:
        """Where a process's memory, cpu and pids limits live, from its /proc/PID/cgroup."""
        paths = proc["cgroup"]["paths"]
        if layout.version == 2:
            return {"unified": (layout.unified or Path("/sys/fs/cgroup")) / paths.get("unified", "/").lstrip("/")}
        dirs = {}
        for controllers, path in paths.items():
            for controller in controllers.split(","):
                if controller in ("memory", "cpu", "pids") and controller in layout.v1:
                    dirs[controller] = layout.v1[controller] / path.lstrip("/")
        return dirs

    def cgroup_tree(self, sandbox: dict[str, Any], members: dict[str, dict[str, Any]], parent: str) -> dict[str, Any]:
        """The pod's cgroup and one child per container, with the limits the kernel files show."""
        version = self.cgroup_version()
        layout = self.layout
        if not version or layout is None:
            return {}
        children: dict[str, dict[str, Any]] = {}
        for name, facts in {"sandbox": sandbox, **members}.items():
            proc = facts.get("process")
            if proc:
                paths = self.limit_dirs(layout, proc)
                children[name] = {"paths": {k: str(v) for k, v in paths.items()}, "limits": read_limits(version, paths)}
        sandbox_paths: dict[str, str] = children.get("sandbox", {}).get("paths", {})
        pod_paths = {k: Path(v).parent for k, v in sandbox_paths.items()}
        return {
            "version": version, "parent": parent,
            "paths": {k: str(v) for k, v in pod_paths.items()},
            "limits": read_limits(version, pod_paths) if pod_paths else {},
            "children": children,
        }

    def pod_facts(self, name: str, host: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> dict[str, Any]:
        containers = self.client().containers_by_label(f"podlab.pod={name}")
        if not containers:
            self.warnings.append(f"pod {name}: no container carries the label podlab.pod={name}")
            return {"name": name, "found": False}
        role = {c["Id"]: (c["Config"].get("Labels") or {}).get("podlab.role") for c in containers}
        member_name = {c["Id"]: (c["Config"].get("Labels") or {}).get("podlab.member") or c["Name"].lstrip("/") for c in containers}
        for c in containers:
            if c["State"].get("Running") and c["Id"] not in by_id:
                proc = self.process(int(c["State"]["Pid"]), f"container {c['Name'].lstrip('/')}")
                if proc:
                    by_id[c["Id"]] = {**proc, "_name": c["Name"].lstrip("/")}
        facts = {c["Id"]: self.container_facts(c, host, by_id) for c in containers}
        sandbox_id = next((cid for cid, r in role.items() if r == "sandbox"), None)
        sandbox = facts.get(sandbox_id) if sandbox_id else None
        members = {member_name[cid]: f for cid, f in facts.items() if role[cid] == "container"}
        inits = {member_name[cid]: f for cid, f in facts.items() if role[cid] == "init"}
        running = {n: f["process"]["namespaces"] for n, f in members.items() if f.get("process")}
        sandbox_ns = (sandbox or {}).get("process", {}) or {}
        host_ns = host.get("namespaces", {})
        parent = ""
        for c in containers:
            if c["Id"] == sandbox_id:
                parent = c["HostConfig"].get("CgroupParent") or ""
        return {
            "name": name,
            "found": True,
            "sandbox": sandbox,
            "members": members,
            "init_containers": inits,
            "share": share_matrix(running, sandbox_ns.get("namespaces", {}), host_ns) if sandbox_ns else {},
            "pairs": shared_pairs(running, host_ns),
            "hostnames": {n: f["process"]["hostname"] for n, f in {"sandbox": sandbox or {}, **members}.items() if f.get("process")},
            "cgroup": self.cgroup_tree(sandbox, members, parent) if sandbox and sandbox.get("process") else {},
            "drift": {n: f["drift"] for n, f in members.items() if f["drift"]},
        }

    # -- the run -------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        host = self.reference()
        by_id: dict[str, dict[str, Any]] = {}
        processes = {}
        for pid in self.params["pids"]:
            proc = self.process(pid, f"pid {pid}")
            if proc is not None:
                processes[str(pid)] = proc
        containers: dict[str, Any] = {}
        pods: dict[str, Any] = {}
        if self.params["containers"] or self.params["pods"]:
            try:
                for ref in self.params["containers"]:
                    inspected = self.client().inspect(ref)
                    if inspected is None:
                        self.warnings.append(f"container {ref} does not exist")
                        continue
                    containers[ref] = self.container_facts(inspected, host, by_id)
                for name in self.params["pods"]:
                    pods[name] = self.pod_facts(name, host, by_id)
            except DockerUnavailable as exc:
                self.module.fail_json(msg=f"ns_facts: containers and pods need the Docker daemon: {exc}")
            except DockerException as exc:
                self.module.fail_json(msg=f"ns_facts: the Docker daemon refused a read: {exc}")
        facts = {
            "schema": SCHEMA_VERSION,
            "cgroup_version": self.cgroup_version(),
            "host": host,
            "processes": processes,
            "containers": containers,
            "pods": pods,
            "warnings": list(self.warnings),
        }
        result: dict[str, Any] = {"changed": False, "ansible_facts": {FACTS_KEY: facts}}
        if self.warnings:
            result["warnings"] = self.warnings
        return result
