# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: the Docker SDK behind a small client. Not a public API.

Differences between SDK versions (5.0.3 in Debian bookworm ... 7.x on PyPI)
are handled here and nowhere else.
"""
from __future__ import annotations

import os
import traceback

try:
    import docker
    from docker.errors import DockerException

    HAS_DOCKER_SDK = True
    DOCKER_SDK_IMPORT_ERROR = None
    DOCKER_SDK_VERSION = getattr(docker, "__version__", "unknown")
except ImportError:
    HAS_DOCKER_SDK = False
    DOCKER_SDK_IMPORT_ERROR = traceback.format_exc()
    DOCKER_SDK_VERSION = None

    class DockerException(Exception):  # type: ignore[no-redef]
        """Stands in when the SDK is missing, so except clauses stay valid."""


DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"


class DockerUnavailable(Exception):
    """The daemon cannot be reached; the message says where we looked."""


def docker_host(param: str | None) -> str:
    return param or os.environ.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST


class DockerClient:
    """The few calls the collection makes, on the low-level APIClient (same in SDK 5.0.3 and 7.x)."""

    def __init__(self, base_url: str, timeout: int = 60) -> None:
        if not HAS_DOCKER_SDK:
            raise DockerUnavailable("the Docker SDK for Python is not installed on the managed host (apt-get install python3-docker, or pip install docker)")
        self.base_url = base_url
        try:
            self.api = docker.APIClient(base_url=base_url, version="auto", timeout=timeout)
        except DockerException as exc:
            raise DockerUnavailable(f"cannot reach the Docker daemon at {base_url}: {exc}; start it (systemctl start docker) or set docker_host") from None

    def info(self) -> dict:
        try:
            return self.api.info()
        except DockerException as exc:
            raise DockerUnavailable(f"Docker daemon at {self.base_url} did not answer: {exc}") from None


def daemon_cgroup_driver(base_url: str, timeout: int = 10) -> tuple[str | None, str]:
    """(driver, note): the daemon's CgroupDriver, or None with the reason it is unknown."""
    try:
        info = DockerClient(base_url, timeout).info()
    except DockerUnavailable as exc:
        return None, str(exc)
    return info.get("CgroupDriver"), f"read from the Docker daemon at {base_url}"
