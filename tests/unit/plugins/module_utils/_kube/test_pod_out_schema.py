"""The manifests the modules return, checked against Kubernetes' own v1 Pod models (the official Python client's).

No API server runs here, so what `kubectl apply` would accept is judged by the client's generated models: each
manifest is read into a kubernetes.client.V1Pod as the client reads an API server's reply (ApiClient.deserialize,
which validates every field's type and the required ones) and written back as the client sends a request body
(ApiClient.sanitize_for_serialization). The round trip must give the manifest back exactly: a field name the Pod
does not have is dropped on the way in and so fails the comparison; a value of the wrong type or a missing
required field is refused by the models.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client import ApiClient, Configuration
from pydantic import ValidationError

from ansible_collections.podlab.playground.plugins.module_utils._kube.pod_out import manifest_from_pod, to_yaml

from .._pod.test_export import RECORDED, REST, SEED, exported
from .test_pod_out import rich
from .test_pod_out import round_trip as options_round_trip

SEED_FILE = Path(__file__).resolve().parents[5] / "playbooks" / "files" / "seed-pod.yml"
SEED_IMAGES = {"docker.io/kennethreitz/httpbin": "podlab/httpd:1", "docker.io/curlimages/curl": "podlab/busybox:1"}
API = ApiClient(Configuration(client_side_validation=True))


def through_v1_pod(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest read into a V1Pod as the client reads a reply of the API server, and written back as it sends one."""
    pod = API.deserialize(json.dumps(manifest), "V1Pod", "application/json")
    return API.sanitize_for_serialization(pod)


def differences(sent: Any, back: Any, path: str = "") -> list[str]:
    """Where the manifest and its round trip part: each path, and what the client made of it."""
    if isinstance(sent, dict) and isinstance(back, dict):
        found = [f"{path}.{key}: not a field of the v1 Pod there (dropped)" for key in sent if key not in back]
        found += [f"{path}.{key}: added by the client" for key in back if key not in sent]
        for key in sent.keys() & back.keys():
            found += differences(sent[key], back[key], f"{path}.{key}")
        return found
    if isinstance(sent, list) and isinstance(back, list) and len(sent) == len(back):
        return [line for i, (a, b) in enumerate(zip(sent, back, strict=True)) for line in differences(a, b, f"{path}[{i}]")]
    return [] if sent == back else [f"{path}: {sent!r} came back as {back!r}"]


def assert_v1_pod(manifest: dict[str, Any]) -> None:
    back = through_v1_pod(manifest)
    assert back == manifest, differences(manifest, back)


def seed() -> dict[str, Any]:
    return yaml.safe_load(SEED_FILE.read_text())


def manifests() -> dict[str, dict[str, Any]]:
    """Every manifest to check, by a name saying where it comes from."""
    found = {"seed-pod.yml": seed()}
    for runtime in ("docker", "cri"):
        # the seed's file as the modules run it (on the offline images) and export it again
        found[f"{runtime}-seed-pod.yml-exported"] = options_round_trip(SEED_FILE.read_text(), runtime, SEED_IMAGES)[1]
        found[f"{runtime}-every-field-exported"] = options_round_trip(rich(runtime), runtime, SEED_IMAGES)[1]
        for which in (SEED, REST):
            name = which[runtime]
            _spec, _cri, kube = exported(runtime, name)
            assert kube is not None
            found[f"{runtime}-{name}-exported"] = manifest_from_pod(kube)
            found[f"{runtime}-{name}-returned"] = RECORDED[runtime][name]["result"]["pod"]["manifest"]
    return found


MANIFESTS = manifests()


@pytest.mark.parametrize("name", sorted(MANIFESTS))
def test_the_manifest_is_a_v1_pod_field_for_field(name):
    assert_v1_pod(MANIFESTS[name])


@pytest.mark.parametrize("name", sorted(MANIFESTS))
def test_the_manifests_yaml_is_the_same_v1_pod(name):
    """What pod_manifest_yaml writes for kubectl reads back as the same Pod (no number turned into a string, or back)."""
    manifest = MANIFESTS[name]
    back = through_v1_pod(yaml.safe_load(to_yaml(manifest)))
    assert back == manifest, differences(manifest, back)


def test_every_recorded_pod_and_the_seed_are_checked():
    recorded = {f"{runtime}-{pod}-returned" for runtime, pods in RECORDED.items() for pod in pods}
    assert recorded <= set(MANIFESTS)
    assert "seed-pod.yml" in MANIFESTS
    # the seed pod's app publishes nothing, so the file's containerPort is not in the export: it is checked as written
    assert seed()["spec"]["containers"][0]["ports"] == [{"containerPort": 80}]


# -- the check can fail ------------------------------------------------------------------------------


def broken(edit) -> dict[str, Any]:
    manifest = copy.deepcopy(MANIFESTS["docker-podlabexpd2-returned"])
    edit(manifest["spec"]["containers"][0])
    return manifest


def _misspelt_ports(container: dict[str, Any]) -> None:
    container["containerPorts"] = container.pop("ports")


def _misspelt_port_field(container: dict[str, Any]) -> None:
    container["ports"][0]["hostport"] = container["ports"][0].pop("hostPort")


@pytest.mark.parametrize(("edit", "path"), [
    (_misspelt_ports, r"\.spec\.containers\[0\]\.containerPorts: not a field"),
    (_misspelt_port_field, r"\.spec\.containers\[0\]\.ports\[0\]\.hostport: not a field"),
], ids=["containerPorts", "hostport"])
def test_a_field_the_pod_does_not_have_fails_the_round_trip(edit, path):
    with pytest.raises(AssertionError, match=path):
        assert_v1_pod(broken(edit))


@pytest.mark.parametrize(("edit", "field"), [
    (lambda c: c.update(image=1), "image"),
    (lambda c: c["resources"]["limits"].update(memory=67108864), "limits.memory"),
    (lambda c: c["ports"][0].update(containerPort="80"), "containerPort"),
    (lambda c: c["env"][0].pop("name"), "name"),
], ids=["int-image", "int-quantity", "string-port", "env-without-name"])
def test_a_wrong_type_or_a_missing_required_field_is_refused(edit, field):
    with pytest.raises(ValidationError, match=field):
        through_v1_pod(broken(edit))
