# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: the manager behind the ns_facts module. Not a public API.

Reads only: one label-filtered Docker list for all pods and one inspect per
container (over one kept-alive connection); for CRI pods one list of sandboxes,
one of containers and one verbose status each (_ns_facts_cri); each PID's /proc
once, each UTS namespace once. Never changes anything.
"""
from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from ansible_collections.podlab.playground.plugins.module_utils._cgroup.errors import CgroupError
from ansible_collections.podlab.playground.plugins.module_utils._cgroup.layout import Layout
from ansible_collections.podlab.playground.plugins.module_utils._cgroup.limits import read_limits
from ansible_collections.podlab.playground.plugins.module_utils._cri.client import DEFAULT_CRI_SOCKET, CriClient, CriError, CriUnavailable, socket_path
from ansible_collections.podlab.playground.plugins.module_utils._docker import DockerException, DockerUnavailable, docker_host
from ansible_collections.podlab.playground.plugins.module_utils._namespaces import NAMESPACE_TYPES, ProcessGone, hostnames, persistent_namespaces, snapshot
from ansible_collections.podlab.playground.plugins.module_utils._ns_facts_cri import (
    JOIN_HOST,
    JOIN_PRIVATE,
    CriContainer,
    CriPod,
    proc_target,
    read_cri_pods,
    split_ref,
)
from ansible_collections.podlab.playground.plugins.module_utils._ns_facts_docker import DockerReads, Read, inspect_read, list_read
from ansible_collections.podlab.playground.plugins.module_utils._pod.model import (
    LABEL_MEMBER,
    LABEL_POD,
    LABEL_ROLE,
    MEMBER_ROLES,
    ROLE_CONTAINER,
    ROLE_INIT,
    ROLE_SANDBOX,
)

SCHEMA_VERSION = 1
FACTS_KEY = "podlab_ns"
ARGUMENT_SPEC: dict[str, Any] = {
    "pids": {"type": "list", "elements": "int", "default": []},
    "containers": {"type": "list", "elements": "str", "default": []},
    "pods": {"type": "list", "elements": "str", "default": []},
    "cri_pods": {"type": "list", "elements": "str", "default": []},
    "namespace": {"type": "str", "default": "default"},
    "cri_socket": {"type": "str", "default": DEFAULT_CRI_SOCKET},
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


def recorded_modes(inspected: dict[str, Any]) -> dict[str, str]:
    """Namespace type -> the mode Docker recorded for the container ('' is Docker's default)."""
    return {t: inspected[section].get(key) or "" for t, (section, key) in DOCKER_MODES.items()}


def joined_container(mode: str) -> str | None:
    """The container a 'container:REF' mode joins (name or ID, as Docker stored it), else None."""
    return mode.split(":", 1)[1] if mode.startswith("container:") else None


def expected_relation(ns_type: str, mode: str, cgroup_version: int) -> tuple[str, str | None]:
    """What Docker's recorded mode promises: ('host'|'private'|'container', container ref or None)."""
    ref = joined_container(mode)
    if ref is not None:
        return "container", ref
    if mode == "host":
        return "host", None
    if ns_type == "cgroup" and mode == "":
        # Docker's default cgroupns: host on v1, private on v2.
        return ("host" if cgroup_version == 1 else "private"), None
    if ns_type == "user":
        return ("private" if mode not in ("", "host") else "host"), None
    return "private", None


def relation(ns_type: str, proc_ns: dict[str, Any], host_ns: dict[str, Any], ref_ns: dict[str, Any] | None) -> str:
    """What the kernel shows: the joined container's first (a member of a host_network pod joins a sandbox
    that is in the host's namespace; that is what Docker promised), then the host's, else private."""
    own = proc_ns.get(ns_type)
    if own is None:
        return "absent"
    if ref_ns is not None and own == ref_ns.get(ns_type):
        return "container"
    if own == host_ns.get(ns_type):
        return "host"
    return "private"


def cri_expected(record: str, role: str) -> str:
    """What a CRI container's runtime spec promises for a type: JOIN_HOST or JOIN_PRIVATE as recorded; a path is, for a
    member, the namespace it joins ('container', the sandbox's) and, for the sandbox, its own that the runtime pinned
    there ('private', like Docker's SandboxKey)."""
    if record in (JOIN_HOST, JOIN_PRIVATE):
        return record
    return "private" if role == ROLE_SANDBOX else "container"


def cri_drift(ns_type: str, record: str, seen: tuple[str, str], own: dict[str, int], target: dict[str, int] | None, *, gone: str = "") -> dict[str, Any]:
    """One disagreement between a CRI container's runtime spec and the kernel: seen is (expected, what the kernel shows)."""
    expected, kernel = seen
    detail = f"{ns_type}:[{own['inode']}]"
    if target is not None and own != target:
        where = "where the runtime pinned it" if expected == "private" else "which the runtime spec joins"
        detail += f" is not {ns_type}:[{target['inode']}] at {record}, {where}"
    elif gone:
        detail += f", but the runtime spec joins {record}, and {gone}"
    elif expected == JOIN_HOST:
        detail += " is not the host's, although the runtime spec leaves it there"
    else:
        detail += f" is {'the host' if kernel == 'host' else 'another'}'s, although the runtime spec gives it its own"
    return {"type": ns_type, "recorded": record, "expected": expected, "kernel": kernel, "detail": detail}


def file_identity(path: str) -> tuple[dict[str, int] | None, str]:
    """({device, inode} of the namespace a pinned nsfs file holds, '') or (None, why it cannot be read)."""
    try:
        st = os.stat(path)
    except OSError as exc:
        return None, f"it cannot be read ({exc.strerror})"
    return {"device": st.st_dev, "inode": st.st_ino}, ""


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


K = TypeVar("K")


def holders(snapshots: Iterable[tuple[K, dict[str, Any] | None]], wanted: set[tuple[str, int, int]]) -> dict[tuple[str, int, int], list[K]]:
    """(type, device, inode) of each wanted namespace -> the keys of the snapshots whose process is in it (one pass over them)."""
    found: dict[tuple[str, int, int], list[K]] = {}
    for key, snap in snapshots:
        for ns_type, ident in (snap or {}).get("namespaces", {}).items():
            held = (ns_type, ident["device"], ident["inode"])
            if held in wanted:
                found.setdefault(held, []).append(key)
    return found


# A container reference as Docker takes one: a name (with or without its leading '/') or an id or id prefix.
_CONTAINER_REF = re.compile(r"/?[a-zA-Z0-9][a-zA-Z0-9_.-]*")


class NsFactsManager:
    """Reads in passes: Docker (one list, one inspect per container), /proc (each PID once),
    the hostnames (one thread), then assembles the facts from what was read."""

    def __init__(self, module: Any) -> None:
        self.module = module
        self.params = module.params
        self.proc = self.params["proc"]
        self.warnings: list[str] = []
        self.layout: Layout | None = None
        self._docker: DockerReads | None = None
        self._host: tuple[str, int] | None = None  # (source, pid) of the host's reference, once read
        self._pins: list[dict[str, Any]] | None = None  # persistent_namespaces() in the reference's mount namespace
        self._names: dict[str, dict[str, Any]] = {}  # container name -> its inspect, for find()
        self.snapshots: dict[int, dict[str, Any] | None] = {}  # pid -> snapshot; None: unreadable (warned once)
        self.inspected: dict[str, dict[str, Any]] = {}  # container ID -> docker inspect
        self.cri_pods: dict[str, CriPod] = {}  # cri_pods entry -> what the CRI runtime has

    # -- reading: Docker -----------------------------------------------------

    def docker(self) -> DockerReads:
        if self._docker is None:
            self._docker = DockerReads(docker_host(self.params.get("docker_host")))
        return self._docker

    def find(self, ref: str) -> dict[str, Any] | None:
        """An inspected container by ID, name or a prefix of one ID only, as Docker resolves 'container:REF' modes; None when the
        run has not read it (or a prefix names several: Docker then decides)."""
        if ref in self.inspected:
            return self.inspected[ref]
        if len(self._names) != len(self.inspected):  # inspected was filled elsewhere (the unit tests)
            self._names = {i["Name"].lstrip("/"): i for i in self.inspected.values()}
        named = self._names.get(ref.lstrip("/"))
        if named is not None:
            return named
        prefixed = [i for cid, i in self.inspected.items() if ref and cid.startswith(ref)]
        return prefixed[0] if len(prefixed) == 1 else None

    def record(self, inspected: dict[str, Any] | None) -> dict[str, Any] | None:
        """Keep an inspect (the first of a container, if two refs named it), and read its main process's /proc right away:
        Docker first, then the kernel (so that PID reuse between the two is unlikely), while the daemon answers the next."""
        if inspected is None:
            return None
        kept = self.inspected.setdefault(inspected["Id"], inspected)
        self._names[kept["Name"].lstrip("/")] = kept
        self.container_process(kept)
        return kept

    def read_docker(self, meanwhile: Callable[[], None] | None = None) -> tuple[dict[str, dict[str, Any] | None], dict[str, list[dict[str, Any]]]]:
        """The named containers and the pods' containers, inspected, plus every container their modes join: three batches
        (the named containers and one list per pod; the pods' containers not read yet; the joined ones not read yet).
        meanwhile: what to do while the daemon answers the first batch."""
        refs = self.params["containers"]
        pods: dict[str, list[dict[str, Any]]] = {name: [] for name in self.params["pods"]}
        # One list per pod, pipelined like the inspects: the daemon builds a summary only for the containers asked about
        # (the bare label key would list every pod on the host), and the lists cost about what one list did.
        lists = {pod: list_read(f"{LABEL_POD}={pod}") for pod in pods}
        first: list[Read] = [inspect_read(ref) for ref in refs] + list(lists.values())
        answers: dict[Read, Any] = {}
        pending = self.docker().read(first)
        if meanwhile is not None:
            meanwhile()
        for read, answer in pending:
            answers[read] = self.record(answer) if read.kind == "inspect" else answer
        named = {ref: answers[inspect_read(ref)] for ref in refs}
        summaries = [s for pod, read in lists.items() for s in answers.get(read, []) if (s.get("Labels") or {}).get(LABEL_POD) == pod]
        for _read, inspected in self.docker().read([inspect_read(s["Id"]) for s in summaries if s["Id"] not in self.inspected]):
            self.record(inspected)
        for summary in summaries:
            if summary["Id"] in self.inspected:  # else removed between the list and the inspect
                pods[summary["Labels"][LABEL_POD]].append(self.inspected[summary["Id"]])
        joined = {ref for inspected in list(self.inspected.values()) for mode in recorded_modes(inspected).values()
                  if (ref := joined_container(mode)) is not None and self.find(ref) is None}
        for _read, inspected in self.docker().read([inspect_read(ref) for ref in sorted(joined)]):
            self.record(inspected)
        return named, pods

    # -- reading: the CRI ----------------------------------------------------

    def read_cri(self) -> dict[str, CriPod]:
        """Every cri_pods entry; a runtime that cannot be reached leaves them out with a warning, like a missing pod."""
        refs, namespace, socket = self.params["cri_pods"], self.params["namespace"], self.params["cri_socket"]
        client = None
        try:
            client = CriClient(socket, timeout=20)
            pods = read_cri_pods(client, refs, namespace)
        except CriUnavailable as exc:  # no socket, no answer, grpcio/protobuf missing: the message says what to do
            self.warnings.append(f"cri_pods: {exc}; the CRI pods are left out")
            return {ref: CriPod(ref, *split_ref(ref, namespace)) for ref in refs}
        except CriError as exc:
            self.warnings.append(f"cri_pods: the CRI runtime at {socket} refused a read ({exc}); the CRI pods are left out")
            return {ref: CriPod(ref, *split_ref(ref, namespace)) for ref in refs}
        finally:
            if client is not None:
                client.close()
        for pod in pods.values():
            self.cri_state_warnings(pod)
        return pods

    def cri_state_warnings(self, pod: CriPod) -> None:
        """What keeps a found pod's view partial: no sandbox, a sandbox that is not ready, containers that do not run."""
        what = f"cri pod {pod.ref}"
        if pod.sandbox is None:
            self.warnings.append(f"{what}: {pod.why}")
            return
        if pod.sandbox.state != "running":
            self.warnings.append(f"{what}: the sandbox {pod.sandbox.id[:13]} is not ready (its pause process exited, or it was stopped); "
                                 "its members are compared with the namespaces their runtime spec joined")
        for container in (*pod.members.values(), *pod.inits.values()):
            if container.state == "running" and not container.pid:
                self.warnings.append(f"{what}: the runtime gives no PID for container {container.name} (no verbose status); "
                                     "its namespaces are left out")
            elif container.state != "running" and not (container.role == ROLE_INIT and container.exit_code == 0):
                code = f" (exit code {container.exit_code}{', ' + container.reason if container.reason else ''})" if container.exit_code is not None else ""
                self.warnings.append(f"{what}: container {container.name} is {container.state}{code}; its namespaces are left out")

    # -- reading: /proc ------------------------------------------------------

    def process(self, pid: int, what: str) -> dict[str, Any] | None:
        if pid in self.snapshots:
            return self.snapshots[pid]
        proc = None
        try:
            proc = snapshot(pid, self.proc)
        except ProcessGone:
            self.warnings.append(f"{what} (pid {pid}) is gone (it exited, or never existed); left out")
        except PermissionError:
            self.warnings.append(f"{what} (pid {pid}) cannot be read (permission denied): run as root")
        self.snapshots[pid] = proc
        return proc

    def container_process(self, inspected: dict[str, Any]) -> dict[str, Any] | None:
        pid = int(inspected["State"].get("Pid") or 0)
        if not inspected["State"].get("Running") or not pid:
            return None
        return self.process(pid, f"container {inspected['Name'].lstrip('/')}")

    def reference(self) -> tuple[str, int]:
        """(source, pid) of the host's namespaces: PID 1's, or this process's when PID 1 is out of reach (said in a warning)."""
        if os.geteuid() != 0:
            self.warnings.append("not running as root: other users' processes and hostnames inside namespaces cannot be read")
        if self.proc.rstrip("/") != "/proc":
            self.warnings.append(f"reading {self.proc}, not the host's /proc: the view is partial")
        if self.process(1, "PID 1") is not None:
            return "pid 1", 1
        self.warnings = [w for w in self.warnings if not w.startswith("PID 1")]
        self.warnings.append(
            "PID 1's namespaces cannot be read here (a sandbox or a container); the host reference is this module's own process"
        )
        self.process(os.getpid(), "this module")
        return "self", os.getpid()

    def fill_hostnames(self) -> None:
        """Every snapshot's hostname, one entry into each distinct UTS namespace."""
        readable = [s for s in self.snapshots.values() if s is not None and "uts" in s["namespaces"]]
        by_uts = {s["namespaces"]["uts"]["inode"]: s["pid"] for s in readable}
        names = hostnames(by_uts, self.proc)
        for s in readable:
            s["hostname"] = names.get(s["namespaces"]["uts"]["inode"])

    def cgroup_version(self) -> int:
        if self.layout is None:
            try:
                self.layout = Layout.detect()
            except CgroupError:
                return 0
        return self.layout.version

    # -- containers ----------------------------------------------------------

    def container_facts(self, inspected: dict[str, Any], host: dict[str, Any]) -> dict[str, Any]:
        proc = self.container_process(inspected)
        pid = int(inspected["State"].get("Pid") or 0)
        modes = recorded_modes(inspected)
        facts: dict[str, Any] = {
            "id": inspected["Id"], "name": inspected["Name"].lstrip("/"), "state": inspected["State"].get("Status"),
            "pid": pid or None, "labels": inspected["Config"].get("Labels") or {}, "modes": modes, "process": proc,
            "sandbox_key": (inspected.get("NetworkSettings") or {}).get("SandboxKey") or None, "kernel": {}, "drift": [],
        }
        if proc is None:
            return facts
        version = proc["cgroup"]["version"]
        for ns_type in NAMESPACE_TYPES:
            if ns_type not in proc["namespaces"]:
                continue
            expected, ref = expected_relation(ns_type, modes.get(ns_type, ""), version)
            joined = self.find(ref) if ref else None
            ref_facts = self.container_process(joined) if joined else None
            ref_ns = ref_facts["namespaces"] if ref_facts else None
            seen = relation(ns_type, proc["namespaces"], host.get("namespaces", {}), ref_ns)
            facts["kernel"][ns_type] = seen
            if expected != seen and not (expected == "private" and seen == "host" and ns_type in ("user", "time")):
                facts["drift"].append(self.drift(ns_type, modes.get(ns_type, ""), (expected, seen), proc, ref_facts))
        return facts

    @staticmethod
    def drift(ns_type: str, mode: str, seen: tuple[str, str], proc: dict[str, Any], ref: dict[str, Any] | None) -> dict[str, Any]:
        """One disagreement: seen is (what Docker's mode promises, what the kernel shows)."""
        expected, kernel = seen
        detail = f"{ns_type}:[{proc['namespaces'][ns_type]['inode']}]"
        if expected == "container" and ref:
            detail += f" is not {ns_type}:[{ref['namespaces'][ns_type]['inode']}] of the container it joined"
        elif expected == "container":
            detail += " (the container it joined is not running)"
        return {"type": ns_type, "docker": mode or "default", "recorded": mode or "default", "expected": expected, "kernel": kernel, "detail": detail}

    def cri_container_facts(self, pod: CriPod, container: CriContainer, host: dict[str, Any]) -> dict[str, Any]:
        """A CRI sandbox or container in the Docker container's schema: modes are what its runtime spec's
        linux.namespaces say (a path, private, host), the kernel view and drift are judged against them."""
        proc = self.snapshots.get(container.pid) if container.pid else None
        net = container.joins.get("net", JOIN_HOST)
        facts: dict[str, Any] = {
            "id": container.id, "name": container.name, "state": container.state, "pid": container.pid or None,
            "labels": container.labels, "modes": container.joins, "process": proc, "kernel": {}, "drift": [],
            # the sandbox's own network namespace, pinned by the runtime (Docker's SandboxKey); a member joins it
            "sandbox_key": net if container.role == ROLE_SANDBOX and net not in (JOIN_HOST, JOIN_PRIVATE) else None,
        }
        if proc is None:
            return facts
        host_ns = host.get("namespaces", {})
        for ns_type in NAMESPACE_TYPES:
            own = proc["namespaces"].get(ns_type)
            if own is None:
                continue
            record = container.joins.get(ns_type, JOIN_HOST)
            expected = cri_expected(record, container.role)
            target, gone = (None, "") if record in (JOIN_HOST, JOIN_PRIVATE) else self.joined(pod, record)
            ref_ns = {ns_type: target} if target is not None and expected == "container" else None
            seen = relation(ns_type, proc["namespaces"], host_ns, ref_ns)
            facts["kernel"][ns_type] = seen
            if seen != expected or (target is not None and own != target):
                facts["drift"].append(cri_drift(ns_type, record, (expected, seen), own, target, gone=gone))
        return facts

    def joined(self, pod: CriPod, path: str) -> tuple[dict[str, int] | None, str]:
        """The identity of the namespace a runtime spec path names, or (None, why it cannot be read). A /proc/PID path
        counts only while PID is still a process of the pod: a reused PID is some other process."""
        target = proc_target(path)
        if target is None:  # a pinned namespace file (the sandbox's network namespace; CRI-O pins ipc and uts too)
            return file_identity(path)
        pid, link = target
        snap = self.snapshots.get(pid) if any(c.pid == pid for c in pod.containers()) else None
        if snap is None:
            return None, f"pid {pid} is no longer a process of the pod (it exited)"
        return snap["namespaces"].get(link), ""

    # -- pods ----------------------------------------------------------------

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
                paths = layout.limit_dirs(proc["cgroup"]["paths"])  # from its /proc/PID/cgroup
                children[name] = {"paths": {k: str(v) for k, v in paths.items()}, "limits": read_limits(version, paths)}
        sandbox_paths: dict[str, str] = children.get("sandbox", {}).get("paths", {})
        pod_paths = {k: Path(v).parent for k, v in sandbox_paths.items()}
        return {
            "version": version, "parent": parent,
            "paths": {k: str(v) for k, v in pod_paths.items()},
            "limits": read_limits(version, pod_paths) if pod_paths else {},
            "children": children,
        }

    def pod_facts(self, name: str, containers: list[dict[str, Any]], host: dict[str, Any]) -> dict[str, Any]:
        if not containers:
            self.warnings.append(f"pod {name}: no container carries the label {LABEL_POD}={name}")
            return {"name": name, "found": False, "runtime": "docker"}
        sandbox: dict[str, Any] | None = None
        parent = ""
        members: dict[str, dict[str, Any]] = {}
        inits: dict[str, dict[str, Any]] = {}
        for inspected in containers:
            labels = inspected["Config"].get("Labels") or {}
            facts = self.container_facts(inspected, host)
            role = labels.get(LABEL_ROLE)
            if role == ROLE_SANDBOX:
                sandbox, parent = facts, inspected["HostConfig"].get("CgroupParent") or ""
            elif role in MEMBER_ROLES:
                (members if role == ROLE_CONTAINER else inits)[labels.get(LABEL_MEMBER) or facts["name"]] = facts
        return {"name": name, "found": True, "runtime": "docker", **self.assemble(sandbox, members, inits, parent, host)}

    def cri_pod_facts(self, pod: CriPod, host: dict[str, Any]) -> dict[str, Any]:
        """A CRI pod in the Docker pod's schema, plus its namespace and uid (the sandbox's metadata)."""
        facts: dict[str, Any] = {"name": pod.name, "found": pod.found, "runtime": "cri", "namespace": pod.namespace}
        if pod.sandbox is None:
            return facts
        sandbox = self.cri_container_facts(pod, pod.sandbox, host)
        members = {n: self.cri_container_facts(pod, c, host) for n, c in pod.members.items()}
        inits = {n: self.cri_container_facts(pod, c, host) for n, c in pod.inits.items()}
        return {**facts, "uid": pod.uid, **self.assemble(sandbox, members, inits, pod.sandbox.cgroup_parent, host)}

    def assemble(self, sandbox: dict[str, Any] | None, members: dict[str, dict[str, Any]], inits: dict[str, dict[str, Any]],
                 parent: str, host: dict[str, Any]) -> dict[str, Any]:
        """What both runtimes' pods show: the containers, the share matrix, pairs, hostnames, the cgroup tree, drift."""
        running = {n: f["process"]["namespaces"] for n, f in members.items() if f.get("process")}
        sandbox_proc = (sandbox or {}).get("process") or {}
        host_ns = host.get("namespaces", {})
        return {
            "sandbox": sandbox,
            "members": members,
            "init_containers": inits,
            "share": share_matrix(running, sandbox_proc.get("namespaces", {}), host_ns) if sandbox_proc else {},
            "pairs": shared_pairs(running, host_ns),
            "hostnames": {n: f["process"]["hostname"] for n, f in {"sandbox": sandbox or {}, **members}.items() if f.get("process")},
            "cgroup": self.cgroup_tree(sandbox, members, parent) if sandbox and sandbox.get("process") else {},
            "drift": {n: f["drift"] for n, f in members.items() if f["drift"]},
        }

    # -- the run -------------------------------------------------------------

    def read(self) -> tuple[dict[str, Any], dict[str, dict[str, Any] | None], dict[str, list[dict[str, Any]]]]:
        """Every read the facts need: the host's reference and the pids asked for (while the daemon answers the first
        Docker batch); Docker, each container's /proc as soon as its inspect is in (so PID reuse is unlikely between the
        two); the CRI pods and theirs; then the hostnames."""
        named: dict[str, dict[str, Any] | None] = {}
        pods: dict[str, list[dict[str, Any]]] = {}
        if self.params["containers"] or self.params["pods"]:
            try:
                named, pods = self.read_docker(meanwhile=self.read_host)
            except DockerUnavailable as exc:
                self.module.fail_json(msg=f"ns_facts: containers and pods need the Docker daemon: {exc}")
            except DockerException as exc:
                self.module.fail_json(msg=f"ns_facts: the Docker daemon refused a read: {exc}")
            finally:
                if self._docker is not None:
                    self._docker.close()
        if self._host is None:
            self.read_host()
        for inspected in self.inspected.values():
            self.container_process(inspected)
        if self.params["cri_pods"]:
            self.cri_pods = self.read_cri()
        for ref, container in self.cri_processes():
            self.process(container.pid, f"cri pod {ref}: " + ("the sandbox" if container.role == ROLE_SANDBOX else f"container {container.name}"))
        self.fill_hostnames()
        source, host_pid = self._host or ("self", os.getpid())
        host = {"source": source, **(self.snapshots.get(host_pid) or {})}  # a copy, so made after fill_hostnames()
        return host, named, pods

    def read_host(self) -> None:
        """What needs no container: the host's reference, the pids asked for, the cgroup layout, the nsfs mounts."""
        self._host = self.reference()
        for pid in self.params["pids"]:
            self.process(pid, "process")
        self.cgroup_version()
        self._pins = persistent_namespaces(self._host[1], self.proc)

    def cri_processes(self) -> list[tuple[str, CriContainer]]:
        """(cri_pods entry, container) for every CRI sandbox and container with a PID (the runtime says it runs)."""
        return [(ref, c) for ref, pod in self.cri_pods.items() for c in pod.containers() if c.pid]

    def pinned(self, host: dict[str, Any]) -> list[dict[str, Any]]:
        """Namespaces held by nsfs mounts in the host reference's mount namespace, each with the processes and
        containers of this run that are in it (none: only the mount keeps it alive, as far as this run saw).
        A CRI container is named REF/NAME, as the facts key it: pods[REF].members[NAME] (or .sandbox)."""
        entries = self._pins if self._pins is not None else persistent_namespaces(host.get("pid") or "self", self.proc)
        containers = {i["Name"].lstrip("/"): self.container_process(i) for i in self.inspected.values()}
        for ref, container in self.cri_processes():
            containers[f"{ref}/{'sandbox' if container.role == ROLE_SANDBOX else container.name}"] = self.snapshots.get(container.pid)
        wanted = {(e["type"], e["device"], e["inode"]) for e in entries}
        pids, names = holders(self.snapshots.items(), wanted), holders(containers.items(), wanted)
        for entry in entries:
            held = (entry["type"], entry["device"], entry["inode"])
            entry["pids"] = sorted(pids.get(held, []))
            entry["containers"] = sorted(names.get(held, []))
        return entries

    def validate(self) -> None:
        """Refuse, before any read, what cannot give facts: a pod asked for on both runtimes would have one key."""
        both = sorted(set(self.params["pods"]) & set(self.params["cri_pods"]))
        if both:
            self.module.fail_json(msg=f"ns_facts: {', '.join(both)} is asked for in both pods and cri_pods, and pods are keyed by name: "
                                      "gather the Docker pod and the CRI pod in two tasks and register each")
        bad = [ref for ref in self.params["containers"] if not _CONTAINER_REF.fullmatch(ref)]
        if bad:
            self.module.fail_json(msg=f"ns_facts: containers {bad}: give a container's name (letters, digits and _ . -, starting with "
                                      "a letter or digit) or its id or a prefix of it")
        bad = [ref for ref in self.params["pods"] if not _CONTAINER_REF.fullmatch(ref) or ref.startswith("/")]
        if bad:
            self.module.fail_json(msg=f"ns_facts: pods {bad}: give a pod's name, as docker_pod names it (letters, digits and _ . -)")
        if not all(0 < len(parts) < 3 and all(parts) for parts in (ref.split("/") for ref in self.params["cri_pods"])):
            self.module.fail_json(msg="ns_facts: each cri_pods entry is a pod name, NAMESPACE/NAME or a sandbox id")
        proc = self.params["proc"]
        if not proc.startswith("/") or any(len(part.encode()) > 255 for part in proc.split("/")):
            self.module.fail_json(msg=f"ns_facts: proc {proc[:80]!r}: give the absolute path of a procfs mount, such as /proc "
                                      "(each part of it at most 255 bytes, as a file name)")
        if self.params["cri_pods"]:
            try:
                socket_path(self.params["cri_socket"])
            except CriError as exc:
                self.module.fail_json(msg=f"ns_facts: {exc}")

    def run(self) -> dict[str, Any]:
        self.validate()
        host, named, pods = self.read()
        processes = {str(pid): self.snapshots[pid] for pid in self.params["pids"] if self.snapshots.get(pid) is not None}
        containers: dict[str, Any] = {}
        for ref, inspected in named.items():
            if inspected is None:
                self.warnings.append(f"container {ref} does not exist")
            else:
                containers[ref] = self.container_facts(inspected, host)
        pod_facts = {name: self.pod_facts(name, found, host) for name, found in pods.items()}
        pod_facts.update({ref: self.cri_pod_facts(pod, host) for ref, pod in self.cri_pods.items()})
        persistent = self.pinned(host)
        facts = {
            "schema": SCHEMA_VERSION,
            "cgroup_version": self.cgroup_version(),
            "host": host,
            "processes": processes,
            "containers": containers,
            "pods": pod_facts,
            "persistent": persistent,
            "warnings": list(self.warnings),
        }
        for warning in self.warnings:
            self.module.warn(warning)
        return {"changed": False, "ansible_facts": {FACTS_KEY: facts}}
