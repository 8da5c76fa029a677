# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: the pod's vocabulary, defined once. Not a public API.

The labels every container and volume of a pod carries, the roles a container plays in it,
and the naming rule of its containers and volumes. docker_pod writes them, and observes and
plans by them; ns_facts finds pods by them.
"""
from __future__ import annotations

LABEL_POD = "podlab.pod"
LABEL_ROLE = "podlab.role"
LABEL_MEMBER = "podlab.member"
LABEL_HASH = "podlab.spec-hash"

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
