# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: a pod spec as kubelet would run it through the CRI. Not a public API.

cri_pod takes docker_pod's options; what the CRI cannot honour is refused here, before any
change. The rest is kubelet's arithmetic: the pod's UID, its QoS class, its cgroup
(kubepods/<qos>/pod<uid>) and the pod-level limits kubelet writes there.
"""
from __future__ import annotations

import copy
import dataclasses
import re
import uuid
from dataclasses import dataclass
from typing import Any

from ansible_collections.podlab.playground.plugins.module_utils._pod.spec import (
    ARGUMENT_SPEC,
    MEMBER_OPTIONS,
    MemberSpec,
    PodSpec,
    PodSpecError,
    build_spec,
)

DEFAULT_NAMESPACE = "default"
DEFAULT_SOCKET = "unix:///run/containerd/containerd.sock"
# A fixed namespace for uuid5, so that a pod's UID is the same on every run and every host.
_UID_NAMESPACE = uuid.UUID("6f3d1e0c-5b1a-4c8e-9a57-7d0b9c2e4f11")
_UID = re.compile(r"[A-Za-z0-9-]{1,128}")
QOS_GUARANTEED, QOS_BURSTABLE, QOS_BESTEFFORT = "Guaranteed", "Burstable", "BestEffort"
QOS_CLASSES = (QOS_GUARANTEED, QOS_BURSTABLE, QOS_BESTEFFORT)

# Why a member option has no CRI counterpart, and what to do instead.
CRI_REFUSED = {
    "restart_policy": "the CRI runtime never restarts a container, kubelet does; the next run with state started makes a new one",
    "pids_limit": "the CRI has no per-container tasks limit; set cgroup_parent.pids_max for the pod",
}

CRI_ARGUMENT_SPEC: dict[str, Any] = copy.deepcopy({k: v for k, v in ARGUMENT_SPEC.items() if k != "docker_host"})
# Given at all, these are refused (the CRI runtime and kubelet's rules decide them): no defaults.
CRI_ARGUMENT_SPEC["sandbox"] = {"type": "dict"}
CRI_ARGUMENT_SPEC["cgroup_parent"]["options"]["create"] = {"type": "bool"}
CRI_ARGUMENT_SPEC.update({
    "namespace": {"type": "str", "default": DEFAULT_NAMESPACE},
    "uid": {"type": "str"},
    "cri_socket": {"type": "str", "default": DEFAULT_SOCKET},
    "dns": {"type": "dict", "options": {
        "servers": {"type": "list", "elements": "str", "default": []},
        "searches": {"type": "list", "elements": "str", "default": []},
        "options": {"type": "list", "elements": "str", "default": []},
    }},
})


@dataclass(frozen=True)
class CriPod:
    """What the CRI adds to the pod spec: its identity in the runtime and kubelet's cgroup rules."""

    namespace: str
    uid: str
    qos: str
    dns: dict[str, list[str]]
    socket: str

    @property
    def qos_dir(self) -> str:
        return "" if self.qos == QOS_GUARANTEED else self.qos.lower()

    def cgroup_name(self, driver: str) -> str:
        """kubelet's pod cgroup: kubepods[/burstable|/besteffort]/pod<uid>, or its systemd slice."""
        if driver == "systemd":
            qos = f"-{self.qos_dir}" if self.qos_dir else ""
            return f"kubepods{qos}-pod{self.uid.replace('-', '_')}.slice"
        return "/".join(p for p in ("kubepods", self.qos_dir, f"pod{self.uid}") if p)


def pod_uid(namespace: str, name: str) -> str:
    return str(uuid.uuid5(_UID_NAMESPACE, f"{namespace}/{name}"))


def qos_class(members: tuple[MemberSpec, ...]) -> str:
    """kubelet's rule with limits only (requests default to limits): every container limits memory and cpu
    -> Guaranteed; none limits either -> BestEffort; else Burstable."""
    limits = [(bool(m.options.get("memory")), bool(m.options.get("cpus"))) for m in members]
    if limits and all(mem and cpu for mem, cpu in limits):
        return QOS_GUARANTEED
    if not any(mem or cpu for mem, cpu in limits):
        return QOS_BESTEFFORT
    return QOS_BURSTABLE


