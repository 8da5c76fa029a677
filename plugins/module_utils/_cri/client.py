# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: CRI calls over a runtime's Unix socket with grpcio. Not a public API.

Requests and replies are plain dicts with the protobuf field names (proto3 JSON mapping: enums
by name, 64-bit integers as strings); replies carry every field of the schema, those at their zero
value too (a READY sandbox's state is 0, which the wire leaves out). grpcio and
protobuf are imported on first use, so code that only plans never needs them; both work as
Debian bookworm packages (python3-grpcio 1.51, python3-protobuf 4.21) and as current releases.
"""
from __future__ import annotations

import functools
import importlib
import inspect
import os
from typing import Any
from urllib.parse import urlsplit

from ansible_collections.podlab.playground.plugins.module_utils._cri.schema import MESSAGES, PACKAGE, SERVICES, file_descriptor, method_path

DEFAULT_CRI_SOCKET = "unix:///run/containerd/containerd.sock"
LIBS_MISSING = (
    "the CRI client needs grpcio and protobuf for Python on the managed host "
    "(apt-get install python3-grpcio python3-protobuf, or pip install grpcio protobuf; the cri_runtime role installs them)"
)
START_HINT = "start containerd with its CRI plugin (ansible-playbook playbooks/cri_node.yml) or set cri_socket"


class CriError(Exception):
    """A CRI call failed; code is the gRPC status name (NOT_FOUND, UNAVAILABLE, ...)."""

    def __init__(self, message: str, code: str = "UNKNOWN") -> None:
        super().__init__(message)
        self.code = code


class CriUnavailable(CriError):
    """No runtime answers on the socket, or the libraries are missing; the message says what to do."""


@functools.cache
def _libraries() -> tuple[Any, Any, dict[str, bool]]:
    """(grpc, json_format, the MessageToDict flag that keeps zero values), imported on first use."""
    try:
        grpc = importlib.import_module("grpc")
        json_format = importlib.import_module("google.protobuf.json_format")
    except ImportError:
        raise CriUnavailable(LIBS_MISSING, "UNAVAILABLE") from None
    # protobuf 5.26 renamed including_default_value_fields to always_print_fields_with_no_presence
    parameters = inspect.signature(json_format.MessageToDict).parameters
    keep_zero = "always_print_fields_with_no_presence" if "always_print_fields_with_no_presence" in parameters else "including_default_value_fields"
    return grpc, json_format, {keep_zero: True}


@functools.cache
def message_classes() -> dict[str, Any]:
    """Every message of the schema as a protobuf class, built from the table at run time."""
    _libraries()
    descriptor_pb2 = importlib.import_module("google.protobuf.descriptor_pb2")
    descriptor_pool = importlib.import_module("google.protobuf.descriptor_pool")
    message_factory = importlib.import_module("google.protobuf.message_factory")
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(file_descriptor(descriptor_pb2).SerializeToString())
    # GetMessageClass since protobuf 4.22; older releases (Debian's 4.21) have the factory's GetPrototype.
    get_class = getattr(message_factory, "GetMessageClass", None) or message_factory.MessageFactory(pool).GetPrototype
    return {name: get_class(pool.FindMessageTypeByName(f"{PACKAGE}.{name}")) for name in MESSAGES}


def socket_path(endpoint: str) -> str:
    """unix:///run/x.sock (or a plain path) -> /run/x.sock."""
    try:
        parts = urlsplit(endpoint)
    except ValueError as exc:
        raise CriUnavailable(f"cri_socket {endpoint}: not a URL ({exc}); give unix:///PATH, such as unix:///run/containerd/containerd.sock",
                             "INVALID_ARGUMENT") from None
    if parts.scheme not in ("", "unix"):
        raise CriUnavailable(f"cri_socket {endpoint}: only unix:// sockets on the managed host are supported", "INVALID_ARGUMENT")
    path = parts.path if parts.scheme else endpoint
    if not path.startswith("/"):
        raise CriUnavailable(f"cri_socket {endpoint}: give an absolute path (unix:///run/containerd/containerd.sock)", "INVALID_ARGUMENT")
    return path


class CriClient:
    """One gRPC channel to a CRI runtime (containerd's CRI plugin, CRI-O, kubelet's runtime)."""

    def __init__(self, endpoint: str = DEFAULT_CRI_SOCKET, timeout: float = 60) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self.path = socket_path(endpoint)
        if not os.path.exists(self.path):
            raise CriUnavailable(f"no CRI socket at {self.path}; {START_HINT}", "UNAVAILABLE")
        grpc = _libraries()[0]
        self._channel = grpc.insecure_channel(f"unix://{self.path}")
        self._stubs: dict[str, Any] = {}

    def close(self) -> None:
        self._channel.close()

    def call(self, service: str, method: str, request: dict[str, Any] | None = None, timeout: float | None = None) -> dict[str, Any]:
        grpc, json_format, keep_zero = _libraries()
        request_name, response_name = SERVICES[service][method]
        classes = message_classes()
        path = method_path(service, method)
        stub = self._stubs.get(path)
        if stub is None:
            stub = self._channel.unary_unary(path, request_serializer=classes[request_name].SerializeToString,
                                             response_deserializer=classes[response_name].FromString)
            self._stubs[path] = stub
        message = json_format.ParseDict(request or {}, classes[request_name]())
        try:
            reply = stub(message, timeout=timeout or self.timeout)
        except grpc.RpcError as exc:
            code = exc.code().name if exc.code() else "UNKNOWN"
            details = exc.details() or str(exc)
            if code == "UNAVAILABLE":
                raise CriUnavailable(f"the CRI runtime at {self.endpoint} does not answer ({details}); {START_HINT}", code) from None
            if code == "UNIMPLEMENTED":
                raise CriUnavailable(f"the runtime at {self.endpoint} does not serve {service}.{method} of CRI v1 ({details}); "
                                     "enable containerd's CRI plugin (it must not be in disabled_plugins)", code) from None
            raise CriError(f"{method}: {details}", code) from None
        return json_format.MessageToDict(reply, preserving_proto_field_name=True, **keep_zero)

    # -- the calls a pod needs -----------------------------------------------

    def version(self) -> dict[str, Any]:
        return self.call("RuntimeService", "Version", {"version": "v1"})

    def status(self, verbose: bool = False) -> dict[str, Any]:
        """The runtime's conditions; verbose adds info["config"], the runtime's configuration as JSON."""
        return self.call("RuntimeService", "Status", {"verbose": verbose})

    def run_pod_sandbox(self, config: dict[str, Any], runtime_handler: str = "") -> str:
        reply = self.call("RuntimeService", "RunPodSandbox", {"config": config, "runtime_handler": runtime_handler})
        return reply["pod_sandbox_id"]

    def stop_pod_sandbox(self, sandbox_id: str) -> None:
        self.call("RuntimeService", "StopPodSandbox", {"pod_sandbox_id": sandbox_id})

    def remove_pod_sandbox(self, sandbox_id: str) -> None:
        self.call("RuntimeService", "RemovePodSandbox", {"pod_sandbox_id": sandbox_id})

    def _found(self, method: str, request: dict[str, Any]) -> dict[str, Any] | None:
        """A RuntimeService status call's reply, or None when the runtime has no such object."""
        try:
            return self.call("RuntimeService", method, request)
        except CriError as exc:
            if exc.code == "NOT_FOUND":
                return None
            raise

    def pod_sandbox_status(self, sandbox_id: str, verbose: bool = False) -> dict[str, Any] | None:
        """The sandbox's status (with info["info"], JSON, when verbose), or None when there is no such sandbox."""
        return self._found("PodSandboxStatus", {"pod_sandbox_id": sandbox_id, "verbose": verbose})

    def list_pod_sandboxes(self, labels: dict[str, str] | None = None) -> list[dict[str, Any]]:
        return self.call("RuntimeService", "ListPodSandbox", {"filter": {"label_selector": labels or {}}}).get("items", [])

    def create_container(self, sandbox_id: str, config: dict[str, Any], sandbox_config: dict[str, Any]) -> str:
        reply = self.call("RuntimeService", "CreateContainer",
                          {"pod_sandbox_id": sandbox_id, "config": config, "sandbox_config": sandbox_config})
        return reply["container_id"]

    def start_container(self, container_id: str) -> None:
        self.call("RuntimeService", "StartContainer", {"container_id": container_id})

    def stop_container(self, container_id: str, timeout: int) -> None:
        self.call("RuntimeService", "StopContainer", {"container_id": container_id, "timeout": timeout}, timeout=timeout + self.timeout)

    def remove_container(self, container_id: str) -> None:
        self.call("RuntimeService", "RemoveContainer", {"container_id": container_id})

    def list_containers(self, sandbox_id: str = "", labels: dict[str, str] | None = None) -> list[dict[str, Any]]:
        request = {"filter": {"pod_sandbox_id": sandbox_id, "label_selector": labels or {}}}
        return self.call("RuntimeService", "ListContainers", request).get("containers", [])

    def container_status(self, container_id: str, verbose: bool = False) -> dict[str, Any] | None:
        """The container's status (with info["info"], JSON, when verbose), or None when there is no such container."""
        return self._found("ContainerStatus", {"container_id": container_id, "verbose": verbose})

    def image_status(self, image: str) -> dict[str, Any] | None:
        """The image as the runtime's image service has it, or None when it has no such image."""
        return self.call("ImageService", "ImageStatus", {"image": {"image": image}}).get("image")

    def pull_image(self, image: str, sandbox_config: dict[str, Any] | None = None) -> str:
        reply = self.call("ImageService", "PullImage", {"image": {"image": image}, "sandbox_config": sandbox_config or {}})
        return reply["image_ref"]

    def update_container_resources(self, container_id: str, resources: dict[str, Any]) -> None:
        self.call("RuntimeService", "UpdateContainerResources", {"container_id": container_id, "linux": resources})
