from __future__ import annotations

import copy

import pytest

from ansible_collections.podlab.playground.plugins.module_utils._pod.spec import (
    ARGUMENT_SPEC,
    PodSpecError,
    build_spec,
)


def params(**overrides):
    """Module params as AnsibleModule would fill them (defaults applied)."""
    base = {key: copy.deepcopy(opt.get("default")) for key, opt in ARGUMENT_SPEC.items()}
    base.update({"name": "foo", "sandbox": {"image": "podlab/pause:1", "command": None},
                 "cgroup_parent": {"create": True, "name": None, "memory": None, "cpus": None, "pids_max": None, "driver": "auto"}})
    base.update(overrides)
    return base


def member(name="app", **options):
    base = {"name": name, "image": "podlab/busybox:1", "command": None, "entrypoint": None, "env": None, "working_dir": None,
            "user": None, "memory": None, "cpus": None, "pids_limit": None, "restart_policy": None, "mounts": None}
    base.update(options)
    return base


def test_defaults_follow_kubernetes_names():
    spec = build_spec(params(containers=[member()]))
    assert spec.sandbox_name == "foo_sandbox"
    assert spec.members[0].container_name == "foo_app"
    assert spec.hostname == "foo"
    assert spec.cgroup_name == "pod-foo"
    assert spec.state == "started"


def test_present_is_started():
    assert build_spec(params(state="present")).state == "started"


@pytest.mark.parametrize(
    ("value", "expected"), [("sleep infinity", ["sleep", "infinity"]), (["sh", "-c", "a b"], ["sh", "-c", "a b"]), ("sh -c 'a b'", ["sh", "-c", "a b"])]
)
def test_command_strings_are_split_not_shelled(value, expected):
    assert build_spec(params(containers=[member(command=value)])).members[0].options["command"] == expected


def test_limits_are_normalised_to_what_docker_inspect_shows():
    options = build_spec(params(containers=[member(memory="256Mi", cpus="0.5", pids_limit="max")])).members[0].options
    assert options == {"memory": 268435456, "cpus": 500000000, "pids_limit": -1}


def test_hash_ignores_in_place_options_and_unset_ones():
    context = {"pod": "foo"}
    small = build_spec(params(containers=[member(memory="128Mi")])).members[0]
    large = build_spec(params(containers=[member(memory="1Gi")])).members[0]
    bare = build_spec(params(containers=[member()])).members[0]
    other = build_spec(params(containers=[member(command=["sleep", "1"])])).members[0]
    assert small.hash(context) == large.hash(context) == bare.hash(context)
    assert other.hash(context) != bare.hash(context)
    assert bare.hash(context) != bare.hash({"pod": "bar"})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": "-bad"}, "pod name"),
        ({"share_pid": True, "host_pid": True}, "cannot both be true"),
        ({"host_network": True, "ports": ["80"]}, "ports cannot be published"),
        ({"host_network": True, "hostname": "x"}, "hostname cannot be set"),
        ({"ports": ["eighty"]}, "CONTAINER_PORT"),
        ({"containers": [member(), member()]}, "used twice"),
        ({"containers": [member("sandbox")]}, "pause container"),
        ({"containers": [member(mounts=[{"type": "volume", "source": "data", "target": "/d", "read_only": False}])]}, "add it to volumes"),
        ({"containers": [member(mounts=[{"type": "bind", "source": "rel/path", "target": "/d", "read_only": False}])]}, "absolute host path"),
        ({"init_containers": [member(restart_policy="always")]}, "run once"),
        ({"containers": [member(memory="lots")]}, "container app: memory"),
        ({"cgroup_parent": {"create": True, "memory": "128Mi"}, "containers": [member(memory="256Mi")]}, "does not fit"),
        ({"cgroup_parent": {"create": True, "memory": "128Mi"}, "containers": [member(memory="max")]}, "unlimited does not fit"),
        ({"cgroup_parent": {"create": True, "cpus": "1"}, "containers": [member(cpus="2")]}, "do not fit"),
        ({"cgroup_parent": {"create": False, "memory": "1g"}}, "need create: true"),
    ],
)
def test_refused_before_any_change(overrides, message):
    with pytest.raises(PodSpecError, match=message):
        build_spec(params(**overrides))


@pytest.mark.parametrize(
    ("text", "key", "binding"),
    [("8080:80", "80/tcp", ("", "8080")), ("127.0.0.1:8080:80/udp", "80/udp", ("127.0.0.1", "8080")), ("80", "80/tcp", ("", ""))],
)
def test_ports(text, key, binding):
    port = build_spec(params(ports=[text])).ports[0]
    assert (f"{port.container_port}/{port.proto}", (port.host_ip, port.host_port)) == (key, binding)


def test_cgroup_parent_can_be_the_users_or_none():
    assert build_spec(params(cgroup_parent={"create": False, "name": "my.slice"})).cgroup_name == "my.slice"
    assert build_spec(params(cgroup_parent={"create": False, "name": None})).cgroup_name is None
