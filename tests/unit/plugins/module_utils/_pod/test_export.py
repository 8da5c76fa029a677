"""The exporters: what Docker's inspect and the CRI's verbose statuses show of a pod, as a KubePod and a v1 Pod manifest.

fixtures/export_docker.json and export_cri.json were recorded live by fixtures/record_export.py: pods made by
podlab.playground.docker_pod and cri_pod (the seed's manifest, and one with every other option), each with
the module's own result and what its observer read (Docker's inspect of the containers, volumes and
images; the CRI's list items, verbose statuses and image statuses). The tests replay those replies
through the real observers, build the spec from the same task arguments, and compare what kube_pod gives
with what the pod was made from.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.podlab.playground.plugins.module_utils._kube.pod import KubeContainer, KubeMount, KubePod, KubePort
from ansible_collections.podlab.playground.plugins.module_utils._kube.pod_in import params_from_manifest
from ansible_collections.podlab.playground.plugins.module_utils._kube.pod_out import manifest_from_pod
from ansible_collections.podlab.playground.plugins.module_utils._pod import cri as cri_runtime
from ansible_collections.podlab.playground.plugins.module_utils._pod import docker as docker_runtime
from ansible_collections.podlab.playground.plugins.module_utils._pod.cri_spec import CRI_ARGUMENT_SPEC, CriPod, build_cri_spec
from ansible_collections.podlab.playground.plugins.module_utils._pod.manifest import resolve_params
from ansible_collections.podlab.playground.plugins.module_utils._pod.model import LABEL_POD
from ansible_collections.podlab.playground.plugins.module_utils._pod.observe import ObservedPod
from ansible_collections.podlab.playground.plugins.module_utils._pod.spec import ARGUMENT_SPEC, PodSpec, build_spec

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
RECORDED = {runtime: {pod["args"]["name"]: pod for pod in json.loads((FIXTURES / f"export_{runtime}.json").read_text())}
            for runtime in ("docker", "cri")}
SPECS = {"docker": ARGUMENT_SPEC, "cri": CRI_ARGUMENT_SPEC}
HTTPD, BUSYBOX = "podlab/httpd:1", "podlab/busybox:1"
HTTPD_CMD = ["httpd", "-f", "-p", "80", "-h", "/www"]
BIND = "/tmp/podlabexp-bind"
SEED, REST = {"docker": "podlabexpd1", "cri": "podlabexpc1"}, {"docker": "podlabexpd2", "cri": "podlabexpc2"}


class Task:
    """What resolve_params reads of AnsibleModule: the validated params, and fail_json, here a test failure."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params

    def fail_json(self, **result: Any) -> None:
        pytest.fail(f"the module would fail: {result}")


def validated(args: dict[str, Any], runtime: str) -> dict[str, Any]:
    result = ArgumentSpecValidator(SPECS[runtime]).validate(args)
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


def task_params(recording: dict[str, Any], runtime: str) -> dict[str, Any]:
    """The params the module ran with: its arguments as AnsibleModule filled them, the manifest's merged under them."""
    return resolve_params(Task(validated(recording["args"], runtime)), SPECS[runtime], runtime)


# -- the recorded replies, answered as the clients answer ------------------------------------------


class RecordedDocker:
    """DockerClient's reads, answered from a recording."""

    def __init__(self, recording: dict[str, Any]) -> None:
        self.recording = recording

    def containers_by_label(self, label: str) -> list[dict[str, Any]]:
        key, value = label.split("=", 1)
        return [c for c in self.recording["containers"] if c["Config"]["Labels"].get(key) == value]

    def volumes_by_label(self, label: str) -> list[dict[str, Any]]:
        key, value = label.split("=", 1)
        return [v for v in self.recording["volumes"] if (v.get("Labels") or {}).get(key) == value]

    def image(self, image: str) -> dict[str, Any] | None:
        return self.recording["images"].get(image)


def _reply(entry: dict[str, Any]) -> dict[str, Any]:
    """A verbose status reply as CriClient returns it: info["info"] is JSON text on the wire."""
    return {"status": entry["status"], "info": {"info": json.dumps(entry["info"])}}


def _matches(labels: dict[str, str], wanted: dict[str, str] | None) -> bool:
    return all(labels.get(k) == v for k, v in (wanted or {}).items())


