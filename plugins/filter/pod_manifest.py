# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The filter pod_manifest_yaml: a pod module's returned manifest (pod.manifest) as YAML for kubectl."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.podlab.playground.plugins.module_utils._kube.pod_out import to_yaml


def pod_manifest_yaml(manifest: Any) -> str:
    """The Pod as kubectl prints it: block style, keys sorted (apiVersion, kind, metadata, spec)."""
    if isinstance(manifest, Mapping) and isinstance(manifest.get("pod"), Mapping) and "manifest" in manifest["pod"]:
        manifest = manifest["pod"]["manifest"]  # a registered result of docker_pod or cri_pod
    if not isinstance(manifest, Mapping) or manifest.get("kind") != "Pod":
        raise AnsibleFilterError("pod_manifest_yaml: expected a Pod manifest, the pod.manifest that docker_pod and cri_pod return "
                                 f"(or their registered result), got {type(manifest).__name__}"
                                 + (" (the pod does not exist: its manifest is null)" if manifest is None else ""))
    return to_yaml(manifest)


class FilterModule:
    """A pod as a Kubernetes manifest."""

    def filters(self) -> dict[str, Any]:
        return {"pod_manifest_yaml": pod_manifest_yaml}
