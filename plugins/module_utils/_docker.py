# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: the Docker Engine API behind a small client. Not a public API.

Calls to the local daemon go over kept-alive Unix-socket connections with the standard
library (LocalEngine), the request bodies of writes made by the Docker SDK; the SDK makes
every call to a tcp:// or ssh:// daemon, and the rare ones (pull, wait, logs, update), and is
imported only when a run needs it. Differences between SDK versions (5.0.3 in
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
import threading
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
    """The few calls the collection makes. A unix:// daemon's reads and the pod engine's writes go through LocalEngine,
    with bodies the SDK's low-level APIClient makes; a tcp/ssh daemon's calls, and pull, wait, logs and update, through
    that APIClient (the same in SDK 5.0.3 and 7.x), made on the first call that needs it."""

    def __init__(self, base_url: str, timeout: int = 60) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self._reader = LocalEngine(base_url, timeout) if LocalEngine.serves(base_url) else None
        self._api: Any = None
        self._api_lock = threading.Lock()  # the pod engine's concurrent steps share one APIClient, made once

    @property
    def api(self) -> Any:
        with self._api_lock:
            if self._api is None:
                self._api = self._make_api()
        return self._api

    def _make_api(self) -> Any:
        sdk = load_sdk()
        # The local daemon's API version, as its answers so far gave it (else asked over the kept-alive connection); for
        # another daemon the SDK asks for it itself.
        version = (self._reader.api_version or self._reader.version().get("ApiVersion") if self._reader else None) or "auto"
        try:
            return sdk.APIClient(base_url=self.base_url, version=version, timeout=self.timeout)
        except sdk.errors.DockerException as exc:
            raise DockerUnavailable(
                f"cannot reach the Docker daemon at {self.base_url}: {exc}; start it (systemctl start docker) or set docker_host"
            ) from None

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
        if self._reader:
            body = self._container_config(image, labels, host_config, config)
            return self._reader.write("POST", f"/containers/create?name={quote(name, safe='')}", body)["Id"]
        with self._sdk_errors():
            created = self.api.create_container(image=image, name=name, labels=labels, host_config=host_config, **config)
        return created["Id"]

    def _container_config(self, image: str, labels: dict[str, str], host_config: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
        """The body of POST /containers/create, made by the SDK as its create_container() makes it (its proxy settings
        from ~/.docker/config.json included), without the keys it would leave out (None)."""
        api, config = self.api, dict(config)
        environment = config.pop("environment", None)
        if isinstance(environment, dict):
            environment = load_sdk().utils.format_environment(environment)
        proxies = getattr(api, "_proxy_configs", None)
        if proxies is not None:
            environment = proxies.inject_proxy_environment(environment) or None
        with self._sdk_errors():
            body = api.create_container_config(image=image, command=config.pop("command", None), labels=labels, host_config=host_config,
                                               environment=environment, **config)
        return {key: value for key, value in body.items() if value is not None}

    def host_config(self, **kwargs: Any) -> dict[str, Any]:
        with self._sdk_errors():
            return self.api.create_host_config(**kwargs)

    def start(self, container: str) -> None:
        if self._reader:
            self._reader.write("POST", f"/containers/{quote(container, safe='')}/start")
            return
        with self._sdk_errors():
            self.api.start(container)

    def stop(self, container: str, timeout: int) -> None:
        if self._reader:
            self._reader.write("POST", f"/containers/{quote(container, safe='')}/stop?t={int(timeout)}", timeout=self.timeout + timeout)
            return
        with self._sdk_errors():
            self.api.stop(container, timeout=timeout)

    def remove(self, container: str) -> None:
        if self._reader:
            with contextlib.suppress(NotFound):
                self._reader.write("DELETE", f"/containers/{quote(container, safe='')}?force=1&v=0")
            return
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
        if self._reader:
            self._reader.write("POST", "/volumes/create", {"Name": name, "Labels": labels})
            return
        with self._sdk_errors():
            self.api.create_volume(name=name, labels=labels)

    def remove_volume(self, name: str) -> None:
        if self._reader:
            with contextlib.suppress(NotFound):
                self._reader.write("DELETE", f"/volumes/{quote(name, safe='')}")
            return
        with contextlib.suppress(NotFound), self._sdk_errors():
            self.api.remove_volume(name)


def unix_socket(base_url: str, timeout: float) -> socket.socket:
    """A connected socket to a unix:// daemon (LocalEngine, ns_facts' PipelinedReader); DockerUnavailable saying what to
    do when nothing answers there."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(urlsplit(base_url).path)
    except OSError as exc:
        sock.close()
        raise DockerUnavailable(
            f"cannot reach the Docker daemon at {base_url}: {exc.strerror or exc}; start it (systemctl start docker) or set docker_host"
        ) from None
    return sock


class LocalEngine:
    """Engine API calls to the local daemon over kept-alive Unix-socket connections, one per thread, standard library only.

    The SDK's Unix-socket adapter keeps a connection pool per request URL, so every inspect, and
    every write naming a container, opens a new connection (bench/ns_facts.py: a list and 50
    inspects take 40 ms through the SDK, 16 ms over one connection; bench/pod_create.py has the
    writes). The pod engine's concurrent steps each get a connection of their own thread.
    tcp (maybe TLS) and ssh go through the SDK. Paths carry no API version: the daemon answers
    in its own, the version DockerClient builds request bodies for; the fields read here are the
    same in every version since 1.41.
    """

    def __init__(self, base_url: str, timeout: float = 60) -> None:
        if not self.serves(base_url):
            raise ValueError(f"{base_url}: only unix://PATH is read directly; use DockerClient")
        self.base_url = base_url
        self.timeout = timeout
        self._local = threading.local()
        self._open: list[http.client.HTTPConnection] = []  # every thread's, for close()
        self._open_lock = threading.Lock()
        self.api_version: str | None = None  # the daemon's, from the Api-Version header of any answer

    @staticmethod
    def serves(base_url: str) -> bool:
        """The local daemon's Unix socket; tcp (maybe TLS) and ssh go through the SDK."""
        return urlsplit(base_url).scheme == "unix"

    def _connect(self) -> http.client.HTTPConnection:
        sock = unix_socket(self.base_url, self.timeout)
        conn = http.client.HTTPConnection("localhost", timeout=self.timeout)
        conn.sock = sock  # http.client sends over a socket it is given and only connects when it has none
        with self._open_lock:
            self._open.append(conn)
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()
            with self._open_lock:
                self._open.remove(conn)

    def _request(self, method: str, path: str, body: dict[str, Any] | None, timeout: float | None) -> tuple[int, bytes]:
        """(status, body). A connection the daemon closed while it was idle is made again once; a request is repeated
        only then, as a daemon closes a kept-alive connection only between requests."""
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Accept": "application/json", **({"Content-Type": "application/json"} if payload is not None else {})}
        for attempt in (1, 2):
            conn = getattr(self._local, "conn", None)
            if conn is not None and conn.sock is None:
                self._drop()  # http.client closed it after an answer that said Connection: close
                conn = None
            reused = conn is not None
            if conn is None:
                conn = self._local.conn = self._connect()
            try:
                conn.sock.settimeout(timeout or self.timeout)
                conn.request(method, path, body=payload, headers=headers)
                response = conn.getresponse()
                data = response.read()
                self.api_version = response.getheader("Api-Version") or self.api_version
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self._drop()
                if attempt == 2 or not reused:
                    raise DockerUnavailable(f"the Docker daemon at {self.base_url} closed the connection") from None
                continue
            except OSError as exc:
                self._drop()
                raise DockerUnavailable(f"cannot reach the Docker daemon at {self.base_url}: {exc}") from None
            return response.status, data
        raise DockerUnavailable(f"the Docker daemon at {self.base_url} closed the connection")  # not reached

    def get(self, path: str) -> Any:
        """GET path; the decoded JSON, or None for 404."""
        status, data = self._request("GET", path, None, None)
        if status == 404:
            return None
        return self._answer("GET", path, status, data)

    def write(self, method: str, path: str, body: dict[str, Any] | None = None, timeout: float | None = None) -> Any:
        """POST or DELETE path; the decoded JSON answer (None when empty). NotFound for 404, EngineAPIError for
        another error status."""
        status, data = self._request(method, path, body, timeout)
        if status == 404:
            raise NotFound(f"{method} {path}: {_message(data)}")
        return self._answer(method, path, status, data)

    @staticmethod
    def _answer(method: str, path: str, status: int, data: bytes) -> Any:
        if status >= 400:
            raise EngineAPIError(f"{method} {path}: {status} {_message(data)}")
        return json.loads(data) if data.strip() else None

    def close(self) -> None:
        with self._open_lock:
            conns, self._open = self._open, []
        for conn in conns:
            conn.close()
        self._local = threading.local()

    def containers_with_label(self, label: str) -> list[dict]:
        """Summaries of every container (running or not) carrying the label (KEY or KEY=VALUE)."""
        filters = quote(json.dumps({"label": [label]}, separators=(",", ":")))
        return self.get(f"/containers/json?all=1&filters={filters}") or []

    def inspect(self, container: str) -> dict | None:
        return self.get(f"/containers/{quote(container, safe='')}/json")

    def info(self) -> dict:
        return self.get("/info") or {}

    def version(self) -> dict:
        return self.get("/version") or {}

    def image(self, image: str) -> dict | None:
        """docker image inspect; None when there is no such image. The name keeps its '/' and ':'
        (the daemon routes /images/{name:.*}/json), everything else is escaped."""
        return self.get(f"/images/{quote(image, safe='/:@')}/json")

    def volumes_with_label(self, label: str) -> list[dict]:
        filters = quote(json.dumps({"label": [label]}, separators=(",", ":")))
        return (self.get(f"/volumes?filters={filters}") or {}).get("Volumes") or []


def _message(data: bytes) -> str:
    """The daemon's error message out of its JSON answer."""
    message = data.decode("utf-8", "replace").strip()
    with contextlib.suppress(ValueError, AttributeError):
        message = json.loads(message).get("message", message)
    return message


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
