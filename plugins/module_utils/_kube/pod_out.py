# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: an observed pod written as the Kubernetes v1 Pod manifest that makes it. Not a public API.

The manifest is minimal and stable: what equals Kubernetes' default is left out, env is sorted,
quantities are canonical (256Mi, 500m). Reading it back (pod_in) gives the options that make the
same pod. What a Pod cannot say (a user name, a port on a host port Docker picks) is listed by
export_gaps, for the module to warn about. The UID is left out: the API server sets it, and
cri_pod derives the same one from namespace and name.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ansible_collections.podlab.playground.plugins.module_utils._kube.pod import KubeContainer, KubeMount, KubePod, KubePort
from ansible_collections.podlab.playground.plugins.module_utils._kube.quantity import bytes_quantity, nano_cpus_quantity
from ansible_collections.podlab.playground.plugins.module_utils._kube.yaml_text import dump_block

# The collection's own labels (podlab.pod, podlab.role, podlab.member, podlab.spec-hash) say how it keeps the pod, not what it is.
OWN_LABEL_PREFIX = "podlab."
_NOT_IN_NAME = re.compile(r"[^a-z0-9]+")
_LONGEST_NAME = 63  # a volume's name is a DNS label
# The names Kubernetes accepts: a DNS label for containers and volumes, a DNS subdomain for the pod.
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def _numeric_user(user: str | None) -> tuple[int, int | None] | None:
    uid, _sep, gid = (user or "").partition(":")
    if not uid.isdigit() or (gid and not gid.isdigit()):
        return None
    return int(uid), int(gid) if gid else None


class _Volumes:
    """The pod's volumes by name, and the name each mount refers to (host paths and tmpfs mounts get one made up)."""

    def __init__(self, pod: KubePod) -> None:
        self.entries: list[dict[str, Any]] = [{"name": name, "emptyDir": {}} for name in pod.volumes]
        self.taken = set(pod.volumes)
        self.by_path: dict[str, str] = {}

    def _new(self, base: str, source: dict[str, Any]) -> str:
        stem = _NOT_IN_NAME.sub("-", base.lower()).strip("-")[:_LONGEST_NAME - 3] or "volume"
        name, count = stem, 1
        while name in self.taken:
            count += 1
            name = f"{stem}-{count}"
        self.taken.add(name)
        self.entries.append({"name": name, **source})
        return name

    def name_of(self, container: KubeContainer, mount: KubeMount) -> str:
        if mount.type == "volume":
            return mount.source
        if mount.type == "bind":
            if mount.source not in self.by_path:
                self.by_path[mount.source] = self._new(f"host{mount.source}", {"hostPath": {"path": mount.source}})
            return self.by_path[mount.source]
        return self._new(f"tmpfs-{container.name}{mount.target}", {"emptyDir": {"medium": "Memory"}})


def _port(port: KubePort) -> dict[str, Any]:
    entry: dict[str, Any] = {"containerPort": port.container_port}
    if port.host_port:
        entry["hostPort"] = int(port.host_port)
    if port.host_ip:
        entry["hostIP"] = port.host_ip
    if port.proto.upper() != "TCP":
        entry["protocol"] = port.proto.upper()
    return entry


def _container(container: KubeContainer, volumes: _Volumes, ports: list[KubePort]) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": container.name, "image": container.image}
    if container.entrypoint:
        entry["command"] = list(container.entrypoint)
    if container.command:
        entry["args"] = list(container.command)
    if container.env:
        entry["env"] = [{"name": k, "value": v} for k, v in sorted(container.env.items())]
    if container.working_dir:
        entry["workingDir"] = container.working_dir
    if ports:
        entry["ports"] = [_port(p) for p in ports]
    limits = {}
    if container.memory:
        limits["memory"] = bytes_quantity(container.memory)
    if container.nano_cpus:
        limits["cpu"] = nano_cpus_quantity(container.nano_cpus)
    if limits:
        entry["resources"] = {"limits": limits}
    if container.mounts:
        entry["volumeMounts"] = [{"name": volumes.name_of(container, m), "mountPath": m.target, **({"readOnly": True} if m.read_only else {})}
                                 for m in container.mounts]
    user = _numeric_user(container.user)
    if user is not None:
        entry["securityContext"] = {"runAsUser": user[0], **({"runAsGroup": user[1]} if user[1] is not None else {})}
    return entry


