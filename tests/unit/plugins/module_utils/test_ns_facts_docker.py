"""ns_facts' pipelined Docker reads: HTTP/1.1 answers taken one by one from what the socket gave so far, and what they mean."""
from __future__ import annotations

import json

import pytest

from ansible_collections.podlab.playground.plugins.module_utils._docker import EngineAPIError
from ansible_collections.podlab.playground.plugins.module_utils._ns_facts_docker import (
    PipelinedReader,
    Response,
    decoded,
    inspect_read,
    list_read,
    path_of,
    take_response,
)

INSPECT = json.dumps({"Id": "abc", "Name": "/foo_app", "State": {"Pid": 42}}).encode()
HEAD = b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: application/json\r\nServer: Docker/20.10.24 (linux)\r\n"


def chunked(body: bytes, size: int) -> bytes:
    parts = [body[i:i + size] for i in range(0, len(body), size)]
    return HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


def sized(body: bytes, status: bytes = b"200 OK", extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n" + extra + b"Content-Length: %d\r\n\r\n" % len(body) + body


@pytest.mark.parametrize("wire", [chunked(INSPECT, 7), chunked(INSPECT, 4096), sized(INSPECT)], ids=["chunks", "one-chunk", "content-length"])
def test_an_answer_is_taken_whole_and_only_when_it_is_all_there(wire):
    buffer = bytearray()
    for i in range(len(wire)):  # byte by byte, as a slow socket might give it
        assert take_response(buffer) is None
        buffer += wire[i:i + 1]
    assert take_response(buffer) == Response(200, INSPECT, False)
    assert buffer == bytearray()


def test_pipelined_answers_come_out_in_order_and_leave_the_rest():
    second = json.dumps({"Id": "def"}).encode()
    buffer = bytearray(chunked(INSPECT, 100) + sized(second) + chunked(b"[]", 10)[:20])
    assert take_response(buffer).body == INSPECT
    assert take_response(buffer).body == second
    assert take_response(buffer) is None  # the third is not all there yet
    assert bytes(buffer) == chunked(b"[]", 10)[:20]


def test_an_interim_answer_is_skipped_and_connection_close_is_seen():
    buffer = bytearray(b"HTTP/1.1 100 Continue\r\n\r\n" + sized(INSPECT, extra=b"Connection: close\r\n"))
    assert take_response(buffer) == Response(200, INSPECT, True)


@pytest.mark.parametrize("wire", [b"SSH-2.0-OpenSSH\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{}"])
def test_what_is_not_an_http_answer_with_a_length_is_refused(wire):
    with pytest.raises(ValueError):
        take_response(bytearray(wire))


def test_404_is_no_such_container_and_an_error_status_says_the_daemons_message():
    assert decoded(inspect_read("gone"), Response(404, b'{"message":"No such container: gone"}', False)) is None
    with pytest.raises(EngineAPIError, match=r"GET /containers/x/json: 500 something broke"):
        decoded(inspect_read("x"), Response(500, b'{"message":"something broke"}', False))
    assert decoded(list_read("podlab.pod"), Response(200, b"null", False)) == []
    assert decoded(inspect_read("abc"), Response(200, INSPECT, False))["State"]["Pid"] == 42


def test_paths_are_the_ones_localengine_asks_for():
    assert path_of(inspect_read("foo_app")) == "/containers/foo_app/json"
    assert path_of(inspect_read("a/../b")) == "/containers/a%2F..%2Fb/json"
    assert path_of(list_read("podlab.pod=foo")) == "/containers/json?all=1&filters=%7B%22label%22%3A%5B%22podlab.pod%3Dfoo%22%5D%7D"


def test_only_a_local_socket_is_pipelined():
    with pytest.raises(ValueError, match="only unix://"):
        PipelinedReader("tcp://127.0.0.1:2375")
