# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: the manager behind the cgroup_parent module (also used by docker_pod). Not a public API."""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ansible_collections.podlab.playground.plugins.module_utils._cgroup.apply import Action, Applier
from ansible_collections.podlab.playground.plugins.module_utils._cgroup.backends import Backend, CgroupfsBackend, SystemdBackend, systemd_is_running
from ansible_collections.podlab.playground.plugins.module_utils._cgroup.errors import CgroupError
from ansible_collections.podlab.playground.plugins.module_utils._cgroup.layout import Layout
from ansible_collections.podlab.playground.plugins.module_utils._cgroup.spec import CgroupSpec
from ansible_collections.podlab.playground.plugins.module_utils._docker import DockerUnavailable, daemon_cgroup_driver, docker_host

# The option table: declared once, used by the module's argument_spec and by docker_pod.
ARGUMENT_SPEC: dict[str, Any] = {
    "name": {"type": "str", "required": True},
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    "memory": {"type": "str"},
    "memory_swap": {"type": "str"},
    "cpus": {"type": "str"},
    "cpu_weight": {"type": "int"},
    "cpu_shares": {"type": "int"},
    "pids_max": {"type": "str"},
    "driver": {"type": "str", "default": "auto", "choices": ["auto", "cgroupfs", "systemd"]},
    "force": {"type": "bool", "default": False},
    "docker_host": {"type": "str"},
}
LIMIT_OPTIONS = ("memory", "memory_swap", "cpus", "cpu_weight", "cpu_shares", "pids_max")


@dataclass
class CgroupPlan:
    """What prepare() saw and decided, for execute() and report()."""

    backend: Backend
    docker_driver: str | None
    actions: list[Action]
    before_exists: bool
    before: dict[str, Any]
    applied: bool = False


