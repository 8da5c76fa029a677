# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import pytest

from ansible_collections.podlab.playground.plugins.module_utils._pod.model import (
    ROLE_CONTAINER,
    ROLE_INIT,
    ROLE_SANDBOX,
    container_name,
    volume_name,
)
from ansible_collections.podlab.playground.plugins.module_utils._pod.spec import build_spec


@pytest.mark.parametrize(("role", "member", "name"), [
    (ROLE_SANDBOX, "", "foo_sandbox"),
    (ROLE_CONTAINER, "app", "foo_app"),
    (ROLE_INIT, "page", "foo_init_page"),
])
def test_container_names(role, member, name):
    assert container_name("foo", role, member) == name


def test_the_spec_names_containers_and_volumes_by_the_same_rule():
    params = {
        "name": "foo", "state": "started", "sandbox": {}, "hostname": None, "ports": [], "volumes": ["www"], "labels": {},
        "share_pid": False, "host_network": False, "host_ipc": False, "host_pid": False, "cgroup_parent": None, "pull": "missing",
        "stop_timeout": 10, "init_timeout": 60, "docker_host": None,
        "containers": [{"name": "app", "image": "podlab/busybox:1"}],
        "init_containers": [{"name": "page", "image": "podlab/busybox:1"}],
    }
    spec = build_spec(params)
    assert spec.sandbox_name == container_name("foo", ROLE_SANDBOX)
    assert [m.container_name for m in spec.members] == [container_name("foo", ROLE_CONTAINER, "app")]
    assert [m.container_name for m in spec.inits] == [container_name("foo", ROLE_INIT, "page")]
    assert spec.volume_name("www") == volume_name("foo", "www") == "foo_www"
