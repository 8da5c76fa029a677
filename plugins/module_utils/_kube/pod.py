# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: a pod as any runtime observed it, in Kubernetes' terms. Not a public API.

KubePod is what a runtime fills from what it saw (Docker's inspect, the CRI's status, the
kernel), and what pod_out turns into a v1 Pod manifest. Nothing in it is Docker's or the CRI's
own: values are normalised as the pod modules normalise their options (bytes, nano CPUs, lists).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

# Kubernetes' restartPolicy and the Docker restart policy that means the same to a member. Always is
# unless-stopped: restarted whenever it exits, but a member the module stopped stays stopped.
DOCKER_RESTART_POLICY = {"Always": "unless-stopped", "OnFailure": "on-failure", "Never": "no"}
_KUBE_RESTART_POLICY = {"unless-stopped": "Always", "always": "Always", "on-failure": "OnFailure", "no": "Never"}


@dataclass
class KubeMount:
    """A mount of a container.

    type: volume (a pod volume, Kubernetes' emptyDir), bind (a host path, hostPath) or tmpfs (emptyDir
    with medium Memory, one container's own). source: the pod volume's short name, the absolute
    host path, or "" for tmpfs. target: the path in the container.
    """

    type: str
    target: str
    source: str = ""
    read_only: bool = False


@dataclass
class KubeContainer:
    """A member or init container.

    entrypoint is Kubernetes' command (the image's ENTRYPOINT replaced), command is Kubernetes' args
    (CMD replaced); None keeps the image's. env: the variables the pod set (not the image's own).
    user: "UID" or "UID:GID" (a user name cannot be written in a Pod). memory: the limit in bytes,
    nano_cpus: the CPU limit in billionths of a CPU; None or 0 is no limit.
    """

    name: str
    image: str
    entrypoint: list[str] | None = None
    command: list[str] | None = None
    env: dict[str, str] = field(default_factory=dict)
    working_dir: str | None = None
    user: str | None = None
    memory: int | None = None
    nano_cpus: int | None = None
    mounts: list[KubeMount] = field(default_factory=list)


class KubePort(NamedTuple):
    """A port published on the pod: host_ip "" for every address, host_port None for none (Docker picks one)."""

    host_ip: str
    host_port: int | None
    container_port: int
    proto: str = "tcp"  # tcp | udp | sctp


@dataclass
class KubePod:
    """A pod as observed.

    namespace: the pod's Kubernetes namespace (cri_pod), None where the runtime has none (docker_pod).
    labels: as the containers carry them; the collection's own podlab.* labels are left out of the
    manifest. hostname: the pod's, "" or the pod's name when it set none. ports: published on the
    sandbox. volumes: the short names of the pod volumes (emptyDir), in the pod's order. dns: servers,
    searches and options ("ndots:2"), None for the runtime's default. restart_policy: Kubernetes'
    Always, OnFailure or Never; None is Always (the default). stop_timeout: seconds between SIGTERM
    and SIGKILL (terminationGracePeriodSeconds), None when not known.
    """

    name: str
    namespace: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    hostname: str | None = None
    share_pid: bool = False
    host_network: bool = False
    host_ipc: bool = False
    host_pid: bool = False
    ports: list[KubePort] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    dns: dict[str, list[str]] | None = None
    restart_policy: str | None = None
    stop_timeout: int | None = None
    containers: list[KubeContainer] = field(default_factory=list)
    init_containers: list[KubeContainer] = field(default_factory=list)


def kube_restart_policy(docker_policies: Iterable[str | None]) -> str | None:
    """The pod's restartPolicy from its members' Docker restart policies (None: Docker's "no"), or None when
    they disagree, which one Pod cannot say."""
    policies = {_KUBE_RESTART_POLICY[p or "no"] for p in docker_policies}
    return policies.pop() if len(policies) == 1 else None
