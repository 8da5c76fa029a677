# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: the Docker runtime of the pod engine (docker_pod). Not a public API.

The pod is one label-filtered container list and volume list, inspected; members join the
sandbox with --network/--ipc container:SANDBOX (and --pid with share_pid). Docker can start
a stopped container again and update limits in place.
"""
from __future__ import annotations

from typing import Any

from ansible_collections.podlab.playground.plugins.module_utils._cgroup.errors import CgroupError
from ansible_collections.podlab.playground.plugins.module_utils._cgroup.names import slice_path, slice_unit, split_name
from ansible_collections.podlab.playground.plugins.module_utils._cgroup_parent import CgroupParentManager
from ansible_collections.podlab.playground.plugins.module_utils._docker import DockerClient, DockerException, DockerUnavailable
from ansible_collections.podlab.playground.plugins.module_utils._kube.pod import KubeContainer, KubeMount, KubePod, KubePort, kube_restart_policy
from ansible_collections.podlab.playground.plugins.module_utils._pod.apply import PodError, PodExecutor
from ansible_collections.podlab.playground.plugins.module_utils._pod.model import (
    LABEL_CGROUP,
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
from ansible_collections.podlab.playground.plugins.module_utils._pod.spec import MAKE_IMAGES_HINT, MEMBER_OPTIONS, MemberOption, MemberSpec, PodSpec


def view(inspected: dict[str, Any]) -> ContainerView:
    """docker inspect -> the engine's view of a container."""
    state = inspected["State"]
    network = inspected["HostConfig"].get("NetworkMode") or ""
    running = bool(state.get("Running"))
    return ContainerView(
        id=inspected["Id"],
        name=inspected["Name"].lstrip("/"),
        labels=inspected["Config"].get("Labels") or {},
        status="running" if running else (state.get("Status") or "unknown"),
        image=inspected["Config"].get("Image") or "",
        pid=int(state.get("Pid") or 0) if running else 0,
        exit_code=state.get("ExitCode"),
        image_id=inspected.get("Image"),
        sandbox_id=network.split(":", 1)[1] if network.startswith("container:") else None,
        raw=inspected,
    )


def _own(value: Any, image_value: Any) -> Any:
    """What the pod set, None where the container runs with the image's own value."""
    return None if not value or value == image_value else value


def kube_container(member: ContainerView, image_config: dict[str, Any], pod: str) -> KubeContainer:
    """A member as docker inspect shows it, in Kubernetes' terms: only what differs from its image."""
    config, host = member.raw["Config"], member.raw["HostConfig"]
    image_env = set(image_config.get("Env") or [])
    env = dict(e.split("=", 1) for e in config.get("Env") or [] if e not in image_env and "=" in e)
    mounts = []
    for mount in host.get("Mounts") or []:
        kind, source = mount.get("Type") or "volume", mount.get("Source") or ""
        if kind == "volume":
            source = source.removeprefix(f"{pod}_")
        mounts.append(KubeMount(kind, mount["Target"], source, bool(mount.get("ReadOnly"))))
    entrypoint = _own(config.get("Entrypoint"), image_config.get("Entrypoint"))
    if not entrypoint and config.get("Entrypoint") and not config.get("Cmd") and image_config.get("Cmd"):
        # the image's own ENTRYPOINT given again: Docker then drops the image's CMD, which only saying it keeps so
        entrypoint = config.get("Entrypoint")
    # Docker drops the image's CMD under an ENTRYPOINT of the pod's, so CMD is then the pod's even where it equals the image's.
    command = (config.get("Cmd") or None) if entrypoint else _own(config.get("Cmd"), image_config.get("Cmd"))
    return KubeContainer(
        name=member.member or "", image=config.get("Image") or member.image, entrypoint=entrypoint, command=command,
        env=env, working_dir=_own(config.get("WorkingDir"), image_config.get("WorkingDir")),
        user=_own(config.get("User"), image_config.get("User")),
        memory=host.get("Memory") or None, nano_cpus=host.get("NanoCpus") or None, mounts=mounts,
    )


