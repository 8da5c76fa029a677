# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: what must change to turn the observed pod into the wanted one. Not a public API.

The plan is data: a list of PodActions, each with its reason, made before
anything is done. Check mode returns it; a real run executes exactly it.
Smallest blast radius: a changed member is recreated alone; members are
recreated only when the sandbox they joined is new, or the kernel shows them
in namespaces that are no longer the sandbox's. One planner for every runtime:
what differs (what can be restarted, what is shown) is asked of the PodRuntime.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ansible_collections.podlab.playground.plugins.module_utils._pod.model import ROLE_CONTAINER, ContainerView, container_name
from ansible_collections.podlab.playground.plugins.module_utils._pod.observe import ObservedPod, running, stale_namespaces
from ansible_collections.podlab.playground.plugins.module_utils._pod.runtime import NOT_SHOWN, PodRuntime
from ansible_collections.podlab.playground.plugins.module_utils._pod.spec import (
    MEMBER_OPTIONS,
    MemberSpec,
    PodSpec,
)

# Groups: actions of one group run concurrently; groups run in this order.
G_REMOVE, G_MEMBERS, G_STOP = "remove", "members", "stop"


@dataclass
class PodAction:
    kind: str
    target: str
    reason: str = ""
    group: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        text = {
            "pull": "pull image {t}",
            "cgroup": "cgroup parent: {r}",
            "cgroup_remove": "remove cgroup parent {t} from every hierarchy",
            "volume_create": "create volume {t}",
            "volume_remove": "remove volume {t}",
            "logs_remove": "remove log directory {t}",
            "remove": "remove container {t}",
            "sandbox_create": "create sandbox {t}",
            "sandbox_start": "start sandbox {t}",
            "sandbox_restart": "restart sandbox {t}",
            "sandbox_stop": "stop sandbox {t}",
            "init_run": "run init container {t} to completion",
            "member_create": "create container {t}",
            "member_start": "start container {t}",
            "member_update": "update container {t} in place",
            "member_stop": "stop container {t}",
        }[self.kind].format(t=self.target, r=self.reason)
        return text if self.kind == "cgroup" or not self.reason else f"{text} ({self.reason})"


def _image_changed(container: ContainerView, image: str, observed: ObservedPod) -> str | None:
    wanted = observed.image_ids.get(image)
    if wanted and container.image_id and container.image_id != wanted:
        return f"image {image} is now {wanted.removeprefix('sha256:')[:12]}"
    return None


@dataclass(frozen=True)
class MemberContext:
    """What a member is judged against: the pod, what is observed, its wanted hash and the sandbox it must have joined."""

    spec: PodSpec
    observed: ObservedPod
    context_hash: str
    sandbox_id: str | None
    runtime: PodRuntime


def _member_reasons(member: MemberSpec, container: ContainerView, ctx: MemberContext) -> list[str]:
    """Why this existing member needs a new container (empty: it does not)."""
    spec, observed, sandbox_id, runtime = ctx.spec, ctx.observed, ctx.sandbox_id, ctx.runtime
    reasons = []
    if container.spec_hash != ctx.context_hash:
        reasons.append("its spec changed")
    changed_image = _image_changed(container, member.image, observed)
    if changed_image:
        reasons.append(changed_image)
    if sandbox_id and container.sandbox_id != sandbox_id:
        reasons.append("it joined another sandbox")
    stale = stale_namespaces(container, observed.sandbox, runtime.shared_namespaces(spec))
    if stale:
        reasons.append(f"the kernel shows it in {'/'.join(stale)} namespaces that are no longer the sandbox's (the sandbox restarted)")
    for option in MEMBER_OPTIONS:
        wanted = member.options.get(option.name)
        if wanted is None or option.in_place:
            continue
        seen = runtime.read_back(option, member, container)
        if seen is not NOT_SHOWN and not option.satisfied(wanted, seen):
            reasons.append(f"the {runtime.name} runtime shows {option.name}={seen!r}, wanted {wanted!r}")
    return reasons


def in_place_updates(member: MemberSpec, container: ContainerView, runtime: PodRuntime) -> dict[str, Any]:
    """In-place options whose value the runtime does not show: option -> wanted."""
    updates = {}
    for option in MEMBER_OPTIONS:
        wanted = member.options.get(option.name)
        if wanted is None or not option.in_place:
            continue
        seen = runtime.read_back(option, member, container)
        if seen is not NOT_SHOWN and not option.satisfied(wanted, seen):
            updates[option.name] = wanted
    return updates


