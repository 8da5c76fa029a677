"""Inputs the pod spec refuses before any change, each with a message that says what is wrong.

Each case was accepted, or ended in a traceback or a half-made pod, before the spec checked it.
"""
from __future__ import annotations

import pytest

from ansible_collections.podlab.playground.plugins.module_utils._pod.spec import PodSpecError, build_spec

from .test_spec import member, params


@pytest.mark.parametrize(("overrides", "message"), [
    # a name pattern checked with re.match and $ let a trailing newline through
    ({"name": "foo\n"}, r"pod name 'foo\\n'"),
    ({"volumes": ["www\n"]}, r"volume 'www\\n'"),
    ({"containers": [member(name="app\n")]}, r"container 'app\\n'"),
    ({"containers": [member(command={"a": 1})]}, r"command: expected a list of words or a string"),
    ({"containers": [member(command=3)]}, r"command: expected a list of words or a string"),
    ({"containers": [member(command="sh -c 'unclosed")]}, r"cannot be split into words"),
    ({"containers": [member(pids_limit="0")]}, r"pids_limit: must be at least 1"),
    ({"containers": [member(pids_limit="many")]}, r"pids_limit: expected a number"),
    ({"containers": [member(pids_limit="4194305")]}, r"pids_limit: the kernel takes at most 4194304"),
    ({"containers": [member(cpus="inf")]}, r"finite number of CPUs"),
    ({"containers": [member(cpus="nan")]}, r"finite number of CPUs"),
    ({"containers": [member(cpus="1e400")]}, r"finite number of CPUs"),
    ({"ports": ["0:0"]}, r"must be 1 to 65535"),
    ({"ports": ["8080:70000"]}, r"the container port must be 1 to 65535"),
    ({"ports": ["999.999.999.999:8080:80"]}, r"999.999.999.999 is not an IPv4 address"),
    ({"ports": ["8080:80\n"]}, None),  # surrounding space is stripped: accepted as 8080:80
    ({"ports": ["8080:80/tcp\nx"]}, r"is not \[IP:\]"),
    ({"hostname": "a b"}, r"hostname 'a b'"),
    ({"hostname": "-lead"}, r"hostname '-lead'"),
    ({"hostname": "a..b"}, r"hostname 'a..b'"),
    ({"hostname": "host\n"}, r"hostname 'host\\n'"),
    ({"hostname": "a/b"}, r"hostname 'a/b'"),
    ({"hostname": "h\u00e9te"}, r"hostname 'h\u00e9te'"),
    ({"hostname": "x" * 65}, r"RFC 1123"),
    ({"name": "p" * 70}, r"too long for the pod's hostname"),
    ({"labels": {"podlab.pod": "other"}}, r"labels \['podlab.pod'\]: the podlab\.\* labels are the collection's own"),
    ({"labels": {"podlab.spec-hash": "x"}}, r"podlab\.spec-hash"),
    ({"init_timeout": 0}, r"init_timeout: must be at least 1"),
    ({"stop_timeout": -1}, r"stop_timeout: must be at least 0"),
])
def test_refused_with_a_message(overrides, message):
    overrides.setdefault("containers", [member()])
    if message is None:
        assert build_spec(params(**overrides)).ports[0].container_port == 80
        return
    with pytest.raises(PodSpecError, match=message):
        build_spec(params(**overrides))


@pytest.mark.parametrize("name", ["../x", "a/../../b", "x/memory.limit_in_bytes", "x/cgroup.procs", "pod\n", "x/tasks"])
@pytest.mark.parametrize("create", [True, False])
def test_a_cgroup_parent_that_leaves_the_root_or_names_a_control_file_is_refused_whether_made_or_not(name, create):
    cgroup = {"create": create, "name": name, "memory": None, "cpus": None, "pids_max": None, "driver": "auto"}
    with pytest.raises(PodSpecError, match="cgroup_parent: name"):
        build_spec(params(containers=[member()], cgroup_parent=cgroup))


@pytest.mark.parametrize("hostname", ["foo", "foo-1", "a.b.example", "X9", "a" * 63])
def test_rfc_1123_hostnames_are_kept(hostname):
    assert build_spec(params(containers=[member()], hostname=hostname)).hostname == hostname


def test_a_long_pod_name_runs_with_a_hostname_of_its_own():
    spec = build_spec(params(name="p" * 70, hostname="short", containers=[member()]))
    assert spec.hostname == "short"
