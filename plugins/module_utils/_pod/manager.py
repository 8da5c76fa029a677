"""Private to podlab.playground: the managers behind docker_pod and cri_pod. Not a public API.

spec (validate, normalise, hash) -> observe (one label-filtered list, /proc) ->
plan (actions with reasons) -> apply (unless check mode) -> report. PodManager is that
run, once; DockerPodManager and CriPodManager (in _pod/cri.py) give it their runtime.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from ansible_collections.podlab.playground.plugins.module_utils._cgroup.errors import CgroupError
from ansible_collections.podlab.playground.plugins.module_utils._cgroup_parent import CgroupParentManager, CgroupPlan
from ansible_collections.podlab.playground.plugins.module_utils._docker import (
    DockerClient,
    DockerException,
    DockerUnavailable,
    docker_host,
)
from ansible_collections.podlab.playground.plugins.module_utils._kube.pod import KubePod
from ansible_collections.podlab.playground.plugins.module_utils._kube.pod_out import export_gaps, manifest_from_pod
from ansible_collections.podlab.playground.plugins.module_utils._pod.apply import PodError, PodExecutor
from ansible_collections.podlab.playground.plugins.module_utils._pod.docker import DockerExecutor, DockerRuntime, kube_pod, unlabelled_cgroups
from ansible_collections.podlab.playground.plugins.module_utils._pod.lock import LOCK_DIR, PodLock, PodLockTimeout
from ansible_collections.podlab.playground.plugins.module_utils._pod.manifest import resolve_params
from ansible_collections.podlab.playground.plugins.module_utils._pod.model import LABEL_CGROUP, ContainerView
from ansible_collections.podlab.playground.plugins.module_utils._pod.observe import ObservedPod, pid_of, running
from ansible_collections.podlab.playground.plugins.module_utils._pod.plan import PodAction, image_pulls, plan_pod
from ansible_collections.podlab.playground.plugins.module_utils._pod.runtime import PodRuntime
from ansible_collections.podlab.playground.plugins.module_utils._pod.spec import (
    ARGUMENT_SPEC,
    MAKE_IMAGES_HINT,
    PodSpec,
    PodSpecError,
    build_spec,
)


class PodManager:
    """One run of a pod module; a subclass connects its runtime and names what differs."""

    runtime: PodRuntime
    # The runtime's exceptions that fail a read with "pod NAME: <read_error_message>".
    read_errors: tuple[type[Exception], ...] = ()
    # The runtime's exceptions for a pull that failed.
    pull_errors: tuple[type[Exception], ...] = ()
    # The module's options, and the runtime's name: a manifest's mapping (_kube.pod_in) and the lock file's prefix.
    argument_spec: dict[str, Any] = ARGUMENT_SPEC
    runtime_name = "docker"

    def __init__(self, module: Any) -> None:
        self.module = module
        self.params = resolve_params(module, self.argument_spec, self.runtime_name)
        self.warnings: list[str] = []
        # Not known to exist (a run that fails before it observes the pod, nothing of it observed, or all of it
        # removed): the run then removes its lock file. Removing it is safe at any time (PodLock re-checks the
        # inode); keeping it only where a pod is seen spares the next run a create.
        self.pod_absent = True
        # What a failed run's caller reports (docker_pods, cri_pods): the plan it was about to apply, and whether it
        # began to change the host.
        self.planned: list[str] = []
        self.applying = False

    def fail(self, msg: str) -> None:
        for warning in self.warnings:
            self.module.warn(warning)
        self.module.fail_json(msg=msg)

    # -- what a runtime's manager provides -------------------------------------

    def build_spec(self) -> PodSpec:
        return build_spec(self.params)

    def connect(self, spec: PodSpec) -> PodSpec:
        """Reach the runtime (sets self.runtime) and return the spec as the runtime runs it; raise one of read_errors
        when it does not answer."""
        raise NotImplementedError

    def read_error_message(self, exc: Exception) -> str:
        return str(exc)

    def cgroup_driver(self) -> str | None:
        """The runtime's cgroup driver when it says so, else None (the cgroup code decides)."""
        return None

    image_place = ""  # "present on the Docker host": where a runtime keeps the images it runs
    image_hint = ""  # what to do when one is missing

    def pull_now(self, image: str) -> str | None:
        """Pull an image the runtime has (pull: always) and return its ID; one of pull_errors when it cannot."""
        raise NotImplementedError

    def newer_images(self, spec: PodSpec, observed: ObservedPod) -> list[PodAction]:
        """pull: always asks the registry now, before planning, for each present image's new ID (check mode cannot
        know, and predicts no newer image); a newer one is a done pull in the plan and the observed ID for the planner.
        A missing image is planned by image_pulls, with the containers that need it."""
        actions: list[PodAction] = []
        if spec.pull != "always" or self.module.check_mode:
            return actions
        for image, image_id in sorted(observed.image_ids.items()):
            if image_id is None:
                continue
            try:
                new_id = self.pull_now(image)
            except self.pull_errors as exc:
                raise PodSpecError(pull_failure(image, image_id, self.image_place, exc)) from None
            if new_id != image_id:
                actions.append(PodAction("pull", image, "pull: always found a newer image", data={"done": True}))
                observed.image_ids[image] = new_id
        return actions

    def before_apply(self, spec: PodSpec, actions: list[PodAction]) -> None:
        """A last check, in check mode too, so that check mode fails where the real run would."""

    def executor(self, spec: PodSpec, cgroup_parent: str | None, sandbox_id: str | None,
                 cgroups: dict[str, CgroupParentManager]) -> PodExecutor:
        raise NotImplementedError

    def other_cgroups(self, spec: PodSpec, observed: ObservedPod) -> list[str]:
        """Names of cgroups this pod made under another name that still exist (removed by the plan)."""
        return []

    def runtime_actions(self, spec: PodSpec, observed: ObservedPod) -> list[PodAction]:
        """The runtime's own last steps (what only it leaves behind)."""
        return []

    def runtime_report(self, spec: PodSpec, pod: ObservedPod) -> dict[str, Any]:
        """Keys the runtime adds to the returned pod."""
        return {}

    def hostname_of(self, sandbox: Any) -> str | None:
        return None

    def kube_pod(self, spec: PodSpec, pod: ObservedPod) -> KubePod | None:
        """The observed pod in Kubernetes' terms (pod.manifest), None when there is none."""
        return None

    def sandbox_ip(self, sandbox: Any) -> str | None:
        return None

    # -- cgroup parent -------------------------------------------------------

    def cgroup_manager(self, spec: PodSpec, state: str, name: str | None = None) -> CgroupParentManager:
        cg = spec.cgroup
        params = {
            "name": name or spec.cgroup_name, "state": state, "memory": cg.get("memory"), "memory_swap": None, "cpus": cg.get("cpus"),
            "cpu_weight": None, "cpu_shares": None, "pids_max": cg.get("pids_max"), "driver": cg.get("driver", "auto"),
            "force": False, "docker_host": self.params.get("docker_host"),
        }
        return CgroupParentManager(self.module, params, self.cgroup_driver())

    def cgroup_plan(self, spec: PodSpec) -> tuple[CgroupParentManager | None, CgroupPlan | None, str | None]:
        """(manager, plan, the cgroup parent string the runtime is given) for the pod's cgroup."""
        if not spec.cgroup_name:
            return None, None, None
        if not spec.cgroup.get("create", True):
            if spec.state != "absent":
                backend, _driver = self.cgroup_manager(spec, "present").backend()
                if not backend.exists():
                    # runc would make it, and no run would remove it: the user's own cgroup must be there
                    raise PodSpecError(f"cgroup_parent: {spec.cgroup_name} does not exist, and create: false uses a cgroup of your own "
                                       "as given; make it first (podlab.playground.cgroup_parent) or set create: true")
            return None, None, spec.cgroup_name  # the user's own cgroup parent, used as given
        manager = self.cgroup_manager(spec, "absent" if spec.state == "absent" else "present")
        if spec.state == "absent":
            # The removal is planned for real after the containers are gone (they populate it now).
            backend, _driver = manager.backend()
            return manager, CgroupPlan(backend, None, [], backend.exists(), {}), None
        plan = manager.prepare()
        self.warnings += manager.warnings
        if plan.docker_driver and plan.docker_driver != plan.backend.driver:
            raise PodSpecError(
                f"cgroup_parent: the {self.runtime.name} runtime uses the {plan.docker_driver} cgroup driver but the pod's cgroup "
                f"would be made with {plan.backend.driver}; set cgroup_parent.driver to {plan.docker_driver} or auto"
            )
        return manager, plan, plan.backend.docker_parent()

    # -- the run -------------------------------------------------------------

    def lock_key(self, spec: PodSpec) -> str:
        """The pod's lock file name on the managed host (PodLock): one per runtime and pod."""
        return f"{self.runtime_name}_{spec.name}"

    def run(self, built: PodSpec | None = None) -> dict[str, Any]:
        """The run, with the pod's lock held from the first read to the last change (two runs of one pod take turns).
        built: this manager's build_spec(), when the caller has already made it (docker_pods, cri_pods)."""
        name = self.params.get("name")
        try:
            built = self.build_spec() if built is None else built
        except (PodSpecError, CgroupError) as exc:
            self.fail(str(exc) if str(exc).startswith("pod ") else f"pod {name}: {exc}")
            raise
        lock = PodLock(self.lock_key(built), self.params["lock_timeout"])
        try:
            lock.acquire()
        except PodLockTimeout as exc:
            self.fail(f"pod {built.name}: {exc}")
            raise
        except OSError as exc:
            self.fail(f"pod {built.name}: cannot lock the pod in {LOCK_DIR} ({exc}); run as root or as a user who may write there")
            raise
        try:
            return self.locked_run(built)
        finally:
            lock.release(remove=self.pod_absent)  # fail_json exits through here too

    def locked_run(self, built: PodSpec) -> dict[str, Any]:
        name = built.name
        try:
            spec = self.connect(built)
            observed = self.runtime.observe(spec)
            self.pod_absent = not observed.exists  # until a change: a refusal from here on leaves it so
            newer = self.newer_images(spec, observed) if spec.state != "absent" else []
            cg_manager, cg_plan, cgroup_parent = self.cgroup_plan(spec)
        except (PodSpecError, CgroupError) as exc:
            self.fail(str(exc) if str(exc).startswith("pod ") else f"pod {name}: {exc}")
            raise  # fail() exits; this keeps type checkers informed
        except self.read_errors as exc:
            self.fail(f"pod {name}: {self.read_error_message(exc)}")
            raise
        cgroup_steps = [PodAction("cgroup", spec.cgroup_name or "", a.describe(), data={"plan": cg_plan}) for a in cg_plan.actions] if cg_plan else []
        actions = plan_pod(spec, observed, self.runtime, cgroup_parent=cgroup_parent, cgroup_actions=cgroup_steps,
                           cgroup_exists=bool(cg_plan and cg_plan.before_exists))
        cgroups = {spec.cgroup_name: cg_manager} if cg_manager and spec.cgroup_name else {}
        actions += self.other_cgroup_removals(spec, observed, cgroups)
        actions += self.runtime_actions(spec, observed)
        missing = image_pulls(actions, spec, observed, self.image_place)
        if missing and spec.pull == "never":
            self.fail(f"pod {name}: image {missing[0].target} is not {self.image_place} and pull is never; {self.image_hint}")
        actions = sorted(newer + missing, key=lambda a: a.target) + actions  # the pulls first, in image order
        self.planned = [a.describe() for a in actions]
        if actions:
            self.before_apply(spec, actions)

        if actions and not self.module.check_mode:
            sandbox_id = observed.sandbox.id if observed.sandbox else None
            self.applying = True
            executor = self.executor(spec, cgroup_parent, sandbox_id, cgroups)
            self.pod_absent = False
            try:
                executor.run(actions)
            except (PodError, CgroupError) as exc:
                if not observed.exists and spec.state != "absent" and not getattr(exc, "keep", False):
                    self.fail(self.roll_back(spec, exc, cgroup_existed=bool(cg_plan and cg_plan.before_exists)))
                self.fail(of_pod(spec.name, str(exc)))
            try:
                after = self.runtime.observe(spec)
            except self.read_errors as exc:
                self.fail(f"pod {spec.name}: the run made its changes, but reading the pod back failed: {exc}; run again to see it")
                raise
            self.pod_absent = not after.exists
        else:
            after = observed

        pod = self.describe(spec, after, cgroup_parent, cg_manager, cg_plan)
        result: dict[str, Any] = {
            "changed": bool(actions),
            "actions": self.planned,
            "pod": pod,
            "diff": {"before": self.diff_view(observed, spec), "after": self.predicted_view(spec, observed, after, actions, cgroup_parent)},
        }
        for warning in self.warnings:
            self.module.warn(warning)
        return result

    def other_cgroup_removals(self, spec: PodSpec, observed: ObservedPod, cgroups: dict[str, CgroupParentManager]) -> list[PodAction]:
        """The removal of each cgroup other_cgroups() names; its manager is added to cgroups for the executor."""
        actions: list[PodAction] = []
        try:
            for other in self.other_cgroups(spec, observed):
                cgroups[other] = self.cgroup_manager(spec, "absent", other)
                actions.append(PodAction("cgroup_remove", other, "state: absent" if spec.state == "absent" else "the pod's cgroup is now "
                                         f"{spec.cgroup_name}"))
        except CgroupError as exc:
            self.fail(f"pod {spec.name}: {exc}")
        return actions

    def roll_back(self, spec: PodSpec, failure: PodError | CgroupError, *, cgroup_existed: bool) -> str:
        """A failed first create: remove what this run made, by the planner's own plan for state absent, so that the host is
        as the run found it. Returns the failure's message with what became of it."""
        gone = dataclasses.replace(spec, state="absent")
        errors: tuple[type[Exception], ...] = (PodError, CgroupError, PodSpecError, *self.read_errors)
        try:
            observed = self.runtime.observe(gone)
            cg_manager, cg_plan, cgroup_parent = self.cgroup_plan(gone)
            # a cgroup that was there before the run (the user's own) is not this run's to remove
            actions = plan_pod(gone, observed, self.runtime, cgroup_parent=cgroup_parent, cgroup_actions=[],
                               cgroup_exists=bool(cg_plan and cg_plan.before_exists) and not cgroup_existed)
            actions += self.runtime_actions(gone, observed)
            cgroups = {gone.cgroup_name: cg_manager} if cg_manager and gone.cgroup_name else {}
            self.executor(gone, cgroup_parent, observed.sandbox.id if observed.sandbox else None, cgroups).run(actions)
        except errors as exc:
            return rollback_message(spec.name, failure, None, exc)
        self.pod_absent = True
        return rollback_message(spec.name, failure, [a.target for a in actions], None)

    # -- reporting -----------------------------------------------------------

    @staticmethod
    def diff_view(observed: ObservedPod, spec: PodSpec) -> dict[str, Any]:
        def view(container: ContainerView | None) -> dict[str, Any] | None:
            if not container:
                return None
            return {"image": container.image, "state": container.status, "spec_hash": container.spec_hash}
        return {
            "sandbox": view(observed.sandbox),
            "containers": {name: view(c) for name, c in sorted(observed.members.items())},
            "init_containers": {name: view(c) for name, c in sorted(observed.inits.items())},
            "volumes": sorted(observed.volumes),
        }

    def predicted_view(self, spec: PodSpec, observed: ObservedPod, after: ObservedPod, actions: list[PodAction],
                       cgroup_parent: str | None) -> dict[str, Any]:
        if not self.module.check_mode:
            return self.diff_view(after, spec)
        if spec.state == "absent":
            return {"sandbox": None, "containers": {}, "init_containers": {}, "volumes": []}
        state = "running" if spec.state in ("started", "restarted") else "exited"
        context = spec.member_context(cgroup_parent)
        return {
            "sandbox": {"image": spec.sandbox_image, "state": state, "spec_hash": spec.sandbox_hash(cgroup_parent)},
            "containers": {m.name: {"image": m.image, "state": state, "spec_hash": m.hash(context)} for m in spec.members},
            "init_containers": {m.name: {"image": m.image, "state": "exited", "spec_hash": m.hash(context)} for m in spec.inits},
            "volumes": sorted(spec.volume_name(v) for v in spec.volumes),
        }

    def describe(self, spec: PodSpec, pod: ObservedPod, cgroup_parent: str | None, cg_manager: CgroupParentManager | None,
                 cg_plan: CgroupPlan | None) -> dict[str, Any]:
        sandbox = pod.sandbox

        def member(name: str, container: ContainerView | None) -> dict[str, Any]:
            return {
                "name": name,
                "container": container.name if container else None,
                "id": container.id if container else None,
                "pid": pid_of(container) or None,
                "image": container.image if container else None,
                "state": container.status if container else "absent",
                "exit_code": container.exit_code if container and not running(container) else None,
            }

        if spec.state == "absent" and not pod.exists:
            state = "absent"
        elif running(sandbox) and all(running(pod.members.get(m.name)) for m in spec.members):
            state = "running"
        elif sandbox and not running(sandbox):
            state = "stopped"
        else:
            state = "degraded" if sandbox else "absent"
        cgroup: dict[str, Any] = {"parent": cgroup_parent, "name": spec.cgroup_name}
        if cg_manager and cg_plan and spec.state != "absent":
            report = cg_manager.report(cg_plan)
            cgroup.update({"paths": report["paths"], "driver": report["driver"], "version": report["version"], "limits": report["limits"]})
        return {
            "name": spec.name,
            "state": state,
            "hostname": self.hostname_of(sandbox) if sandbox else None,
            "sandbox": {**member("sandbox", sandbox), "ip": self.sandbox_ip(sandbox) if sandbox else None},
            "members": [member(m.name, pod.members.get(m.name)) for m in spec.members],
            "init_containers": [member(m.name, pod.inits.get(m.name)) for m in spec.inits],
            "volumes": sorted(pod.volumes),
            "cgroup": cgroup,
            **self.manifest_of(spec, pod),
            **self.runtime_report(spec, pod),
        }

    def manifest_of(self, spec: PodSpec, pod: ObservedPod) -> dict[str, Any]:
        """pod.manifest, and pod.manifest_gaps: what that manifest cannot say of this pod (a Docker-picked host port...)."""
        kube = self.kube_pod(spec, pod)
        if kube is None:
            return {"manifest": None, "manifest_gaps": []}
        return {"manifest": manifest_from_pod(kube), "manifest_gaps": export_gaps(kube)}