class RecordedCri:
    """CriClient's reads, answered from a recording."""

    def __init__(self, recording: dict[str, Any]) -> None:
        self.recording = recording

    def list_pod_sandboxes(self, labels: dict[str, str] | None = None) -> list[dict[str, Any]]:
        return [s["item"] for s in self.recording["sandboxes"] if _matches(s["item"]["labels"], labels)]

    def pod_sandbox_status(self, sandbox_id: str, verbose: bool = False) -> dict[str, Any] | None:
        return next((_reply(s) for s in self.recording["sandboxes"] if s["item"]["id"] == sandbox_id), None)

    def list_containers(self, sandbox_id: str = "", labels: dict[str, str] | None = None) -> list[dict[str, Any]]:
        return [c["item"] for c in self.recording["containers"]
                if _matches(c["item"]["labels"], labels) and sandbox_id in ("", c["item"]["pod_sandbox_id"])]

    def container_status(self, container_id: str, verbose: bool = False) -> dict[str, Any] | None:
        return next((_reply(c) for c in self.recording["containers"] if c["item"]["id"] == container_id), None)

    def image_status(self, image: str) -> dict[str, Any] | None:
        return self.recording["images"].get(image)


# -- the pod as each exporter sees it ----------------------------------------------------------------


def docker_pod(name: str) -> tuple[PodSpec, ObservedPod, KubePod | None]:
    recording = RECORDED["docker"][name]
    spec = build_spec(task_params(recording, "docker"))
    observed = docker_runtime.DockerRuntime(RecordedDocker(recording)).observe(spec)  # type: ignore[arg-type]
    return spec, observed, docker_runtime.kube_pod(spec, observed)


def cri_driver(recording: dict[str, Any]) -> str:
    return recording["result"]["pod"]["cgroup"]["driver"]


def cri_pod(name: str) -> tuple[PodSpec, CriPod, ObservedPod, KubePod | None]:
    recording = RECORDED["cri"][name]
    spec, cri = build_cri_spec(task_params(recording, "cri"), cri_driver(recording))
    runtime = cri_runtime.CriRuntime(RecordedCri(recording), cri)  # type: ignore[arg-type]
    observed = runtime.observe(spec)
    # The pod's volume directories were removed with it; observe found them on disk then, as recorded.
    assert observed.volumes == set()
    observed.volumes = {spec.volume_name(v) for v in recording["volume_dirs"][cri.uid]}
    return spec, cri, observed, cri_runtime.kube_pod(spec, observed, str(runtime.pod_dir() / "volumes"))


# -- the recording is the pod the task made -----------------------------------------------------------


@pytest.mark.parametrize("runtime", ["docker", "cri"])
@pytest.mark.parametrize("which", [SEED, REST], ids=["seed", "rest"])
def test_the_recording_holds_the_pod_the_spec_describes(runtime, which):
    """Each member's recorded spec hash is the one the spec built here gives: the spec is the one the pod was made from."""
    name = which[runtime]
    recording = RECORDED[runtime][name]
    if runtime == "docker":
        spec, observed, _kube = docker_pod(name)
    else:
        spec, _cri, observed, _kube = cri_pod(name)
    assert recording["result"]["pod"]["state"] == "running"
    context = spec.member_context(recording["result"]["pod"]["cgroup"]["parent"])
    assert sorted(observed.members) == sorted(m.name for m in spec.members)
    assert sorted(observed.inits) == sorted(m.name for m in spec.inits)
    assert not observed.strays
    for member in spec.members:
        assert observed.members[member.name].spec_hash == member.hash(context), member.name
    for member in spec.inits:
        assert observed.inits[member.name].spec_hash == member.hash(context), member.name


# -- Docker ------------------------------------------------------------------------------------------


def test_docker_seed_exports_what_the_manifest_set_and_nothing_of_the_images():
    spec, observed, kube = docker_pod("podlabexpd1")
    assert kube == KubePod(
        name="podlabexpd1", labels={LABEL_POD: "podlabexpd1", "podlab.role": "sandbox", "podlab.spec-hash": observed.sandbox.spec_hash},
        hostname="podlabexpd1", restart_policy="Always",
        containers=[
            # httpd's own CMD serves the page: not the pod's, so not exported
            KubeContainer("app", HTTPD, memory=256 << 20),
            # the manifest's command is Docker's ENTRYPOINT
            KubeContainer("sidecar", BUSYBOX, entrypoint=["/bin/sleep", "3650d"], memory=128 << 20),
        ],
    )
    assert spec.hostname == kube.hostname