def image_pulls(actions: list[PodAction], spec: PodSpec, observed: ObservedPod, place: str) -> list[PodAction]:
    """The pulls a plan needs: one for each missing image that a container the plan makes runs on, in image order. As
    kubelet pulls when it creates a container, a pod whose image left the host runs on untouched; the pull comes with
    the first container that needs the image. place says where the image is missing ("present on the Docker host")."""
    images = {"member_create": {m.name: m.image for m in spec.members}, "init_run": {m.name: m.image for m in spec.inits}}
    used = {spec.sandbox_image for a in actions if a.kind == "sandbox_create"}
    used |= {images[a.kind][a.data["member"]] for a in actions if a.kind in ("member_create", "init_run")}
    return [PodAction("pull", image, f"not {place}") for image in sorted(used) if image in observed.image_ids and observed.image_ids[image] is None]


def plan_pod(spec: PodSpec, observed: ObservedPod, runtime: PodRuntime, *, cgroup_parent: str | None,
             cgroup_actions: list[PodAction], cgroup_exists: bool) -> list[PodAction]:
    """The whole plan; cgroup_actions are the pod cgroup's own steps, first when the pod is made."""
    if spec.state == "absent":
        return _plan_absent(spec, observed, runtime, cgroup_exists)
    return _Planner(spec, observed, runtime, cgroup_parent).plan(cgroup_actions)


class _Planner:
    """One plan for started/stopped/restarted; each part of the pod has its method."""

    def __init__(self, spec: PodSpec, observed: ObservedPod, runtime: PodRuntime, cgroup_parent: str | None) -> None:
        self.spec = spec
        self.observed = observed
        self.runtime = runtime
        self.cgroup_parent = cgroup_parent
        self.start = spec.state in ("started", "restarted")
        context = spec.member_context(cgroup_parent)
        self.context_hash = {m.name: m.hash(context) for m in spec.members + spec.inits}
        self.removals: list[PodAction] = []
        # Why members must be recreated because of the sandbox ("" when they need not).
        self.sandbox_new = ""
        self.restarting = False

    def plan(self, cgroup: list[PodAction]) -> list[PodAction]:
        spec, observed = self.spec, self.observed
        wanted_volumes = {spec.volume_name(v) for v in spec.volumes}
        volumes = [PodAction("volume_create", v, "missing") for v in sorted(wanted_volumes - observed.volumes)]
        self.plan_leftovers()
        sandbox = self.plan_sandbox()
        members, restart_members = self.plan_members()
        self.restarting = spec.state == "restarted" and not self.sandbox_new
        stops_before_sandbox: list[PodAction] = []
        if self.restarting:
            # Members stopped before and started after the sandbox join its new namespaces, no new containers needed.
            sandbox.append(PodAction("sandbox_restart", spec.sandbox_name, "state: restarted"))
            stops_before_sandbox = [
                PodAction("member_stop", container_name(spec.name, ROLE_CONTAINER, name), "so that it joins the restarted sandbox", G_STOP, {"member": name})
                for name in restart_members if running(observed.members.get(name))
            ]
            members += [PodAction("member_start", container_name(spec.name, ROLE_CONTAINER, name), "state: restarted", G_MEMBERS, {"member": name})
                        for name in restart_members]
        stops = self.plan_stops(sandbox, members)
        orphans = [PodAction("volume_remove", v, "no longer a pod volume") for v in sorted(observed.volumes - wanted_volumes)]
        return cgroup + volumes + self.removals + stops_before_sandbox + sandbox + self.plan_inits() + members + stops + orphans

    def plan_leftovers(self) -> None:
        """Containers that are ours by label but not in the spec go first."""
        observed, members, inits = self.observed, {m.name for m in self.spec.members}, {m.name for m in self.spec.inits}
        self.removals += [_remove(c, "not in the pod's spec") for c in observed.strays]
        self.removals += [_remove(c, "no longer a member") for name, c in sorted(observed.members.items()) if name not in members]
        self.removals += [_remove(c, "no longer an init container") for name, c in sorted(observed.inits.items()) if name not in inits]

    def plan_sandbox(self) -> list[PodAction]:
        spec, sandbox = self.spec, self.observed.sandbox
        if sandbox is None:
            self.sandbox_new = "the sandbox is new"
            return [PodAction("sandbox_create", spec.sandbox_name, "missing", data={"start": self.start})]
        reasons = []
        if sandbox.spec_hash != spec.sandbox_hash(self.cgroup_parent):
            reasons.append("its spec changed")
        changed_image = _image_changed(sandbox, spec.sandbox_image, self.observed)
        if changed_image:
            reasons.append(changed_image)
        reasons += self.runtime.sandbox_drift(spec, sandbox)
        if not self.runtime.restartable:
            # A CRI sandbox is never started again: kubelet, too, makes a new one.
            if spec.state == "restarted":
                reasons.append("state: restarted")
            elif self.start and not running(sandbox):
                reasons.append(f"it is not ready, and a {self.runtime.name} sandbox cannot be started again")
        if reasons:
            self.sandbox_new = "the sandbox was replaced"
            self.removals.append(_remove(sandbox, "; ".join(reasons), spec.sandbox_name))
            return [PodAction("sandbox_create", spec.sandbox_name, "; ".join(reasons), data={"start": self.start})]
        if self.start and not running(sandbox):
            self.sandbox_new = "the sandbox was started anew (new namespaces)"
            return [PodAction("sandbox_start", spec.sandbox_name, "it is stopped")]
        return []

    def plan_members(self) -> tuple[list[PodAction], list[str]]:
        """Recreate, update in place, or start each member; and the members a restart stops and starts."""
        spec, observed = self.spec, self.observed
        sandbox_id = None if self.sandbox_new or observed.sandbox is None else observed.sandbox.id
        actions: list[PodAction] = []
        restart_members: list[str] = []
        for member in spec.members:
            container = observed.members.get(member.name)
            reasons = [self.sandbox_new] if self.sandbox_new else []
            if container is not None:
                reasons += _member_reasons(member, container,
                                           MemberContext(spec, observed, self.context_hash[member.name], sandbox_id, self.runtime))
                if not reasons and self.start and not container.running and not self.runtime.restartable:
                    reasons.append(f"it is {container.status}, and a {self.runtime.name} container cannot be started again")
            if container is None or reasons:
                why = "; ".join(reasons) if container is not None else "missing"
                if container is not None:
                    self.removals.append(_remove(container, why, member.container_name))
                actions.append(PodAction("member_create", member.container_name, why, G_MEMBERS, {"member": member.name, "start": self.start}))
                continue
            updates = in_place_updates(member, container, self.runtime)
            if updates:
                actions.append(PodAction("member_update", member.container_name, ", ".join(f"{k}={v}" for k, v in updates.items()),
                                         G_MEMBERS, {"member": member.name, "updates": updates, "id": container.id}))
            if spec.state == "restarted":
                restart_members.append(member.name)
            elif self.start and not running(container):
                actions.append(PodAction("member_start", member.container_name, "it is stopped", G_MEMBERS, {"member": member.name}))
        return actions, restart_members

    def plan_inits(self) -> list[PodAction]:
        """Init containers run, in order, when the sandbox is new or one of them is not a finished success of its spec."""
        spec, observed = self.spec, self.observed
        if not self.start or not spec.inits:
            return []

        def settled(init: MemberSpec) -> bool:
            container = observed.inits.get(init.name)
            return (
                container is not None
                and container.status == "exited"
                and container.exit_code == 0
                and container.spec_hash == self.context_hash[init.name]
                and not _image_changed(container, init.image, observed)
            )

        if not (self.sandbox_new or self.restarting or not all(settled(i) for i in spec.inits)):
            return []
        why = self.sandbox_new or ("state: restarted" if self.restarting else "an init container changed or did not succeed")
        return [PodAction("init_run", i.container_name, why, data={"member": i.name, "id": _id(observed.inits.get(i.name))})
                for i in spec.inits]

    def plan_stops(self, sandbox: list[PodAction], members: list[PodAction]) -> list[PodAction]:
        """state: stopped stops the running members, then the sandbox."""
        spec, observed = self.spec, self.observed
        if spec.state != "stopped":
            return []
        made = {a.target for a in members if a.kind == "member_create"}
        stops = [PodAction("member_stop", m.container_name, "state: stopped", G_STOP, {"member": m.name, "id": _id(observed.members.get(m.name))})
                 for m in spec.members if running(observed.members.get(m.name)) and m.container_name not in made]
        if running(observed.sandbox) and not any(a.kind == "sandbox_create" for a in sandbox):
            stops.append(PodAction("sandbox_stop", spec.sandbox_name, "state: stopped"))
        return stops


