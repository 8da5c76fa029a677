# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: the pod as asked for, validated, normalised and hashed. Not a public API.

Every member option is declared once in MEMBER_OPTIONS: its argument spec, how
the value is normalised, where Docker's inspect output shows it, and whether a
change can be applied in place (docker update) or needs a new container.
"""
from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.podlab.playground.plugins.module_utils._cgroup.errors import CgroupError
from ansible_collections.podlab.playground.plugins.module_utils._cgroup.names import split_name
from ansible_collections.podlab.playground.plugins.module_utils._pod.model import ROLE_CONTAINER, ROLE_INIT, ROLE_SANDBOX, container_name, volume_name
from ansible_collections.podlab.playground.plugins.module_utils._units import PIDS_MAX, UNLIMITED, human_size, parse_cpus, parse_size

DEFAULT_SANDBOX_IMAGE = "podlab/pause:1"
MAKE_IMAGES_HINT = "build the playground's images with: ansible-playbook playbooks/images.yml (podlab.playground.playground_images)"
_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")
# RFC 1123 host names: labels of letters, digits and inner '-', dot-separated; Linux allows 64 characters in all.
_HOST_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
HOSTNAME_MAX = 64
# The collection's own labels: a user label of this prefix could make the module adopt or lose containers.
OWN_LABEL_PREFIX = "podlab."
_PORT = re.compile(
    r"(?:(?P<ip>\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]):)?(?:(?P<host>\d*):)?(?P<container>\d+)(?:/(?P<proto>tcp|udp|sctp))?"
)


class PodSpecError(Exception):
    """The request cannot be carried out as written; the message says what to change."""


def _command(value: Any) -> list[str] | None:
    if value is None:
        return None
    # A string is split like a Dockerfile's shell-less CMD, never given to a shell.
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as exc:
            raise ValueError(f"command {value!r} cannot be split into words ({exc}); give it as a list") from None
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value):
        return [str(v) for v in value]
    raise ValueError(f"command: expected a list of words or a string, got {value!r}")


def _memory(value: Any) -> int | None:
    if value is None:
        return None
    size = parse_size(value, "memory")
    return 0 if size == UNLIMITED else int(size)


def _nano_cpus(value: Any) -> int | None:
    if value is None:
        return None
    cpus = parse_cpus(value)
    return 0 if cpus == UNLIMITED else round(float(cpus) * 1e9)


def _pids(value: Any) -> int | None:
    if value is None:
        return None
    if str(value) in ("max", "-1", "unlimited"):
        return -1
    try:
        count = int(str(value))
    except ValueError:
        raise ValueError(f"pids_limit: expected a number of tasks such as 64 (or max), got {value!r}") from None
    if count < 1:
        # Docker reads 0 as no limit: a pod asked for 0 tasks would run unlimited
        raise ValueError(f"pids_limit: must be at least 1 (or max for no limit), got {value!r}")
    if count > PIDS_MAX:
        # runc writes it to pids.max, which refuses it when the member starts, after the sandbox is made
        raise ValueError(f"pids_limit: the kernel takes at most {PIDS_MAX} (or max for no limit), got {value!r}")
    return count


def _env(value: Any) -> dict[str, str] | None:
    return None if value is None else {str(k): str(v) for k, v in value.items()}


def _env_in(inspected: dict) -> dict[str, str]:
    return dict(e.split("=", 1) for e in (inspected["Config"].get("Env") or []) if "=" in e)


def _restart(value: Any) -> str | None:
    return value


Writer = Callable[[Any, Callable[[str], str]], dict[str, Any]]  # (value, pod volume -> source) -> request fragment


def _cri_resources(**fields: Any) -> dict[str, Any]:
    return {"linux": {"resources": fields}}


CFS_PERIOD = 100000


def cri_cpus(nano: int) -> dict[str, Any]:
    """kubelet's mapping of a CPU limit: a CFS quota per 100 ms period, and shares as if requested (min 2)."""
    if not nano:
        return _cri_resources(cpu_period=0, cpu_quota=0, cpu_shares=2)
    return _cri_resources(cpu_period=CFS_PERIOD, cpu_quota=max(1000, nano * CFS_PERIOD // 10**9), cpu_shares=max(2, nano * 1024 // 10**9))


def _cri_user(value: str) -> dict[str, Any]:
    user, _sep, group = value.partition(":")
    context: dict[str, Any] = {"run_as_user": {"value": user}} if user.isdigit() else {"run_as_username": user}
    if group:
        context["run_as_group"] = {"value": group}
    return {"linux": {"security_context": context}}


def _docker_mounts(value: list[dict[str, Any]], volume_source: Callable[[str], str]) -> dict[str, Any]:
    return {"mounts": [
        {"Target": m["target"], "Type": m["type"], "ReadOnly": m["read_only"],
         **({"Source": volume_source(m["source"]) if m["type"] == "volume" else m["source"]} if m.get("source") else {})}
        for m in value
    ] or None}


def _cri_mounts(value: list[dict[str, Any]], volume_source: Callable[[str], str]) -> dict[str, Any]:
    return {"mounts": [
        {"container_path": m["target"], "host_path": volume_source(m["source"]) if m["type"] == "volume" else m["source"],
         "readonly": m["read_only"]}
        for m in value
    ]}


@dataclass(frozen=True)
class MemberOption:
    """One member option, declared once: how it is normalised, read back, compared and written on each runtime."""

    name: str
    argspec: dict[str, Any]
    normalise: Callable[[Any], Any]
    # Read the same value back from `docker inspect`; compared only when the user set it.
    read_back: Callable[[dict], Any]
    # Compare: does what the runtime shows satisfy the wanted value?
    satisfied: Callable[[Any, Any], bool] = lambda wanted, seen: wanted == seen
    in_place: bool = False  # the runtime can change it without a new container
    # Docker: keyword arguments of the container's create config, of its host config, and the body of docker update.
    docker_config: Writer | None = None
    docker_host: Writer | None = None
    docker_update: Callable[[Any], dict[str, Any]] | None = None
    # CRI: the ContainerConfig fragment (and, for in-place options, the UpdateContainerResources one); None: refused.
    cri: Writer | None = None


def _kw(key: str) -> Writer:
    return lambda value, _volumes: {key: value}


# Docker's own default when only --memory is given: as much swap as memory.
SWAP_FACTOR = 2

MEMBER_OPTIONS: tuple[MemberOption, ...] = (
    MemberOption("command", {"type": "raw"}, _command, lambda i: i["Config"].get("Cmd"),
                 docker_config=_kw("command"), cri=_kw("args")),  # Kubernetes' args are Docker's CMD
    MemberOption("entrypoint", {"type": "list", "elements": "str"}, _command, lambda i: i["Config"].get("Entrypoint"),
                 docker_config=_kw("entrypoint"), cri=_kw("command")),  # Kubernetes' command is Docker's ENTRYPOINT
    MemberOption(
        "env", {"type": "dict"}, _env, _env_in,
        satisfied=lambda wanted, seen: all(seen.get(k) == v for k, v in wanted.items()),  # the image adds its own
        docker_config=_kw("environment"),
        cri=lambda value, _v: {"envs": [{"key": k, "value": v} for k, v in sorted(value.items())]},
    ),
    MemberOption("working_dir", {"type": "str"}, lambda v: v, lambda i: i["Config"].get("WorkingDir"),
                 docker_config=_kw("working_dir"), cri=_kw("working_dir")),
    MemberOption("user", {"type": "str"}, lambda v: v, lambda i: i["Config"].get("User"),
                 docker_config=_kw("user"), cri=lambda value, _v: _cri_user(value)),
    MemberOption("memory", {"type": "str"}, _memory, lambda i: i["HostConfig"].get("Memory") or 0, in_place=True,
                 docker_host=lambda value, _v: {"mem_limit": value or None},
                 docker_update=lambda value: {"Memory": value, "MemorySwap": value * SWAP_FACTOR if value else -1},
                 cri=lambda value, _v: _cri_resources(memory_limit_in_bytes=value)),
    MemberOption("cpus", {"type": "str"}, _nano_cpus, lambda i: i["HostConfig"].get("NanoCpus") or 0, in_place=True,
                 docker_host=lambda value, _v: {"nano_cpus": value or None}, docker_update=lambda value: {"NanoCpus": value},
                 cri=lambda value, _v: cri_cpus(value)),
    MemberOption("pids_limit", {"type": "str"}, _pids, lambda i: i["HostConfig"].get("PidsLimit") or -1, in_place=True,
                 docker_host=_kw("pids_limit"), docker_update=lambda value: {"PidsLimit": value}),
    MemberOption(
        "restart_policy", {"type": "str", "choices": ["no", "on-failure", "always", "unless-stopped"]}, _restart,
        lambda i: (i["HostConfig"].get("RestartPolicy") or {}).get("Name") or "no", in_place=True,
        docker_host=lambda value, _v: {"restart_policy": {"Name": value}},
        docker_update=lambda value: {"RestartPolicy": {"Name": value}},
    ),
    MemberOption(
        "mounts", {"type": "list", "elements": "dict", "options": {
            "type": {"type": "str", "default": "volume", "choices": ["volume", "bind", "tmpfs"]},
            "source": {"type": "str"},
            "target": {"type": "str", "required": True},
            "read_only": {"type": "bool", "default": False},
        }},
        lambda v: None if v is None else [dict(m) for m in v],
        lambda i: None, satisfied=lambda wanted, seen: True,  # compared through the spec hash
        docker_host=_docker_mounts, cri=_cri_mounts,
    ),
)
OPTION_BY_NAME = {o.name: o for o in MEMBER_OPTIONS}

MEMBER_ARGSPEC: dict[str, Any] = {
    "name": {"type": "str", "required": True},
    # required unless a manifest's member of the name gives it (checked by build_spec)
    "image": {"type": "str"},
    **{o.name: o.argspec for o in MEMBER_OPTIONS},
}

# docker_pod's and cri_pod's rule besides the argument spec: a pod is named, or given by a manifest that names it
REQUIRED_ONE_OF = [("name", "manifest")]

ARGUMENT_SPEC: dict[str, Any] = {
    # required unless manifest gives metadata.name (REQUIRED_ONE_OF)
    "name": {"type": "str"},
    "state": {"type": "str", "default": "started", "choices": ["started", "present", "stopped", "restarted", "absent"]},
    "containers": {"type": "list", "elements": "dict", "default": [], "options": MEMBER_ARGSPEC},
    "init_containers": {"type": "list", "elements": "dict", "default": [], "options": MEMBER_ARGSPEC},
    "sandbox": {"type": "dict", "default": {}, "options": {
        "image": {"type": "str", "default": DEFAULT_SANDBOX_IMAGE},
        "command": {"type": "raw"},
    }},
    "hostname": {"type": "str"},
    "ports": {"type": "list", "elements": "str", "default": []},
    "volumes": {"type": "list", "elements": "str", "default": []},
    "labels": {"type": "dict", "default": {}},
    "share_pid": {"type": "bool", "default": False},
    "host_network": {"type": "bool", "default": False},
    "host_ipc": {"type": "bool", "default": False},
    "host_pid": {"type": "bool", "default": False},
    "cgroup_parent": {"type": "dict", "default": {}, "options": {
        "create": {"type": "bool", "default": True},
        "name": {"type": "str"},
        "memory": {"type": "str"},
        "cpus": {"type": "str"},
        "pids_max": {"type": "str"},
        "driver": {"type": "str", "default": "auto", "choices": ["auto", "cgroupfs", "systemd"]},
    }},
    "pull": {"type": "str", "default": "missing", "choices": ["missing", "always", "never"]},
    "stop_timeout": {"type": "int", "default": 10},
    "init_timeout": {"type": "int", "default": 300},
    # seconds a run waits for another run of the same pod to end (_pod/lock.py)
    "lock_timeout": {"type": "int", "default": 600},
    "docker_host": {"type": "str"},
    # a Kubernetes v1 Pod, and local images for its references (_pod/manifest.py)
    "manifest": {"type": "raw"},
    "images": {"type": "dict", "default": {}},
}


def spec_hash(data: dict[str, Any]) -> str:
    """A short, stable hash of what the user set (unset options are absent, so adding options later changes nothing)."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class MemberSpec:
    name: str
    role: str  # container | init
    image: str
    options: dict[str, Any]  # normalised, only what the user set
    container_name: str

    def hash(self, pod_context: dict[str, Any]) -> str:
        """What needs a new container when it changes: every option but the in-place ones, plus the pod's context."""
        fixed = {k: v for k, v in self.options.items() if not OPTION_BY_NAME[k].in_place}
        return spec_hash({"image": self.image, "role": self.role, "options": fixed, "pod": pod_context})


@dataclass(frozen=True)
class Port:
    host_ip: str
    host_port: str
    container_port: int
    proto: str


@dataclass(frozen=True)
class PodSpec:
    name: str
    state: str
    members: tuple[MemberSpec, ...]
    inits: tuple[MemberSpec, ...]
    sandbox_image: str
    sandbox_command: list[str] | None
    hostname: str
    ports: tuple[Port, ...]
    volumes: tuple[str, ...]
    labels: dict[str, str]
    share_pid: bool
    host_network: bool
    host_ipc: bool
    host_pid: bool
    cgroup: dict[str, Any]  # cgroup_parent options as given
    pull: str
    stop_timeout: int
    init_timeout: int
    warnings: list[str] = field(default_factory=list)

    @property
    def sandbox_name(self) -> str:
        return container_name(self.name, ROLE_SANDBOX)

    def volume_name(self, volume: str) -> str:
        return volume_name(self.name, volume)

    def sandbox_hash(self, cgroup_parent: str | None) -> str:
        return spec_hash({
            "image": self.sandbox_image, "command": self.sandbox_command, "hostname": self.hostname,
            "ports": [p.__dict__ for p in self.ports], "host_network": self.host_network, "host_ipc": self.host_ipc,
            "host_pid": self.host_pid, "share_pid": self.share_pid, "cgroup_parent": cgroup_parent, "labels": self.labels,
        })

    def member_context(self, cgroup_parent: str | None) -> dict[str, Any]:
        """Pod-level settings a member is created with (a change means new members)."""
        return {
            "share_pid": self.share_pid, "host_ipc": self.host_ipc, "host_pid": self.host_pid,
            "cgroup_parent": cgroup_parent, "labels": self.labels, "pod": self.name,
        }

    @property
    def cgroup_name(self) -> str | None:
        if self.cgroup.get("name"):
            return self.cgroup["name"]
        return f"pod-{self.name}" if self.cgroup.get("create", True) else None


def _member(pod: str, raw: dict[str, Any], role: str) -> MemberSpec:
    name = raw["name"]
    if not _NAME.fullmatch(name):
        raise PodSpecError(f"{role} {name!r}: a name may hold letters, digits and _ . - and start with a letter or digit")
    options = {}
    for option in MEMBER_OPTIONS:
        if raw.get(option.name) is not None:
            try:
                options[option.name] = option.normalise(raw[option.name])
            except ValueError as exc:
                raise PodSpecError(f"{role} {name}: {exc}") from None
    if not raw.get("image"):
        raise PodSpecError(f"{role} {name}: image is required (or a manifest's container of this name gives it)")
    return MemberSpec(name, role, raw["image"], options, container_name(pod, role, name))


def _port(text: str) -> Port:
    match = _PORT.fullmatch(text.strip())
    if not match:
        raise PodSpecError(f"ports: {text!r} is not [IP:][HOST_PORT:]CONTAINER_PORT[/PROTO], e.g. 8080:80 or 127.0.0.1:8080:80/tcp")
    ip = (match.group("ip") or "").strip("[]")
    if ip and "." in ip:
        try:
            ipaddress.IPv4Address(ip)
        except ValueError:
            raise PodSpecError(f"ports: {text!r}: {ip} is not an IPv4 address") from None
    elif ip:
        try:
            ipaddress.IPv6Address(ip)
        except ValueError:
            raise PodSpecError(f"ports: {text!r}: [{ip}] is not an IPv6 address") from None
    host, container = match.group("host") or "", int(match.group("container"))
    for what, number in (("container port", container), ("host port", int(host) if host else None)):
        if number is not None and not 1 <= number <= 65535:
            raise PodSpecError(f"ports: {text!r}: the {what} must be 1 to 65535 (leave the host port out to let the runtime pick one)")
    return Port(ip, host, container, match.group("proto") or "tcp")


def _hostname(params: dict[str, Any], name: str) -> str:
    """The pod's hostname: the one given, checked as the kernel and the runtimes take it, else the pod's name."""
    given = params.get("hostname")
    if params["host_network"]:
        return ""
    if given is None:
        if len(name) > HOSTNAME_MAX:
            raise PodSpecError(f"pod name {name!r} is {len(name)} characters, too long for the pod's hostname (the kernel takes "
                               f"{HOSTNAME_MAX}); give a shorter name or set hostname")
        return name
    labels = given.split(".")
    if len(given) > HOSTNAME_MAX or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise PodSpecError(f"hostname {given!r}: use letters, digits and '-' in dot-separated labels of 1 to 63 characters, "
                           f"not starting or ending with '-', {HOSTNAME_MAX} characters in all (RFC 1123)")
    return given


def build_spec(params: dict[str, Any]) -> PodSpec:
    """Validate everything before the first change; raise PodSpecError with a fix."""
    name = params.get("name") or ""
    if not _NAME.fullmatch(name):
        raise PodSpecError(f"pod name {name!r}: use letters, digits and _ . - and start with a letter or digit")
    members = tuple(_member(name, m, ROLE_CONTAINER) for m in params["containers"])
    inits = tuple(_member(name, m, ROLE_INIT) for m in params["init_containers"])
    seen: set[str] = set()
    for member in members + inits:
        if member.name in seen:
            raise PodSpecError(f"member name {member.name!r} is used twice; names must be unique across containers and init_containers")
        if member.name == "sandbox":
            raise PodSpecError("the member name 'sandbox' is the pod's own pause container; pick another name")
        seen.add(member.name)
    for init in inits:
        if "restart_policy" in init.options:
            raise PodSpecError(f"init container {init.name}: restart_policy does not apply, init containers run once to completion")
    if params["share_pid"] and params["host_pid"]:
        raise PodSpecError("share_pid and host_pid cannot both be true (as in Kubernetes): pick the pod's own PID namespace or the host's")
    ports = tuple(_port(p) for p in params["ports"])
    if params["host_network"] and ports:
        raise PodSpecError("ports cannot be published with host_network: the pod already uses the host's ports; drop ports")
    if params["host_network"] and params.get("hostname"):
        raise PodSpecError("hostname cannot be set with host_network: the pod shares the host's network identity; drop hostname")
    volumes = tuple(params["volumes"])
    for volume in volumes:
        if not _NAME.fullmatch(volume):
            raise PodSpecError(f"volume {volume!r}: use letters, digits and _ . -")
    for member in members + inits:
        for mount in member.options.get("mounts") or []:
            if mount["type"] == "volume" and mount.get("source") not in volumes:
                raise PodSpecError(
                    f"{member.role} {member.name}: mount of volume {mount.get('source')!r} at {mount['target']}, "
                    f"but the pod declares volumes {list(volumes)}; add it to volumes"
                )
            if mount["type"] == "bind" and not str(mount.get("source") or "").startswith("/"):
                raise PodSpecError(f"{member.role} {member.name}: a bind mount needs an absolute host path as source")
    own = sorted(k for k in params.get("labels") or {} if str(k).startswith(OWN_LABEL_PREFIX))
    if own:
        raise PodSpecError(f"labels {own}: the {OWN_LABEL_PREFIX}* labels are the collection's own (how it finds the pod's "
                           "containers); pick other keys")
    for option in ("stop_timeout", "init_timeout"):
        if params.get(option) is not None and params[option] < (0 if option == "stop_timeout" else 1):
            raise PodSpecError(f"{option}: must be at least {0 if option == 'stop_timeout' else 1} second(s), got {params[option]}")
    cgroup = dict(params.get("cgroup_parent") or {})
    if cgroup.get("name"):
        try:
            split_name(cgroup["name"])  # with create: false too, so that no member is placed outside the cgroup root
        except CgroupError as exc:
            raise PodSpecError(f"cgroup_parent: {exc}") from None
    _check_fit(cgroup, members + inits)
    sandbox = params.get("sandbox") or {}
    try:
        sandbox_command = _command(sandbox.get("command"))
    except ValueError as exc:
        raise PodSpecError(f"sandbox: {exc}") from None
    return PodSpec(
        name=name,
        state="started" if params["state"] == "present" else params["state"],
        members=members,
        inits=inits,
        sandbox_image=sandbox.get("image") or DEFAULT_SANDBOX_IMAGE,
        sandbox_command=sandbox_command,
        hostname=_hostname(params, name),
        ports=ports,
        volumes=volumes,
        labels={str(k): str(v) for k, v in (params.get("labels") or {}).items()},
        share_pid=params["share_pid"],
        host_network=params["host_network"],
        host_ipc=params["host_ipc"],
        host_pid=params["host_pid"],
        cgroup=cgroup,
        pull=params["pull"],
        stop_timeout=params["stop_timeout"],
        init_timeout=params["init_timeout"],
    )


def _check_fit(cgroup: dict[str, Any], members: tuple[MemberSpec, ...]) -> None:
    """Each member's own limit must fit inside the pod's (a larger one could never be reached)."""
    try:
        pod_memory = _memory(cgroup.get("memory"))
        pod_cpus = _nano_cpus(cgroup.get("cpus"))
    except ValueError as exc:
        raise PodSpecError(f"cgroup_parent: {exc}") from None
    if cgroup.get("memory") is not None and not cgroup.get("create", True):
        raise PodSpecError("cgroup_parent: memory, cpus and pids_max need create: true (the module sets them on the cgroup it creates)")
    for member in members:
        memory, cpus = member.options.get("memory"), member.options.get("cpus")
        if pod_memory and memory is not None and (memory == 0 or memory > pod_memory):
            raise PodSpecError(
                f"{member.role} {member.name}: memory {human_size(memory) if memory else 'unlimited'} does not fit in the pod's "
                f"{human_size(pod_memory)}; lower it or raise cgroup_parent.memory"
            )
        if pod_cpus and cpus is not None and (cpus == 0 or cpus > pod_cpus):
            raise PodSpecError(
                f"{member.role} {member.name}: cpus {cpus / 1e9:g} do not fit in the pod's {pod_cpus / 1e9:g}; "
                "lower them or raise cgroup_parent.cpus"
            )