def test_docker_rest_exports_every_option_field_by_field():
    _spec, observed, kube = docker_pod("podlabexpd2")
    assert kube is not None
    sandbox_labels = observed.sandbox.raw["Config"]["Labels"]
    assert "io.podlab.content-hash" in sandbox_labels  # the pause image's own label, which Docker copies onto the container
    assert kube.labels == {"app": "podlabexp", "tier": "web", LABEL_POD: "podlabexpd2", "podlab.role": "sandbox",
                           "podlab.spec-hash": sandbox_labels["podlab.spec-hash"]}
    assert (kube.name, kube.namespace, kube.hostname) == ("podlabexpd2", None, "podlabexpd2")
    assert (kube.share_pid, kube.host_network, kube.host_ipc, kube.host_pid) == (True, False, False, False)
    assert kube.ports == [KubePort("127.0.0.1", 18080, 80, "tcp")]
    assert kube.volumes == ["www"]
    assert kube.dns is None
    assert kube.restart_policy == "OnFailure"
    app, sidecar = kube.containers
    assert app == KubeContainer(
        "app", HTTPD, entrypoint=["/bin/busybox"], command=HTTPD_CMD, env={"GREETING": "hello", "MODE": "lab"}, working_dir="/www",
        memory=64 << 20, nano_cpus=500_000_000, mounts=[KubeMount("volume", "/www", "www", True), KubeMount("bind", "/data", BIND, False)],
    )
    assert sidecar == KubeContainer("sidecar", BUSYBOX, command=["/bin/sleep", "3650d"], user="1000:1000", memory=32 << 20,
                                    mounts=[KubeMount("volume", "/www", "www", True)])
    assert kube.init_containers == [KubeContainer("page", BUSYBOX, command=["sh", "-c", "echo hi > /www/index.html"], user="0",
                                                  mounts=[KubeMount("volume", "/www", "www", False)])]


# -- CRI ---------------------------------------------------------------------------------------------


def test_cri_seed_exports_what_the_manifest_set():
    _spec, cri, observed, kube = cri_pod("podlabexpc1")
    assert kube == KubePod(
        name="podlabexpc1", namespace="default", labels=observed.sandbox.labels, hostname="podlabexpc1",
        containers=[KubeContainer("app", HTTPD, memory=256 << 20),
                    KubeContainer("sidecar", BUSYBOX, entrypoint=["/bin/sleep", "3650d"], memory=128 << 20)],
    )
    assert cri.qos == "Burstable"


def test_cri_rest_exports_every_option_field_by_field():
    _spec, cri, observed, kube = cri_pod("podlabexpc2")
    assert kube is not None
    assert kube.labels == {"app": "podlabexp", "tier": "web", LABEL_POD: "podlabexpc2", "podlab.role": "sandbox",
                           "podlab.spec-hash": observed.sandbox.spec_hash}
    assert (kube.name, kube.namespace, kube.hostname) == ("podlabexpc2", "default", "podlabexpc2")
    assert (kube.share_pid, kube.host_network, kube.host_ipc, kube.host_pid) == (True, False, False, False)
    assert kube.ports == [KubePort("127.0.0.1", 18081, 80, "tcp")]
    assert kube.volumes == ["www"]
    assert kube.dns == {"servers": ["10.0.0.10"], "searches": ["lab.example"], "options": ["ndots:2"]}
    assert kube.restart_policy is None
    www = KubeMount("volume", "/www", "www", True)
    app, sidecar = kube.containers
    assert app == KubeContainer(
        "app", HTTPD, entrypoint=["/bin/busybox"], command=HTTPD_CMD, env={"GREETING": "hello", "MODE": "lab"}, working_dir="/www",
        memory=64 << 20, nano_cpus=500_000_000, mounts=[www, KubeMount("bind", "/data", BIND, False)],
    )
    assert sidecar == KubeContainer("sidecar", BUSYBOX, command=["/bin/sleep", "3650d"], user="1000:1000", memory=32 << 20, mounts=[www])
    assert kube.init_containers == [KubeContainer("page", BUSYBOX, command=["sh", "-c", "echo hi > /www/index.html"], user="0",
                                                  mounts=[KubeMount("volume", "/www", "www", False)])]
    # the volume is known by its host path: the pod's own directory, named by the UID the spec derives
    page = next(c for c in RECORDED["cri"]["podlabexpc2"]["containers"] if c["item"]["metadata"]["name"] == "page")
    assert page["info"]["config"]["mounts"][0]["host_path"] == f"{cri_runtime.POD_ROOT}/{cri.uid}/volumes/www"


