# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import pytest

from ansible_collections.podlab.playground.plugins.module_utils._docker import DEFAULT_DOCKER_HOST, DockerUnavailable, docker_host


@pytest.mark.parametrize("url", ["unix:///var/run/docker.sock", "http+unix:///var/run/docker.sock", "tcp://127.0.0.1:2375",
                                 "tcp://[::1]:2376", "https://docker.test:2376", "ssh://me@docker.test"])
def test_urls_the_sdk_reads_pass(url):
    assert docker_host(url) == url


def test_the_option_then_the_environment_then_the_local_socket(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:2375")
    assert docker_host(None) == "tcp://127.0.0.1:2375"
    monkeypatch.delenv("DOCKER_HOST")
    assert docker_host(None) == DEFAULT_DOCKER_HOST


@pytest.mark.parametrize(("url", "says"), [
    ("tcp://[bad", "is not a URL"),
    ("tcp://localhost:99999", "is not a URL"),
    ("tcp://localhost:port", "is not a URL"),
    ("ftp://x", "no scheme the Docker SDK knows"),
    ("/var/run/docker.sock", "no scheme the Docker SDK knows"),
    ("unix://", "names no socket path"),
    ("http+unix://", "names no socket path"),
    ("tcp://:2375", "names no host"),
])
def test_malformed_urls_are_refused_with_what_to_give(url, says):
    with pytest.raises(DockerUnavailable) as refused:
        docker_host(url)
    assert says in str(refused.value)
    assert "give docker_host as unix:///PATH" in str(refused.value)
