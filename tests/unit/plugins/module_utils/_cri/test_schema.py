# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The CRI subset on the wire: bytes checked by hand against the protobuf encoding rules
(key = field number << 3 | wire type; 2 = length-delimited, 0 = varint)."""
from __future__ import annotations

import pytest

from ansible_collections.podlab.playground.plugins.module_utils._cri import schema
from ansible_collections.podlab.playground.plugins.module_utils._cri.client import CriUnavailable, message_classes, socket_path

json_format = pytest.importorskip("google.protobuf.json_format")


def encode(message: str, value: dict) -> bytes:
    return json_format.ParseDict(value, message_classes()[message]()).SerializeToString()


def decode(message: str, data: bytes) -> dict:
    return json_format.MessageToDict(message_classes()[message].FromString(data), preserving_proto_field_name=True)


@pytest.mark.parametrize(("message", "value", "wire"), [
    ("RemovePodSandboxRequest", {"pod_sandbox_id": "ab"}, b"\x0a\x02ab"),
    ("PodSandboxStatusRequest", {"pod_sandbox_id": "ab", "verbose": True}, b"\x0a\x02ab\x10\x01"),
    ("StopContainerRequest", {"container_id": "c", "timeout": 10}, b"\x0a\x01c\x10\x0a"),
    # pid CONTAINER (1): what kubelet sends unless shareProcessNamespace; POD (0) is the zero value and not sent
    ("NamespaceOption", {"network": "POD", "pid": "CONTAINER", "ipc": "POD"}, b"\x10\x01"),
    ("NamespaceOption", {"network": "NODE", "pid": "NODE", "ipc": "NODE"}, b"\x08\x02\x10\x02\x18\x02"),
    ("PodSandboxMetadata", {"name": "foo", "uid": "u", "namespace": "default", "attempt": 1},
     b"\x0a\x03foo\x12\x01u\x1a\x07default\x20\x01"),
    # a map<string, string> is a repeated entry message {key 1, value 2}
    ("PodSandboxConfig", {"labels": {"a": "b"}}, b"\x32\x06\x0a\x01a\x12\x01b"),
    ("PortMapping", {"protocol": "UDP", "container_port": 80, "host_port": 8080}, b"\x08\x01\x10\x50\x18\x90\x3f"),
    ("LinuxContainerResources", {"memory_limit_in_bytes": 268435456}, b"\x20\x80\x80\x80\x80\x01"),
    ("ContainerConfig", {"metadata": {"name": "app"}, "image": {"image": "docker.io/podlab/busybox:1"}, "command": ["sleep", "1"]},
     b"\x0a\x05\x0a\x03app\x12\x1c\x0a\x1adocker.io/podlab/busybox:1\x1a\x05sleep\x1a\x011"),
    ("KeyValue", {"key": "K", "value": "v"}, b"\x0a\x01K\x12\x01v"),
])
def test_requests_encode_as_the_wire_protocol_says(message, value, wire):
    assert encode(message, value) == wire
    assert encode(message, decode(message, wire)) == wire  # and back: nothing lost on the way


def test_nested_request_reaches_the_namespace_option_inside_linux_security_context():
    config = {
        "metadata": {"name": "foo"},
        "linux": {"cgroup_parent": "/kubepods/burstable/podu", "security_context": {"namespace_options": {"pid": "CONTAINER"}}},
    }
    assert encode("PodSandboxConfig", config) == (
        b"\x0a\x05\x0a\x03foo"  # metadata (1) {name (1)}
        b"\x42\x20"  # linux (8), 32 bytes:
        b"\x0a\x18/kubepods/burstable/podu"  # cgroup_parent (1)
        b"\x12\x04\x0a\x02\x10\x01"  # security_context (2) {namespace_options (1) {pid (2) = CONTAINER}}
    )


def test_replies_with_fields_this_schema_leaves_out_still_parse():
    # ContainerStatus.exit_code (7) = 3, then field 99 (a newer runtime's), then reason (10)
    reply = b"\x38\x03" + b"\x9a\x06\x03new" + b"\x52\x06Error!"
    assert decode("ContainerStatus", reply) == {"exit_code": 3, "reason": "Error!"}


def test_replies_decode_enums_by_name_and_64_bit_integers_as_strings():
    reply = b"\x0a\x02id\x18\x01\x20\x80\x94\xeb\xdc\x03"  # id, state SANDBOX_NOTREADY, created_at 1000000000
    assert decode("PodSandboxStatus", reply) == {"id": "id", "state": "SANDBOX_NOTREADY", "created_at": "1000000000"}


def test_every_type_the_table_names_is_declared():
    for fields in schema.MESSAGES.values():
        for _name, _number, declared in fields:
            kind = declared.removeprefix("repeated ")
            assert kind == "map" or kind in schema.SCALARS or kind in schema.ENUMS or kind in schema.MESSAGES, kind
    for methods in schema.SERVICES.values():
        for request, response in methods.values():
            assert request in schema.MESSAGES and response in schema.MESSAGES


def test_field_numbers_and_names_are_unique_in_every_message():
    for name, fields in schema.MESSAGES.items():
        assert len({number for _f, number, _k in fields}) == len(fields), name
        assert len({field for field, _n, _k in fields}) == len(fields), name


@pytest.mark.parametrize(("field", "entry"), [("labels", "LabelsEntry"), ("label_selector", "LabelSelectorEntry"), ("info", "InfoEntry")])
def test_map_entries_are_named_as_protoc_names_them(field, entry):
    assert schema._entry_name(field) == entry


def test_method_paths():
    assert schema.method_path("RuntimeService", "RunPodSandbox") == "/runtime.v1.RuntimeService/RunPodSandbox"
    assert schema.method_path("ImageService", "ImageStatus") == "/runtime.v1.ImageService/ImageStatus"
    with pytest.raises(ValueError):
        schema.method_path("RuntimeService", "ExecSync")


@pytest.mark.parametrize(("endpoint", "path"), [
    ("unix:///run/containerd/containerd.sock", "/run/containerd/containerd.sock"),
    ("/run/crio/crio.sock", "/run/crio/crio.sock"),
])
def test_socket_path(endpoint, path):
    assert socket_path(endpoint) == path


@pytest.mark.parametrize("endpoint", ["tcp://127.0.0.1:1234", "unix://relative.sock", "relative.sock", "unix://[::1"])
def test_socket_path_refuses_what_is_not_a_local_unix_socket(endpoint):
    with pytest.raises(CriUnavailable, match="cri_socket"):
        socket_path(endpoint)
