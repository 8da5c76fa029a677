"""Property-based tests over the pod modules' argument specs: any value of any option is either refused with a message
(the argument spec's own check, or PodSpecError / ManifestError from the module's validation) or accepted into a spec
whose names, hostname and cgroup stay inside what the runtimes and the kernel take. Never another exception, which the
module would show as a traceback.

A fixed seed (derandomize) in the suite; HYPOTHESIS_PROFILE=nightly runs many more examples:
  HYPOTHESIS_PROFILE=nightly .venv/2.19/bin/python -m pytest tests/unit/plugins/module_utils/_pod/test_spec_properties.py
"""
from __future__ import annotations

import os
import re
from typing import Any

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from ansible_collections.podlab.playground.plugins.module_utils._kube.pod_in import ManifestError, params_from_manifest
from ansible_collections.podlab.playground.plugins.module_utils._pod.cri_spec import CRI_ARGUMENT_SPEC, build_cri_spec
from ansible_collections.podlab.playground.plugins.module_utils._pod.spec import ARGUMENT_SPEC, PodSpecError, build_spec

settings.register_profile("ci", derandomize=True, max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("nightly", max_examples=20000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Strings users and attackers type: names, paths and their tricks, unicode, control characters, numbers as text.
TRICKY = st.sampled_from([
    "", " ", ".", "..", "/", "../x", "a/../../b", "x/memory.limit_in_bytes", "foo\n", "-x", "a..b", "a b", "h\u00e9te", "x" * 300,
    "0", "-1", "1e400", "inf", "nan", "max", "512m", "1Gi", "0.5", "65536", "0:0", "999.999.999.999:8080:80", "[::1]:80:80",
    "podlab.pod", "sh -c 'unclosed", "\x00", "foo", "foo-bar_1.2",
])
TEXT = st.one_of(TRICKY, st.text(max_size=40))
SCALAR = st.one_of(TEXT, st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=True, allow_infinity=True),
                   st.booleans(), st.none())
VALUE = st.recursive(SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)),
                     max_leaves=8)


