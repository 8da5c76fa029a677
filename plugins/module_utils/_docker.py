# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: the Docker SDK behind a small client. Not a public API.

Differences between SDK versions (5.0.3 in Debian bookworm ... 7.x on PyPI)
are handled here and nowhere else.
"""
from __future__ import annotations

import contextlib
import os
import traceback
from typing import Any

try:
    import docker
    from docker.errors import APIError, DockerException, NotFound

    HAS_DOCKER_SDK = True
    DOCKER_SDK_IMPORT_ERROR = None
    DOCKER_SDK_VERSION = getattr(docker, "__version__", "unknown")
except ImportError:
    HAS_DOCKER_SDK = False
    DOCKER_SDK_IMPORT_ERROR = traceback.format_exc()
    DOCKER_SDK_VERSION = None

    class DockerException(Exception):  # type: ignore[no-redef]
        """Stands in when the SDK is missing, so except clauses stay valid."""

    class APIError(DockerException):  # type: ignore[no-redef]
        """Stands in when the SDK is missing."""

    class NotFound(APIError):  # type: ignore[no-redef]
        """Stands in when the SDK is missing."""


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

    # -- containers ----------------------------------------------------------

    def containers_by_label(self, label: str) -> list[dict]:
        """Every container (running or not) carrying label=value, inspected; one list call."""
        summaries = self.api.containers(all=True, filters={"label": label})
        return [c for c in (self.inspect(s["Id"]) for s in summaries) if c is not None]

    def inspect(self, container: str) -> dict | None:
        try:
            return self.api.inspect_container(container)
        except NotFound:
            return None

    def create(self, name: str, image: str, labels: dict[str, str], host_config: dict[str, Any], **config: Any) -> str:
        created = self.api.create_container(image=image, name=name, labels=labels, host_config=host_config, **config)
        return created["Id"]

    def host_config(self, **kwargs: Any) -> dict[str, Any]:
        return self.api.create_host_config(**kwargs)

    def start(self, container: str) -> None:
        self.api.start(container)

    def stop(self, container: str, timeout: int) -> None:
        self.api.stop(container, timeout=timeout)

    def remove(self, container: str) -> None:
        with contextlib.suppress(NotFound):
            self.api.remove_container(container, force=True, v=False)

    def wait(self, container: str, timeout: int) -> int:
        """Wait for the container to exit; its exit code."""
        result = self.api.wait(container, timeout=timeout)
        # SDK 3+ returns {"StatusCode": n}; older ones returned the int.
        return result["StatusCode"] if isinstance(result, dict) else int(result)

    def logs_tail(self, container: str, lines: int = 20) -> str:
        return self.api.logs(container, stdout=True, stderr=True, tail=lines).decode("utf-8", "replace")

    def update_limits(self, container: str, update: dict[str, Any]) -> None:
        """POST /containers/{id}/update with the API's own field names (NanoCpus and
        PidsLimit are not exposed by update_container() in every SDK version)."""
        url = self.api._url("/containers/{0}/update", container)
        self.api._raise_for_status(self.api._post_json(url, data=update))

    # -- images --------------------------------------------------------------

    def image_id(self, image: str) -> str | None:
        try:
            return self.api.inspect_image(image)["Id"]
        except NotFound:
            return None

    def pull(self, image: str) -> str | None:
        # The tag follows the last ':' after the last '/' (a registry host may have a port).
        if ":" in image.rsplit("/", 1)[-1]:
            repository, tag = image.rsplit(":", 1)
        else:
            repository, tag = image, "latest"
        self.api.pull(repository, tag=tag)
        return self.image_id(image)

    # -- volumes -------------------------------------------------------------

    def volumes_by_label(self, label: str) -> list[dict]:
        return self.api.volumes(filters={"label": label}).get("Volumes") or []

    def create_volume(self, name: str, labels: dict[str, str]) -> None:
        self.api.create_volume(name=name, labels=labels)

    def remove_volume(self, name: str) -> None:
        with contextlib.suppress(NotFound):
            self.api.remove_volume(name)


def daemon_cgroup_driver(base_url: str, timeout: int = 10) -> tuple[str | None, str]:
    """(driver, note): the daemon's CgroupDriver, or None with the reason it is unknown."""
    try:
        info = DockerClient(base_url, timeout).info()
    except DockerUnavailable as exc:
        return None, str(exc)
    return info.get("CgroupDriver"), f"read from the Docker daemon at {base_url}"