def _dns(dns: Mapping[str, list[str]]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if dns.get("servers"):
        config["nameservers"] = list(dns["servers"])
    if dns.get("searches"):
        config["searches"] = list(dns["searches"])
    options = []
    for option in dns.get("options") or []:
        name, sep, value = option.partition(":")
        options.append({"name": name, **({"value": value} if sep else {})})
    if options:
        config["options"] = options
    return config


def manifest_from_pod(pod: KubePod) -> dict[str, Any]:
    """The v1 Pod that kubectl apply accepts and pod_in reads back into the options that make this pod."""
    metadata: dict[str, Any] = {"name": pod.name}
    if pod.namespace:
        metadata["namespace"] = pod.namespace
    labels = {k: v for k, v in sorted(pod.labels.items()) if not k.startswith(OWN_LABEL_PREFIX)}
    if labels:
        metadata["labels"] = labels
    volumes = _Volumes(pod)
    spec: dict[str, Any] = {}
    if pod.init_containers:
        spec["initContainers"] = [_container(c, volumes, []) for c in pod.init_containers]
    # The ports are the sandbox's, the pod's; a Pod lists them under a container, the first.
    spec["containers"] = [_container(c, volumes, pod.ports if i == 0 else []) for i, c in enumerate(pod.containers)]
    if volumes.entries:
        spec["volumes"] = volumes.entries
    if pod.hostname and pod.hostname != pod.name and not pod.host_network:
        spec["hostname"] = pod.hostname
    for key, value in (("shareProcessNamespace", pod.share_pid), ("hostNetwork", pod.host_network), ("hostIPC", pod.host_ipc),
                       ("hostPID", pod.host_pid)):
        if value:
            spec[key] = True
    if pod.restart_policy and pod.restart_policy != "Always":
        spec["restartPolicy"] = pod.restart_policy
    dns = _dns(pod.dns or {})
    if dns:
        spec["dnsPolicy"] = "None"  # exactly this configuration, as the runtime gave it
        spec["dnsConfig"] = dns
    if pod.stop_timeout is not None:
        spec["terminationGracePeriodSeconds"] = pod.stop_timeout
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}


def export_gaps(pod: KubePod) -> list[str]:
    """What the manifest of manifest_from_pod cannot say of this pod, one sentence each."""
    gaps = []
    if not _DNS_SUBDOMAIN.fullmatch(pod.name):
        gaps.append(f"pod name {pod.name!r} is not a DNS subdomain (lower-case letters, digits, '-' and '.'), which kubectl apply refuses")
    for kind, names in (("container", [c.name for c in pod.init_containers + pod.containers]), ("volume", pod.volumes)):
        gaps.extend(f"{kind} name {name!r} is not a DNS label (lower-case letters, digits and '-'), which kubectl apply refuses"
                    for name in names if not _DNS_LABEL.fullmatch(name))
    for container in pod.init_containers + pod.containers:
        if container.user and _numeric_user(container.user) is None:
            gaps.append(f"container {container.name}: user {container.user!r} is a name, a Pod sets numbers only "
                        "(runAsUser, runAsGroup); the manifest leaves it out")
    for port in pod.ports:
        if not port.host_port:
            gaps.append(f"port {port.container_port}/{port.proto} is published on a host port Docker picks, which a Pod cannot say; "
                        "the manifest lists it as a containerPort only, which publishes nothing")
    return gaps


def to_yaml(manifest: Mapping[str, Any]) -> str:
    """The manifest as kubectl prints it: block style, keys in alphabetical order (so apiVersion, kind, metadata, spec)."""
    return dump_block(dict(manifest))
