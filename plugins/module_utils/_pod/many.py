# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: several pods in one module run (docker_pods, cri_pods). Not a public API.

Each element of `pods`, with `defaults` merged under it, is one task of the single pod module (docker_pod or
cri_pod): validated by that module's own argument spec, then run by its manager (DockerPodManager, CriPodManager)
through a PodModule, that pod's view of the real AnsibleModule. Every element is validated and its spec built before
the first pod runs, so a typo in one refuses the task with nothing changed; then the pods run one after another in list
order, each under its own lock, and a pod that fails does not stop the others.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator, ValidationResult
from ansible.module_utils.errors import UnsupportedError

from ansible_collections.podlab.playground.plugins.module_utils._cgroup.errors import CgroupError
from ansible_collections.podlab.playground.plugins.module_utils._pod.manager import PodManager, of_pod
from ansible_collections.podlab.playground.plugins.module_utils._pod.spec import REQUIRED_ONE_OF, PodSpec, PodSpecError

MANY_ARGUMENT_SPEC: dict[str, Any] = {
    "pods": {"type": "list", "elements": "dict", "required": True},
    "defaults": {"type": "dict", "default": {}},
}


class PodFailed(Exception):
    """A pod's fail_json: its manager gave up on this pod with this message (the other pods still run)."""

    def __init__(self, msg: str, details: dict[str, Any]) -> None:
        super().__init__(msg)
        self.msg = msg
        self.details = details


class PodModule:
    """One pod's view of the real AnsibleModule, handed to its manager: that pod's params, the module's check mode and
    diff; warn() is kept (named with the pod), fail_json() raises PodFailed; the rest (run_command, get_bin_path,
    atomic_move... for the cgroup code) is the real module's."""

    def __init__(self, module: Any, params: dict[str, Any], pod: str) -> None:
        self._module = module
        self.params = params
        self.pod = pod
        self.check_mode = module.check_mode
        self._diff = getattr(module, "_diff", False)
        self.warnings: list[str] = []

    def warn(self, warning: str) -> None:
        self.warnings.append(of_pod(self.pod, warning))

    def fail_json(self, msg: str, **details: Any) -> None:
        raise PodFailed(msg, details)

    def exit_json(self, **result: Any) -> None:
        # the real exit_json would end every pod's run with this one's result
        raise TypeError("a pod's manager returns its result; only the runner of all the pods exits the module")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


def merged(pods: Sequence[dict[str, Any]], defaults: dict[str, Any]) -> list[dict[str, Any]]:
    """Each element with `defaults` shallowly under it: the element wins; an option it sets to null is not set (as in a
    task), so the default, or the module's own default, holds."""
    return [{**defaults, **{k: v for k, v in element.items() if v is not None}} for element in pods]


def element_label(index: int, element: dict[str, Any]) -> str:
    """How a message names an element before its options are resolved: its place, and its name when it gives one."""
    name = element.get("name")
    manifest = element.get("manifest")
    if not name and isinstance(manifest, dict) and isinstance(manifest.get("metadata"), dict):
        name = manifest["metadata"].get("name")
    return f"pods[{index}] ({name})" if isinstance(name, str) and name else f"pods[{index}]"


def duplicates(keys: Sequence[tuple[str, str]]) -> list[str]:
    """(identity, how messages name it) per element, in list order: one refusal per pod given more than once."""
    places: dict[str, list[int]] = {}
    for index, (key, _label) in enumerate(keys):
        places.setdefault(key, []).append(index)
    return [f"pod {keys[where[0]][1]} is given {len(where)} times (pods[{'], pods['.join(map(str, where))}]); give each pod once"
            for where in places.values() if len(where) > 1]


def validation_errors(checked: ValidationResult) -> str:
    """The argument spec's refusals of one element, worded as AnsibleModule words them for a task."""
    return "; ".join(f"Unsupported parameters: {error.msg}" if isinstance(error, UnsupportedError) else error.msg
                     for error in checked.errors.errors)


@dataclass
class Outcome:
    """One pod's part of the result, in input order."""

    name: str
    changed: bool = False
    actions: list[str] = field(default_factory=list)
    pod: dict[str, Any] | None = None
    failed: bool = False
    msg: str | None = None
    diff: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)

    def returned(self) -> dict[str, Any]:
        return {"name": self.name, "changed": self.changed, "actions": self.actions, "pod": self.pod, "failed": self.failed,
                "msg": self.msg}


