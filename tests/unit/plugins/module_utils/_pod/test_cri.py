"""The CRI side of the pod engine: kubelet's rules, the refusals, the request shapes and the planner's
view of a runtime that cannot start anything again. Status replies are shaped as this machine's
containerd 1.6 returned them."""
from __future__ import annotations

import json
import os

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.podlab.playground.plugins.module_utils._pod.cri import (
    CriRuntime,
    _log_tail,
    cri_cgroup_driver_from,
    merge,
    namespace_options,
)
from ansible_collections.podlab.playground.plugins.module_utils._pod.cri_spec import (
    CRI_ARGUMENT_SPEC,
    build_cri_spec,
    on_runtime,
    pod_uid,
)
from ansible_collections.podlab.playground.plugins.module_utils._pod.model import ContainerView
from ansible_collections.podlab.playground.plugins.module_utils._pod.observe import ObservedPod
from ansible_collections.podlab.playground.plugins.module_utils._pod.plan import plan_pod
from ansible_collections.podlab.playground.plugins.module_utils._pod.spec import OPTION_BY_NAME, PodSpecError


def params(**overrides):
    """Module params exactly as AnsibleModule would fill them, from cri_pod's own argument spec."""
    result = ArgumentSpecValidator(CRI_ARGUMENT_SPEC).validate({"name": "foo", **overrides})
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


def app(**options):
    return {"name": "app", "image": "podlab/busybox:1", **options}


def spec_of(driver="cgroupfs", **overrides):
    return build_cri_spec(params(**overrides), driver)


# -- kubelet's rules ---------------------------------------------------------------


@pytest.mark.parametrize(("members", "qos", "cgroup"), [
    ([app(memory="256Mi", cpus="0.5")], "Guaranteed", "kubepods/pod{uid}"),
    ([app(memory="256Mi")], "Burstable", "kubepods/burstable/pod{uid}"),
    ([app(memory="256Mi", cpus="1"), {"name": "b", "image": "x"}], "Burstable", "kubepods/burstable/pod{uid}"),
    ([app()], "BestEffort", "kubepods/besteffort/pod{uid}"),
    ([], "BestEffort", "kubepods/besteffort/pod{uid}"),
])
def test_qos_class_and_cgroup_follow_kubelet(members, qos, cgroup):
    spec, cri = spec_of(containers=members)
    assert cri.qos == qos
    assert spec.cgroup_name == cgroup.format(uid=cri.uid)


def test_an_init_container_counts_for_the_qos_class():
    _spec, cri = spec_of(containers=[app(memory="1Gi", cpus="1")], init_containers=[{"name": "i", "image": "x"}])
    assert cri.qos == "Burstable"


@pytest.mark.parametrize(("qos_members", "slice_name"), [
    ([app(memory="1Gi", cpus="1")], "kubepods-pod{uid}.slice"),
    ([app(memory="1Gi")], "kubepods-burstable-pod{uid}.slice"),
    ([app()], "kubepods-besteffort-pod{uid}.slice"),
])
def test_the_systemd_driver_names_kubelets_slices(qos_members, slice_name):
    spec, cri = spec_of("systemd", containers=qos_members)
    assert spec.cgroup_name == slice_name.format(uid=cri.uid.replace("-", "_"))


@pytest.mark.parametrize("driver", ["cgroupfs", "systemd"])
@pytest.mark.parametrize("existing", [None, "0b9c2e4f-1111-4c8e-9a57-7d0b9c2e4f11"])
@pytest.mark.parametrize("overrides", [
    {},
    {"containers": [app(memory="256Mi", cpus="0.5")], "namespace": "podlab-it"},
    {"containers": [app(memory="256Mi"), {"name": "b", "image": "x", "cpus": "1"}], "cgroup_parent": {"pids_max": 64}},
    {"containers": [app(memory="64Mi")], "init_containers": [{"name": "i", "image": "x", "memory": "128Mi"}]},
])
def test_the_spec_built_once_and_told_the_runtimes_answers_is_the_spec_built_with_them(driver, existing, overrides):
    # cri_pod validates and builds the spec before it reaches the runtime (driver unknown, cgroupfs assumed), then takes
    # the runtime's driver and the pod's existing UID: the same spec as building it with both from the start.
    assert on_runtime(*spec_of(**overrides), driver, existing) == build_cri_spec(params(**overrides), driver, existing)