# -- the manifest and the round trip -------------------------------------------------------------------


def exported(runtime: str, name: str) -> tuple[PodSpec, CriPod | None, KubePod | None]:
    if runtime == "docker":
        spec, _observed, kube = docker_pod(name)
        return spec, None, kube
    spec, cri, _observed, kube = cri_pod(name)
    return spec, cri, kube


@pytest.mark.parametrize("runtime", ["docker", "cri"])
@pytest.mark.parametrize("which", [SEED, REST], ids=["seed", "rest"])
def test_the_manifest_is_the_one_the_module_returned(runtime, which):
    name = which[runtime]
    _spec, _cri, kube = exported(runtime, name)
    assert kube is not None
    assert manifest_from_pod(kube) == RECORDED[runtime][name]["result"]["pod"]["manifest"]


@pytest.mark.parametrize("runtime", ["docker", "cri"])
@pytest.mark.parametrize("which", [SEED, REST], ids=["seed", "rest"])
def test_the_manifest_read_back_makes_the_same_pod(runtime, which):
    """manifest -> options -> spec: the same members (options and hashes), the same pod-level settings."""
    name = which[runtime]
    spec, cri, kube = exported(runtime, name)
    assert kube is not None
    params = validated(params_from_manifest(manifest_from_pod(kube), runtime), runtime)
    if runtime == "docker":
        again, cri_again = build_spec(params), None
    else:
        again, cri_again = build_cri_spec(params, cri_driver(RECORDED[runtime][name]))
    parent = RECORDED[runtime][name]["result"]["pod"]["cgroup"]["parent"]
    for before, after in zip(spec.members + spec.inits, again.members + again.inits, strict=True):
        assert (after.name, after.role, after.image, after.options) == (before.name, before.role, before.image, before.options)
        assert after.hash(again.member_context(parent)) == before.hash(spec.member_context(parent))
    assert (again.name, again.hostname, again.ports, again.volumes, again.labels) == (spec.name, spec.hostname, spec.ports, spec.volumes, spec.labels)
    assert (again.share_pid, again.host_network, again.host_ipc, again.host_pid) == (spec.share_pid, spec.host_network, spec.host_ipc, spec.host_pid)
    assert again.sandbox_hash(parent) == spec.sandbox_hash(parent)
    assert cri_again == cri


def test_docker_an_entrypoint_equal_to_the_images_is_still_exported_when_it_dropped_the_images_cmd():
    # The recorded app runs podlab/httpd:1's own ENTRYPOINT-less CMD; give it the image's ENTRYPOINT back as the pod's
    # own, as Docker records a container created with one (its CMD dropped, the image keeping its own).
    _spec, observed, _kube = docker_pod("podlabexpd1")
    app = observed.members["app"]
    image_config = dict(observed.image_configs[app.image], Entrypoint=["/bin/sh", "-c"])
    raw = dict(app.raw, Config=dict(app.raw["Config"], Entrypoint=["/bin/sh", "-c"], Cmd=None))
    member = dataclasses.replace(app, raw=raw)
    exported = docker_runtime.kube_container(member, image_config, "podlabexpd1")
    # read back, the manifest's command alone runs /bin/sh -c without the image's CMD, as the container does
    assert (exported.entrypoint, exported.command) == (["/bin/sh", "-c"], None)
    # where the container keeps the image's CMD, nothing of the command is the pod's
    kept = dataclasses.replace(app, raw=dict(app.raw, Config=dict(app.raw["Config"], Entrypoint=["/bin/sh", "-c"])))
    assert docker_runtime.kube_container(kept, image_config, "podlabexpd1").entrypoint is None