def kube_pod(spec: PodSpec, observed: ObservedPod) -> KubePod | None:
    """The pod as Docker shows it (the sandbox's and members' inspect, the images' own config), for pod.manifest."""
    sandbox = observed.sandbox
    if sandbox is None:
        return None
    config, host = sandbox.raw["Config"], sandbox.raw["HostConfig"]
    ports = [KubePort(b.get("HostIp") or "", int(b["HostPort"]) if b.get("HostPort") else None, int(port.split("/")[0]),
                      port.split("/")[1] if "/" in port else "tcp")
             for port, bindings in sorted((host.get("PortBindings") or {}).items()) for b in bindings or []]
    members, inits, volumes = in_spec_order(spec, observed)
    host_network = host.get("NetworkMode") == "host"

    def container(view: ContainerView) -> KubeContainer:
        return kube_container(view, observed.image_configs.get(view.image, {}), spec.name)

    image_labels = (observed.image_configs.get(sandbox.image) or {}).get("Labels") or {}
    labels = {k: v for k, v in (config.get("Labels") or {}).items() if image_labels.get(k) != v}
    return KubePod(
        name=spec.name, labels=labels, hostname="" if host_network else config.get("Hostname"),
        share_pid=any(str(m.raw["HostConfig"].get("PidMode") or "").startswith("container:") for m in members),
        host_network=host_network, host_ipc=host.get("IpcMode") == "host", host_pid=host.get("PidMode") == "host",
        ports=ports, volumes=volumes,
        restart_policy=kube_restart_policy((m.raw["HostConfig"].get("RestartPolicy") or {}).get("Name") for m in members),
        containers=[container(m) for m in members], init_containers=[container(i) for i in inits],
    )


# systemd's own top-level units: a cgroup parent inside one is never a pod's own cgroup
_SYSTEMD_OWNED = ("-.slice", "init.scope", "system.slice", "user.slice", "machine.slice")


def cgroup_parent_of(name: str, driver: str | None) -> str:
    """What Docker is given as --cgroup-parent for a cgroup name (the backends' docker_parent()): /a/b with cgroupfs, the
    slice a-b.slice with systemd; CgroupError for a name the module refuses."""
    segments = split_name(name)
    return slice_unit(segments) if driver == "systemd" else "/" + "/".join(segments)


def cgroup_of_parent(parent: str, driver: str | None) -> str | None:
    """The cgroup name a container's HostConfig.CgroupParent was made from (cgroup_parent_of's inverse), checked as every
    name is (below the cgroup root, no control file); None when it names no cgroup the module would make."""
    if driver == "systemd":
        if not parent.endswith(".slice") or slice_path(parent).split("/", maxsplit=1)[0] in _SYSTEMD_OWNED:
            return None
        # podlab-pod\x2dfoo.slice is podlab/pod-foo; a unit of the user's own naming (a single name.slice) is itself
        candidates = ["/".join(part.replace("\\x2d", "-") for part in parent[: -len(".slice")].split("-")), parent]
        wanted = parent
    else:
        candidates = [parent.removeprefix("/")]
        wanted = "/" + parent.removeprefix("/")  # a relative parent is below the root too
    for name in candidates:
        try:
            if name and cgroup_parent_of(name, driver) == wanted:
                return name
        except CgroupError:
            continue
    return None


def unlabelled_cgroups(containers: list[ContainerView], driver: str | None, known: set[str]) -> set[str]:
    """The cgroups that containers made before the podlab.cgroup label were given (their HostConfig.CgroupParent), other
    than the known names'."""
    known_parents = set()
    for name in known:
        try:
            known_parents.add(cgroup_parent_of(name, driver))
        except CgroupError:
            continue  # a label of another name than the module writes: it names no parent here
    found = set()
    for container in containers:
        if LABEL_CGROUP in container.labels:
            continue
        derived = cgroup_of_parent(str((container.raw.get("HostConfig") or {}).get("CgroupParent") or ""), driver)
        if derived and cgroup_parent_of(derived, driver) not in known_parents:
            found.add(derived)
    return found