def test_a_uid_the_task_gives_is_kept():
    spec, cri = spec_of(uid="given-1")
    assert on_runtime(spec, cri, "systemd", None)[1].uid == "given-1"


def test_the_uid_is_stable_for_a_name_and_differs_by_namespace():
    assert spec_of()[1].uid == spec_of()[1].uid == pod_uid("default", "foo")
    assert spec_of(namespace="other")[1].uid != pod_uid("default", "foo")
    assert spec_of(uid="1234-abcd")[1].uid == "1234-abcd"


def test_pod_limits_are_the_members_sum_when_every_member_has_one():
    spec, _cri = spec_of(containers=[app(memory="256Mi", cpus="0.5"), {"name": "b", "image": "x", "memory": "128Mi", "cpus": "0.25"}])
    assert spec.cgroup["memory"] == str(384 << 20)
    assert spec.cgroup["cpus"] == "0.75"


def test_an_init_container_larger_than_the_sum_sets_the_pod_limit():
    spec, _cri = spec_of(containers=[app(memory="64Mi")], init_containers=[{"name": "i", "image": "x", "memory": "256Mi"}])
    assert spec.cgroup["memory"] == str(256 << 20)


def test_no_pod_limit_when_a_member_has_none_and_the_users_own_wins():
    assert spec_of(containers=[app(memory="64Mi"), {"name": "b", "image": "x"}])[0].cgroup.get("memory") is None
    assert spec_of(containers=[app(memory="64Mi")], cgroup_parent={"memory": "1Gi"})[0].cgroup["memory"] == "1Gi"


# -- refusals: before any change, each with what to do -----------------------------


@pytest.mark.parametrize(("overrides", "says"), [
    ({"sandbox": {"image": "other/pause:1"}}, "runs its own pause image"),
    ({"cgroup_parent": {"name": "mine"}}, "the pod's cgroup is kubelet's"),
    ({"cgroup_parent": {"create": False}}, "the pod's cgroup is kubelet's"),
    ({"containers": [app(restart_policy="always")]}, "restart_policy is not supported by cri_pod"),
    ({"init_containers": [app(pids_limit="10")]}, "pids_limit is not supported by cri_pod"),
    ({"containers": [app(mounts=[{"type": "tmpfs", "target": "/t"}])]}, "tmpfs mounts are not supported"),
    ({"ports": ["80"]}, "write HOST:80"),
    ({"uid": "a/b"}, "uid 'a/b'"),
    ({"namespace": "-x"}, "a Kubernetes namespace name"),
    ({"share_pid": True, "host_pid": True}, "cannot both be true"),
    ({"containers": [app(memory="2Gi")], "cgroup_parent": {"memory": "1Gi"}}, "does not fit in the pod's"),
])
def test_what_the_cri_cannot_honour_is_refused(overrides, says):
    with pytest.raises(PodSpecError, match=says.replace("(", r"\(").replace(")", r"\)")):
        spec_of(**overrides)


def test_a_port_with_a_host_port_is_accepted():
    spec, _cri = spec_of(ports=["127.0.0.1:8080:80/udp"])
    assert (spec.ports[0].host_ip, spec.ports[0].host_port, spec.ports[0].container_port, spec.ports[0].proto) == ("127.0.0.1", "8080", 80, "udp")


# -- what the runtime is sent -------------------------------------------------------


@pytest.mark.parametrize(("overrides", "wanted"), [
    ({}, {"network": "POD", "pid": "CONTAINER", "ipc": "POD"}),
    ({"share_pid": True}, {"network": "POD", "pid": "POD", "ipc": "POD"}),
    ({"host_network": True, "host_ipc": True, "host_pid": True}, {"network": "NODE", "pid": "NODE", "ipc": "NODE"}),
])
def test_namespace_options_are_kubelets(overrides, wanted):
    assert namespace_options(spec_of(**overrides)[0]) == wanted