def of_pod(pod: str, message: str) -> str:
    """A message that names the pod first, as every message of the pod modules does."""
    return message if message.startswith("pod ") else f"pod {pod}: {message}"


def rollback_message(pod: str, failure: PodError | CgroupError, removed: list[str] | None, error: Exception | None) -> str:
    """The message of a failed first create after its rollback: removed, what the rollback removed ([] when the run had
    made nothing), or None and the error that stopped the rollback. The failure's own advice (what the next run repairs)
    gives way to what the rollback did."""
    cause = of_pod(pod, failure.cause if isinstance(failure, PodError) else str(failure))
    if removed is None:
        return (f"{cause}. Removing what the run had made failed too ({error}): it is left; the next run repairs the pod, "
                "state: absent removes it")
    if not removed:
        return of_pod(pod, str(failure))  # it failed before making anything: its own advice holds
    return f"{cause}. This was the pod's first create: the run removed what it had made ({', '.join(removed)}), the host is as before"


def pull_failure(image: str, image_id: str | None, place: str, error: Exception) -> str:
    """pull: always of an image the runtime has, refused by the registry or the runtime: what happened, and what to do."""
    short = (image_id or "").removeprefix("sha256:")[:12]
    return (f"image {image} is {place}{f' (ID {short})' if short else ''}, but pull: always could not pull it: {error}. "
            "The pod was not changed; set pull: missing to run the image the host has, or make its registry reachable")