def _pod_limit(spec: PodSpec, option: str) -> int | None:
    """kubelet's pod-level limit: the members' sum when every member sets one, at least the largest init container's."""
    values = [m.options.get(option) for m in spec.members]
    if not values or not all(values):
        return None
    inits = [m.options.get(option) or 0 for m in spec.inits]
    return max([sum(v for v in values if v), *inits])


def _refuse(params: dict[str, Any]) -> None:
    """Options the CRI cannot honour, each with what to do instead."""
    if params.get("sandbox"):
        raise PodSpecError("sandbox: the CRI runtime runs its own pause image (containerd's sandbox_image, set by the "
                           "cri_runtime role's cri_runtime_sandbox_image); drop sandbox")
    cgroup = params.get("cgroup_parent") or {}
    if cgroup.get("name") or cgroup.get("create") is not None:
        raise PodSpecError("cgroup_parent: name and create do not apply, the pod's cgroup is kubelet's kubepods/<qos>/pod<uid>; "
                           "keep only memory, cpus, pids_max and driver")
    for kind in ("containers", "init_containers"):
        for raw in params.get(kind) or []:
            for option in MEMBER_OPTIONS:
                if raw.get(option.name) is not None and option.cri is None:
                    raise PodSpecError(f"{kind} {raw.get('name')}: {option.name} is not supported by cri_pod "
                                       f"({CRI_REFUSED.get(option.name, 'the CRI has no such container setting')}); drop it")
            for mount in raw.get("mounts") or []:
                if mount.get("type") == "tmpfs":
                    raise PodSpecError(f"{kind} {raw.get('name')}: tmpfs mounts are not supported by cri_pod; mount a pod volume instead")
    uid = params.get("uid")
    if uid is not None and not _UID.fullmatch(uid):
        # it names the pod's cgroup (pod<uid>) and directories: ASCII, and short enough for a file name
        raise PodSpecError(f"uid {uid[:80]!r}: use at most 128 ASCII letters, digits and '-' (a UUID such as {pod_uid('default', 'foo')})")
    namespace = params.get("namespace") or ""
    if not namespace or not all(c.isalnum() or c == "-" for c in namespace) or not namespace[0].isalnum():
        raise PodSpecError(f"namespace {namespace!r}: use lower-case letters, digits and '-' (a Kubernetes namespace name)")


def build_cri_spec(params: dict[str, Any], driver: str, uid: str | None = None) -> tuple[PodSpec, CriPod]:
    """docker_pod's spec, the CRI's refusals, then kubelet's cgroup and limits for the pod. uid: the pod's own
    when it exists and the task gives none (a pod keeps its UID)."""
    _refuse(params)
    spec = build_spec({**params, "sandbox": None, "cgroup_parent": {**(params.get("cgroup_parent") or {}), "create": True}})
    for port in spec.ports:
        if not port.host_port:
            raise PodSpecError(f"ports: {port.container_port}/{port.proto} has no host port; the CRI publishes a port only with one, "
                               f"as Kubernetes' hostPort: write HOST:{port.container_port}")
    namespace = params["namespace"]
    cri = CriPod(namespace=namespace, uid=params.get("uid") or uid or pod_uid(namespace, spec.name), qos=qos_class(spec.members + spec.inits),
                 dns={k: list(v) for k, v in (params.get("dns") or {}).items()}, socket=params.get("cri_socket") or DEFAULT_SOCKET)
    cgroup = dict(spec.cgroup, name=cri.cgroup_name(driver), create=True)
    for option in ("memory", "cpus"):
        if cgroup.get(option) is None:
            value = _pod_limit(spec, option)
            if value:
                cgroup[option] = str(value) if option == "memory" else f"{value / 1e9:g}"
    return dataclasses.replace(spec, cgroup=cgroup), cri


def on_runtime(spec: PodSpec, cri: CriPod, driver: str, uid: str | None) -> tuple[PodSpec, CriPod]:
    """The spec and CriPod build_cri_spec made before the runtime answered, with what only the runtime tells: its cgroup
    driver (the name of the pod's cgroup) and uid, the pod's own UID when it exists and the task gives none. The same as
    build_cri_spec(params, driver, uid), without validating and building it all again."""
    if uid and uid != cri.uid:
        cri = dataclasses.replace(cri, uid=uid)
    return dataclasses.replace(spec, cgroup=dict(spec.cgroup, name=cri.cgroup_name(driver))), cri
