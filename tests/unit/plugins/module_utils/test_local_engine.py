# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""LocalEngine's transport: status codes to errors, a connection the daemon closed, one connection per thread.

A small HTTP server on a Unix socket of the test's own answers as the daemon would; what dockerd itself
answers is the integration targets' (docker_pod, ns_facts)."""
from __future__ import annotations

import json
import socketserver
import threading
from http.server import BaseHTTPRequestHandler

import pytest

from ansible_collections.podlab.playground.plugins.module_utils._docker import EngineAPIError, LocalEngine, NotFound


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    connections = 0  # one handler per connection
    close_after_first = False
    served = 0

    def setup(self):
        Handler.connections += 1
        super().setup()

    def log_message(self, *args):  # quiet
        pass

    def answer(self, status, body=None, close=False):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Api-Version", "1.41")
        self.send_header("Content-Length", str(len(data)))
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        if close:
            self.close_connection = True

    def do_GET(self):
        Handler.served += 1
        if self.path == "/missing":
            self.answer(404, {"message": "no such thing"})
        else:
            self.answer(200, {"path": self.path}, close=Handler.close_after_first and Handler.served == 1)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        if self.path.startswith("/containers/create"):
            if body.get("Image") == "taken":
                self.answer(409, {"message": "Conflict. The container name is already in use"})
            else:
                self.answer(201, {"Id": "abc", "got": body})
        elif self.path == "/containers/gone/start":
            self.answer(404, {"message": "No such container: gone"})
        else:
            self.answer(204)

    def do_DELETE(self):
        self.answer(204)


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


@pytest.fixture
def engine(tmp_path):
    Handler.connections, Handler.close_after_first, Handler.served = 0, False, 0
    path = str(tmp_path / "docker.sock")
    server = Server(path, Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    engine = LocalEngine(f"unix://{path}", timeout=5)
    yield engine
    engine.close()
    server.shutdown()
    server.server_close()


def test_writes_send_json_and_return_the_answer(engine):
    assert engine.write("POST", "/containers/create?name=a", {"Image": "x"}) == {"Id": "abc", "got": {"Image": "x"}}
    assert engine.write("POST", "/containers/abc/start") is None  # 204: no body
    assert engine.api_version == "1.41"


def test_a_write_to_nothing_is_not_found_and_a_refusal_says_why(engine):
    with pytest.raises(NotFound, match="No such container: gone"):
        engine.write("POST", "/containers/gone/start")
    with pytest.raises(EngineAPIError, match=r"409 Conflict\. The container name is already in use"):
        engine.write("POST", "/containers/create?name=a", {"Image": "taken"})
    assert engine.get("/missing") is None  # a read of nothing is None


def test_a_connection_the_daemon_closed_is_made_again(engine):
    Handler.close_after_first = True
    assert engine.get("/one") == {"path": "/one"}
    assert engine.get("/two") == {"path": "/two"}
    assert Handler.connections == 2


def test_one_kept_alive_connection_per_thread(engine):
    for _request in range(3):
        engine.get("/main")
    seen = []

    def other():
        for _request in range(3):
            seen.append(engine.get("/other"))

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert len(seen) == 3
    assert Handler.connections == 2  # six requests, two connections: the main thread's and the other's
