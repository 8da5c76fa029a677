# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: the pod as the daemon and the kernel show it. Not a public API."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ansible_collections.podlab.playground.plugins.module_utils._docker import DockerClient
from ansible_collections.podlab.playground.plugins.module_utils._namespaces import ns_identity
from ansible_collections.podlab.playground.plugins.module_utils._pod.model import (
    LABEL_MEMBER,
    LABEL_POD,
    LABEL_ROLE,
    ROLE_CONTAINER,
    ROLE_INIT,
    ROLE_SANDBOX,
    container_name,
)
from ansible_collections.podlab.playground.plugins.module_utils._pod.spec import PodSpec


@dataclass
class ObservedPod:
    """One label-filtered list of the pod's containers and volumes, inspected."""

    sandbox: dict[str, Any] | None = None
    members: dict[str, dict[str, Any]] = field(default_factory=dict)
    inits: dict[str, dict[str, Any]] = field(default_factory=dict)
    strays: list[dict[str, Any]] = field(default_factory=list)  # ours by label, but not where the spec expects them
    volumes: set[str] = field(default_factory=set)
    image_ids: dict[str, str | None] = field(default_factory=dict)

    @property
    def exists(self) -> bool:
        return bool(self.sandbox or self.members or self.inits or self.strays or self.volumes)


def running(container: dict[str, Any] | None) -> bool:
    return bool(container and container["State"].get("Running"))


def pid_of(container: dict[str, Any] | None) -> int:
    if container is None or not running(container):
        return 0
    return int(container["State"].get("Pid") or 0)


def observe(client: DockerClient, spec: PodSpec) -> ObservedPod:
    pod = ObservedPod()
    for container in client.containers_by_label(f"{LABEL_POD}={spec.name}"):
        labels = container["Config"].get("Labels") or {}
        role, member, name = labels.get(LABEL_ROLE), labels.get(LABEL_MEMBER), container["Name"].lstrip("/")
        if role == ROLE_SANDBOX and name == spec.sandbox_name and pod.sandbox is None:
            pod.sandbox = container
        elif role == ROLE_CONTAINER and member and name == container_name(spec.name, role, member) and member not in pod.members:
            pod.members[member] = container
        elif role == ROLE_INIT and member and name == container_name(spec.name, role, member) and member not in pod.inits:
            pod.inits[member] = container
        else:
            pod.strays.append(container)
    pod.volumes = {v["Name"] for v in client.volumes_by_label(f"{LABEL_POD}={spec.name}")}
    if spec.state != "absent":  # image IDs only matter for what is to run
        images = {spec.sandbox_image, *(m.image for m in spec.members + spec.inits)}
        pod.image_ids = {image: client.image_id(image) for image in sorted(images)}
    return pod


def stale_namespaces(member: dict[str, Any], sandbox: dict[str, Any] | None, ns_types: tuple[str, ...]) -> list[str]:
    """Namespace types a running member should share with the running sandbox but does not (kernel truth)."""
    member_pid, sandbox_pid = pid_of(member), pid_of(sandbox)
    if not member_pid or not sandbox_pid:
        return []
    stale = []
    for ns_type in ns_types:
        mine, theirs = ns_identity(member_pid, ns_type), ns_identity(sandbox_pid, ns_type)
        if mine and theirs and mine != theirs:
            stale.append(ns_type)
    return stale