class DockerRuntime:
    name = "docker"
    restartable = True
    sandbox_goes_with_members = True

    def __init__(self, client: DockerClient) -> None:
        self.client = client

    def observe(self, spec: PodSpec) -> ObservedPod:
        pod = ObservedPod()
        for container in map(view, self.client.containers_by_label(f"{LABEL_POD}={spec.name}")):
            role, member = container.role, container.member
            if role == ROLE_SANDBOX and container.name == spec.sandbox_name and pod.sandbox is None:
                pod.sandbox = container
            elif role == ROLE_CONTAINER and member and container.name == container_name(spec.name, role, member) and member not in pod.members:
                pod.members[member] = container
            elif role == ROLE_INIT and member and container.name == container_name(spec.name, role, member) and member not in pod.inits:
                pod.inits[member] = container
            else:
                pod.strays.append(container)
        pod.volumes = {v["Name"] for v in self.client.volumes_by_label(f"{LABEL_POD}={spec.name}")}
        if spec.state != "absent":  # image IDs only matter for what is to run
            images = {spec.sandbox_image, *(m.image for m in spec.members + spec.inits)}
            for image in sorted(images):
                inspected = self.client.image(image)
                pod.image_ids[image] = inspected["Id"] if inspected else None
                if inspected:
                    pod.image_configs[image] = inspected.get("Config") or {}
        return pod

    def shared_namespaces(self, spec: PodSpec) -> tuple[str, ...]:
        # Docker cannot share a UTS namespace between containers: the hostname is copied instead.
        return ("net",) + (() if spec.host_ipc else ("ipc",)) + (("pid",) if spec.share_pid else ())

    def sandbox_drift(self, spec: PodSpec, sandbox: ContainerView) -> list[str]:
        ipc = sandbox.raw["HostConfig"].get("IpcMode")
        return [] if ipc == ("host" if spec.host_ipc else "shareable") else [f"the daemon shows IpcMode={ipc!r}"]

    def read_back(self, option: MemberOption, member: MemberSpec, container: ContainerView) -> Any:
        return option.read_back(container.raw) if container.raw else NOT_SHOWN