def _id(container: ContainerView | None) -> str | None:
    return container.id if container is not None else None


def _remove(container: ContainerView, reason: str, target: str = "", group: str = G_REMOVE) -> PodAction:
    """Remove one container or sandbox: the action carries its id and role, what the runtime needs."""
    return PodAction("remove", target or container.name, reason, group, {"id": container.id, "role": container.role})


def _plan_absent(spec: PodSpec, observed: ObservedPod, runtime: PodRuntime, cgroup_exists: bool) -> list[PodAction]:
    # A stable order (the runtime's list has none), so check mode and the real run say the same.
    members = [*(c for _n, c in sorted(observed.members.items())), *(c for _n, c in sorted(observed.inits.items())),
               *sorted(observed.strays, key=lambda c: (c.name, c.id))]
    actions = [_remove(c, "state: absent") for c in members]
    if observed.sandbox:
        actions.append(_remove(observed.sandbox, "state: absent", spec.sandbox_name, group=G_REMOVE if runtime.sandbox_goes_with_members else ""))
    actions += [PodAction("volume_remove", v, "state: absent") for v in sorted(observed.volumes)]
    if cgroup_exists and spec.cgroup.get("create", True) and spec.cgroup_name:
        actions.append(PodAction("cgroup_remove", spec.cgroup_name, "state: absent"))
    return actions
