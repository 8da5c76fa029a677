# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: the pod's vocabulary, defined once. Not a public API.

The labels every container and volume of a pod carries, the roles a container plays in it,
the naming rule of its containers and volumes, and the runtime-neutral view of a container.
docker_pod and cri_pod write them, and observe and plan by them; ns_facts finds pods by them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LABEL_POD = "podlab.pod"
LABEL_ROLE = "podlab.role"
LABEL_MEMBER = "podlab.member"
LABEL_HASH = "podlab.spec-hash"
# The cgroup the module made for the pod, on each container in it: state absent, or a new
# cgroup_parent.name, removes it later (a user's own cgroup, create false, carries none).
LABEL_CGROUP = "podlab.cgroup"

ROLE_SANDBOX = "sandbox"
ROLE_CONTAINER = "container"
ROLE_INIT = "init"
MEMBER_ROLES = (ROLE_CONTAINER, ROLE_INIT)


def container_name(pod: str, role: str, member: str = "") -> str:
    """The name of a pod's container: POD_sandbox, POD_MEMBER, POD_init_MEMBER."""
    if role == ROLE_SANDBOX:
        return f"{pod}_sandbox"
    if role == ROLE_INIT:
        return f"{pod}_init_{member}"
    return f"{pod}_{member}"


def volume_name(pod: str, volume: str) -> str:
    """The name of a pod volume: POD_VOLUME."""
    return f"{pod}_{volume}"


@dataclass
class ContainerView:
    """A container (or sandbox) as any runtime reports it: what the planner reads.

    raw is the runtime's own record (Docker's inspect, the CRI status), for the runtime's
    own comparisons only; the planner never looks inside it.
    """

    id: str
    name: str
    labels: dict[str, str]
    status: str  # running | exited | created | unknown
    image: str = ""  # as the container was asked to run it
    pid: int = 0
    exit_code: int | None = None
    image_id: str | None = None
    sandbox_id: str | None = None  # the sandbox it joined, when it is a member
    raw: Any = None

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def role(self) -> str | None:
        return self.labels.get(LABEL_ROLE)

    @property
    def member(self) -> str | None:
        return self.labels.get(LABEL_MEMBER)

    @property
    def spec_hash(self) -> str | None:
        return self.labels.get(LABEL_HASH)
