# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: the manager behind the docker_pod module. Not a public API.

spec (validate, normalise, hash) -> observe (one label-filtered list, /proc) ->
plan (actions with reasons) -> apply (unless check mode) -> report.
"""
from __future__ import annotations

from typing import Any

from ansible_collections.podlab.playground.plugins.module_utils._cgroup.errors import CgroupError
from ansible_collections.podlab.playground.plugins.module_utils._cgroup_parent import CgroupParentManager, CgroupPlan
from ansible_collections.podlab.playground.plugins.module_utils._docker import (
    DockerClient,
    DockerException,
    DockerUnavailable,
    docker_host,
)
from ansible_collections.podlab.playground.plugins.module_utils._pod.apply import PodError, PodExecutor
from ansible_collections.podlab.playground.plugins.module_utils._pod.model import LABEL_HASH
from ansible_collections.podlab.playground.plugins.module_utils._pod.observe import ObservedPod, observe, pid_of, running
from ansible_collections.podlab.playground.plugins.module_utils._pod.plan import PodAction, plan_pod
from ansible_collections.podlab.playground.plugins.module_utils._pod.spec import PodSpec, PodSpecError, build_spec

MAKE_IMAGES_HINT = "build the playground's images with: ansible-playbook playbooks/images.yml (podlab.playground.playground_images)"


class DockerPodManager:
    def __init__(self, module: Any) -> None:
        self.module = module
        self.params = module.params
        self.warnings: list[str] = []

    def fail(self, msg: str) -> None:
        for warning in self.warnings:
            self.module.warn(warning)
        self.module.fail_json(msg=msg)

    # -- cgroup parent -------------------------------------------------------

    def cgroup_manager(self, spec: PodSpec, state: str, daemon_driver: str | None) -> CgroupParentManager:
        cg = spec.cgroup
        params = {
            "name": spec.cgroup_name, "state": state, "memory": cg.get("memory"), "memory_swap": None, "cpus": cg.get("cpus"),
            "cpu_weight": None, "cpu_shares": None, "pids_max": cg.get("pids_max"), "driver": cg.get("driver", "auto"),
            "force": False, "docker_host": self.params.get("docker_host"),
        }
        return CgroupParentManager(self.module, params, daemon_driver)

    def cgroup_plan(self, spec: PodSpec, daemon_driver: str | None) -> tuple[CgroupParentManager | None, CgroupPlan | None, str | None]:
        """(manager, plan, the --cgroup-parent string) for the pod's cgroup."""
        if not spec.cgroup_name:
            return None, None, None
        if not spec.cgroup.get("create", True):
            return None, None, spec.cgroup_name  # the user's own cgroup parent, used as given
        manager = self.cgroup_manager(spec, "absent" if spec.state == "absent" else "present", daemon_driver)
        if spec.state == "absent":
            # The removal is planned for real after the containers are gone (they populate it now).
            backend, _driver = manager.backend()
            return manager, CgroupPlan(backend, None, [], backend.exists(), {}), None
        plan = manager.prepare()
        self.warnings += manager.warnings
        if plan.docker_driver and plan.docker_driver != plan.backend.driver:
            raise PodSpecError(
                f"cgroup_parent: the Docker daemon uses the {plan.docker_driver} cgroup driver but the pod's cgroup would be made "
                f"with {plan.backend.driver}; set cgroup_parent.driver to {plan.docker_driver} or auto"
            )
        return manager, plan, plan.backend.docker_parent()

    # -- images --------------------------------------------------------------

    def ensure_images(self, client: DockerClient, spec: PodSpec, observed: ObservedPod) -> list[PodAction]:
        actions = []
        for image, image_id in sorted(observed.image_ids.items()):
            if image_id is None and spec.pull == "never":
                raise PodSpecError(f"image {image} is not present on the Docker host and pull is never; {MAKE_IMAGES_HINT}, or docker load it")
            if image_id is not None and spec.pull != "always":
                continue
            if self.module.check_mode:
                if image_id is None:
                    actions.append(PodAction("pull", image, "not present on the Docker host"))
                continue
            try:
                new_id = client.pull(image)
            except DockerException as exc:
                raise PodSpecError(
                    f"image {image} is not present on the Docker host and could not be pulled ({exc}); "
                    f"{MAKE_IMAGES_HINT}, docker load it, or name an image your registry has"
                ) from None
            if new_id != image_id:
                actions.append(PodAction("pull", image, "not present on the Docker host" if image_id is None else "pull: always found a newer image"))
                observed.image_ids[image] = new_id
        return actions

    # -- the run -------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        try:
            spec = build_spec(self.params)
            client = DockerClient(docker_host(self.params.get("docker_host")))
            daemon_driver = client.info().get("CgroupDriver")  # the one info call of the run
            observed = observe(client, spec)
            actions = self.ensure_images(client, spec, observed) if spec.state != "absent" else []
            cg_manager, cg_plan, cgroup_parent = self.cgroup_plan(spec, daemon_driver)
        except (PodSpecError, CgroupError) as exc:
            msg = str(exc) if str(exc).startswith("pod ") else f"pod {self.params['name']}: {exc}"
            self.fail(msg)
            raise  # fail() exits; this keeps type checkers informed
        except DockerUnavailable as exc:
            self.fail(f"pod {self.params['name']}: {exc}")
            raise
        except DockerException as exc:
            self.fail(f"pod {self.params['name']}: the Docker daemon refused a read: {exc}")
            raise
        cgroup_texts = [a.describe() for a in cg_plan.actions] if cg_plan else []
        actions += plan_pod(spec, observed, cgroup_parent, cgroup_texts, bool(cg_plan and cg_plan.before_exists))
        if actions:
            try:
                client.require_sdk()  # in check mode too, so that it fails as the real run would
            except DockerUnavailable as exc:
                self.fail(f"pod {spec.name}: {exc}")

        if actions and not self.module.check_mode:
            sandbox_id = observed.sandbox["Id"] if observed.sandbox else None

            def cgroup_apply() -> None:
                if cg_manager and cg_plan and cg_plan.actions and not cg_plan.applied:
                    cg_manager.execute(cg_plan)

            def cgroup_remove() -> None:
                if cg_manager:
                    removal = cg_manager.prepare()
                    if removal.actions:
                        cg_manager.execute(removal)

            executor = PodExecutor(client, spec, cgroup_parent=cgroup_parent, sandbox_id=sandbox_id,
                                   cgroup_apply=cgroup_apply, cgroup_remove=cgroup_remove)
            try:
                executor.run([a for a in actions if a.kind != "pull"])
            except (PodError, CgroupError) as exc:
                self.fail(str(exc) if str(exc).startswith("pod ") else f"pod {spec.name}: {exc}")
            after = observe(client, spec)
        else:
            after = observed

        pod = self.describe(spec, after, cgroup_parent, cg_manager, cg_plan)
        result: dict[str, Any] = {
            "changed": bool(actions),
            "actions": [a.describe() for a in actions],
            "pod": pod,
            "diff": {"before": self.diff_view(observed, spec), "after": self.predicted_view(spec, observed, after, actions, cgroup_parent)},
        }
        for warning in self.warnings:
            self.module.warn(warning)
        return result

    # -- reporting -----------------------------------------------------------

    @staticmethod
    def diff_view(observed: ObservedPod, spec: PodSpec) -> dict[str, Any]:
        def view(container: dict[str, Any] | None) -> dict[str, Any] | None:
            if not container:
                return None
            return {"image": container["Config"].get("Image"), "state": container["State"].get("Status"),
                    "spec_hash": (container["Config"].get("Labels") or {}).get(LABEL_HASH)}
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

        def member(name: str, container: dict[str, Any] | None) -> dict[str, Any]:
            return {
                "name": name,
                "container": container["Name"].lstrip("/") if container else None,
                "id": container["Id"] if container else None,
                "pid": pid_of(container) or None,
                "image": container["Config"].get("Image") if container else None,
                "state": container["State"].get("Status") if container else "absent",
                "exit_code": container["State"].get("ExitCode") if container and not running(container) else None,
            }

        ip = None
        if sandbox:
            networks = sandbox["NetworkSettings"].get("Networks") or {}
            ip = sandbox["NetworkSettings"].get("IPAddress") or next((n.get("IPAddress") for n in networks.values() if n.get("IPAddress")), None)
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
            "hostname": sandbox["Config"].get("Hostname") if sandbox else None,
            "sandbox": {**member("sandbox", sandbox), "ip": ip},
            "members": [member(m.name, pod.members.get(m.name)) for m in spec.members],
            "init_containers": [member(m.name, pod.inits.get(m.name)) for m in spec.inits],
            "volumes": sorted(pod.volumes),
            "cgroup": cgroup,
        }