@pytest.mark.parametrize(("option", "value", "fragment"), [
    ("command", ["sleep", "1"], {"args": ["sleep", "1"]}),
    ("entrypoint", ["/bin/sh"], {"command": ["/bin/sh"]}),
    ("env", {"B": "2", "A": "1"}, {"envs": [{"key": "A", "value": "1"}, {"key": "B", "value": "2"}]}),
    ("user", "1000:100", {"linux": {"security_context": {"run_as_user": {"value": "1000"}, "run_as_group": {"value": "100"}}}}),
    ("user", "nobody", {"linux": {"security_context": {"run_as_username": "nobody"}}}),
    ("memory", 256 << 20, {"linux": {"resources": {"memory_limit_in_bytes": 256 << 20}}}),
    ("cpus", 500_000_000, {"linux": {"resources": {"cpu_period": 100000, "cpu_quota": 50000, "cpu_shares": 512}}}),
    ("mounts", [{"type": "volume", "source": "www", "target": "/www", "read_only": True}],
     {"mounts": [{"container_path": "/www", "host_path": "/pods/u/volumes/www", "readonly": True}]}),
])
def test_the_option_table_writes_cri_requests(option, value, fragment):
    assert OPTION_BY_NAME[option].cri(value, lambda v: f"/pods/u/volumes/{v}") == fragment


def test_fragments_merge_deeply():
    merged = merge({"linux": {"resources": {"cpu_shares": 2}, "security_context": {"x": 1}}},
                   {"linux": {"resources": {"memory_limit_in_bytes": 5}}})
    assert merged == {"linux": {"resources": {"cpu_shares": 2, "memory_limit_in_bytes": 5}, "security_context": {"x": 1}}}


# -- what the runtime shows ---------------------------------------------------------

# linux.resources of a container's runtime spec, as ContainerStatus(verbose) gave it here
RECORDED_RESOURCES = {"devices": [{"allow": False, "access": "rwm"}], "memory": {"limit": 67108864, "swap": 67108864},
                      "cpu": {"shares": 2, "quota": 50000, "period": 100000}}


def view(name, role, spec_hash, *, status="running", sandbox_id="sb", member=None, resources=None, exit_code=None):
    labels = {"podlab.pod": "foo", "podlab.role": role, "podlab.spec-hash": spec_hash}
    if member:
        labels["podlab.member"] = member
    return ContainerView(id=f"id-{name}", name=name, labels=labels, status=status, pid=os.getpid() if status == "running" else 0,
                         exit_code=exit_code, sandbox_id=None if role == "sandbox" else sandbox_id,
                         raw={"info": {"runtimeSpec": {"linux": {"resources": resources or {}}}},
                              "list": {"annotations": {"podlab.cri-hash": None}}})


def test_limits_are_read_back_from_the_runtime_spec():
    runtime = CriRuntime(None, spec_of()[1])
    container = view("foo_app", "container", "h", resources=RECORDED_RESOURCES)
    assert runtime.read_back(OPTION_BY_NAME["memory"], None, container) == 64 << 20
    assert runtime.read_back(OPTION_BY_NAME["cpus"], None, container) == 500_000_000


def test_the_runtimes_cgroup_driver_comes_from_its_config():
    config = {"containerd": {"defaultRuntimeName": "runc", "runtimes": {"runc": {"options": {"SystemdCgroup": True}}}}}
    assert cri_cgroup_driver_from({"info": {"config": json.dumps(config)}}) == "systemd"
    config["containerd"]["runtimes"]["runc"]["options"] = {}
    assert cri_cgroup_driver_from({"info": {"config": json.dumps(config)}}) == "cgroupfs"
    assert cri_cgroup_driver_from({"info": {}}) is None