class DockerPodManager(PodManager):
    """docker_pod: the pod engine on the Docker daemon."""

    read_errors = (DockerUnavailable, DockerException)
    pull_errors = (DockerException,)

    def read_error_message(self, exc: Exception) -> str:
        return str(exc) if isinstance(exc, DockerUnavailable) else f"the Docker daemon refused a read: {exc}"

    def connect(self, spec: PodSpec) -> PodSpec:
        self.client = DockerClient(docker_host(self.params.get("docker_host")))
        info = self.client.info()  # the one info call of the run
        self.daemon_driver = info.get("CgroupDriver")
        self.runtime = DockerRuntime(self.client)
        cpus = int(info.get("NCPU") or 0)
        for member in spec.members + spec.inits:
            nano = member.options.get("cpus") or 0
            if cpus and nano > cpus * 10**9:
                # Docker refuses it at create, after the sandbox is made: refused here, before any change
                raise PodSpecError(f"{member.role} {member.name}: cpus {nano / 1e9:g} is more than the Docker host's {cpus} CPUs")
        return spec

    def cgroup_driver(self) -> str | None:
        return self.daemon_driver

    # where images are, what to do when one is missing, and pulling one now (pull: always)
    image_place = "present on the Docker host"
    image_hint = f"{MAKE_IMAGES_HINT}, or docker load it"

    def pull_now(self, image: str) -> str | None:
        return self.client.pull(image)

    def before_apply(self, spec: PodSpec, actions: list[PodAction]) -> None:
        try:
            self.client.require_sdk()  # in check mode too, so that it fails as the real run would
        except DockerUnavailable as exc:
            self.fail(f"pod {spec.name}: {exc}")

    def executor(self, spec: PodSpec, cgroup_parent: str | None, sandbox_id: str | None,
                 cgroups: dict[str, CgroupParentManager]) -> PodExecutor:
        return DockerExecutor(self.client, spec, cgroup_parent=cgroup_parent, sandbox_id=sandbox_id, cgroups=cgroups)

    def hostname_of(self, sandbox: ContainerView) -> str | None:
        return sandbox.raw["Config"].get("Hostname")

    def kube_pod(self, spec: PodSpec, pod: ObservedPod) -> KubePod | None:
        return kube_pod(spec, pod)

    def other_cgroups(self, spec: PodSpec, observed: ObservedPod) -> list[str]:
        """The cgroups the module made for this pod under an earlier cgroup_parent.name, still there: named by its
        containers' label, or, for containers made before the label, by their cgroup parent. The latter only while the
        module makes the pod's cgroup: with create: false, a parent without the label may be a cgroup of the user's own."""
        containers = [c for c in [observed.sandbox, *observed.members.values(), *observed.inits.values(), *observed.strays] if c]
        create = spec.cgroup.get("create", True)
        wanted = spec.cgroup_name if create and spec.state != "absent" else None
        names = {c.labels.get(LABEL_CGROUP) for c in containers} - {None, wanted}
        if spec.state == "absent":
            names.discard(spec.cgroup_name)  # the plan for absent removes the pod's own
        if create and spec.cgroup_name:
            names |= unlabelled_cgroups(containers, self.daemon_driver, {spec.cgroup_name, *(n for n in names if n)})
        return [name for name in sorted(n for n in names if n) if self.cgroup_manager(spec, "absent", name).backend()[0].exists()]

    def sandbox_ip(self, sandbox: ContainerView) -> str | None:
        settings = sandbox.raw["NetworkSettings"]
        networks = settings.get("Networks") or {}
        return settings.get("IPAddress") or next((n.get("IPAddress") for n in networks.values() if n.get("IPAddress")), None)
