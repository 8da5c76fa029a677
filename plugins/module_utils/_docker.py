# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: the Docker Engine API behind a small client. Not a public API.

Reads of the local daemon go over one kept-alive Unix-socket connection with the standard
library (LocalEngine); writes, and every call to a tcp:// or ssh:// daemon, go through the
Docker SDK, imported only when a run needs it. Differences between SDK versions (5.0.3 in
Debian bookworm ... 7.x on PyPI) are handled here and nowhere else.
"""
from __future__ import annotations

import contextlib
import functools
import http.client
import importlib
import json
import os
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
SDK_MISSING = (
    "the Docker SDK for Python is not installed on the managed host; it is needed to make changes and to reach a "
    "tcp:// or ssh:// daemon (apt-get install python3-docker, or pip install docker)"
)


class DockerException(Exception):
    """An Engine API call failed. The SDK's own errors are translated into this one, so no
    caller imports the SDK."""


class NotFound(DockerException):
    """The object an Engine API call named does not exist."""


class EngineAPIError(DockerException):
    """The Engine API answered a read with an error status."""


class DockerUnavailable(Exception):
    """The daemon cannot be reached, or a call needs the SDK and it is missing; the message says what to do."""


@functools.cache
def load_sdk() -> Any:
    """The docker package, imported on first use: the import costs about 90 ms, and a run that
    only reads the local daemon (a docker_pod with nothing to change, ns_facts) never needs it."""
    try:
        return importlib.import_module("docker")
    except ImportError:
        raise DockerUnavailable(SDK_MISSING) from None


DOCKER_HOST_SCHEMES = ("unix", "http+unix", "tcp", "http", "https", "ssh")
_SOCKET_SCHEMES = ("unix", "http+unix")  # a path, no host


def docker_host(param: str | None) -> str:
    """The daemon's URL (the option, else DOCKER_HOST, else the local socket), checked as the SDK would read it,
    so that a malformed one is refused with a message rather than an exception from deep in the SDK."""
    url = param or os.environ.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST
    hint = "give docker_host as unix:///PATH, tcp://HOST:PORT or ssh://USER@HOST"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is the check: it raises for one out of range or not a number
    except ValueError as exc:
        raise DockerUnavailable(f"docker_host {url!r} is not a URL the Docker SDK can use ({exc}); {hint}") from None
    if parts.scheme not in DOCKER_HOST_SCHEMES:
        raise DockerUnavailable(f"docker_host {url!r} has no scheme the Docker SDK knows ({', '.join(DOCKER_HOST_SCHEMES)}); {hint}")
    if parts.scheme in _SOCKET_SCHEMES and not parts.path:
        raise DockerUnavailable(f"docker_host {url!r} names no socket path; {hint}")
    if parts.scheme not in _SOCKET_SCHEMES and not parts.hostname:
        raise DockerUnavailable(f"docker_host {url!r} names no host; {hint}")
    return url


class DockerClient:
    """The few calls the collection makes. Reads of a unix:// daemon go through LocalEngine;
    writes (and a tcp/ssh daemon's reads) through the SDK's low-level APIClient, the same in
    SDK 5.0.3 and 7.x, made on the first call that needs it."""

    def __init__(self, base_url: str, timeout: int = 60) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self._reader = LocalEngine(base_url, timeout) if LocalEngine.serves(base_url) else None
        self._api: Any = None

    @property
    def api(self) -> Any:
        if self._api is None:
            sdk = load_sdk()
            try:
                self._api = sdk.APIClient(base_url=self.base_url, version="auto", timeout=self.timeout)
            except sdk.errors.DockerException as exc:
                raise DockerUnavailable(
                    f"cannot reach the Docker daemon at {self.base_url}: {exc}; start it (systemctl start docker) or set docker_host"
                ) from None
        return self._api

    def require_sdk(self) -> None:
        """Fail now, before any change, when the calls to come need the SDK and it is missing."""
        load_sdk()

    @contextlib.contextmanager
    def _sdk_errors(self) -> Iterator[None]:
        errors = load_sdk().errors
        try:
            yield
        except errors.NotFound as exc:
            raise NotFound(str(exc)) from exc
        except errors.DockerException as exc:
            raise DockerException(str(exc)) from exc

    def info(self) -> dict:
        if self._reader:
            return self._reader.info()
        try:
            with self._sdk_errors():
                return self.api.info()
        except DockerException as exc:
            raise DockerUnavailable(f"Docker daemon at {self.base_url} did not answer: {exc}") from None

    def close(self) -> None:
        if self._reader:
            self._reader.close()
        if self._api is not None:
            self._api.close()

    # -- containers ----------------------------------------------------------

    def containers_with_label(self, label: str) -> list[dict]:
        """Summaries (not inspected) of every container carrying the label (KEY or KEY=VALUE); one list call."""
        if self._reader:
            return self._reader.containers_with_label(label)
        with self._sdk_errors():
            return self.api.containers(all=True, filters={"label": label})

    def containers_by_label(self, label: str) -> list[dict]:
        """Every container (running or not) carrying the label, inspected: one list call, then one inspect each."""
        return [c for c in (self.inspect(s["Id"]) for s in self.containers_with_label(label)) if c is not None]

    def inspect(self, container: str) -> dict | None:
        if self._reader:
            return self._reader.inspect(container)
        try:
            with self._sdk_errors():
                return self.api.inspect_container(container)
        except NotFound:
            return None

    def create(self, name: str, image: str, labels: dict[str, str], host_config: dict[str, Any], **config: Any) -> str:
        with self._sdk_errors():
            created = self.api.create_container(image=image, name=name, labels=labels, host_config=host_config, **config)
        return created["Id"]

    def host_config(self, **kwargs: Any) -> dict[str, Any]:
        with self._sdk_errors():
            return self.api.create_host_config(**kwargs)

    def start(self, container: str) -> None:
        with self._sdk_errors():
            self.api.start(container)

    def stop(self, container: str, timeout: int) -> None:
        with self._sdk_errors():
            self.api.stop(container, timeout=timeout)

    def remove(self, container: str) -> None:
        with contextlib.suppress(NotFound), self._sdk_errors():
            self.api.remove_container(container, force=True, v=False)

    def wait(self, container: str, timeout: int) -> int:
        """Wait for the container to exit; its exit code."""
        with self._sdk_errors():
            result = self.api.wait(container, timeout=timeout)
        # SDK 3+ returns {"StatusCode": n}; older ones returned the int.
        return result["StatusCode"] if isinstance(result, dict) else int(result)

    def logs_tail(self, container: str, lines: int = 20) -> str:
        with self._sdk_errors():
            return self.api.logs(container, stdout=True, stderr=True, tail=lines).decode("utf-8", "replace")

    def update_limits(self, container: str, update: dict[str, Any]) -> None:
        """POST /containers/{id}/update with the API's own field names (NanoCpus and
        PidsLimit are not exposed by update_container() in every SDK version)."""
        with self._sdk_errors():
            url = self.api._url("/containers/{0}/update", container)
            self.api._raise_for_status(self.api._post_json(url, data=update))

    # -- images --------------------------------------------------------------

    def image(self, image: str) -> dict | None:
        """docker image inspect, or None when there is no such image."""
        if self._reader:
            return self._reader.image(image)
        try:
            with self._sdk_errors():
                return self.api.inspect_image(image)
        except NotFound:
            return None

    def image_id(self, image: str) -> str | None:
        inspected = self.image(image)
        return inspected["Id"] if inspected else None

    def pull(self, image: str) -> str | None:
        # The tag follows the last ':' after the last '/' (a registry host may have a port).
        if ":" in image.rsplit("/", 1)[-1]:
            repository, tag = image.rsplit(":", 1)
        else:
            repository, tag = image, "latest"
        with self._sdk_errors():
            self.api.pull(repository, tag=tag)
        return self.image_id(image)

    # -- volumes -------------------------------------------------------------

    def volumes_by_label(self, label: str) -> list[dict]:
        if self._reader:
            return self._reader.volumes_with_label(label)
        with self._sdk_errors():
            return self.api.volumes(filters={"label": label}).get("Volumes") or []

    def create_volume(self, name: str, labels: dict[str, str]) -> None:
        with self._sdk_errors():
            self.api.create_volume(name=name, labels=labels)

    def remove_volume(self, name: str) -> None:
        with contextlib.suppress(NotFound), self._sdk_errors():
            self.api.remove_volume(name)


class LocalEngine:
    """Read-only Engine API calls over one kept-alive connection, standard library only.

    The SDK's Unix-socket adapter keeps a connection pool per request URL, so every
    inspect opens a new connection (bench/ns_facts.py: a list and 50 inspects take
    40 ms through the SDK, 16 ms over one connection). Readers that make many calls to the
    local daemon (ns_facts) use this; tcp (maybe TLS) and ssh go through the SDK.
    Paths carry no API version: the daemon answers in its own, and the fields read
    here are the same in every version since 1.41.
    """

    def __init__(self, base_url: str, timeout: float = 60) -> None:
        if not self.serves(base_url):
            raise ValueError(f"{base_url}: only unix://PATH is read directly; use DockerClient")
        self.base_url = base_url
        self._socket_path = urlsplit(base_url).path
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    @staticmethod
    def serves(base_url: str) -> bool:
        """The local daemon's Unix socket; tcp (maybe TLS) and ssh go through the SDK."""
        return urlsplit(base_url).scheme == "unix"

    def _connect(self) -> http.client.HTTPConnection:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._socket_path)
        except OSError as exc:
            sock.close()
            raise DockerUnavailable(
                f"cannot reach the Docker daemon at {self.base_url}: {exc.strerror or exc}; "
                "start it (systemctl start docker) or set docker_host"
            ) from None
        conn = http.client.HTTPConnection("localhost", timeout=self.timeout)
        conn.sock = sock  # http.client sends over a socket it is given and only connects when it has none
        return conn

    def get(self, path: str) -> Any:
        """GET path; the decoded JSON, or None for 404. One retry on a connection the daemon closed."""
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = self._connect()
            try:
                self._conn.request("GET", path, headers={"Accept": "application/json"})
                response = self._conn.getresponse()
                body = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt == 2:
                    raise DockerUnavailable(f"the Docker daemon at {self.base_url} closed the connection twice") from None
                continue
            except OSError as exc:
                self.close()
                raise DockerUnavailable(f"cannot reach the Docker daemon at {self.base_url}: {exc}") from None
            if response.status == 404:
                return None
            if response.status >= 400:
                message = body.decode("utf-8", "replace").strip()
                with contextlib.suppress(ValueError, AttributeError):
                    message = json.loads(message).get("message", message)
                raise EngineAPIError(f"GET {path}: {response.status} {message}")
            return json.loads(body)
        return None  # not reached: the loop returns or raises

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def containers_with_label(self, label: str) -> list[dict]:
        """Summaries of every container (running or not) carrying the label (KEY or KEY=VALUE)."""
        filters = quote(json.dumps({"label": [label]}, separators=(",", ":")))
        return self.get(f"/containers/json?all=1&filters={filters}") or []

    def inspect(self, container: str) -> dict | None:
        return self.get(f"/containers/{quote(container, safe='')}/json")

    def info(self) -> dict:
        return self.get("/info") or {}

    def image(self, image: str) -> dict | None:
        """docker image inspect; None when there is no such image. The name keeps its '/' and ':'
        (the daemon routes /images/{name:.*}/json), everything else is escaped."""
        return self.get(f"/images/{quote(image, safe='/:@')}/json")

    def volumes_with_label(self, label: str) -> list[dict]:
        filters = quote(json.dumps({"label": [label]}, separators=(",", ":")))
        return (self.get(f"/volumes?filters={filters}") or {}).get("Volumes") or []


def daemon_cgroup_driver(base_url: str, timeout: int = 10) -> tuple[str | None, str]:
    """(driver, note): the daemon's CgroupDriver, or None with the reason it is unknown."""
    client = DockerClient(base_url, timeout)
    try:
        info = client.info()
    except (DockerUnavailable, DockerException) as exc:
        return None, str(exc)
    finally:
        client.close()
    return info.get("CgroupDriver"), f"read from the Docker daemon at {base_url}"
