"""A manifest's options under the task's own: the manifest is the base, what the task sets wins."""
from __future__ import annotations

from ansible_collections.podlab.playground.plugins.module_utils._kube.merge import argspec_defaults, merge_params
from ansible_collections.podlab.playground.plugins.module_utils._kube.pod_in import params_from_manifest
from ansible_collections.podlab.playground.plugins.module_utils._pod.cri_spec import CRI_ARGUMENT_SPEC
from ansible_collections.podlab.playground.plugins.module_utils._pod.spec import ARGUMENT_SPEC, build_spec

from .pods import SEED, SEED_IMAGES, validated

DEFAULTS = argspec_defaults(ARGUMENT_SPEC)


def task(runtime="docker", **options):
    """The module's params as AnsibleModule fills them (name is not needed with a manifest; the merge gives the manifest's)."""
    return validated({"name": "", **options}, runtime)


def seed(runtime="docker"):
    return params_from_manifest(SEED, runtime, SEED_IMAGES)


def test_defaults_are_the_argument_specs():
    assert DEFAULTS["containers"] == []
    assert DEFAULTS["state"] == "started"
    assert DEFAULTS["hostname"] is None
    assert argspec_defaults(CRI_ARGUMENT_SPEC)["namespace"] == "default"


def test_the_manifest_alone():
    merged = merge_params(seed(), {**task(), "name": None}, {**DEFAULTS, "name": None})
    assert merged["name"] == "foo"
    assert [m["name"] for m in merged["containers"]] == ["app", "sidecar"]
    assert merged["state"] == "started"  # the module's own options keep their defaults
    assert merged["cgroup_parent"]["create"] is True
    spec = build_spec(merged)
    assert [m.options.get("memory") for m in spec.members] == [256 << 20, 128 << 20]


def test_scalars_the_task_sets_win():
    merged = merge_params(seed(), task(name="bar", hostname="web", share_pid=True, state="stopped"), DEFAULTS)
    assert (merged["name"], merged["hostname"], merged["share_pid"], merged["state"]) == ("bar", "web", True, "stopped")


def test_a_task_value_equal_to_the_default_does_not_override():
    manifest = {**seed(), "host_ipc": True}
    assert merge_params(manifest, task(host_ipc=False), DEFAULTS)["host_ipc"] is True


def test_labels_merge_key_by_key():
    manifest = {**seed(), "labels": {"app": "web", "tier": "front"}}
    assert merge_params(manifest, task(labels={"tier": "back", "team": "lab"}), DEFAULTS)["labels"] == {"app": "web", "tier": "back", "team": "lab"}


def test_lists_are_replaced():
    manifest = {**seed(), "ports": ["8080:80"], "volumes": ["www"]}
    merged = merge_params(manifest, task(ports=["9090:80"]), DEFAULTS)
    assert (merged["ports"], merged["volumes"]) == (["9090:80"], ["www"])


def test_members_merge_by_name():
    members = [
        {"name": "sidecar", "image": "podlab/busybox:1", "memory": "64Mi", "env": {"B": "2"}},
        {"name": "extra", "image": "podlab/busybox:1", "command": ["sleep", "1"]},
    ]
    manifest = seed()
    manifest["containers"][1]["env"] = {"A": "1", "B": "1"}
    merged = merge_params(manifest, task(containers=members), DEFAULTS)
    assert [m["name"] for m in merged["containers"]] == ["app", "sidecar", "extra"]
    app, sidecar, extra = merged["containers"]
    assert app == manifest["containers"][0]
    assert sidecar["memory"] == "64Mi"  # the task's
    assert sidecar["entrypoint"] == ["/bin/sleep", "3650d"]  # the manifest's: the task left it unset (None)
    assert sidecar["env"] == {"A": "1", "B": "2"}
    assert sidecar["restart_policy"] == "unless-stopped"
    assert extra["command"] == ["sleep", "1"]
    assert merged["init_containers"] == []


def test_cri_options_from_the_manifest():
    manifest = {**seed("cri"), "namespace": "lab", "dns": {"servers": ["1.1.1.1"], "searches": [], "options": []}}
    defaults = argspec_defaults(CRI_ARGUMENT_SPEC)
    merged = merge_params(manifest, task("cri"), defaults)
    assert (merged["namespace"], merged["dns"]["servers"], merged["cri_socket"]) == ("lab", ["1.1.1.1"], "unix:///run/containerd/containerd.sock")
    assert merge_params(manifest, task("cri", namespace="other"), defaults)["namespace"] == "other"


def test_options_only_the_manifest_has_are_kept():
    merged = merge_params({**seed(), "pull": "never", "stop_timeout": 3}, {"name": None, "containers": []}, {"name": None, "containers": []})
    assert (merged["pull"], merged["stop_timeout"], merged["name"]) == ("never", 3, "foo")


def test_the_inputs_are_not_changed():
    manifest, module = seed(), task(containers=[{"name": "app", "image": "x", "env": {"A": "1"}}])
    merged = merge_params(manifest, module, DEFAULTS)
    merged["containers"][0]["env"]["A"] = "changed"
    merged["labels"]["x"] = "y"
    assert manifest == seed()
    assert module["containers"][0]["env"] == {"A": "1"}
