# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: a Kubernetes v1 Pod manifest read into docker_pod's or cri_pod's options. Not a public API.

Fields are mapped as kubelet maps them (command is the ENTRYPOINT, args the CMD, a request
defaults to its limit, a container's securityContext wins over the pod's). Every field the target
runtime cannot honour is refused with its manifest path and what to do, all at once, before any
change: nothing is dropped silently. Only status and the API server's read-only metadata are
ignored (they describe an object in a cluster, not what to run), and annotations (notes for
tools, no behaviour).
"""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from ansible_collections.podlab.playground.plugins.module_utils._kube.images import ImageMap
from ansible_collections.podlab.playground.plugins.module_utils._kube.pod import DOCKER_RESTART_POLICY
from ansible_collections.podlab.playground.plugins.module_utils._kube.quantity import QuantityError, cpus_option, memory_bytes, milli_cpus
from ansible_collections.podlab.playground.plugins.module_utils._kube.yaml_text import YamlUnavailable, load_documents
from ansible_collections.podlab.playground.plugins.module_utils._pod.cri_spec import DEFAULT_NAMESPACE
from ansible_collections.podlab.playground.plugins.module_utils._pod.spec import MEMBER_ARGSPEC

RUNTIMES = {"docker": "docker_pod", "cri": "cri_pod"}
# The smallest CPU limit the pod modules set: the kernel's CFS quota is at least 1 ms per 100 ms period.
SMALLEST_MILLI_CPUS = 10
PULL_POLICY = {"IfNotPresent": "missing", "Always": "always", "Never": "never"}
PROTOCOLS = ("TCP", "UDP", "SCTP")
DNS_POLICIES = ("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None")
_IGNORED_METADATA = ("annotations", "creationTimestamp", "generation", "managedFields", "resourceVersion", "selfLink")
_EMPTY: tuple[Any, ...] = (None, {}, [], "")
_REFUSED = "refused"  # a volume whose source is refused
# kubelet expands $(VAR) in command, args and env values; the runtimes would pass it on literally.
_EXPANSION = re.compile(r"\$\(")

# What to do instead of a field no runtime here has, by field name.
_FIXES = {
    **dict.fromkeys(("livenessProbe", "readinessProbe", "startupProbe"), "the runtime runs no probes; drop it"),
    "lifecycle": "no postStart or preStop hooks are run; drop it",
    "envFrom": "write each variable under env with its value",
    "valueFrom": "write the variable's value itself",
    **dict.fromkeys(("nodeName", "nodeSelector", "affinity", "tolerations", "schedulerName", "priority", "priorityClassName",
                     "topologySpreadConstraints", "preemptionPolicy"),
                    "the pod runs on the play's host, nothing schedules it; drop it"),
    **dict.fromkeys(("serviceAccountName", "serviceAccount", "automountServiceAccountToken"),
                    "there is no API server to give the pod a token; drop it"),
    "imagePullSecrets": "log the runtime in to the registry, or run local images through images:",
    **dict.fromkeys(("stdin", "stdinOnce", "tty"), "members run detached, without a terminal; drop it"),
    **dict.fromkeys(("subPath", "subPathExpr"), "mount the whole volume, or a hostPath volume of that directory"),
    "mountPropagation": "mounts are private; drop it",
    "claims": "limit cpu and memory only",
    "sizeLimit": "pod volumes have no size limit here; drop it",
    "generateName": "give the pod a metadata.name",
}


class ManifestError(Exception):
    """The manifest cannot be run as written; problems lists every field at fault, each with its path."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"the Pod manifest cannot be run as written: {'; '.join(problems)}")


