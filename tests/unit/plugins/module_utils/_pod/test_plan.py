from __future__ import annotations

import os

import pytest

from ansible_collections.podlab.playground.plugins.module_utils._pod.docker import DockerRuntime, view
from ansible_collections.podlab.playground.plugins.module_utils._pod.observe import ObservedPod
from ansible_collections.podlab.playground.plugins.module_utils._pod.plan import image_pulls, plan_pod
from ansible_collections.podlab.playground.plugins.module_utils._pod.spec import build_spec

from .test_spec import member, params

PARENT = "/pod-foo"
IMAGE_IDS = {"podlab/pause:1": "sha256:pause", "podlab/busybox:1": "sha256:busybox"}


def pod_spec(**overrides):
    base = {
        "containers": [member("app", command=["httpd"], memory="256Mi"), member("sidecar", command=["sleep", "1"])],
        "init_containers": [member("page", command=["true"])],
        "volumes": ["www"],
    }
    base.update(overrides)
    return build_spec(params(**base))


def container(name, role, spec_hash, *, image="sha256:busybox", running=True, network="default", ipc="shareable", memory=0,
              status=None, exit_code=0, cmd=None):
    # Shaped like docker inspect; running ones get this process's PID, so namespaces compare equal.
    return view({
        "Id": f"id-{name}", "Name": f"/{name}", "Image": image,
        "State": {"Running": running, "Pid": os.getpid() if running else 0, "Status": status or ("running" if running else "exited"),
                  "ExitCode": exit_code},
        "Config": {"Labels": {"podlab.spec-hash": spec_hash}, "Cmd": cmd, "Env": []},
        "HostConfig": {"NetworkMode": network, "IpcMode": ipc, "Memory": memory, "NanoCpus": 0, "PidsLimit": None, "RestartPolicy": {"Name": "no"}},
    })


def healthy(spec):
    """The pod exactly as spec wants it."""
    context = spec.member_context(PARENT)
    sandbox = container("foo_sandbox", "sandbox", spec.sandbox_hash(PARENT), image="sha256:pause")
    observed = ObservedPod(sandbox=sandbox, volumes={"foo_www"}, image_ids=dict(IMAGE_IDS))
    for m in spec.members:
        observed.members[m.name] = container(m.container_name, "container", m.hash(context), network="container:id-foo_sandbox",
                                             memory=m.options.get("memory", 0), cmd=m.options.get("command"))
    for m in spec.inits:
        observed.inits[m.name] = container(m.container_name, "init", m.hash(context), running=False, cmd=m.options.get("command"))
    return observed


def plan(spec, observed, cgroup_exists=False):
    return [a.describe() for a in plan_pod(spec, observed, DockerRuntime(None), cgroup_parent=PARENT, cgroup_actions=[], cgroup_exists=cgroup_exists)]


def test_new_pod_in_start_order():
    spec = pod_spec()
    assert plan(spec, ObservedPod(image_ids=dict(IMAGE_IDS))) == [
        "create volume foo_www (missing)",
        "create sandbox foo_sandbox (missing)",
        "run init container foo_init_page to completion (the sandbox is new)",
        "create container foo_app (missing)",
        "create container foo_sidecar (missing)",
    ]


def test_a_healthy_pod_needs_nothing():
    spec = pod_spec()
    assert plan(spec, healthy(spec)) == []


def test_a_limit_change_updates_in_place_only():
    spec = pod_spec()
    observed = healthy(spec)
    observed.members["app"].raw["HostConfig"]["Memory"] = 128 << 20
    assert plan(spec, observed) == ["update container foo_app in place (memory=268435456)"]


def test_a_spec_change_recreates_that_member_alone():
    spec = pod_spec()
    observed = healthy(spec)
    observed.members["sidecar"].labels["podlab.spec-hash"] = "old"
    assert plan(spec, observed) == ["remove container foo_sidecar (its spec changed)", "create container foo_sidecar (its spec changed)"]


def test_what_the_daemon_shows_counts_even_when_the_hash_matches():
    spec = pod_spec()
    observed = healthy(spec)
    observed.members["app"].raw["Config"]["Cmd"] = ["sh"]
    assert plan(spec, observed)[0].startswith("remove container foo_app (the docker runtime shows command=['sh'], wanted ['httpd']")


def test_a_new_image_recreates_its_users():
    spec = pod_spec()
    observed = healthy(spec)
    observed.image_ids["podlab/busybox:1"] = "sha256:rebuilt-busybox"
    actions = plan(spec, observed)
    assert "remove container foo_app (image podlab/busybox:1 is now rebuilt-busy)" in actions
    assert "run init container foo_init_page to completion (an init container changed or did not succeed)" in actions
    assert not any("sandbox" in a for a in actions)