def typed(option: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Mostly values of the option's own type (so that the module's checks, not the argument spec's, are reached), sometimes
    anything."""
    kind = option.get("type", "str")
    own: st.SearchStrategy[Any] = {
        "bool": st.booleans(), "int": st.integers(min_value=-5, max_value=2**40), "list": st.lists(TEXT, max_size=3),
        "dict": st.dictionaries(TEXT, TEXT, max_size=2),
    }.get(kind, st.sampled_from(option["choices"]) if option.get("choices") else TEXT)
    return st.one_of(own, own, own, VALUE)


def member_strategy(spec: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    options = spec["containers"]["options"]
    fields = {"name": st.one_of(TRICKY, st.just("app")), "image": st.one_of(st.just("podlab/busybox:1"), TEXT)}
    optional = {name: typed(option) for name, option in options.items() if name not in fields}
    optional["env"] = st.one_of(TEXT, st.dictionaries(TEXT, SCALAR, max_size=3))
    mount = st.fixed_dictionaries({"target": TEXT}, optional={"source": TEXT, "type": TEXT, "read_only": st.booleans()})
    optional["mounts"] = st.lists(mount, max_size=2)
    return st.fixed_dictionaries(fields, optional=optional)


def params_strategy(spec: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    optional: dict[str, Any] = {name: typed(option) for name, option in spec.items()
                                if name not in ("name", "containers", "init_containers", "manifest")}
    optional["containers"] = st.lists(member_strategy(spec), max_size=3)
    optional["init_containers"] = st.lists(member_strategy(spec), max_size=2)
    optional["ports"] = st.lists(TEXT, max_size=2)
    optional["volumes"] = st.lists(TEXT, max_size=2)
    optional["hostname"] = TEXT
    optional["labels"] = st.dictionaries(TEXT, TEXT, max_size=2)
    cgroup = {"name": TEXT, "create": st.booleans(), "memory": TEXT, "cpus": TEXT, "pids_max": TEXT}
    optional["cgroup_parent"] = st.fixed_dictionaries({}, optional=cgroup)
    # ansible-core's own validator fails with "argument of type 'int' is not iterable" when a dict option with suboptions
    # (or a list of them) is given a number or a list, before the module's code runs: those options get mappings or text here
    optional["sandbox"] = st.one_of(TEXT, st.fixed_dictionaries({}, optional={"image": TEXT, "command": VALUE}))
    if "dns" in spec:
        dns = {k: st.lists(TEXT, max_size=2) for k in ("servers", "searches", "options")}
        optional["dns"] = st.one_of(TEXT, st.fixed_dictionaries({}, optional=dns))
    return st.fixed_dictionaries({"name": st.one_of(TRICKY, st.just("foo"))}, optional=optional)


def accepted_spec_is_sane(spec: Any) -> None:
    names = [spec.name, *(m.name for m in spec.members + spec.inits), *spec.volumes]
    assert all(re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*", n) for n in names), names
    assert "\n" not in spec.hostname and len(spec.hostname) <= 64
    if spec.cgroup_name:
        assert ".." not in spec.cgroup_name.split("/") and "\n" not in spec.cgroup_name
    assert not any(k.startswith("podlab.") for k in spec.labels)
    for member in spec.members + spec.inits:
        assert member.options.get("pids_limit") in (None, -1) or member.options["pids_limit"] >= 1


def check(spec: dict[str, Any], raw: dict[str, Any], build: Any) -> None:
    try:
        result = ArgumentSpecValidator(spec).validate(raw)
    except (TypeError, OverflowError):
        # ansible-core's own validator, before any of the module's code: 'inf' for an int option (OverflowError), a number or
        # a list for a dict option with suboptions (TypeError). Not the module's to catch; such inputs are left out.
        assume(False)
        return
    if result.error_messages:
        event("refused by the argument spec")
        return  # AnsibleModule refuses it with these messages
    try:
        built = build(result.validated_parameters)
    except PodSpecError as exc:
        assert str(exc), "a refusal says what is wrong"
        event("refused by the module")
        return
    event("accepted")
    accepted_spec_is_sane(built)


@given(params_strategy(ARGUMENT_SPEC))
def test_docker_pod_inputs_are_refused_with_a_message_or_make_a_sane_spec(raw):
    check(ARGUMENT_SPEC, raw, build_spec)


@given(params_strategy(CRI_ARGUMENT_SPEC))
def test_cri_pod_inputs_are_refused_with_a_message_or_make_a_sane_spec(raw):
    check(CRI_ARGUMENT_SPEC, raw, lambda p: build_cri_spec(p, "cgroupfs")[0])


MANIFEST = st.fixed_dictionaries(
    {"apiVersion": st.one_of(st.just("v1"), TEXT), "kind": st.one_of(st.just("Pod"), TEXT)},
    optional={
        "metadata": st.fixed_dictionaries({}, optional={"name": TEXT, "namespace": TEXT, "labels": st.dictionaries(TEXT, VALUE)}),
        "spec": st.fixed_dictionaries({}, optional={
            "containers": st.lists(st.fixed_dictionaries({"name": TEXT, "image": TEXT}, optional={
                "command": VALUE, "args": VALUE, "env": VALUE, "ports": VALUE, "workingDir": VALUE, "volumeMounts": VALUE,
                "resources": st.fixed_dictionaries({}, optional={"limits": st.dictionaries(TEXT, SCALAR), "requests": VALUE}),
                "securityContext": VALUE, "livenessProbe": VALUE}), max_size=3),
            "initContainers": VALUE, "volumes": VALUE, "hostname": VALUE, "hostNetwork": VALUE, "shareProcessNamespace": VALUE,
            "restartPolicy": VALUE, "dnsConfig": VALUE, "securityContext": VALUE, "nodeSelector": VALUE}),
    },
)


@given(MANIFEST, st.sampled_from(["docker", "cri"]))
def test_a_manifest_is_refused_listing_its_problems_or_gives_options_the_module_then_judges(manifest, runtime):
    try:
        params = params_from_manifest(manifest, runtime)
    except ManifestError as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)
        return
    spec = ARGUMENT_SPEC if runtime == "docker" else CRI_ARGUMENT_SPEC
    own = {k: v for k, v in spec.items() if k not in ("manifest", "images")}
    check(own, params, build_spec if runtime == "docker" else (lambda p: build_cri_spec(p, "cgroupfs")[0]))