def load_manifest(manifest: object) -> dict[str, Any]:
    """The manifest as a mapping, from a dict or YAML text holding one document with one mapping."""
    if isinstance(manifest, Mapping):
        return dict(manifest)
    if not isinstance(manifest, str):
        raise ManifestError([f"manifest: expected a Pod as a mapping or YAML text, got a {type(manifest).__name__}"])
    try:
        documents = load_documents(manifest)
    except (ValueError, YamlUnavailable) as exc:
        raise ManifestError([f"manifest: {exc}"]) from None
    documents = [d for d in documents if d is not None]
    if len(documents) != 1 or not isinstance(documents[0], dict):
        raise ManifestError([f"manifest: expected one YAML document holding one Pod mapping, got {len(documents)} document(s)"
                             + ("" if len(documents) != 1 else f" holding a {type(documents[0]).__name__}")])
    return documents[0]


def params_from_manifest(manifest: object, runtime: str, images: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The module options the manifest stands for on runtime (docker or cri); ManifestError lists every problem."""
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime {runtime!r}: expected one of {sorted(RUNTIMES)}")
    pod = load_manifest(manifest)
    try:
        image_map = ImageMap(images)
    except ValueError as exc:
        raise ManifestError([str(exc)]) from None
    reader = _PodReader(runtime, image_map)
    params = reader.pod(pod)
    if reader.problems:
        raise ManifestError(reader.problems)
    return params


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _as_written(member: dict[str, Any]) -> dict[str, Any]:
    """A member as a task writes it: the options it sets, in the argument spec's order (AnsibleModule fills in the rest)."""
    return {key: member[key] for key in MEMBER_ARGSPEC if member.get(key) is not None}


class _PodReader:
    """One reading of one manifest: the options it maps to, and the problems it found, in manifest order."""

    def __init__(self, runtime: str, images: ImageMap) -> None:
        self.runtime = runtime
        self.module = RUNTIMES[runtime]
        self.images = images
        self.problems: list[str] = []
        self.pull_policies: dict[str, str] = {}  # imagePullPolicy -> the first path that set it
        # What the containers are read against: the pod's volumes, its securityContext and network, and the ports they publish.
        self.declared: dict[str, tuple[str, str]] = {}
        self.mounted_by: dict[str, list[str]] = {}  # volume -> the containers that mount it
        self.pod_user: tuple[int | None, int | None] = (None, None)
        self.host_network = False
        self.published: list[str] = []

    # -- reporting and typed reads -------------------------------------------------------

    def refuse(self, path: str, why: str | None = None, fix: str | None = None) -> None:
        why = why or f"not supported by {self.module}"
        self.problems.append(f"{path}: {why}" + (f"; {fix}" if fix else ""))

    def fields(self, node: Any, path: str, known: tuple[str, ...] | None, ignored: tuple[str, ...] = (), fix: str | None = None) -> dict[str, Any]:
        """node as a mapping, each key not in known (None: any key) refused unless it sets nothing; {} when node is not a mapping."""
        if node is None:
            return {}
        if not isinstance(node, dict):
            self.refuse(path or "manifest", f"expected a mapping, got {node!r}")
            return {}
        for key, value in node.items():
            if known is not None and key not in known and key not in ignored and value not in _EMPTY:
                self.refuse(f"{path}.{key}" if path else str(key), fix=_FIXES.get(str(key), fix))
        return {k: v for k, v in node.items() if (known is None or k in known) and v is not None}

    def text(self, node: dict[str, Any], key: str, path: str, required: bool = False) -> str | None:
        value = node.get(key)
        if value is None and required:
            self.refuse(f"{path}.{key}", "required")
        elif value is not None and not isinstance(value, str):
            self.refuse(f"{path}.{key}", f"expected a string, got {value!r}", "quote it")
            return None
        return value

    def flag(self, node: dict[str, Any], key: str, path: str) -> bool:
        value = node.get(key, False)
        if not isinstance(value, bool):
            self.refuse(f"{path}.{key}", f"expected true or false, got {value!r}")
            return False
        return value

    def number(self, node: dict[str, Any], key: str, path: str, low: int, high: int | None = None) -> int | None:
        value = node.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
            self.refuse(f"{path}.{key}", f"expected a whole number from {low}{f' to {high}' if high else ''}, got {value!r}")
            return None
        return value

    def items(self, node: dict[str, Any], key: str, path: str) -> list[Any]:
        value = node.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.refuse(f"{path}.{key}", f"expected a list, got {value!r}")
            return []
        return value

    def words(self, node: dict[str, Any], key: str, path: str) -> list[str] | None:
        """A list of strings (command, args), None when absent or empty; kubelet's $(VAR) expansion refused."""
        value = self.items(node, key, path)
        for index, word in enumerate(value):
            if not isinstance(word, str):
                self.refuse(f"{path}.{key}[{index}]", f"expected a string, got {word!r}", "quote it")
            elif _EXPANSION.search(word):
                self.refuse(f"{path}.{key}[{index}]", f"$(...) is expanded by kubelet, {self.module} would pass it on as written",
                            "write the value out")
        return [str(w) for w in value] or None

    # -- the pod ---------------------------------------------------------------------------

    def pod(self, pod: dict[str, Any]) -> dict[str, Any]:
        top = self.fields(pod, "", ("apiVersion", "kind", "metadata", "spec"), ignored=("status",))
        if top.get("apiVersion") != "v1":
            self.refuse("apiVersion", f"expected v1, got {top.get('apiVersion')!r}")
        if top.get("kind") != "Pod":
            self.refuse("kind", f"expected Pod, got {top.get('kind')!r}", "write the Pod itself (a Deployment's template is not run)")
        params: dict[str, Any] = self.metadata(top.get("metadata"))
        spec = self.fields(top.get("spec"), "spec", (
            "containers", "initContainers", "volumes", "hostname", "shareProcessNamespace", "hostNetwork", "hostIPC", "hostPID",
            "restartPolicy", "dnsPolicy", "dnsConfig", "securityContext", "terminationGracePeriodSeconds"))
        if "spec" not in top:
            self.refuse("spec", "required")
        params.update(self.namespaces(spec))
        # What every container is read against: the pod's network, volumes and securityContext.
        self.host_network = params["host_network"]
        self.declared = self.volumes(spec)
        self.pod_user = self.security_context(spec.get("securityContext"), "spec.securityContext")
        restart = self.restart_policy(spec)
        params.update(self.members(spec, required="spec" in top))
        if restart is not None:
            # docker_pod's init containers run once to completion, whatever the policy (kubelet's too, unless they fail).
            for member in params["containers"]:
                member["restart_policy"] = restart
        self.tmpfs_volumes(spec)
        params["ports"] = self.published
        params["volumes"] = [name for name, volume in self.declared.items() if volume == ("volume", "")]
        params.update(self.dns(spec))
        grace = self.number(spec, "terminationGracePeriodSeconds", "spec", 0)
        if grace is not None:
            params["stop_timeout"] = grace
        if len(self.pull_policies) == 1:
            params["pull"] = PULL_POLICY[next(iter(self.pull_policies))]
        return params

    def namespaces(self, spec: dict[str, Any]) -> dict[str, Any]:
        """The pod's hostname and which namespaces it shares, with the conflicts Kubernetes refuses too."""
        params = {
            "hostname": self.text(spec, "hostname", "spec"),
            "share_pid": self.flag(spec, "shareProcessNamespace", "spec"),
            "host_network": self.flag(spec, "hostNetwork", "spec"),
            "host_ipc": self.flag(spec, "hostIPC", "spec"),
            "host_pid": self.flag(spec, "hostPID", "spec"),
        }
        if params["host_network"] and params["hostname"]:
            self.refuse("spec.hostname", "with hostNetwork the pod has the host's hostname", "drop hostname")
        if params["share_pid"] and params["host_pid"]:
            self.refuse("spec.shareProcessNamespace", "the pod cannot share its own PID namespace and use the host's (hostPID)",
                        "drop one of them")
        return params

    def members(self, spec: dict[str, Any], required: bool) -> dict[str, list[dict[str, Any]]]:
        """containers and init_containers, every name once in the pod."""
        params: dict[str, list[dict[str, Any]]] = {}
        seen: set[str] = set()
        for kind, key in (("containers", "containers"), ("init_containers", "initContainers")):
            entries = self.items(spec, key, "spec")
            if key == "containers" and not entries and required:
                self.refuse("spec.containers", "a Pod needs at least one container")
            params[kind] = [self.container(entry, f"spec.{key}[{i}]") for i, entry in enumerate(entries)]
            for index, member in enumerate(params[kind]):
                if member["name"] and member["name"] in seen:
                    self.refuse(f"spec.{key}[{index}].name", f"{member['name']!r} is used twice; name every container of the pod "
                                "differently, init containers included")
                seen.add(member["name"])
        return params

    def metadata(self, node: Any) -> dict[str, Any]:
        meta = self.fields(node, "metadata", ("name", "namespace", "uid", "labels"), ignored=_IGNORED_METADATA)
        params: dict[str, Any] = {"name": self.text(meta, "name", "metadata", required=True)}
        labels = self.fields(meta.get("labels"), "metadata.labels", None)
        for key, value in labels.items():
            if not isinstance(value, str):
                self.refuse(f"metadata.labels.{key}", f"expected a string, got {value!r}", "quote it")
        params["labels"] = {str(k): str(v) for k, v in labels.items()}
        namespace = self.text(meta, "namespace", "metadata")
        uid = self.text(meta, "uid", "metadata")
        if self.runtime == "cri":
            params.update(namespace=namespace or DEFAULT_NAMESPACE, uid=uid)
            return params
        if namespace not in (None, DEFAULT_NAMESPACE):
            self.refuse("metadata.namespace", f"{self.module} has no namespaces", "drop it (or write default), or use cri_pod")
        if uid is not None:
            self.refuse("metadata.uid", f"{self.module} has no pod UID", "drop it, or use cri_pod")
        return params

    def restart_policy(self, spec: dict[str, Any]) -> str | None:
        """The Docker restart policy of every member; None for cri_pod, which has none."""
        policy = self.text(spec, "restartPolicy", "spec") or "Always"  # Kubernetes' default
        if policy not in DOCKER_RESTART_POLICY:
            self.refuse("spec.restartPolicy", f"expected Always, OnFailure or Never, got {policy!r}")
            return None
        if self.runtime == "docker":
            return DOCKER_RESTART_POLICY[policy]
        if policy != "Always":
            self.refuse("spec.restartPolicy", f"{policy} is not supported by {self.module}: the next run with state started makes "
                        "an exited member anew whatever its exit code, as kubelet does with Always", "drop it or write Always")
        return None

    # -- volumes ---------------------------------------------------------------------------

    def volumes(self, spec: dict[str, Any]) -> dict[str, tuple[str, str]]:
        """Each volume by name: ("volume", "") an emptyDir, ("tmpfs", "") one in memory, ("bind", path) a hostPath,
        (_REFUSED, "") one already refused."""
        found: dict[str, tuple[str, str]] = {}
        for index, entry in enumerate(self.items(spec, "volumes", "spec")):
            path = f"spec.volumes[{index}]"
            if isinstance(entry, dict):
                known = ("name", "emptyDir", "hostPath")
                kinds = [k for k in entry if k not in known and entry[k] is not None]
                volume = {k: v for k, v in entry.items() if k in known}
                for kind in kinds:
                    self.refuse(f"{path}.{kind}", f"{kind} volumes are not supported by {self.module}", "use an emptyDir or a hostPath")
            else:
                self.refuse(path, f"expected a mapping, got {entry!r}")
                continue
            name = self.text(volume, "name", path, required=True)
            if name is None:
                continue
            if name in found:
                self.refuse(f"{path}.name", f"volume {name!r} is declared twice")
            if "hostPath" in volume:
                found[name] = self.host_path(volume["hostPath"], f"{path}.hostPath")
            elif "emptyDir" in volume:
                found[name] = self.empty_dir(volume["emptyDir"], f"{path}.emptyDir")
            else:
                found[name] = (_REFUSED, "")  # its mounts say nothing more
                if not kinds:
                    self.refuse(path, "no volume source", "add emptyDir: {} or a hostPath")
        return found

    def host_path(self, node: Any, path: str) -> tuple[str, str]:
        source = self.fields(node, path, ("path", "type"))
        host = self.text(source, "path", path, required=True) or ""
        if host and not host.startswith("/"):
            self.refuse(f"{path}.path", f"{host!r} is not an absolute path")
        kind = self.text(source, "type", path)
        if kind:
            self.refuse(f"{path}.type", f"{kind} is not supported by {self.module}, which neither checks nor creates host paths",
                        "drop type and make sure the path exists")
        return ("bind", host)

    def empty_dir(self, node: Any, path: str) -> tuple[str, str]:
        source = self.fields(node, path, ("medium",))
        medium = self.text(source, "medium", path) or ""
        if medium == "Memory":
            if self.runtime == "cri":
                self.refuse(f"{path}.medium", f"memory-backed volumes are not supported by {self.module}", "drop medium (a directory on disk)")
            return ("tmpfs", "")
        if medium:
            self.refuse(f"{path}.medium", f"{medium} is not supported by {self.module}", "drop medium")
        return ("volume", "")

    def tmpfs_volumes(self, spec: dict[str, Any]) -> None:
        """An emptyDir in memory is a tmpfs of one container's own in Docker: refused when more than one mounts it."""
        for name, (kind, _source) in self.declared.items():
            users = self.mounted_by.get(name, [])
            if kind == "tmpfs" and len(users) > 1 and self.runtime == "docker":
                index = next(i for i, v in enumerate(spec.get("volumes") or []) if isinstance(v, dict) and v.get("name") == name)
                self.refuse(f"spec.volumes[{index}].emptyDir.medium", f"a memory volume of {self.module} is one container's own tmpfs, "
                            f"but {', '.join(users)} mount it", "drop medium to share a volume on disk")

    def mounts(self, container: dict[str, Any], path: str, member: str) -> list[dict[str, Any]] | None:
        mounts = []
        for index, entry in enumerate(self.items(container, "volumeMounts", path)):
            at = f"{path}.volumeMounts[{index}]"
            mount = self.fields(entry, at, ("name", "mountPath", "readOnly"))
            name, target = self.text(mount, "name", at, required=True), self.text(mount, "mountPath", at, required=True)
            if name is None or target is None:
                continue
            if name not in self.declared:
                self.refuse(f"{at}.name", f"no volume {name!r} in spec.volumes", "declare it there")
                continue
            kind, source = self.declared[name]
            self.mounted_by.setdefault(name, []).append(member)
            if kind == _REFUSED:
                continue
            mounts.append({"type": kind, **({} if kind == "tmpfs" else {"source": source or name}), "target": target,
                           "read_only": self.flag(mount, "readOnly", at)})
        return mounts or None

    # -- containers ------------------------------------------------------------------------

    def container(self, entry: Any, path: str) -> dict[str, Any]:
        node = self.fields(entry, path, ("name", "image", "command", "args", "env", "workingDir", "ports", "resources",
                                         "volumeMounts", "securityContext", "imagePullPolicy"))
        image = self.text(node, "image", path, required=True) or ""
        member: dict[str, Any] = {"name": self.text(node, "name", path, required=True) or "", "image": self.images.local(image) if image else ""}
        member["entrypoint"] = self.words(node, "command", path)
        member["command"] = self.words(node, "args", path)
        member["env"] = self.env(node, path)
        member["working_dir"] = self.text(node, "workingDir", path)
        member.update(self.resources(node.get("resources"), f"{path}.resources"))
        member["mounts"] = self.mounts(node, path, member["name"])
        # Field by field, the container's securityContext wins over the pod's.
        user, group = self.security_context(node.get("securityContext"), f"{path}.securityContext")
        user, group = (self.pod_user[0] if user is None else user), (self.pod_user[1] if group is None else group)
        if group is not None and user is None:
            self.refuse(f"{path}.securityContext.runAsGroup", f"{self.module} sets a group only with a user", "set runAsUser too")
        elif user is not None:
            member["user"] = str(user) if group is None else f"{user}:{group}"
        self.published.extend(self.ports(node, path))
        self.pull_policy(node, path)
        return _as_written(member)

    def pull_policy(self, node: dict[str, Any], path: str) -> None:
        """imagePullPolicy is per container, the modules' pull per pod: every container that sets one must agree."""
        policy = self.text(node, "imagePullPolicy", path)
        if policy is not None and policy not in PULL_POLICY:
            self.refuse(f"{path}.imagePullPolicy", f"expected one of {', '.join(PULL_POLICY)}, got {policy!r}")
        elif policy is not None:
            first = next(iter(self.pull_policies.values()), None)
            if self.pull_policies and policy not in self.pull_policies:
                self.refuse(f"{path}.imagePullPolicy", f"{policy} differs from {first}'s; {self.module} pulls every image of the pod alike",
                            "give every container the same imagePullPolicy")
            self.pull_policies.setdefault(policy, f"{path}.imagePullPolicy")

    def env(self, node: dict[str, Any], path: str) -> dict[str, str] | None:
        env: dict[str, str] = {}
        for index, entry in enumerate(self.items(node, "env", path)):
            at = f"{path}.env[{index}]"
            variable = self.fields(entry, at, ("name", "value"))
            name, value = self.text(variable, "name", at, required=True), self.text(variable, "value", at)
            if name is None:
                continue
            if value is not None and _EXPANSION.search(value):
                self.refuse(f"{at}.value", f"$(...) is expanded by kubelet, {self.module} would pass it on as written", "write the value out")
            env[name] = value or ""  # a later entry wins, as in kubelet
        return env or None

    def ports(self, node: dict[str, Any], path: str) -> list[str]:
        """The pod-level ports option: only a hostPort publishes, as in Kubernetes (a bare containerPort is informational)."""
        published = []
        for index, entry in enumerate(self.items(node, "ports", path)):
            at = f"{path}.ports[{index}]"
            port = self.fields(entry, at, ("containerPort", "hostPort", "hostIP", "protocol", "name"))
            container = self.number(port, "containerPort", at, 1, 65535)
            if container is None and "containerPort" not in port:
                self.refuse(f"{at}.containerPort", "required")
            host = self.number(port, "hostPort", at, 0, 65535) or None
            host_ip = self.text(port, "hostIP", at) or ""
            if host_ip and not _is_address(host_ip):
                self.refuse(f"{at}.hostIP", f"{host_ip!r} is not an IP address")
            protocol = self.text(port, "protocol", at) or "TCP"
            if protocol not in PROTOCOLS:
                self.refuse(f"{at}.protocol", f"expected TCP, UDP or SCTP, got {protocol!r}")
            if container is None or host is None:
                continue
            if self.host_network:
                if host != container:
                    self.refuse(f"{at}.hostPort", "with hostNetwork the pod listens on the host's ports, so hostPort must equal containerPort")
                continue
            address = f"[{host_ip}]:" if ":" in host_ip else f"{host_ip}:" if host_ip else ""
            published.append(f"{address}{host}:{container}" + ("" if protocol == "TCP" else f"/{protocol.lower()}"))
        return published

    def resources(self, node: Any, path: str) -> dict[str, Any]:
        """memory and cpus from the limits; a request is accepted where it equals its limit (kubelet's default)."""
        resources = self.fields(node, path, ("limits", "requests"))
        limits = self.fields(resources.get("limits"), f"{path}.limits", ("cpu", "memory"))
        requests = self.fields(resources.get("requests"), f"{path}.requests", ("cpu", "memory"))
        options: dict[str, Any] = {}
        amounts = {}
        for name, read in (("memory", memory_bytes), ("cpu", milli_cpus)):
            for part, given in (("limits", limits), ("requests", requests)):
                if name in given:
                    try:
                        amounts[part, name] = read(given[name])
                    except QuantityError as exc:
                        self.refuse(f"{path}.{part}.{name}", str(exc))
            limit, request = amounts.get(("limits", name)), amounts.get(("requests", name))
            if request is not None and name not in limits:
                self.refuse(f"{path}.requests.{name}", f"{self.module} has no {name} request of its own",
                            f"write the amount under limits.{name} (a request defaults to its limit) or drop it")
            elif request is not None and limit is not None and request != limit:
                self.refuse(f"{path}.requests.{name}", f"{self.module} sets limits only, so a request other than the limit "
                            "(which also makes the QoS class Burstable) has no counterpart", f"drop it or make it equal to limits.{name}")
        memory, milli = amounts.get(("limits", "memory")), amounts.get(("limits", "cpu"))
        if memory:  # 0 is no limit, as in kubelet
            options["memory"] = str(memory)
        if milli and milli < SMALLEST_MILLI_CPUS:
            self.refuse(f"{path}.limits.cpu", f"{limits['cpu']!r} is below {SMALLEST_MILLI_CPUS}m, the smallest CPU limit {self.module} "
                        "sets (the kernel's CFS quota is at least 1 ms per 100 ms)", f"write {SMALLEST_MILLI_CPUS}m or more")
        elif milli:
            options["cpus"] = cpus_option(limits["cpu"])
        return options

    def security_context(self, node: Any, path: str) -> tuple[int | None, int | None]:
        context = self.fields(node, path, ("runAsUser", "runAsGroup"), fix="only runAsUser and runAsGroup are mapped (to user); drop it")
        return self.number(context, "runAsUser", path, 0), self.number(context, "runAsGroup", path, 0)

    def dns(self, spec: dict[str, Any]) -> dict[str, Any]:
        """cri_pod's dns: the pod's resolver is exactly dnsConfig, which is Kubernetes' dnsPolicy None."""
        policy = self.text(spec, "dnsPolicy", "spec")
        if policy is not None and policy not in DNS_POLICIES:
            self.refuse("spec.dnsPolicy", f"expected one of {', '.join(DNS_POLICIES)}, got {policy!r}")
            return {}
        config = spec.get("dnsConfig")
        if self.runtime == "docker":
            if policy == "None" or config not in _EMPTY:
                self.refuse("spec.dnsConfig" if config not in _EMPTY else "spec.dnsPolicy",
                            f"{self.module} gives the pod Docker's resolver configuration", "drop it, or use cri_pod")
            return {}
        if config in _EMPTY:
            if policy == "None":
                self.refuse("spec.dnsPolicy", "None needs a dnsConfig", "add spec.dnsConfig, or drop dnsPolicy")
            return {"dns": None}
        if policy != "None":
            self.refuse("spec.dnsPolicy", f"{self.module} gives the pod exactly its dnsConfig, not merged with the host's resolver "
                        "configuration", "write dnsPolicy: None")
        dns = self.fields(config, "spec.dnsConfig", ("nameservers", "searches", "options"))
        servers = self.words(dns, "nameservers", "spec.dnsConfig") or []
        searches = self.words(dns, "searches", "spec.dnsConfig") or []
        options = []
        for index, entry in enumerate(self.items(dns, "options", "spec.dnsConfig")):
            at = f"spec.dnsConfig.options[{index}]"
            option = self.fields(entry, at, ("name", "value"))
            name, value = self.text(option, "name", at, required=True), self.text(option, "value", at)
            if name:
                options.append(name if value is None else f"{name}:{value}")
        return {"dns": {"servers": servers, "searches": searches, "options": options}}