class CgroupParentManager:
    """Reads the cgroup once, plans, applies unless in check mode, and reports."""

    def __init__(self, module: Any, params: dict[str, Any] | None = None, daemon_driver: str | None = None) -> None:
        """daemon_driver: the Docker daemon's CgroupDriver when the caller already asked the daemon (saves a round trip)."""
        self.module = module
        self.params = params if params is not None else module.params
        self.warnings: list[str] = []
        self.systemctl = module.get_bin_path("systemctl")
        self.daemon_driver = daemon_driver

    # -- decisions ---------------------------------------------------------

    def resolve_driver(self, layout: Layout) -> tuple[str, str | None]:
        """(driver to use, the Docker daemon's driver or None when it does not answer)."""
        docker_driver: str | None
        if self.daemon_driver:
            docker_driver, note = self.daemon_driver, "given by the caller"
        else:
            try:
                url = docker_host(self.params.get("docker_host"))
            except DockerUnavailable as exc:
                raise CgroupError(str(exc)) from None
            docker_driver, note = daemon_cgroup_driver(url)
        wanted = self.params["driver"]
        if wanted == "auto":
            if docker_driver in ("cgroupfs", "systemd"):
                wanted = docker_driver
            else:
                # Docker's own default when it has no daemon.json: systemd on v2 under systemd, else cgroupfs.
                wanted = "systemd" if layout.version == 2 and systemd_is_running() else "cgroupfs"
                self.warnings.append(f"driver auto chose {wanted}: the Docker daemon's driver is unknown ({note})")
        if wanted == "systemd" and not systemd_is_running():
            raise CgroupError("driver systemd needs systemd as the init system (no /run/systemd/system here); use driver: cgroupfs")
        if wanted == "systemd" and not self.systemctl:
            raise CgroupError("driver systemd needs systemctl on PATH; install systemd or use driver: cgroupfs")
        if docker_driver and docker_driver != wanted:
            self.warnings.append(
                f"the Docker daemon uses the {docker_driver} cgroup driver but this cgroup is made with {wanted}; "
                f"docker run --cgroup-parent will not accept it (use driver: {docker_driver} or auto)"
            )
        return wanted, docker_driver

    def backend(self) -> tuple[Backend, str | None]:
        layout = Layout.detect()
        if layout.nested_root:
            self.warnings.append(
                "the cgroup mounts here are not the host's root (a cgroup namespace or a container): "
                "paths are relative to what this host sees"
            )
        spec = CgroupSpec.from_params(self.params, os.sysconf("SC_PAGE_SIZE"))
        driver, docker_driver = self.resolve_driver(layout)
        backend: Backend = SystemdBackend(spec, layout) if driver == "systemd" else CgroupfsBackend(spec, layout)
        return backend, docker_driver

    def unit_active(self, backend: Backend) -> bool:
        if not isinstance(backend, SystemdBackend):
            return False
        rc, out, _err = self.module.run_command([self.systemctl, "show", "--property=ActiveState", "--value", backend.unit])
        return rc == 0 and out.strip() in ("active", "activating", "reloading")

    def plan(self, backend: Backend) -> list[Action]:
        force = self.params["force"]
        if isinstance(backend, SystemdBackend):
            active = self.unit_active(backend)
            if self.params["state"] == "absent":
                return backend.plan_absent(force, active)
            return backend.plan_present(active)
        if self.params["state"] == "absent":
            return backend.plan_absent(force)
        return backend.plan_present()

    # -- reporting ---------------------------------------------------------

    def describe(self, backend: Backend, docker_driver: str | None, exists: bool, limits: dict[str, Any]) -> dict[str, Any]:
        parent = backend.docker_parent()
        return {
            "name": backend.spec.name,
            "state": "present" if exists else "absent",
            "version": backend.layout.version,
            "driver": backend.driver,
            "unit": getattr(backend, "unit", None),
            "paths": {k: str(v) for k, v in backend.paths().items()},
            "docker_cgroup_driver": docker_driver,
            "docker_cgroup_parent": parent if docker_driver in (None, backend.driver) else None,
            "limits": limits,
        }

    def predicted_limits(self, backend: Backend, before: dict[str, Any]) -> dict[str, Any]:
        if self.params["state"] == "absent":
            return {}
        after: dict[str, Any] = dict(before) if before else dict.fromkeys(LIMIT_OPTIONS)
        for option, _now, wanted in backend.limit_diff(before):
            after[option] = wanted
        return after

    # -- the run -----------------------------------------------------------

    def prepare(self) -> CgroupPlan:
        """Read the cgroup once and decide; changes nothing."""
        backend, docker_driver = self.backend()
        exists = backend.exists()
        before = backend.read_limits() if exists else {}
        return CgroupPlan(backend, docker_driver, self.plan(backend), exists, before)

    def execute(self, plan: CgroupPlan) -> list[dict[str, object]]:
        """Carry out a prepared plan; returns the processes force stopped."""
        applier = Applier(self.module.run_command, self.write_file, self.systemctl)
        applier.apply(plan.actions, plan.backend)
        plan.applied = True
        return applier.stopped

    def report(self, plan: CgroupPlan) -> dict[str, Any]:
        """The cgroup after the run: read back from the kernel, or predicted when nothing was applied."""
        backend = plan.backend
        if plan.applied:
            exists = backend.exists()
            limits = backend.read_limits() if exists else {}
        else:
            exists = plan.before_exists if not plan.actions else self.params["state"] == "present"
            limits = self.predicted_limits(backend, plan.before) if plan.actions else plan.before
        return self.describe(backend, plan.docker_driver, exists, limits)

    def run(self) -> dict[str, Any]:
        plan = self.prepare()
        stopped = self.execute(plan) if plan.actions and not self.module.check_mode else []
        cgroup = self.report(plan)
        result: dict[str, Any] = {
            "changed": bool(plan.actions),
            "actions": [a.describe() for a in plan.actions],
            "cgroup": cgroup,
            "stopped": stopped,
            "diff": {
                "before": {"state": "present" if plan.before_exists else "absent", "limits": plan.before},
                "after": {"state": cgroup["state"], "limits": cgroup["limits"]},
            },
        }
        for warning in self.warnings:
            self.module.warn(warning)
        return result

    def write_file(self, path: Path, text: str) -> None:
        """Write a regular file (a unit file) atomically."""
        fd, tmp = tempfile.mkstemp(dir=str(path.parent), prefix=f".{path.name}.")
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        self.module.atomic_move(tmp, str(path))