def test_a_stopped_sandbox_starts_anew_and_members_are_recreated():
    spec = pod_spec()
    observed = healthy(spec)
    observed.sandbox = container("foo_sandbox", "sandbox", spec.sandbox_hash(PARENT), image="sha256:pause", running=False)
    actions = plan(spec, observed)
    assert actions[:2] == ["remove container foo_app (the sandbox was started anew (new namespaces))",
                           "remove container foo_sidecar (the sandbox was started anew (new namespaces))"]
    assert actions[2] == "start sandbox foo_sandbox (it is stopped)"
    assert actions[3].startswith("run init container foo_init_page")
    assert actions[4:] == ["create container foo_app (the sandbox was started anew (new namespaces))",
                           "create container foo_sidecar (the sandbox was started anew (new namespaces))"]


def test_a_changed_sandbox_is_replaced_with_its_members():
    spec = pod_spec(hostname="other")
    actions = plan(spec, healthy(pod_spec()))
    assert "remove container foo_sandbox (its spec changed)" in actions
    assert "create sandbox foo_sandbox (its spec changed)" in actions
    assert sum(a.startswith("create container") and "the sandbox was replaced" in a for a in actions) == 2


def test_a_failed_init_container_runs_again():
    spec = pod_spec()
    observed = healthy(spec)
    observed.inits["page"].exit_code = 1
    assert plan(spec, observed) == ["run init container foo_init_page to completion (an init container changed or did not succeed)"]


def test_leftovers_are_removed_first():
    spec = pod_spec()
    observed = healthy(spec)
    observed.strays.append(container("foo_old", "container", "x"))
    observed.members["gone"] = container("foo_gone", "container", "x")
    observed.volumes.add("foo_cache")
    assert plan(spec, observed) == [
        "remove container foo_old (not in the pod's spec)",
        "remove container foo_gone (no longer a member)",
        "remove volume foo_cache (no longer a pod volume)",
    ]


def test_stopped_stops_members_then_the_sandbox():
    spec = pod_spec(state="stopped")
    assert plan(spec, healthy(spec)) == [
        "stop container foo_app (state: stopped)",
        "stop container foo_sidecar (state: stopped)",
        "stop sandbox foo_sandbox (state: stopped)",
    ]


def test_restarted_stops_restarts_and_starts_without_new_containers():
    spec = pod_spec(state="restarted")
    assert plan(spec, healthy(spec)) == [
        "stop container foo_app (so that it joins the restarted sandbox)",
        "stop container foo_sidecar (so that it joins the restarted sandbox)",
        "restart sandbox foo_sandbox (state: restarted)",
        "run init container foo_init_page to completion (state: restarted)",
        "start container foo_app (state: restarted)",
        "start container foo_sidecar (state: restarted)",
    ]


@pytest.mark.parametrize("cgroup_exists", [True, False])
def test_absent_removes_everything_members_first(cgroup_exists):
    spec = pod_spec(state="absent")
    actions = plan(spec, healthy(spec), cgroup_exists)
    assert actions[:3] == ["remove container foo_app (state: absent)", "remove container foo_sidecar (state: absent)",
                           "remove container foo_init_page (state: absent)"]
    assert actions[3:5] == ["remove container foo_sandbox (state: absent)", "remove volume foo_www (state: absent)"]
    assert actions[5:] == (["remove cgroup parent pod-foo from every hierarchy (state: absent)"] if cgroup_exists else [])


def test_absent_of_nothing_is_a_no_op():
    assert plan(pod_spec(state="absent"), ObservedPod()) == []


def with_pulls(spec, observed):
    actions = plan_pod(spec, observed, DockerRuntime(None), cgroup_parent=PARENT, cgroup_actions=[], cgroup_exists=True)
    return [a.describe() for a in image_pulls(actions, spec, observed, "on the Docker host") + actions]


def test_a_missing_image_a_running_pod_uses_is_not_pulled():
    spec = pod_spec()
    observed = healthy(spec)
    observed.image_ids["podlab/busybox:1"] = None  # untagged while the members run on it
    assert with_pulls(spec, observed) == []


def test_a_missing_image_is_pulled_for_the_container_that_needs_it():
    spec = pod_spec()
    observed = healthy(spec)
    observed.image_ids["podlab/busybox:1"] = None
    del observed.members["app"]
    assert with_pulls(spec, observed) == ["pull image podlab/busybox:1 (not on the Docker host)", "create container foo_app (missing)"]


def test_a_new_pod_pulls_the_sandbox_and_member_images():
    spec = pod_spec(containers=[member("app", image="podlab/httpd:1")])
    observed = ObservedPod(image_ids={"podlab/pause:1": None, "podlab/busybox:1": "sha256:busybox", "podlab/httpd:1": None})
    plan = with_pulls(spec, observed)
    assert plan[:2] == ["pull image podlab/httpd:1 (not on the Docker host)", "pull image podlab/pause:1 (not on the Docker host)"]
    assert "create container foo_app (missing)" in plan


def test_an_image_no_container_of_the_pod_runs_on_is_never_pulled():
    spec = pod_spec()
    observed = ObservedPod(image_ids={"podlab/pause:1": "sha256:pause", "podlab/busybox:1": "sha256:busybox", "podlab/other:1": None})
    assert "pull image podlab/other:1 (not on the Docker host)" not in with_pulls(spec, observed)