class DockerExecutor(PodExecutor):
    runtime_errors = (DockerException, DockerUnavailable)
    # The members are created while the sandbox starts (a create needs only the sandbox's ID); each waits to start.
    overlaps_background = frozenset({"member_create"})

    def __init__(self, client: DockerClient, spec: PodSpec, *, cgroup_parent: str | None, sandbox_id: str | None,
                 cgroups: dict[str, CgroupParentManager]) -> None:
        super().__init__(spec, cgroup_parent=cgroup_parent, sandbox_id=sandbox_id, cgroups=cgroups)
        self.client = client

    def _volume_create(self, action: PodAction) -> None:
        self.client.create_volume(action.target, {LABEL_POD: self.spec.name, **self.spec.labels})

    def _volume_remove(self, action: PodAction) -> None:
        self.client.remove_volume(action.target)

    def _remove(self, action: PodAction) -> None:
        self.client.remove(action.target)

    def _sandbox_create(self, action: PodAction) -> None:
        spec = self.spec
        bindings: dict[str, Any] = {
            f"{p.container_port}/{p.proto}": (p.host_ip, int(p.host_port) if p.host_port else None) if p.host_ip
            else (int(p.host_port) if p.host_port else None)
            for p in spec.ports
        }
        host_config = self.client.host_config(
            ipc_mode="host" if spec.host_ipc else "shareable",
            network_mode="host" if spec.host_network else None,
            pid_mode="host" if spec.host_pid else None,
            cgroup_parent=self.cgroup_parent,
            port_bindings=bindings or None,
        )
        config: dict[str, Any] = {"command": spec.sandbox_command, "detach": True}
        if spec.hostname:
            config["hostname"] = spec.hostname
        if spec.ports:
            config["ports"] = [(p.container_port, p.proto) for p in spec.ports]
        self.sandbox_id = self._create(spec.sandbox_name, spec.sandbox_image, role=ROLE_SANDBOX, member="",
                                       spec_hash=spec.sandbox_hash(self.cgroup_parent), host_config=host_config, config=config)
        if action.data.get("start"):
            self.in_background(action, self.client.start, self.sandbox_id)

    def _sandbox_start(self, action: PodAction) -> None:
        self.client.start(self.spec.sandbox_name)

    def _sandbox_restart(self, action: PodAction) -> None:
        self.client.stop(self.spec.sandbox_name, self.spec.stop_timeout)
        self.client.start(self.spec.sandbox_name)

    def _sandbox_stop(self, action: PodAction) -> None:
        self.client.stop(self.spec.sandbox_name, self.spec.stop_timeout)

    def _member_create(self, action: PodAction) -> None:
        member = self.members[action.data["member"]]
        container_id = self._create_member(member)
        if action.data.get("start"):
            self.settled()  # it joins the sandbox's namespaces: the sandbox must be running
            self.client.start(container_id)

    def _member_start(self, action: PodAction) -> None:
        self.client.start(action.target)

    def _member_stop(self, action: PodAction) -> None:
        self.client.stop(action.target, self.spec.stop_timeout)

    def _member_update(self, action: PodAction) -> None:
        body: dict[str, Any] = {}
        for option in MEMBER_OPTIONS:
            if option.name in action.data["updates"] and option.docker_update:
                body.update(option.docker_update(action.data["updates"][option.name]))
        self.client.update_limits(action.target, body)

    def _pull(self, action: PodAction) -> None:
        if action.data.get("done"):
            return  # pull: always pulled before planning, to compare the image's new ID
        try:
            self.client.pull(action.target)
        except DockerException as exc:
            raise PodError(f"pod {self.spec.name}: image {action.target} is not present on the Docker host and could not be pulled "
                           f"({exc}); {MAKE_IMAGES_HINT}, docker load it, or name an image your registry has",
                           step=action.describe(), advice="Nothing was changed") from None

    def _init_run(self, action: PodAction) -> None:
        member = self.members[action.data["member"]]
        self.client.remove(member.container_name)
        container_id = self._create_member(member)
        self.client.start(container_id)
        code = self.client.wait(container_id, self.spec.init_timeout)
        if code != 0:
            tail = self.client.logs_tail(container_id)
            raise PodError(f"pod {self.spec.name}: init container {member.name} exited with code {code}; the members were not started. "
                           f"Last lines of its log:\n{tail.rstrip()}\nFix it and run again (the failed container is kept for docker logs)",
                           step=action.describe(), keep=True)

    # -- helpers -------------------------------------------------------------

    def _create(self, name: str, image: str, *, role: str, member: str, spec_hash: str, host_config: dict[str, Any],
                config: dict[str, Any]) -> str:
        labels = {**self.spec.labels, LABEL_POD: self.spec.name, LABEL_ROLE: role, LABEL_HASH: spec_hash}
        if member:
            labels[LABEL_MEMBER] = member
        if self.spec.cgroup_name and self.spec.cgroup.get("create", True):
            labels[LABEL_CGROUP] = self.spec.cgroup_name
        try:
            return self.client.create(name, image, labels, host_config, **config)
        except DockerException:
            self.client.remove(name)  # a half-made container would block the next run's create
            raise

    def _create_member(self, member: MemberSpec) -> str:
        spec, options = self.spec, member.options
        if not self.sandbox_id:
            raise PodError(f"pod {spec.name}: the sandbox is missing, so {member.role} {member.name} has nothing to join",
                           advice="Run again: the next run makes the sandbox")
        sandbox = f"container:{self.sandbox_id}"
        config: dict[str, Any] = {"detach": True}
        host: dict[str, Any] = {
            "network_mode": sandbox,
            "ipc_mode": "host" if spec.host_ipc else sandbox,
            "pid_mode": "host" if spec.host_pid else (sandbox if spec.share_pid else None),
            "cgroup_parent": self.cgroup_parent,
        }
        for option in MEMBER_OPTIONS:
            value = options.get(option.name)
            if value is None:
                continue
            if option.docker_config:
                config.update(option.docker_config(value, spec.volume_name))
            if option.docker_host:
                host.update(option.docker_host(value, spec.volume_name))
        return self._create(member.container_name, member.image, role=member.role, member=member.name,
                            spec_hash=member.hash(spec.member_context(self.cgroup_parent)), host_config=self.client.host_config(**host),
                            config=config)
