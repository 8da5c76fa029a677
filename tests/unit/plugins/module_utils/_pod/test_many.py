"""docker_pods and cri_pods without a runtime: defaults merged under each pod, every element validated by the single
module's own argument spec before any pod runs (a typo, a pod given twice, an option defaults cannot take), the per-pod
view of the module, and the result: every pod in input order, one diff per pod, a msg naming every failed pod."""
from __future__ import annotations

import json

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.podlab.playground.plugins.module_utils._pod.cri import CriPodManager
from ansible_collections.podlab.playground.plugins.module_utils._pod.manager import DockerPodManager
from ansible_collections.podlab.playground.plugins.module_utils._pod.many import (
    MANY_ARGUMENT_SPEC,
    ManyPods,
    Outcome,
    PodFailed,
    PodModule,
    duplicates,
    element_label,
    merged,
    summary,
)

BUSYBOX = "podlab/busybox:1"


def pod(name: str, **options):
    return {"name": name, "containers": [{"name": "m1", "image": BUSYBOX, "command": ["sleep", "infinity"]}], **options}


def module(args, check_mode=False):
    with patch_module_args({**args, "_ansible_check_mode": check_mode}):
        return AnsibleModule(argument_spec=MANY_ARGUMENT_SPEC, supports_check_mode=True)


def refused(capsys, manager, args):
    """What the module answers when prepare() refuses the task: fail_json's JSON, and it exits before any pod runs."""
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        ManyPods(AnsibleModule(argument_spec=MANY_ARGUMENT_SPEC, supports_check_mode=True), manager).prepare()
    assert exited.value.code == 1
    return json.loads(capsys.readouterr().out)


# -- defaults -------------------------------------------------------------------


def test_the_element_wins_over_defaults_and_shallowly():
    defaults = {"state": "absent", "pull": "never", "cgroup_parent": {"memory": "64Mi", "cpus": "1"}}
    got = merged([{"name": "a"}, {"name": "b", "state": "started", "cgroup_parent": {"memory": "32Mi"}}], defaults)
    assert got == [
        {"name": "a", "state": "absent", "pull": "never", "cgroup_parent": {"memory": "64Mi", "cpus": "1"}},
        # a dict option of the element replaces the default's whole: no cpus from defaults
        {"name": "b", "state": "started", "pull": "never", "cgroup_parent": {"memory": "32Mi"}},
    ]
    assert defaults == {"state": "absent", "pull": "never", "cgroup_parent": {"memory": "64Mi", "cpus": "1"}}


def test_an_option_the_element_sets_to_null_is_not_set():
    assert merged([{"name": "a", "pull": None, "state": None}], {"pull": "never"}) == [{"name": "a", "pull": "never"}]


def test_the_merged_element_gets_the_single_modules_defaults(capsys):
    many = ManyPods(module({"pods": [pod("a"), pod("b", pull="missing")], "defaults": {"pull": "never", "state": "stopped"}}),
                    DockerPodManager)
    first, second = many.prepare()
    assert (first.spec.name, first.manager.params["pull"], first.manager.params["state"]) == ("a", "never", "stopped")
    assert (second.spec.name, second.manager.params["pull"]) == ("b", "missing")
    # docker_pod's own defaults, from its own argument spec
    assert first.manager.params["stop_timeout"] == 10 and first.manager.params["lock_timeout"] == 600
    assert first.manager.params["sandbox"]["image"] == "podlab/pause:1"


def test_defaults_refuses_an_option_the_single_module_does_not_have(capsys):
    out = refused(capsys, DockerPodManager, {"pods": [pod("a")], "defaults": {"pull": "never", "cri_socket": "unix:///x"}})
    assert out["msg"].startswith("defaults: unsupported option(s) cri_socket; defaults takes the options of one pod: ")
    assert out["msg"].endswith("Nothing was changed")
    assert out["changed"] is False


# -- refusals before any pod runs ---------------------------------------------------


def test_every_invalid_element_is_named_before_anything_runs(capsys):
    out = refused(capsys, DockerPodManager, {"pods": [pod("a"), pod("b", bogus=1), {"containers": []}, pod("d", state="up")]})
    msg = out["msg"]
    assert "pods[1] (b): Unsupported parameters: bogus." in msg
    assert "pods[2]: one of the following is required: name, manifest" in msg
    assert "pods[3] (d): value of state must be one of: started, present, stopped, restarted, absent, got: up" in msg
    assert "pods[0]" not in msg
    assert msg.endswith("Nothing was changed")


def test_a_spec_the_engine_refuses_is_named_after_its_pod(capsys):
    out = refused(capsys, DockerPodManager, {"pods": [pod("a"), pod("b", share_pid=True, host_pid=True)]})
    assert out["msg"].startswith("pod b: share_pid and host_pid cannot both be true")


def test_a_pod_given_twice_is_refused_with_both_places(capsys):
    out = refused(capsys, DockerPodManager, {"pods": [pod("a"), pod("b"), pod("a", state="absent")]})
    assert out["msg"] == "pod a is given 2 times (pods[0], pods[2]); give each pod once. Nothing was changed"