def test_a_cri_log_is_read_as_text(tmp_path):
    log = tmp_path / "page.log"
    log.write_text("2026-12-02T03:00:00.1Z stdout F hello world\n2026-12-02T03:00:00.2Z stderr F oops: 1 2\n")
    assert _log_tail(log) == "hello world\noops: 1 2"
    assert _log_tail(tmp_path / "none.log").startswith("(no log:")


# -- the planner, on a runtime that starts nothing again ------------------------------


def healthy(spec, cri, **sandbox):
    runtime = CriRuntime(None, cri)
    parent = "/" + spec.cgroup_name
    observed = ObservedPod(image_ids={"podlab/busybox:1": None})
    observed.sandbox = view(spec.sandbox_name, "sandbox", spec.sandbox_hash(parent), **sandbox)
    observed.sandbox.raw["list"]["annotations"]["podlab.cri-hash"] = runtime.cri_hash()
    context = spec.member_context(parent)
    for m in spec.members:
        observed.members[m.name] = view(m.container_name, "container", m.hash(context), sandbox_id=observed.sandbox.id, member=m.name)
    return runtime, observed, parent


def plan(spec, runtime, observed, parent):
    return [a.describe() for a in plan_pod(spec, observed, runtime, cgroup_parent=parent, cgroup_actions=[], cgroup_exists=True)]


def test_a_healthy_cri_pod_needs_nothing():
    spec, cri = spec_of(containers=[app(command=["sleep", "1"])])
    assert plan(spec, *healthy(spec, cri)) == []


def test_a_sandbox_that_is_not_ready_is_replaced_with_its_members():
    spec, cri = spec_of(containers=[app()])
    runtime, observed, parent = healthy(spec, cri, status="exited")
    assert plan(spec, runtime, observed, parent) == [
        "remove container foo_sandbox (it is not ready, and a cri sandbox cannot be started again)",
        "remove container foo_app (the sandbox was replaced)",
        "create sandbox foo_sandbox (it is not ready, and a cri sandbox cannot be started again)",
        "create container foo_app (the sandbox was replaced)",
    ]


def test_an_exited_member_is_made_anew_alone():
    spec, cri = spec_of(containers=[app(), {"name": "b", "image": "podlab/busybox:1"}])
    runtime, observed, parent = healthy(spec, cri)
    observed.members["b"].status, observed.members["b"].pid = "exited", 0
    assert plan(spec, runtime, observed, parent) == [
        "remove container foo_b (it is exited, and a cri container cannot be started again)",
        "create container foo_b (it is exited, and a cri container cannot be started again)",
    ]


def test_restarted_makes_a_new_sandbox():
    spec, cri = spec_of(containers=[app()], state="restarted")
    actions = plan(spec, *healthy(spec, cri))
    assert "create sandbox foo_sandbox (state: restarted)" in actions
    assert "create container foo_app (the sandbox was replaced)" in actions
    assert not any(a.startswith("start ") for a in actions)


def test_a_changed_dns_replaces_the_sandbox():
    spec, cri = spec_of(containers=[app()])
    _runtime, observed, parent = healthy(spec, cri)
    _spec, cri_dns = spec_of(containers=[app()], dns={"servers": ["10.0.0.1"]})
    actions = plan(spec, CriRuntime(None, cri_dns), observed, parent)
    assert actions[0] == "remove container foo_sandbox (its namespace, uid or dns changed)"


def test_a_limit_change_is_made_in_place():
    spec, cri = spec_of(containers=[app(memory="128Mi")])
    runtime, observed, parent = healthy(spec, cri)
    observed.members["app"].raw["info"]["runtimeSpec"]["linux"]["resources"] = RECORDED_RESOURCES
    assert plan(spec, runtime, observed, parent) == ["update container foo_app in place (memory=134217728)"]


@pytest.mark.parametrize("uid", ["", "a b", "x/y", "é" * 4, "a" * 129])
def test_a_uid_that_cannot_name_the_pods_cgroup_is_refused(uid):
    with pytest.raises(PodSpecError, match="at most 128 ASCII letters"):
        spec_of(uid=uid)
