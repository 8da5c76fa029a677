# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: the part of the CRI v1 wire schema a pod needs. Not a public API.

The Container Runtime Interface is gRPC with protobuf messages (package runtime.v1). This file
declares, in a table of our own, the few messages, fields and enums that creating, reading and
removing a pod sandbox and its containers use: field names and numbers are facts of the wire
protocol, everything else (the table, what is left out) is ours. No generated code and no .proto
file: the table is turned into a protobuf descriptor at run time, which works the same with
Debian bookworm's python3-protobuf (4.21) and with current releases (5.x to 7.x). A field left
out here is skipped by the decoder, so replies from newer runtimes parse.
"""
from __future__ import annotations

from typing import Any

PACKAGE = "runtime.v1"

# enum name -> [(value name, number)]
ENUMS: dict[str, list[tuple[str, int]]] = {
    "NamespaceMode": [("POD", 0), ("CONTAINER", 1), ("NODE", 2), ("TARGET", 3)],
    "Protocol": [("TCP", 0), ("UDP", 1), ("SCTP", 2)],
    "PodSandboxState": [("SANDBOX_READY", 0), ("SANDBOX_NOTREADY", 1)],
    "ContainerState": [("CONTAINER_CREATED", 0), ("CONTAINER_RUNNING", 1), ("CONTAINER_EXITED", 2), ("CONTAINER_UNKNOWN", 3)],
    "MountPropagation": [("PROPAGATION_PRIVATE", 0), ("PROPAGATION_HOST_TO_CONTAINER", 1), ("PROPAGATION_BIDIRECTIONAL", 2)],
}

# message name -> [(field name, number, type)]. A type is a scalar (string, bool, int32, int64,
# uint32, uint64), an enum or message named above, "map" (map<string, string>), and may start
# with "repeated ".
MESSAGES: dict[str, list[tuple[str, int, str]]] = {
    # RuntimeService.Version, Status
    "VersionRequest": [("version", 1, "string")],
    "VersionResponse": [("version", 1, "string"), ("runtime_name", 2, "string"), ("runtime_version", 3, "string"),
                        ("runtime_api_version", 4, "string")],
    "StatusRequest": [("verbose", 1, "bool")],
    "RuntimeCondition": [("type", 1, "string"), ("status", 2, "bool"), ("reason", 3, "string"), ("message", 4, "string")],
    "RuntimeStatus": [("conditions", 1, "repeated RuntimeCondition")],
    "StatusResponse": [("status", 1, "RuntimeStatus"), ("info", 2, "map")],
    # the sandbox's configuration
    "PodSandboxMetadata": [("name", 1, "string"), ("uid", 2, "string"), ("namespace", 3, "string"), ("attempt", 4, "uint32")],
    "DNSConfig": [("servers", 1, "repeated string"), ("searches", 2, "repeated string"), ("options", 3, "repeated string")],
    "PortMapping": [("protocol", 1, "Protocol"), ("container_port", 2, "int32"), ("host_port", 3, "int32"), ("host_ip", 4, "string")],
    "NamespaceOption": [("network", 1, "NamespaceMode"), ("pid", 2, "NamespaceMode"), ("ipc", 3, "NamespaceMode"),
                        ("target_id", 4, "string")],
    "Int64Value": [("value", 1, "int64")],
    "LinuxSandboxSecurityContext": [("namespace_options", 1, "NamespaceOption"), ("run_as_user", 3, "Int64Value"),
                                    ("privileged", 6, "bool")],
    "LinuxContainerResources": [("cpu_period", 1, "int64"), ("cpu_quota", 2, "int64"), ("cpu_shares", 3, "int64"),
                                ("memory_limit_in_bytes", 4, "int64"), ("oom_score_adj", 5, "int64"),
                                ("memory_swap_limit_in_bytes", 10, "int64")],
    "LinuxPodSandboxConfig": [("cgroup_parent", 1, "string"), ("security_context", 2, "LinuxSandboxSecurityContext"),
                              ("sysctls", 3, "map")],
    "PodSandboxConfig": [("metadata", 1, "PodSandboxMetadata"), ("hostname", 2, "string"), ("log_directory", 3, "string"),
                         ("dns_config", 4, "DNSConfig"), ("port_mappings", 5, "repeated PortMapping"), ("labels", 6, "map"),
                         ("annotations", 7, "map"), ("linux", 8, "LinuxPodSandboxConfig")],
    # sandbox calls
    "RunPodSandboxRequest": [("config", 1, "PodSandboxConfig"), ("runtime_handler", 2, "string")],
    "RunPodSandboxResponse": [("pod_sandbox_id", 1, "string")],
    "StopPodSandboxRequest": [("pod_sandbox_id", 1, "string")],
    "StopPodSandboxResponse": [],
    "RemovePodSandboxRequest": [("pod_sandbox_id", 1, "string")],
    "RemovePodSandboxResponse": [],
    "PodSandboxStatusRequest": [("pod_sandbox_id", 1, "string"), ("verbose", 2, "bool")],
    "PodSandboxNetworkStatus": [("ip", 1, "string")],
    "Namespace": [("options", 2, "NamespaceOption")],
    "LinuxPodSandboxStatus": [("namespaces", 1, "Namespace")],
    "PodSandboxStatus": [("id", 1, "string"), ("metadata", 2, "PodSandboxMetadata"), ("state", 3, "PodSandboxState"),
                         ("created_at", 4, "int64"), ("network", 5, "PodSandboxNetworkStatus"), ("linux", 6, "LinuxPodSandboxStatus"),
                         ("labels", 7, "map"), ("annotations", 8, "map"), ("runtime_handler", 9, "string")],
    "PodSandboxStatusResponse": [("status", 1, "PodSandboxStatus"), ("info", 2, "map")],
    "PodSandboxStateValue": [("state", 1, "PodSandboxState")],
    "PodSandboxFilter": [("id", 1, "string"), ("state", 2, "PodSandboxStateValue"), ("label_selector", 3, "map")],
    "ListPodSandboxRequest": [("filter", 1, "PodSandboxFilter")],
    "PodSandbox": [("id", 1, "string"), ("metadata", 2, "PodSandboxMetadata"), ("state", 3, "PodSandboxState"),
                   ("created_at", 4, "int64"), ("labels", 5, "map"), ("annotations", 6, "map"), ("runtime_handler", 7, "string")],
    "ListPodSandboxResponse": [("items", 1, "repeated PodSandbox")],
    # the container's configuration
    "ImageSpec": [("image", 1, "string"), ("annotations", 2, "map")],
    "KeyValue": [("key", 1, "string"), ("value", 2, "string")],
    "Mount": [("container_path", 1, "string"), ("host_path", 2, "string"), ("readonly", 3, "bool"),
              ("selinux_relabel", 4, "bool"), ("propagation", 5, "MountPropagation")],
    "LinuxContainerSecurityContext": [("privileged", 2, "bool"), ("namespace_options", 3, "NamespaceOption"),
                                      ("run_as_user", 5, "Int64Value"), ("run_as_username", 6, "string"),
                                      ("readonly_rootfs", 7, "bool"), ("no_new_privs", 11, "bool"),
                                      ("run_as_group", 12, "Int64Value")],
    "LinuxContainerConfig": [("resources", 1, "LinuxContainerResources"), ("security_context", 2, "LinuxContainerSecurityContext")],
    "ContainerMetadata": [("name", 1, "string"), ("attempt", 2, "uint32")],
    "ContainerConfig": [("metadata", 1, "ContainerMetadata"), ("image", 2, "ImageSpec"), ("command", 3, "repeated string"),
                        ("args", 4, "repeated string"), ("working_dir", 5, "string"), ("envs", 6, "repeated KeyValue"),
                        ("mounts", 7, "repeated Mount"), ("labels", 9, "map"), ("annotations", 10, "map"),
                        ("log_path", 11, "string"), ("linux", 15, "LinuxContainerConfig")],
    # container calls
    "CreateContainerRequest": [("pod_sandbox_id", 1, "string"), ("config", 2, "ContainerConfig"),
                               ("sandbox_config", 3, "PodSandboxConfig")],
    "CreateContainerResponse": [("container_id", 1, "string")],
    "StartContainerRequest": [("container_id", 1, "string")],
    "StartContainerResponse": [],
    "StopContainerRequest": [("container_id", 1, "string"), ("timeout", 2, "int64")],
    "StopContainerResponse": [],
    "RemoveContainerRequest": [("container_id", 1, "string")],
    "RemoveContainerResponse": [],
    "ContainerStateValue": [("state", 1, "ContainerState")],
    "ContainerFilter": [("id", 1, "string"), ("state", 2, "ContainerStateValue"), ("pod_sandbox_id", 3, "string"),
                        ("label_selector", 4, "map")],
    "ListContainersRequest": [("filter", 1, "ContainerFilter")],
    "Container": [("id", 1, "string"), ("pod_sandbox_id", 2, "string"), ("metadata", 3, "ContainerMetadata"),
                  ("image", 4, "ImageSpec"), ("image_ref", 5, "string"), ("state", 6, "ContainerState"),
                  ("created_at", 7, "int64"), ("labels", 8, "map"), ("annotations", 9, "map")],
    "ListContainersResponse": [("containers", 1, "repeated Container")],
    "ContainerStatusRequest": [("container_id", 1, "string"), ("verbose", 2, "bool")],
    "ContainerStatus": [("id", 1, "string"), ("metadata", 2, "ContainerMetadata"), ("state", 3, "ContainerState"),
                        ("created_at", 4, "int64"), ("started_at", 5, "int64"), ("finished_at", 6, "int64"),
                        ("exit_code", 7, "int32"), ("image", 8, "ImageSpec"), ("image_ref", 9, "string"),
                        ("reason", 10, "string"), ("message", 11, "string"), ("labels", 12, "map"),
                        ("annotations", 13, "map"), ("mounts", 14, "repeated Mount"), ("log_path", 15, "string")],
    "ContainerStatusResponse": [("status", 1, "ContainerStatus"), ("info", 2, "map")],
    "UpdateContainerResourcesRequest": [("container_id", 1, "string"), ("linux", 2, "LinuxContainerResources")],
    "UpdateContainerResourcesResponse": [],
    # ImageService.ImageStatus
    "PullImageRequest": [("image", 1, "ImageSpec"), ("sandbox_config", 3, "PodSandboxConfig")],
    "PullImageResponse": [("image_ref", 1, "string")],
    "ImageStatusRequest": [("image", 1, "ImageSpec"), ("verbose", 2, "bool")],
    "Image": [("id", 1, "string"), ("repo_tags", 2, "repeated string"), ("repo_digests", 3, "repeated string"),
              ("size", 4, "uint64")],
    "ImageStatusResponse": [("image", 1, "Image"), ("info", 2, "map")],
}

# service -> {method: (request message, response message)}
SERVICES: dict[str, dict[str, tuple[str, str]]] = {
    "RuntimeService": {
        "Version": ("VersionRequest", "VersionResponse"),
        "Status": ("StatusRequest", "StatusResponse"),
        "RunPodSandbox": ("RunPodSandboxRequest", "RunPodSandboxResponse"),
        "StopPodSandbox": ("StopPodSandboxRequest", "StopPodSandboxResponse"),
        "RemovePodSandbox": ("RemovePodSandboxRequest", "RemovePodSandboxResponse"),
        "PodSandboxStatus": ("PodSandboxStatusRequest", "PodSandboxStatusResponse"),
        "ListPodSandbox": ("ListPodSandboxRequest", "ListPodSandboxResponse"),
        "CreateContainer": ("CreateContainerRequest", "CreateContainerResponse"),
        "StartContainer": ("StartContainerRequest", "StartContainerResponse"),
        "StopContainer": ("StopContainerRequest", "StopContainerResponse"),
        "RemoveContainer": ("RemoveContainerRequest", "RemoveContainerResponse"),
        "ListContainers": ("ListContainersRequest", "ListContainersResponse"),
        "ContainerStatus": ("ContainerStatusRequest", "ContainerStatusResponse"),
        "UpdateContainerResources": ("UpdateContainerResourcesRequest", "UpdateContainerResourcesResponse"),
    },
    "ImageService": {
        "ImageStatus": ("ImageStatusRequest", "ImageStatusResponse"),
        "PullImage": ("PullImageRequest", "PullImageResponse"),
    },
}

SCALARS = {"string": 9, "bool": 8, "int32": 5, "int64": 3, "uint32": 13, "uint64": 4}  # FieldDescriptorProto.Type
TYPE_MESSAGE, TYPE_ENUM = 11, 14
LABEL_OPTIONAL, LABEL_REPEATED = 1, 3


def _entry_name(field: str) -> str:
    """protoc's name for a map field's entry message: labels -> LabelsEntry, label_selector -> LabelSelectorEntry."""
    return "".join(part.capitalize() for part in field.split("_")) + "Entry"


def file_descriptor(descriptor_pb2: Any) -> Any:
    """The table as a FileDescriptorProto (descriptor_pb2 is google.protobuf.descriptor_pb2)."""
    proto = descriptor_pb2.FileDescriptorProto(name="podlab/cri_subset.proto", package=PACKAGE, syntax="proto3")
    for enum_name, values in ENUMS.items():
        enum = proto.enum_type.add(name=enum_name)
        for value_name, number in values:
            enum.value.add(name=value_name, number=number)
    for message_name, fields in MESSAGES.items():
        message = proto.message_type.add(name=message_name)
        for field_name, number, declared in fields:
            repeated = declared.startswith("repeated ")
            kind = declared.removeprefix("repeated ")
            field = message.field.add(name=field_name, number=number, json_name=_json_name(field_name),
                                      label=LABEL_REPEATED if repeated else LABEL_OPTIONAL)
            if kind == "map":
                entry = message.nested_type.add(name=_entry_name(field_name))
                entry.options.map_entry = True
                entry.field.add(name="key", number=1, type=SCALARS["string"], label=LABEL_OPTIONAL, json_name="key")
                entry.field.add(name="value", number=2, type=SCALARS["string"], label=LABEL_OPTIONAL, json_name="value")
                field.label = LABEL_REPEATED
                field.type = TYPE_MESSAGE
                field.type_name = f".{PACKAGE}.{message_name}.{entry.name}"
            elif kind in SCALARS:
                field.type = SCALARS[kind]
            elif kind in ENUMS:
                field.type = TYPE_ENUM
                field.type_name = f".{PACKAGE}.{kind}"
            elif kind in MESSAGES:
                field.type = TYPE_MESSAGE
                field.type_name = f".{PACKAGE}.{kind}"
            else:
                raise ValueError(f"CRI schema: {message_name}.{field_name} has the unknown type {kind}")
    return proto


def _json_name(field: str) -> str:
    head, *rest = field.split("_")
    return head + "".join(part.capitalize() for part in rest)


def method_path(service: str, method: str) -> str:
    """The gRPC path of a call: /runtime.v1.RuntimeService/RunPodSandbox."""
    if method not in SERVICES.get(service, {}):
        raise ValueError(f"CRI schema: no {service}.{method}")
    return f"/{PACKAGE}.{service}/{method}"
