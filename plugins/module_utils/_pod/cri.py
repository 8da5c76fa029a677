# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: the CRI runtime of the pod engine (cri_pod). Not a public API.

A pod made as kubelet makes it: RunPodSandbox (the pause process owns net, ipc and uts), then
CreateContainer + StartContainer per member, with kubelet's NamespaceOption mapping and the pod
cgroup kubepods/<qos>/pod<uid> passed as cgroup_parent. The CRI cannot start a stopped sandbox
or an exited container again: the planner makes them anew, as kubelet does. Pod volumes are
directories on the host (kubelet's emptyDir), removed with the pod.
"""
from __future__ import annotations

import dataclasses
import errno
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from ansible_collections.podlab.playground.plugins.module_utils._cgroup.backends import systemd_is_running
from ansible_collections.podlab.playground.plugins.module_utils._cgroup.layout import Layout
from ansible_collections.podlab.playground.plugins.module_utils._cgroup_parent import CgroupParentManager
from ansible_collections.podlab.playground.plugins.module_utils._cri.client import CriClient, CriError, CriUnavailable
from ansible_collections.podlab.playground.plugins.module_utils._kube.pod import KubeContainer, KubeMount, KubePod, KubePort
from ansible_collections.podlab.playground.plugins.module_utils._pod.apply import PodError, PodExecutor
from ansible_collections.podlab.playground.plugins.module_utils._pod.cri_spec import CRI_ARGUMENT_SPEC, QOS_CLASSES, CriPod, build_cri_spec, on_runtime
from ansible_collections.podlab.playground.plugins.module_utils._pod.manager import PodManager
from ansible_collections.podlab.playground.plugins.module_utils._pod.model import (
    LABEL_HASH,
    LABEL_MEMBER,
    LABEL_POD,
    LABEL_ROLE,
    ROLE_CONTAINER,
    ROLE_INIT,
    ROLE_SANDBOX,
    ContainerView,
    container_name,
)
from ansible_collections.podlab.playground.plugins.module_utils._pod.observe import ObservedPod, in_spec_order
from ansible_collections.podlab.playground.plugins.module_utils._pod.plan import PodAction
from ansible_collections.podlab.playground.plugins.module_utils._pod.runtime import NOT_SHOWN
from ansible_collections.podlab.playground.plugins.module_utils._pod.spec import (
    MEMBER_OPTIONS,
    MemberOption,
    MemberSpec,
    PodSpec,
    spec_hash,
)

POD_ROOT = Path("/var/lib/podlab/cri/pods")  # <uid>/volumes/<volume>: kubelet keeps its emptyDirs so
LOG_ROOT = Path("/var/log/podlab/pods")  # <namespace>_<name>_<uid>/<member>.log, as kubelet's /var/log/pods
ANNOTATION_HASH = "podlab.cri-hash"  # what the CRI adds to the sandbox's spec hash: namespace, uid, DNS
IMPORT_HINT = ("import it into containerd's k8s.io namespace, the only one the CRI sees: "
               "docker save IMAGE | ctr -a /run/containerd/containerd.sock -n k8s.io images import - "
               "(the cri_runtime role does so for cri_runtime_images)")
_STATES = {"CONTAINER_RUNNING": "running", "CONTAINER_EXITED": "exited", "CONTAINER_CREATED": "created"}
_POLL = 0.05
EXIT_SEEN_WITHIN = 10.0  # s: containerd's exit back-off starts at 1 s and doubles


def _info(status: dict[str, Any] | None) -> dict[str, Any]:
    """The verbose status's JSON (pid, runtimeSpec, config), {} when the runtime gave none."""
    text = ((status or {}).get("info") or {}).get("info")
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return {}


def _alive(pid: int) -> bool:
    return pid > 0 and os.path.exists(f"/proc/{pid}")


def merge(into: dict[str, Any], fragment: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge a request fragment (the option table's CRI writers give nested dicts)."""
    for key, value in fragment.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            merge(into[key], value)
        else:
            into[key] = value
    return into


def pod_sandboxes(client: CriClient, pod: str, namespace: str) -> list[dict[str, Any]]:
    """The pod's sandboxes in its namespace, from one ListPodSandbox: the newest ready one, the pod's, first; any other is
    a leftover of an earlier one."""
    sandboxes = [s for s in client.list_pod_sandboxes({LABEL_POD: pod})
                 if s["metadata"]["namespace"] == namespace and s["labels"].get(LABEL_ROLE) == ROLE_SANDBOX]
    sandboxes.sort(key=lambda s: (s["state"] == "SANDBOX_READY", int(s["created_at"])), reverse=True)
    return sandboxes


class CriRuntime:
    name = "cri"
    restartable = False
    sandbox_goes_with_members = False

    def __init__(self, client: CriClient, cri: CriPod, sandboxes: list[dict[str, Any]] | None = None) -> None:
        self.client = client
        self.cri = cri
        self.listed = sandboxes  # pod_sandboxes as connecting read them: the run's first observe takes them, not a new list

    # -- identity and paths ----------------------------------------------------

    def log_dir(self, spec: PodSpec, uid: str | None = None) -> Path:
        return LOG_ROOT / f"{self.cri.namespace}_{spec.name}_{uid or self.cri.uid}"

    def pod_dir(self, uid: str | None = None) -> Path:
        return POD_ROOT / (uid or self.cri.uid)

    def volume_path(self, volume: str) -> str:
        return str(self.pod_dir() / "volumes" / volume)

    def cri_hash(self) -> str:
        return spec_hash({"namespace": self.cri.namespace, "uid": self.cri.uid, "dns": self.cri.dns})

    # -- observe ---------------------------------------------------------------

    def observe(self, spec: PodSpec) -> ObservedPod:
        pod = ObservedPod()
        sandboxes, self.listed = self.listed, None
        if sandboxes is None:
            sandboxes = pod_sandboxes(self.client, spec.name, self.cri.namespace)
        views = [self.sandbox_view(spec, s) for s in sandboxes]
        if views:
            pod.sandbox, pod.strays = views[0], views[1:]
        ids = {v.id for v in views}
        current = pod.sandbox.id if pod.sandbox else None
        for container in self.client.list_containers(labels={LABEL_POD: spec.name}):
            if container["pod_sandbox_id"] not in ids:
                continue
            view = self.container_view(spec, container)
            role, member = view.role, view.member
            if view.sandbox_id == current and role == ROLE_CONTAINER and member and member not in pod.members:
                pod.members[member] = view
            elif view.sandbox_id == current and role == ROLE_INIT and member and member not in pod.inits:
                pod.inits[member] = view
            else:
                pod.strays.append(view)
        volumes = self.pod_dir() / "volumes"
        if volumes.is_dir():
            pod.volumes = {spec.volume_name(v.name) for v in volumes.iterdir() if v.is_dir()}
        if spec.state != "absent":
            images = sorted({m.image for m in spec.members + spec.inits})
            pod.image_ids = {image: (self.client.image_status(image) or {}).get("id") for image in images}
        return pod

    def sandbox_view(self, spec: PodSpec, sandbox: dict[str, Any]) -> ContainerView:
        status = self.client.pod_sandbox_status(sandbox["id"], verbose=True)
        info = _info(status)
        pid = int(info.get("pid") or 0)
        ready = sandbox["state"] == "SANDBOX_READY" and _alive(pid)  # the kernel too: a killed pause is not ready yet to containerd
        return ContainerView(
            id=sandbox["id"], name=spec.sandbox_name, labels=sandbox["labels"], status="running" if ready else "exited",
            image=str(info.get("image") or ""), pid=pid if ready else 0,
            raw={"list": sandbox, "status": (status or {}).get("status") or {}, "info": info},
        )

    def container_view(self, spec: PodSpec, container: dict[str, Any]) -> ContainerView:
        status_reply = self.client.container_status(container["id"], verbose=True)
        status = (status_reply or {}).get("status") or {}
        info = _info(status_reply)
        labels = container["labels"]
        state = _STATES.get(status.get("state") or container["state"], "unknown")
        pid = int(info.get("pid") or 0)
        if state == "running" and not _alive(pid):
            state = "exited"
        role, member = labels.get(LABEL_ROLE, ""), labels.get(LABEL_MEMBER, "")
        return ContainerView(
            id=container["id"], name=container_name(spec.name, role, member) if member else container["metadata"]["name"],
            labels=labels, status=state, image=(container.get("image") or {}).get("image", ""),
            pid=pid if state == "running" else 0, exit_code=int(status.get("exit_code") or 0) if state == "exited" else None,
            image_id=status.get("image_ref") or container.get("image_ref") or None, sandbox_id=container["pod_sandbox_id"],
            raw={"status": status, "info": info},
        )

    # -- what the planner asks -------------------------------------------------

    def shared_namespaces(self, spec: PodSpec) -> tuple[str, ...]:
        # A CRI member always joins the sandbox's uts with its net (the host's with host_network).
        if spec.host_network:
            shared: tuple[str, ...] = ()
        else:
            shared = ("net", "uts")
        return shared + (() if spec.host_ipc else ("ipc",)) + (("pid",) if spec.share_pid else ())

    def sandbox_drift(self, spec: PodSpec, sandbox: ContainerView) -> list[str]:
        seen = (sandbox.raw["list"].get("annotations") or {}).get(ANNOTATION_HASH)
        return [] if seen == self.cri_hash() else ["its namespace, uid or dns changed"]

    def read_back(self, option: MemberOption, member: MemberSpec, container: ContainerView) -> Any:
        resources = ((container.raw["info"].get("runtimeSpec") or {}).get("linux") or {}).get("resources") or {}
        if option.name == "memory":
            return int((resources.get("memory") or {}).get("limit") or 0)
        if option.name == "cpus":
            cpu = resources.get("cpu") or {}
            quota, period = int(cpu.get("quota") or 0), int(cpu.get("period") or 0)
            return 0 if quota <= 0 or not period else quota * 10**9 // period
        return NOT_SHOWN


# The CRI's enums as the verbose status's JSON writes them (numbers, zero values left out).
_NODE, _POD = 2, 0
_PROTOCOLS = {0: "tcp", 1: "udp", 2: "sctp"}


def kube_container(view: ContainerView, volume_root: str) -> KubeContainer:
    """A container as the runtime recorded its config (the verbose status), in Kubernetes' terms."""
    config = view.raw["info"].get("config") or {}
    linux = config.get("linux") or {}
    resources, context = linux.get("resources") or {}, linux.get("security_context") or {}
    quota, period = int(resources.get("cpu_quota") or 0), int(resources.get("cpu_period") or 0)
    # an ID of 0 (root) is a zero value, which the JSON leaves out: {}
    user = str((context.get("run_as_user") or {}).get("value", 0)) if "run_as_user" in context else context.get("run_as_username")
    if user and "run_as_group" in context:
        user += f":{(context.get('run_as_group') or {}).get('value', 0)}"
    mounts = []
    for mount in config.get("mounts") or []:
        host_path = mount.get("host_path") or ""
        volume = host_path[len(volume_root) + 1:] if host_path.startswith(volume_root + "/") else ""
        mounts.append(KubeMount("volume" if volume else "bind", mount.get("container_path") or "", volume or host_path,
                                bool(mount.get("readonly"))))
    return KubeContainer(
        name=(config.get("metadata") or {}).get("name") or view.member or "", image=(config.get("image") or {}).get("image") or view.image,
        entrypoint=config.get("command") or None, command=config.get("args") or None,
        env={e["key"]: e.get("value", "") for e in config.get("envs") or []}, working_dir=config.get("working_dir") or None,
        user=user or None, memory=int(resources.get("memory_limit_in_bytes") or 0) or None,
        nano_cpus=quota * 10**9 // period if quota > 0 and period else None, mounts=mounts,
    )


def kube_pod(spec: PodSpec, observed: ObservedPod, volume_root: str) -> KubePod | None:
    """The pod as the runtime recorded it (the sandbox's and containers' configs), for pod.manifest."""
    sandbox = observed.sandbox
    if sandbox is None:
        return None
    config = sandbox.raw["info"].get("config") or {}
    options = ((config.get("linux") or {}).get("security_context") or {}).get("namespace_options") or {}
    dns = config.get("dns_config") or {}
    ports = [KubePort(p.get("host_ip") or "", int(p.get("host_port") or 0) or None, int(p.get("container_port") or 0),
                      _PROTOCOLS.get(int(p.get("protocol") or 0), "tcp")) for p in config.get("port_mappings") or []]
    members, inits, volumes = in_spec_order(spec, observed)
    host_network = int(options.get("network") or 0) == _NODE
    return KubePod(
        name=spec.name, namespace=(config.get("metadata") or {}).get("namespace"), labels=dict(config.get("labels") or {}),
        hostname="" if host_network else config.get("hostname"),
        share_pid=int(options.get("pid") or 0) == _POD, host_network=host_network,
        host_ipc=int(options.get("ipc") or 0) == _NODE, host_pid=int(options.get("pid") or 0) == _NODE, ports=ports,
        volumes=volumes, dns={k: list(dns.get(k) or []) for k in ("servers", "searches", "options")} if dns else None,
        containers=[kube_container(m, volume_root) for m in members], init_containers=[kube_container(i, volume_root) for i in inits],
    )


def namespace_options(spec: PodSpec) -> dict[str, str]:
    """kubelet's mapping: host_* -> NODE; pid POD with share_pid, else CONTAINER (the zero value would be POD)."""
    return {
        "network": "NODE" if spec.host_network else "POD",
        "pid": "NODE" if spec.host_pid else ("POD" if spec.share_pid else "CONTAINER"),
        "ipc": "NODE" if spec.host_ipc else "POD",
    }


class CriExecutor(PodExecutor):
    runtime_errors = (CriError, OSError)  # OSError: the pod's volume and log directories

    def __init__(self, runtime: CriRuntime, spec: PodSpec, *, cgroup_parent: str | None, sandbox_id: str | None,
                 cgroups: dict[str, CgroupParentManager]) -> None:
        super().__init__(spec, cgroup_parent=cgroup_parent, sandbox_id=sandbox_id, cgroups=cgroups)
        self.runtime = runtime
        self.client = runtime.client
        self.sandbox_config = self.make_sandbox_config()

    def make_sandbox_config(self) -> dict[str, Any]:
        spec, cri = self.spec, self.runtime.cri
        config: dict[str, Any] = {
            "metadata": {"name": spec.name, "uid": cri.uid, "namespace": cri.namespace, "attempt": 0},
            "log_directory": str(self.runtime.log_dir(spec)),
            "labels": {**spec.labels, LABEL_POD: spec.name, LABEL_ROLE: ROLE_SANDBOX, LABEL_HASH: spec.sandbox_hash(self.cgroup_parent)},
            "annotations": {ANNOTATION_HASH: self.runtime.cri_hash()},
            "port_mappings": [{"protocol": p.proto.upper(), "container_port": p.container_port, "host_port": int(p.host_port),
                               "host_ip": p.host_ip} for p in spec.ports],
            "linux": {"cgroup_parent": self.cgroup_parent or "",
                      "security_context": {"namespace_options": namespace_options(spec)}},
        }
        if spec.hostname:
            config["hostname"] = spec.hostname
        if any(cri.dns.values()):
            config["dns_config"] = cri.dns
        return config

    # -- steps -----------------------------------------------------------------

    def _pull(self, action: PodAction) -> None:
        if action.data.get("done"):
            return
        try:
            self.client.pull_image(action.target, self.sandbox_config)
        except CriError as exc:
            raise PodError(f"pod {self.spec.name}: image {action.target} is not in containerd's k8s.io namespace and could not be "
                           f"pulled ({exc}); {IMPORT_HINT}", step=action.describe(), advice="Nothing was changed") from None

    def _volume_create(self, action: PodAction) -> None:
        path = Path(self.runtime.volume_path(self._volume(action.target)))
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(0o777)  # as kubelet's emptyDir: any container user may write

    def _volume_remove(self, action: PodAction) -> None:
        shutil.rmtree(self.runtime.volume_path(self._volume(action.target)), ignore_errors=True)
        for empty in (self.runtime.pod_dir() / "volumes", self.runtime.pod_dir()):
            _rmdir_if_empty(empty)

    def _volume(self, volume_name: str) -> str:
        return volume_name.removeprefix(f"{self.spec.name}_")

    def _remove(self, action: PodAction) -> None:
        target = action.data["id"]
        try:
            if action.data.get("role") == ROLE_SANDBOX:
                uid = ((self.client.pod_sandbox_status(target) or {}).get("status", {}).get("metadata") or {}).get("uid")
                self.client.stop_pod_sandbox(target)  # containerd removes only a stopped sandbox; its containers go with it
                self.client.remove_pod_sandbox(target)
                shutil.rmtree(self.runtime.log_dir(self.spec, uid), ignore_errors=True)
                if uid and uid != self.runtime.cri.uid:
                    # Another UID is another pod: its emptyDir volumes end with it, as in Kubernetes.
                    shutil.rmtree(self.runtime.pod_dir(uid), ignore_errors=True)
            else:
                self._remove_container(target)
        except CriError as exc:
            if exc.code != "NOT_FOUND":  # removed with its sandbox meanwhile
                raise

    def _remove_container(self, container_id: str) -> None:
        try:
            self.client.remove_container(container_id)  # containerd stops a running one first
        except CriError as exc:
            # ...but its forced stop races with a task that exits meanwhile (the shim closes under the kill:
            # "ttrpc: closed"); containerd then handles that exit again on its back-off, a second or more later,
            # and until then calls the container running ("still running, to stop first"), after a restart too.
            # So stop it as kubelet does before a remove, wait for containerd to see it exited, remove again.
            # A failure that is not such a race fails the second remove too, with its own message.
            if exc.code == "NOT_FOUND":
                raise
            self.client.stop_container(container_id, 0)
            deadline = time.monotonic() + EXIT_SEEN_WITHIN
            while (self.client.container_status(container_id) or {}).get("status", {}).get("state") == "CONTAINER_RUNNING":
                if time.monotonic() > deadline:
                    raise CriError(f"{exc}; containerd still calls the container running {EXIT_SEEN_WITHIN:g} s after it was "
                                   "stopped: run again later, or see containerd's log", exc.code) from None
                time.sleep(_POLL)
            self.client.remove_container(container_id)

    def _logs_remove(self, action: PodAction) -> None:
        shutil.rmtree(action.target, ignore_errors=True)

    def _sandbox_create(self, action: PodAction) -> None:
        try:
            self.sandbox_id = self.client.run_pod_sandbox(self.sandbox_config)
        except CriError as exc:
            if "reserve" in str(exc):
                raise PodError(
                    f"pod {self.spec.name}: the CRI runtime holds the sandbox name of namespace {self.runtime.cri.namespace}, "
                    f"uid {self.runtime.cri.uid} for a sandbox without this pod's labels (a half-made pod or another tool's): "
                    f"remove it (crictl rmp, or ctr -n k8s.io containers rm), or give this pod another uid ({exc})",
                    step=action.describe(),
                ) from None
            raise
        if not action.data.get("start"):
            self.client.stop_pod_sandbox(self.sandbox_id)

    def _sandbox_stop(self, action: PodAction) -> None:
        self.client.stop_pod_sandbox(self._sandbox())

    def _member_create(self, action: PodAction) -> None:
        container_id = self._create_member(self.members[action.data["member"]])
        if action.data.get("start"):
            self.client.start_container(container_id)

    def _member_stop(self, action: PodAction) -> None:
        self.client.stop_container(action.data["id"], self.spec.stop_timeout)

    def _member_update(self, action: PodAction) -> None:
        request: dict[str, Any] = {}
        for option in MEMBER_OPTIONS:
            if option.name in action.data["updates"] and option.cri:
                merge(request, option.cri(action.data["updates"][option.name], self.runtime.volume_path))
        resources = request.get("linux", {}).get("resources", {})
        if "memory_limit_in_bytes" in resources:
            resources["memory_swap_limit_in_bytes"] = resources["memory_limit_in_bytes"]
        self.client.update_container_resources(action.data["id"], resources)

    def _init_run(self, action: PodAction) -> None:
        member = self.members[action.data["member"]]
        if action.data.get("id"):
            self._remove(PodAction("remove", member.container_name, data={"id": action.data["id"], "role": ROLE_INIT}))
        log = self.runtime.log_dir(self.spec) / f"{member.name}.log"
        log.unlink(missing_ok=True)
        container_id = self._create_member(member)
        self.client.start_container(container_id)
        code = self._wait(container_id, member)
        if code != 0:
            raise PodError(
                f"pod {self.spec.name}: init container {member.name} exited with code {code}; the members were not started. "
                f"Last lines of its log ({log}):\n{_log_tail(log)}\nFix it and run again (the failed container is kept)",
                step=action.describe(), keep=True,
            )

    # -- helpers -----------------------------------------------------------------

    def _sandbox(self) -> str:
        if not self.sandbox_id:
            raise PodError(f"pod {self.spec.name}: the sandbox is missing", advice="Run again: the next run makes the sandbox")
        return self.sandbox_id

    def _wait(self, container_id: str, member: MemberSpec) -> int:
        # The CRI has no wait call: poll the status, as kubelet's PLEG does.
        deadline = time.monotonic() + self.spec.init_timeout
        delay = _POLL
        while True:
            status = (self.client.container_status(container_id) or {}).get("status") or {}
            if status.get("state") == "CONTAINER_EXITED":
                return int(status.get("exit_code") or 0)
            if time.monotonic() > deadline:
                raise PodError(f"pod {self.spec.name}: init container {member.name} did not finish within init_timeout "
                               f"({self.spec.init_timeout} s); the members were not started. Raise init_timeout or fix its command")
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    def _create_member(self, member: MemberSpec) -> str:
        spec = self.spec
        sandbox_id = self._sandbox()
        config: dict[str, Any] = {
            "metadata": {"name": member.name, "attempt": 0},
            "image": {"image": member.image},
            "log_path": f"{member.name}.log",
            "labels": {**spec.labels, LABEL_POD: spec.name, LABEL_ROLE: member.role, LABEL_MEMBER: member.name,
                       LABEL_HASH: member.hash(spec.member_context(self.cgroup_parent))},
            "linux": {"resources": {"cpu_shares": 2},  # kubelet's shares for a container without a CPU request
                      "security_context": {"namespace_options": namespace_options(spec)}},
        }
        for option in MEMBER_OPTIONS:
            value = member.options.get(option.name)
            if value is not None and option.cri:
                merge(config, option.cri(value, self.runtime.volume_path))
        resources = config["linux"]["resources"]
        if resources.get("memory_limit_in_bytes"):
            resources["memory_swap_limit_in_bytes"] = resources["memory_limit_in_bytes"]  # kubelet: no swap beyond the limit
        return self.client.create_container(sandbox_id, config, self.sandbox_config)


def _sandbox_uid(sandbox: ContainerView | None) -> str | None:
    return (sandbox.raw.get("list", {}).get("metadata") or {}).get("uid") if sandbox is not None and sandbox.role == ROLE_SANDBOX else None


def _rmdir_if_empty(path: Path) -> None:
    try:
        path.rmdir()
    except OSError as exc:
        if exc.errno not in (errno.ENOENT, errno.ENOTEMPTY, errno.EEXIST):
            raise


def _log_tail(path: Path, lines: int = 20) -> str:
    """The last lines of a CRI log (each line: time stream P|F text), as text."""
    try:
        raw = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError as exc:
        return f"(no log: {exc.strerror})"
    return "\n".join(line.split(" ", 3)[3] if line.count(" ") >= 3 else line for line in raw)


class CriPodManager(PodManager):
    """cri_pod: the pod engine on a CRI runtime (containerd's CRI plugin)."""

    read_errors = (CriError,)
    pull_errors = (CriError,)
    argument_spec = CRI_ARGUMENT_SPEC
    runtime_name = "cri"

    def lock_key(self, spec: PodSpec) -> str:
        return f"cri_{self.params['namespace']}_{spec.name}"

    def read_error_message(self, exc: Exception) -> str:
        return str(exc) if isinstance(exc, CriUnavailable) else f"the CRI runtime refused a read: {exc}"

    def build_spec(self) -> PodSpec:
        # Validated in full before the runtime is reached; connect() adds what the runtime tells (on_runtime).
        spec, self.cri = build_cri_spec(self.params, "cgroupfs")
        return spec

    def connect(self, spec: PodSpec) -> PodSpec:
        self.client = CriClient(self.cri.socket)
        status = self.client.status(verbose=True)
        conditions = {c["type"]: c for c in (status.get("status") or {}).get("conditions") or []}
        for condition in ("RuntimeReady", "NetworkReady"):
            if not conditions.get(condition, {}).get("status"):
                reason = conditions.get(condition, {}).get("message") or "not reported"
                raise CriUnavailable(f"the CRI runtime at {self.cri.socket} is not {condition} ({reason}); "
                                     "check its CNI configuration (the cri_runtime role writes one) and its log")
        self.driver = cri_cgroup_driver_from(status) or ("systemd" if Layout.detect().version == 2 and systemd_is_running() else "cgroupfs")
        # A pod keeps the UID of its newest sandbox when the task gives none; the first observe reuses this list.
        sandboxes = pod_sandboxes(self.client, spec.name, self.cri.namespace)
        existing = sandboxes[0]["metadata"]["uid"] if sandboxes and not self.params.get("uid") else None
        spec, self.cri = on_runtime(spec, self.cri, self.driver, existing)
        self.runtime = self.cri_runtime = CriRuntime(self.client, self.cri, sandboxes)
        return spec

    def cgroup_driver(self) -> str | None:
        return self.driver

    image_place = "in containerd's k8s.io namespace"
    image_hint = IMPORT_HINT

    def pull_now(self, image: str) -> str | None:
        self.client.pull_image(image)
        return (self.client.image_status(image) or {}).get("id")

    def before_apply(self, spec: PodSpec, actions: list[PodAction]) -> None:
        made = [a.target for a in actions if a.kind in ("sandbox_create", "member_create", "init_run")]
        if spec.state == "stopped" and made:
            # the CRI makes containers only in a running sandbox, and a stopped one cannot run again
            self.fail(f"pod {spec.name}: state: stopped cannot make {', '.join(made)}: the CRI makes containers only in a running "
                      "sandbox, and a stopped sandbox cannot be started again; make the pod with state: present, then stop it "
                      "with state: stopped")

    def executor(self, spec: PodSpec, cgroup_parent: str | None, sandbox_id: str | None,
                 cgroups: dict[str, CgroupParentManager]) -> PodExecutor:
        return CriExecutor(self.cri_runtime, spec, cgroup_parent=cgroup_parent, sandbox_id=sandbox_id, cgroups=cgroups)

    def other_cgroups(self, spec: PodSpec, observed: ObservedPod) -> list[str]:
        """The pod's cgroup under the other QoS classes (left by a pod whose class changed, or, for state absent, the pod's
        own when the task does not give the members, whose limits decide the class), and those of its sandboxes with
        another UID (the task's uid changed)."""
        uids = {self.cri.uid} | {uid for uid in map(_sandbox_uid, [observed.sandbox, *observed.strays]) if uid}
        names = {dataclasses.replace(self.cri, qos=qos, uid=uid).cgroup_name(self.driver) for qos in QOS_CLASSES for uid in uids}
        return [name for name in sorted(names - {spec.cgroup_name}) if self.cgroup_manager(spec, "absent", name).backend()[0].exists()]

    def runtime_actions(self, spec: PodSpec, observed: ObservedPod) -> list[PodAction]:
        """state absent with no sandbox left: its log directory (a removed sandbox takes its own with it)."""
        logs = self.cri_runtime.log_dir(spec, self.cri.uid)
        if spec.state == "absent" and observed.sandbox is None and logs.is_dir():
            return [PodAction("logs_remove", str(logs), "state: absent")]
        return []

    def hostname_of(self, sandbox: ContainerView) -> str | None:
        return (sandbox.raw["info"].get("config") or {}).get("hostname") or None

    def sandbox_ip(self, sandbox: ContainerView) -> str | None:
        return ((sandbox.raw["status"].get("network") or {}).get("ip")) or None

    def kube_pod(self, spec: PodSpec, pod: ObservedPod) -> KubePod | None:
        return kube_pod(spec, pod, str(self.cri_runtime.pod_dir() / "volumes"))

    def runtime_report(self, spec: PodSpec, pod: ObservedPod) -> dict[str, Any]:
        return {
            "namespace": self.cri.namespace,
            "uid": self.cri.uid,
            "qos_class": self.cri.qos,
            "runtime": "cri",
            "volumes": sorted(self.cri_runtime.volume_path(v.removeprefix(f"{spec.name}_")) for v in pod.volumes),
        }


def cri_cgroup_driver_from(status: dict[str, Any]) -> str | None:
    """The cgroup driver of the runtime's default runc in a verbose Status reply: systemd when SystemdCgroup is set."""
    try:
        config = json.loads((status.get("info") or {}).get("config") or "{}")
    except ValueError:
        return None
    containerd = config.get("containerd") or {}
    runtimes = containerd.get("runtimes") or {}
    default = runtimes.get(containerd.get("defaultRuntimeName") or "runc")
    if not isinstance(default, dict):
        return None
    return "systemd" if (default.get("options") or {}).get("SystemdCgroup") else "cgroupfs"
