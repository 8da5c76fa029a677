# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: ns_facts' reads of the Docker daemon, in batches. Not a public API.

A run makes one list and one inspect per container. Over one kept-alive connection
(_docker.LocalEngine) each inspect waits for the answer to the one before; here the GET requests of
a batch are written at once, spread over a few connections to the local daemon's Unix socket
(HTTP/1.1 pipelining: the daemon's Go server answers them in order on each connection), and each
answer is handed to the caller as soon as it is complete, so that the caller reads /proc for one
container while the daemon answers the next (bench/ns_facts.py). Standard library only.
A daemon that is not local (tcp://, ssh://, the SDK's http+unix://) is read through DockerClient,
one call at a time.
"""
from __future__ import annotations

import contextlib
import json
import selectors
import socket
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple
from urllib.parse import quote

from ansible_collections.podlab.playground.plugins.module_utils._docker import (
    DockerClient,
    DockerUnavailable,
    EngineAPIError,
    LocalEngine,
    unix_socket,
)

CONNECTIONS = 2  # two cores on the measuring machine; more connections did not answer sooner
# Requests written ahead on one connection, at most: far below what the socket buffers hold, so that writing
# never waits for the daemon while it waits for this process to read its answers.
IN_FLIGHT = 256


class Read(NamedTuple):
    """One read of a batch: ('list', LABEL) for the summaries of the containers carrying a label, ('inspect', REF)."""

    kind: str
    ref: str


def list_read(label: str) -> Read:
    return Read("list", label)


def inspect_read(ref: str) -> Read:
    return Read("inspect", ref)


def path_of(read: Read) -> str:
    """The Engine API path of a read, as LocalEngine writes it (no API version: the daemon answers in its own)."""
    if read.kind == "list":
        filters = quote(json.dumps({"label": [read.ref]}, separators=(",", ":")))
        return f"/containers/json?all=1&filters={filters}"
    return f"/containers/{quote(read.ref, safe='')}/json"


class Response(NamedTuple):
    status: int
    body: bytes
    close: bool  # the server said Connection: close; it answers nothing more on this connection


def _chunked_body(buffer: bytearray, start: int) -> tuple[bytes, int] | None:
    """A chunked body that starts at buffer[start:]: (body, index after it), or None while it is incomplete."""
    parts: list[bytes] = []
    pos = start
    while True:
        line_end = buffer.find(b"\r\n", pos)
        if line_end < 0:
            return None
        size = int(bytes(buffer[pos:line_end]).split(b";", 1)[0], 16)
        if size == 0:
            # no trailers from the daemon: the last chunk is followed by an empty line
            trailer_end = buffer.find(b"\r\n", line_end + 2)
            if trailer_end < 0:
                return None
            return b"".join(parts), trailer_end + 2
        data_end = line_end + 2 + size
        if len(buffer) < data_end + 2:
            return None
        parts.append(bytes(buffer[line_end + 2:data_end]))
        pos = data_end + 2


def take_response(buffer: bytearray) -> Response | None:
    """The first complete HTTP/1.1 response in buffer, removed from it; None (buffer untouched) while it is incomplete.

    The daemon answers a GET with Content-Length or with a chunked body; a 1xx has no body and is skipped,
    as are the 204 and 304 bodies HTTP says are empty. A malformed response raises ValueError."""
    while True:
        head_end = buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return None
        lines = bytes(buffer[:head_end]).decode("latin-1").split("\r\n")
        version, _space, rest = lines[0].partition(" ")
        if not version.startswith("HTTP/1."):
            raise ValueError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
        status = int(rest.split(" ", 1)[0])
        headers = {}
        for line in lines[1:]:
            name, _colon, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        start = head_end + 4
        if 100 <= status < 200:
            del buffer[:start]
            continue
        close = headers.get("connection", "").lower() == "close"
        if status in (204, 304):
            del buffer[:start]
            return Response(status, b"", close)
        if "chunked" in headers.get("transfer-encoding", "").lower():
            found = _chunked_body(buffer, start)
            if found is None:
                return None
            body, end = found
        elif "content-length" in headers:
            end = start + int(headers["content-length"])
            if len(buffer) < end:
                return None
            body = bytes(buffer[start:end])
        else:
            raise ValueError(f"HTTP {status} with neither Content-Length nor a chunked body")
        del buffer[:end]
        return Response(status, body, close)


def decoded(read: Read, response: Response) -> Any:
    """The JSON of an answer; None for 404 (no such container); an error status raises EngineAPIError, as LocalEngine's does."""
    if response.status == 404:
        return None
    if response.status >= 400:
        message = response.body.decode("utf-8", "replace").strip()
        with contextlib.suppress(ValueError, AttributeError):
            message = json.loads(message).get("message", message)
        raise EngineAPIError(f"GET {path_of(read).split('?', 1)[0]}: {response.status} {message}")
    value = json.loads(response.body) if response.body else None
    return (value or []) if read.kind == "list" else value


class _Connection:
    """One Unix-socket connection and the reads written on it, not answered yet (in order)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.pending: list[Read] = []
        self.buffer = bytearray()
        self.closed_by_server = False


class PipelinedReader:
    """Batches of GETs to a unix:// daemon over CONNECTIONS connections, kept open for the run's next batch."""

    def __init__(self, base_url: str, timeout: float = 60, connections: int = CONNECTIONS) -> None:
        if not LocalEngine.serves(base_url):
            raise ValueError(f"{base_url}: only unix://PATH is read directly; use DockerClient")
        self.base_url = base_url
        self.timeout = timeout
        self.connections = max(1, connections)
        self._open: list[_Connection] = []

    def _connect(self) -> _Connection:
        return _Connection(unix_socket(self.base_url, self.timeout))

    def _send(self, conn: _Connection, reads: Sequence[Read]) -> None:
        request = "".join(f"GET {path_of(r)} HTTP/1.1\r\nHost: docker\r\nAccept: application/json\r\n\r\n" for r in reads)
        try:
            conn.sock.sendall(request.encode())
        except OSError as exc:
            raise DockerUnavailable(f"cannot reach the Docker daemon at {self.base_url}: {exc.strerror or exc}") from None
        conn.pending.extend(reads)

    def _receive(self, selector: selectors.BaseSelector) -> list[_Connection]:
        """Wait for the daemon; the connections with new bytes (or closed by it)."""
        ready = selector.select(self.timeout)
        if not ready:
            raise DockerUnavailable(f"the Docker daemon at {self.base_url} did not answer within {self.timeout:g} s")
        out = []
        for key, _events in ready:
            conn: _Connection = key.data
            try:
                data = conn.sock.recv(262144)
            except OSError as exc:
                raise DockerUnavailable(f"cannot reach the Docker daemon at {self.base_url}: {exc.strerror or exc}") from None
            if data:
                conn.buffer += data
            else:
                conn.closed_by_server = True
            out.append(conn)
        return out

    def read(self, reads: Sequence[Read]) -> Iterator[tuple[Read, Any]]:
        """(read, decoded answer) for every read, in the order the answers complete; see decoded().
        The requests are all written now, before this returns; the answers are awaited as the iterator is consumed."""
        reads = list(dict.fromkeys(reads))
        if not reads:
            return iter(())
        window = IN_FLIGHT * self.connections
        if len(reads) > window:
            return self._windows(reads, window)
        while len(self._open) < min(self.connections, len(reads)):
            self._open.append(self._connect())
        used = self._open[:min(self.connections, len(reads))]
        try:
            for i, conn in enumerate(used):
                self._send(conn, reads[i::len(used)])
        except DockerUnavailable:
            self.close()
            raise
        return self._answers(used)

    def _windows(self, reads: list[Read], window: int) -> Iterator[tuple[Read, Any]]:
        """A batch larger than the connections take at once, one window after the other (the first written now)."""
        pending = self.read(reads[:window])
        for start in range(window, len(reads) + window, window):
            yield from pending
            pending = self.read(reads[start:start + window])

    def _answers(self, used: list[_Connection]) -> Iterator[tuple[Read, Any]]:
        retried: set[int] = set()
        selector = selectors.DefaultSelector()
        try:
            for conn in used:
                selector.register(conn.sock, selectors.EVENT_READ, conn)
            waiting = len(used)
            while waiting:
                for conn in self._receive(selector):
                    while conn.pending:
                        try:
                            response = take_response(conn.buffer)
                        except ValueError as exc:
                            raise DockerUnavailable(f"the Docker daemon at {self.base_url} sent an answer that is not HTTP/1.1: {exc}") from None
                        if response is None:
                            break
                        read = conn.pending.pop(0)
                        conn.closed_by_server = conn.closed_by_server or response.close
                        yield read, decoded(read, response)
                    if conn.pending and conn.closed_by_server:
                        # the daemon closed the connection with reads unanswered: once more on a new one, as LocalEngine retries
                        if id(conn) in retried:
                            raise DockerUnavailable(f"the Docker daemon at {self.base_url} closed the connection twice")
                        fresh = self._replace(selector, conn)
                        retried.add(id(fresh))
                        self._send(fresh, conn.pending)
                        conn.pending = []
                        continue
                    if not conn.pending:
                        selector.unregister(conn.sock)
                        waiting -= 1
                        if conn.closed_by_server:
                            self._drop(conn)
        except BaseException:
            # the caller stopped reading, or a read failed: what is still on the wire is of no use to the next batch
            self.close()
            raise
        finally:
            selector.close()

    def _replace(self, selector: selectors.BaseSelector, conn: _Connection) -> _Connection:
        selector.unregister(conn.sock)
        self._drop(conn)
        fresh = self._connect()
        self._open.append(fresh)
        selector.register(fresh.sock, selectors.EVENT_READ, fresh)
        return fresh

    def _drop(self, conn: _Connection) -> None:
        conn.sock.close()
        if conn in self._open:
            self._open.remove(conn)

    def close(self) -> None:
        for conn in self._open:
            conn.sock.close()
        self._open = []


class DockerReads:
    """The batches of a run: pipelined for the local daemon, through DockerClient (one call at a time) for any other."""

    def __init__(self, base_url: str, timeout: float = 60) -> None:
        self.base_url = base_url
        self._pipelined = PipelinedReader(base_url, timeout) if LocalEngine.serves(base_url) else None
        self._client = None if self._pipelined else DockerClient(base_url, int(timeout))

    def read(self, reads: Sequence[Read]) -> Iterator[tuple[Read, Any]]:
        """(read, answer): a list's summaries, or a container's inspect (None: no such container). The local daemon
        has all the requests when this returns; any other is asked one call at a time as the iterator is consumed."""
        if self._pipelined is not None:
            return self._pipelined.read(reads)
        return self._one_by_one(reads)

    def _one_by_one(self, reads: Sequence[Read]) -> Iterator[tuple[Read, Any]]:
        client = self._client
        if client is None:  # not reached: one of the two is set
            return
        for read in dict.fromkeys(reads):
            yield read, (client.containers_with_label(read.ref) if read.kind == "list" else client.inspect(read.ref))

    def close(self) -> None:
        if self._pipelined is not None:
            self._pipelined.close()
        if self._client is not None:
            self._client.close()
