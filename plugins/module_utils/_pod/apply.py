# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: carrying out a pod plan against the Docker daemon. Not a public API."""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import groupby
from typing import Any

from ansible_collections.podlab.playground.plugins.module_utils._docker import DockerClient, DockerException
from ansible_collections.podlab.playground.plugins.module_utils._pod.model import LABEL_HASH, LABEL_MEMBER, LABEL_POD, LABEL_ROLE, ROLE_SANDBOX
from ansible_collections.podlab.playground.plugins.module_utils._pod.plan import PodAction
from ansible_collections.podlab.playground.plugins.module_utils._pod.spec import (
    MemberSpec,
    PodSpec,
)

# Docker's own default when only --memory is given: as much swap as memory.
SWAP_FACTOR = 2


class PodError(Exception):
    """A step failed; the message names the pod, the member, the cause and what the next run does."""


class PodExecutor:
    def __init__(self, client: DockerClient, spec: PodSpec, *, cgroup_parent: str | None, sandbox_id: str | None,
                 cgroup_apply: Callable[[], None], cgroup_remove: Callable[[], None]) -> None:
        self.client = client
        self.spec = spec
        self.cgroup_parent = cgroup_parent
        self.sandbox_id = sandbox_id
        self.cgroup_apply = cgroup_apply
        self.cgroup_remove = cgroup_remove
        self.members = {m.name: m for m in spec.members + spec.inits}

    def run(self, actions: list[PodAction]) -> None:
        # Consecutive actions of one group run concurrently; the rest one after another.
        for group, batch in groupby(actions, key=lambda a: a.group):
            batch_list = list(batch)
            if group and len(batch_list) > 1:
                with ThreadPoolExecutor(max_workers=min(8, len(batch_list))) as pool:
                    futures = [pool.submit(self._do, a) for a in batch_list]
                errors = [f.exception() for f in futures if f.exception()]
                if errors:
                    raise errors[0]  # type: ignore[misc]
            else:
                for action in batch_list:
                    self._do(action)

    def _do(self, action: PodAction) -> None:
        try:
            getattr(self, "_" + action.kind)(action)
        except DockerException as exc:
            raise PodError(
                f"pod {self.spec.name}: could not {action.describe()}: {exc}. "
                "Nothing else was changed after this step; the next run repairs the pod from where it stopped"
            ) from None

    # -- steps ---------------------------------------------------------------

    def _cgroup(self, action: PodAction) -> None:
        self.cgroup_apply()  # the whole cgroup plan at once; later cgroup actions find nothing left to do

    def _cgroup_remove(self, action: PodAction) -> None:
        self.cgroup_remove()

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
            self.client.start(self.sandbox_id)

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
            self.client.start(container_id)

    def _member_start(self, action: PodAction) -> None:
        self.client.start(action.target)

    def _member_stop(self, action: PodAction) -> None:
        self.client.stop(action.target, self.spec.stop_timeout)

    def _member_update(self, action: PodAction) -> None:
        updates = action.data["updates"]
        body: dict[str, Any] = {}
        if "memory" in updates:
            memory = updates["memory"]
            body["Memory"] = memory
            body["MemorySwap"] = memory * SWAP_FACTOR if memory else -1
        if "cpus" in updates:
            body["NanoCpus"] = updates["cpus"]
        if "pids_limit" in updates:
            body["PidsLimit"] = updates["pids_limit"]
        if "restart_policy" in updates:
            body["RestartPolicy"] = {"Name": updates["restart_policy"]}
        self.client.update_limits(action.target, body)

    def _init_run(self, action: PodAction) -> None:
        member = self.members[action.data["member"]]
        self.client.remove(member.container_name)
        container_id = self._create_member(member)
        self.client.start(container_id)
        code = self.client.wait(container_id, self.spec.init_timeout)
        if code != 0:
            tail = self.client.logs_tail(container_id)
            raise PodError(
                f"pod {self.spec.name}: init container {member.name} exited with code {code}; the members were not started. "
                f"Last lines of its log:\n{tail.rstrip()}\nFix it and run again (the failed container is kept for docker logs)"
            )

    # -- helpers -------------------------------------------------------------

    def _create(self, name: str, image: str, *, role: str, member: str, spec_hash: str, host_config: dict[str, Any],
                config: dict[str, Any]) -> str:
        labels = {**self.spec.labels, LABEL_POD: self.spec.name, LABEL_ROLE: role, LABEL_HASH: spec_hash}
        if member:
            labels[LABEL_MEMBER] = member
        try:
            return self.client.create(name, image, labels, host_config, **config)
        except DockerException:
            self.client.remove(name)  # a half-made container would block the next run's create
            raise

    def _create_member(self, member: MemberSpec) -> str:
        spec, options = self.spec, member.options
        if not self.sandbox_id:
            raise PodError(f"pod {spec.name}: the sandbox is missing, so {member.role} {member.name} has nothing to join; run again")
        sandbox = f"container:{self.sandbox_id}"
        mounts = [
            {"Target": m["target"], "Type": m["type"], "ReadOnly": m["read_only"],
             **({"Source": spec.volume_name(m["source"]) if m["type"] == "volume" else m["source"]} if m.get("source") else {})}
            for m in options.get("mounts") or []
        ]
        restart = options.get("restart_policy")
        host_config = self.client.host_config(
            network_mode=sandbox,
            ipc_mode="host" if spec.host_ipc else sandbox,
            pid_mode="host" if spec.host_pid else (sandbox if spec.share_pid else None),
            cgroup_parent=self.cgroup_parent,
            mem_limit=options.get("memory") or None,
            nano_cpus=options.get("cpus") or None,
            pids_limit=options.get("pids_limit"),
            restart_policy={"Name": restart} if restart else None,
            mounts=mounts or None,
        )
        config: dict[str, Any] = {"detach": True}
        for option, key in (("command", "command"), ("entrypoint", "entrypoint"), ("env", "environment"),
                            ("working_dir", "working_dir"), ("user", "user")):
            if options.get(option) is not None:
                config[key] = options[option]
        return self._create(member.container_name, member.image, role=member.role, member=member.name,
                            spec_hash=member.hash(spec.member_context(self.cgroup_parent)), host_config=host_config, config=config)
