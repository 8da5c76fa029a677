# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: the pod as a runtime and the kernel show it, runtime-neutral. Not a public API."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ansible_collections.podlab.playground.plugins.module_utils._namespaces import ns_identity
from ansible_collections.podlab.playground.plugins.module_utils._pod.model import ContainerView
from ansible_collections.podlab.playground.plugins.module_utils._pod.spec import PodSpec


@dataclass
class ObservedPod:
    """What one runtime's label-filtered lists show of the pod."""

    sandbox: ContainerView | None = None
    members: dict[str, ContainerView] = field(default_factory=dict)
    inits: dict[str, ContainerView] = field(default_factory=dict)
    strays: list[ContainerView] = field(default_factory=list)  # ours by label, but not where the spec expects them
    volumes: set[str] = field(default_factory=set)
    image_ids: dict[str, str | None] = field(default_factory=dict)
    # image -> the image's own config where the runtime's read gives it (Docker's Config: Env, Cmd, ...)
    image_configs: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def exists(self) -> bool:
        return bool(self.sandbox or self.members or self.inits or self.strays or self.volumes)


def running(container: ContainerView | None) -> bool:
    return bool(container and container.running)


def pid_of(container: ContainerView | None) -> int:
    return container.pid if container is not None and container.running else 0


def stale_namespaces(member: ContainerView, sandbox: ContainerView | None, ns_types: tuple[str, ...]) -> list[str]:
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


def in_spec_order(spec: PodSpec, observed: ObservedPod) -> tuple[list[ContainerView], list[ContainerView], list[str]]:
    """The observed members, init containers and pod volumes (short names) in the order the spec gives them, then any other
    in name order: the order a pod's manifest lists them."""
    ordered = [m.name for m in spec.members]
    members = [observed.members[n] for n in ordered if n in observed.members]
    members += [c for n, c in sorted(observed.members.items()) if n not in ordered]
    inits = [observed.inits[m.name] for m in spec.inits if m.name in observed.inits]
    short = sorted(v.removeprefix(f"{spec.name}_") for v in observed.volumes)
    named = [v for v in spec.volumes if v in short]
    return members, inits, named + [v for v in short if v not in named]