def test_a_manifest_names_its_pod_for_the_duplicate_check(capsys):
    manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"},
                "spec": {"containers": [{"name": "m1", "image": BUSYBOX}]}}
    out = refused(capsys, DockerPodManager, {"pods": [{"manifest": manifest}, pod("a")]})
    assert out["msg"].startswith("pod a is given 2 times (pods[0], pods[1])")


def test_cri_pods_of_one_name_in_two_namespaces_are_two_pods():
    many = ManyPods(module({"pods": [pod("a"), pod("a", namespace="other")], "defaults": {"pull": "never"}}), CriPodManager)
    assert [p.manager.params["namespace"] for p in many.prepare()] == ["default", "other"]


def test_cri_pods_takes_cri_pods_options_and_refuses_docker_pods_own(capsys):
    out = refused(capsys, CriPodManager, {"pods": [pod("a", docker_host="unix:///var/run/docker.sock")]})
    assert out["msg"].startswith("pods[0] (a): Unsupported parameters: docker_host.")


@pytest.mark.parametrize(("index", "element", "label"), [
    (0, {"name": "web"}, "pods[0] (web)"),
    (2, {"manifest": {"metadata": {"name": "seed"}}}, "pods[2] (seed)"),
    (1, {"manifest": "not a dict"}, "pods[1]"),
    (3, {}, "pods[3]"),
])
def test_an_element_is_named_by_its_place_and_its_name(index, element, label):
    assert element_label(index, element) == label


def test_duplicates_names_each_pod_given_more_than_once():
    keys = [("docker_a", "a"), ("docker_b", "b"), ("docker_a", "a"), ("docker_b", "b"), ("docker_a", "a"), ("docker_c", "c")]
    assert duplicates(keys) == ["pod a is given 3 times (pods[0], pods[2], pods[4]); give each pod once",
                                "pod b is given 2 times (pods[1], pods[3]); give each pod once"]
    assert duplicates([("docker_a", "a"), ("cri_default_a", "a")]) == []


# -- one pod's view of the module ----------------------------------------------------


def test_a_pods_module_keeps_its_warnings_named_and_raises_on_fail():
    real = module({"pods": [pod("a")]}, check_mode=True)
    view = PodModule(real, {"name": "a"}, "a")
    assert view.check_mode is True and view.params == {"name": "a"}
    view.warn("the cgroup is shared")
    view.warn("pod a: already named")
    assert view.warnings == ["pod a: the cgroup is shared", "pod a: already named"]
    with pytest.raises(PodFailed) as failed:
        view.fail_json(msg="images maps...", problems=["x"])
    assert (failed.value.msg, failed.value.details) == ("images maps...", {"problems": ["x"]})
    with pytest.raises(TypeError):
        view.exit_json(changed=False)
    # the rest is the real module's (the cgroup code's run_command, get_bin_path, atomic_move)
    assert view.get_bin_path("sh") == real.get_bin_path("sh")
    assert view.run_command.__self__ is real


# -- the result ------------------------------------------------------------------------


def test_the_result_keeps_input_order_and_names_every_failed_pod():
    before, after = {"sandbox": None}, {"sandbox": {"state": "running"}}
    outcomes = [
        Outcome("a", changed=True, actions=["create sandbox a_sandbox (missing)"], pod={"name": "a"},
                diff={"before": before, "after": after}),
        Outcome("b", failed=True, msg="pod b: image x is not present on the Docker host and pull is never"),
        Outcome("c", changed=False, pod={"name": "c"}, diff={"before": after, "after": after}),
        Outcome("d", changed=True, actions=["create container d_m1 (missing)"], failed=True, msg="could not create d_m1"),
    ]
    result = summary(outcomes)
    assert result["changed"] is True
    assert result["failed"] is True
    assert [p["name"] for p in result["pods"]] == ["a", "b", "c", "d"]
    assert result["pods"][1] == {"name": "b", "changed": False, "actions": [], "pod": None, "failed": True,
                                 "msg": "pod b: image x is not present on the Docker host and pull is never"}
    assert result["pods"][0]["msg"] is None and result["pods"][0]["failed"] is False
    assert result["msg"] == ("2 of 4 pods failed (b, d); the others ran: pod b: image x is not present on the Docker host and pull "
                             "is never | pod d: could not create d_m1")
    assert result["diff"] == [{"before_header": "pod a", "after_header": "pod a", "before": before, "after": after},
                              {"before_header": "pod c", "after_header": "pod c", "before": after, "after": after}]


def test_a_result_without_failures_has_no_failed_and_no_msg():
    result = summary([Outcome("a", pod={"name": "a"}, diff={"before": {}, "after": {}}), Outcome("b", pod={"name": "b"})])
    assert result["changed"] is False
    assert "failed" not in result and "msg" not in result
    assert [d["before_header"] for d in result["diff"]] == ["pod a"]