def summary(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """The module's result: changed when any pod changed, every pod's part, the diff of every pod that ran to the end (one
    before/after per pod, headed with its name: Ansible's diff callback shows each as its own diff), and, when any pod
    failed, failed and a msg naming each failed pod with its own message."""
    result: dict[str, Any] = {
        "changed": any(o.changed for o in outcomes),
        "pods": [o.returned() for o in outcomes],
        "diff": [{"before_header": f"pod {o.name}", "after_header": f"pod {o.name}", **o.diff} for o in outcomes if o.diff],
    }
    failed = [o for o in outcomes if o.failed]
    if failed:
        result["failed"] = True
        result["msg"] = (f"{len(failed)} of {len(outcomes)} pods failed ({', '.join(o.name for o in failed)}); the others ran: "
                         + " | ".join(of_pod(o.name, o.msg or "failed") for o in failed))
    return result


@dataclass
class Prepared:
    spec: PodSpec
    manager: PodManager
    stand_in: PodModule


class ManyPods:
    """docker_pods and cri_pods: the pods of `pods`, each run by manager_class, in one module process."""

    def __init__(self, module: Any, manager_class: type[PodManager]) -> None:
        self.module = module
        self.manager_class = manager_class
        self.argument_spec = manager_class.argument_spec

    def run(self) -> None:
        prepared = self.prepare()
        outcomes = [self.run_one(p) for p in prepared]
        for outcome in outcomes:
            for warning in outcome.warnings:
                self.module.warn(warning)
        result = summary(outcomes)
        if result.get("failed"):
            self.module.fail_json(**result)
        self.module.exit_json(**result)

    def refuse(self, problems: list[str]) -> None:
        self.module.fail_json(msg=f"{'; '.join(problems)}. Nothing was changed", changed=False)

    def prepare(self) -> list[Prepared]:
        """Every element validated by the single module's argument spec and its spec built, and no pod twice; else the task
        is refused with every problem, before any pod runs."""
        defaults = self.module.params["defaults"] or {}
        unknown = sorted(set(defaults) - set(self.argument_spec))
        if unknown:
            self.refuse([f"defaults: unsupported option(s) {', '.join(unknown)}; defaults takes the options of one pod: "
                         f"{', '.join(sorted(self.argument_spec))}"])
        problems: list[str] = []
        prepared: list[Prepared] = []
        keys: list[tuple[str, str]] = []
        validator = ArgumentSpecValidator(self.argument_spec, required_one_of=REQUIRED_ONE_OF)
        for index, element in enumerate(merged(self.module.params["pods"], defaults)):
            label = element_label(index, element)
            checked = validator.validate(element)
            if checked.error_messages:
                problems.append(f"{label}: {validation_errors(checked)}")
                continue
            params = checked.validated_parameters
            stand_in = PodModule(self.module, params, params.get("name") or label)
            try:
                manager = self.manager_class(stand_in)  # resolves a manifest (fail_json on a problem)
            except PodFailed as exc:
                problems.append(f"{label}: {exc.msg}")
                continue
            name = manager.params.get("name")
            stand_in.pod = name if isinstance(name, str) and name else label
            try:
                spec = manager.build_spec()
            except (PodSpecError, CgroupError) as exc:
                problems.append(of_pod(stand_in.pod, str(exc)))
                continue
            prepared.append(Prepared(spec, manager, stand_in))
            keys.append((manager.lock_key(spec), spec.name))
        problems += duplicates(keys)
        if problems:
            self.refuse(problems)
        return prepared

    @staticmethod
    def run_one(prepared: Prepared) -> Outcome:
        manager = prepared.manager
        try:
            result = manager.run(prepared.spec)
        except PodFailed as exc:
            return Outcome(prepared.spec.name, changed=manager.applying, actions=manager.planned, failed=True,
                           msg=of_pod(prepared.spec.name, exc.msg), warnings=prepared.stand_in.warnings)
        return Outcome(prepared.spec.name, changed=result["changed"], actions=result["actions"], pod=result["pod"],
                       diff=result["diff"], warnings=prepared.stand_in.warnings)
