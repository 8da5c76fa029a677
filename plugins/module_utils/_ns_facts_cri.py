# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: ns_facts' reader of CRI pods. Not a public API.

Finds pods on a CRI runtime (containerd's CRI plugin; kubelet's pods on a node as well as
cri_pod's) by the sandbox's metadata (namespace and name) or by its id, with one ListPodSandbox
and one ListContainers for all of them and one verbose status per sandbox and container, and
turns each into what the facts need: the state, the PID and what the OCI runtime spec says the
container joined. Reads only; the kernel's side is read by _ns_facts.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.podlab.playground.plugins.module_utils._cri.client import CriClient
from ansible_collections.podlab.playground.plugins.module_utils._pod.model import LABEL_ROLE, ROLE_CONTAINER, ROLE_INIT, ROLE_SANDBOX

# The OCI runtime spec's namespace types, by the names of the /proc/PID/ns links.
OCI_TYPES = {"cgroup": "cgroup", "ipc": "ipc", "mount": "mnt", "network": "net", "pid": "pid", "time": "time", "user": "user", "uts": "uts"}
# What the spec says of a type: it joins a path; it gets a new one (listed without a path); or it stays
# in the runtime's own (not listed: the OCI spec says the container inherits the runtime's, the host's).
JOIN_PRIVATE = "private"
JOIN_HOST = "host"
SANDBOX_STATES = {"SANDBOX_READY": "running", "SANDBOX_NOTREADY": "exited"}
CONTAINER_STATES = {"CONTAINER_RUNNING": "running", "CONTAINER_EXITED": "exited", "CONTAINER_CREATED": "created"}
_PROC_NS = re.compile(r"/proc/(\d+)/ns/([a-z_]+)")


@dataclass
class CriContainer:
    """A sandbox or a container as the facts read it from the runtime."""

    id: str
    name: str  # the metadata's name: the pod's for the sandbox, the member's for a container
    role: str  # sandbox | container | init
    state: str  # running | exited | created | unknown
    pid: int  # 0 when the runtime gives none (not running, or no verbose status)
    labels: dict[str, str]
    joins: dict[str, str]  # ns type -> the path it joins, JOIN_PRIVATE or JOIN_HOST
    created_at: int = 0
    exit_code: int | None = None
    reason: str = ""
    cgroup_parent: str = ""  # the sandbox's, as the runtime was given it


@dataclass
class CriPod:
    """What one cri_pods entry found: the sandbox and its containers, or why nothing was found."""

    ref: str
    namespace: str
    name: str
    why: str = ""
    uid: str = ""
    sandbox: CriContainer | None = None
    members: dict[str, CriContainer] = field(default_factory=dict)
    inits: dict[str, CriContainer] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        return self.sandbox is not None

    def containers(self) -> list[CriContainer]:
        return [c for c in (self.sandbox, *self.members.values(), *self.inits.values()) if c is not None]


def verbose_info(reply: dict[str, Any] | None) -> dict[str, Any]:
    """The JSON of a verbose status reply's info["info"] (pid, config, runtimeSpec); {} when there is none."""
    text = ((reply or {}).get("info") or {}).get("info")
    try:
        info = json.loads(text) if text else {}
    except ValueError:
        return {}
    return info if isinstance(info, dict) else {}


def spec_joins(runtime_spec: dict[str, Any]) -> dict[str, str]:
    """Namespace type -> what the OCI runtime spec's linux.namespaces says: a path, JOIN_PRIVATE or JOIN_HOST."""
    listed = {}
    for entry in (runtime_spec.get("linux") or {}).get("namespaces") or []:
        ns_type = OCI_TYPES.get(entry.get("type", ""))
        if ns_type:
            listed[ns_type] = entry.get("path") or JOIN_PRIVATE
    return {t: listed.get(t, JOIN_HOST) for t in sorted(OCI_TYPES.values())}


def proc_target(path: str) -> tuple[int, str] | None:
    """(PID, ns link) of a /proc/PID/ns/TYPE path, the form containerd gives a member's joins; None for a pinned file."""
    match = _PROC_NS.fullmatch(path)
    return (int(match.group(1)), match.group(2)) if match else None


def sandbox_record(item: dict[str, Any], reply: dict[str, Any] | None) -> CriContainer:
    """A ListPodSandbox item and its verbose status, as the facts read it."""
    status = (reply or {}).get("status") or {}
    info = verbose_info(reply)
    state = SANDBOX_STATES.get(status.get("state") or item.get("state", ""), "unknown")
    config = info.get("config") or {}
    return CriContainer(
        id=item["id"], name=(item.get("metadata") or {}).get("name", ""), role=ROLE_SANDBOX, state=state,
        pid=int(info.get("pid") or 0) if state == "running" else 0, labels=item.get("labels") or {},
        joins=spec_joins(info.get("runtimeSpec") or {}), created_at=int(item.get("created_at") or 0),
        cgroup_parent=(config.get("linux") or {}).get("cgroup_parent") or "",
    )


def container_record(item: dict[str, Any], reply: dict[str, Any] | None) -> CriContainer:
    """A ListContainers item and its verbose status. The role is cri_pod's label, else a container (kubelet does not
    mark its init containers in the CRI)."""
    status = (reply or {}).get("status") or {}
    info = verbose_info(reply)
    state = CONTAINER_STATES.get(status.get("state") or item.get("state", ""), "unknown")
    labels = item.get("labels") or {}
    return CriContainer(
        id=item["id"], name=(item.get("metadata") or {}).get("name", ""),
        role=ROLE_INIT if labels.get(LABEL_ROLE) == ROLE_INIT else ROLE_CONTAINER, state=state,
        pid=int(info.get("pid") or 0) if state == "running" else 0, labels=labels,
        joins=spec_joins(info.get("runtimeSpec") or {}), created_at=int(item.get("created_at") or 0),
        exit_code=int(status.get("exit_code") or 0) if state == "exited" else None, reason=status.get("reason") or "",
    )


def split_ref(ref: str, namespace: str) -> tuple[str, str]:
    """(namespace, name) of a cri_pods entry: NAMESPACE/NAME, or NAME in the namespace option."""
    space, name = ref.rpartition("/")[::2]
    return (space or namespace), name


def _newest_first(sandboxes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # kubelet keeps the not-ready sandboxes of earlier attempts: the ready one, then the newest, is the pod's
    return sorted(sandboxes, key=lambda s: (s.get("state") == "SANDBOX_READY", int(s.get("created_at") or 0)), reverse=True)


def find_sandbox(ref: str, namespace: str, sandboxes: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, str]:
    """The sandbox a cri_pods entry names, as `crictl` resolves it: the full id, the name in its namespace, then a
    unique id prefix. Returns (sandbox, '') or (None, why)."""
    for sandbox in sandboxes:
        if sandbox["id"] == ref:
            return sandbox, ""
    space, name = split_ref(ref, namespace)
    named = [s for s in sandboxes if (s.get("metadata") or {}).get("name") == name and (s.get("metadata") or {}).get("namespace") == space]
    if named:
        return _newest_first(named)[0], ""
    if "/" not in ref:
        prefixed = [s for s in sandboxes if s["id"].startswith(ref)]
        if len(prefixed) == 1:
            return prefixed[0], ""
        if prefixed:
            return None, f"{len(prefixed)} sandbox ids start with {ref}; give more of the id"
    return None, f"no sandbox named {name} in namespace {space}" + ("" if "/" in ref else f", and no sandbox id starts with {ref}")


def pick_containers(items: list[CriContainer]) -> tuple[dict[str, CriContainer], dict[str, CriContainer]]:
    """(members, init containers) by name. kubelet keeps the exited container of an earlier attempt beside the new one:
    the running one, else the newest, stands for the name."""
    chosen: dict[tuple[str, str], CriContainer] = {}
    for item in sorted(items, key=lambda c: (c.state == "running", c.created_at)):
        chosen[(item.role, item.name)] = item
    members = {name: c for (role, name), c in sorted(chosen.items()) if role == ROLE_CONTAINER}
    inits = {name: c for (role, name), c in sorted(chosen.items()) if role == ROLE_INIT}
    return members, inits


def read_cri_pods(client: CriClient, refs: list[str], namespace: str) -> dict[str, CriPod]:
    """Every cri_pods entry: one list of sandboxes and one of containers for all, one verbose status each."""
    sandboxes = client.list_pod_sandboxes()
    found: dict[str, CriPod] = {}
    wanted: dict[str, list[CriPod]] = {}  # sandbox id -> the entries that name it
    for ref in refs:
        space, name = split_ref(ref, namespace)
        item, why = find_sandbox(ref, namespace, sandboxes)
        pod = CriPod(ref=ref, namespace=space, name=name, why=why)
        if item is not None:
            metadata = item.get("metadata") or {}
            pod.name, pod.namespace, pod.uid = metadata.get("name", name), metadata.get("namespace", space), metadata.get("uid", "")
            pod.sandbox = sandbox_record(item, client.pod_sandbox_status(item["id"], verbose=True))
            wanted.setdefault(item["id"], []).append(pod)
        found[ref] = pod
    if wanted:
        by_sandbox: dict[str, list[CriContainer]] = {}
        for item in client.list_containers():
            if item.get("pod_sandbox_id") in wanted:
                reply = client.container_status(item["id"], verbose=True)
                if reply is not None:  # removed between the list and the status
                    by_sandbox.setdefault(item["pod_sandbox_id"], []).append(container_record(item, reply))
        for sandbox_id, pods in wanted.items():
            members, inits = pick_containers(by_sandbox.get(sandbox_id, []))
            for pod in pods:
                pod.members, pod.inits = members, inits
    return found
