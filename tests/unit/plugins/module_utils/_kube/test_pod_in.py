"""A v1 Pod manifest read into docker_pod's and cri_pod's options, field by field, and every refusal with its manifest path."""
from __future__ import annotations

import copy

import pytest

from ansible_collections.podlab.playground.plugins.module_utils._kube.pod_in import ManifestError, load_manifest, params_from_manifest
from ansible_collections.podlab.playground.plugins.module_utils._pod.cri_spec import build_cri_spec
from ansible_collections.podlab.playground.plugins.module_utils._pod.spec import build_spec

from .pods import SEED, SEED_IMAGES, validated

RUNTIMES = ("docker", "cri")


def pod(*containers, **spec):
    """A Pod manifest; containers default to one busybox member."""
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "foo"},
            "spec": {"containers": list(containers) or [{"name": "app", "image": "podlab/busybox:1"}], **spec}}


def app(**fields):
    return {"name": "app", "image": "podlab/busybox:1", **fields}


def problems(manifest, runtime, images=None):
    with pytest.raises(ManifestError) as error:
        params_from_manifest(manifest, runtime, images)
    assert str(error.value).startswith("the Pod manifest cannot be run as written: ")
    return error.value.problems


def member(manifest, runtime, index=0, kind="containers"):
    return params_from_manifest(manifest, runtime)[kind][index]


# -- the seed's pod --------------------------------------------------------------------------


def test_the_seeds_pod_on_docker():
    params = params_from_manifest(SEED, "docker", SEED_IMAGES)
    assert params == {
        "name": "foo", "labels": {}, "hostname": None, "share_pid": False, "host_network": False, "host_ipc": False, "host_pid": False,
        "containers": [
            {"name": "app", "image": "podlab/busybox:1", "memory": "268435456", "restart_policy": "unless-stopped"},
            {"name": "sidecar", "image": "podlab/busybox:1", "entrypoint": ["/bin/sleep", "3650d"], "memory": "134217728",
             "restart_policy": "unless-stopped"},
        ],
        "init_containers": [], "ports": [], "volumes": [],
    }
    spec = build_spec(validated(params, "docker"))
    assert [(m.name, m.image, m.options["memory"]) for m in spec.members] == [("app", "podlab/busybox:1", 256 << 20),
                                                                              ("sidecar", "podlab/busybox:1", 128 << 20)]
    assert spec.ports == ()  # a containerPort without hostPort publishes nothing, as in Kubernetes


def test_the_seeds_pod_on_cri():
    params = params_from_manifest(SEED, "cri", SEED_IMAGES)
    assert params["namespace"] == "default"
    assert params["uid"] is None
    assert params["dns"] is None
    assert [m.get("restart_policy") for m in params["containers"]] == [None, None]  # the CRI has none: Always is kubelet's
    spec, cri = build_cri_spec(validated(params, "cri"), "cgroupfs")
    assert cri.qos == "Burstable"  # memory limits only
    assert spec.cgroup["memory"] == str((256 + 128) << 20)


def test_the_seeds_pod_without_images_runs_the_references_as_written():
    images = [m["image"] for m in params_from_manifest(SEED, "docker")["containers"]]
    assert images == ["docker.io/kennethreitz/httpbin", "busybox"]


# -- the document ----------------------------------------------------------------------------


def test_yaml_text_and_a_dict_give_the_same_options():
    assert params_from_manifest(SEED, "cri") == params_from_manifest(load_manifest(SEED), "cri")


@pytest.mark.parametrize(("text", "message"), [
    ("- a\n- b\n", "got 1 document(s) holding a list"),
    ("just text", "holding a str"),
    ("", "got 0 document(s)"),
    (SEED + "---\n" + SEED, "got 2 document(s)"),
    ("a: [", "not valid YAML"),
])
def test_text_that_is_not_one_mapping_is_refused(text, message):
    assert message in problems(text, "docker")[0]


def test_a_manifest_of_another_type_is_refused():
    assert "expected a Pod as a mapping or YAML text, got a list" in problems([SEED], "docker")[0]


def test_api_version_and_kind():
    manifest = {**pod(), "apiVersion": "apps/v1", "kind": "Deployment"}
    assert problems(manifest, "docker") == [
        "apiVersion: expected v1, got 'apps/v1'",
        "kind: expected Pod, got 'Deployment'; write the Pod itself (a Deployment's template is not run)",
    ]


def test_unknown_runtime_is_a_programming_error():
    with pytest.raises(ValueError, match="runtime 'podman'"):
        params_from_manifest(pod(), "podman")


def test_status_and_read_only_metadata_are_ignored():
    manifest = pod()
    manifest["status"] = {"phase": "Running"}
    manifest["metadata"].update(annotations={"note": "x"}, creationTimestamp="2024-01-01T00:00:00Z", resourceVersion="1", generation=1,
                                managedFields=[{"manager": "kubectl"}], selfLink="/api/v1/x")
    assert params_from_manifest(manifest, "docker") == params_from_manifest(pod(), "docker")


def test_keys_that_set_nothing_are_not_refused():
    assert params_from_manifest(pod(nodeSelector={}, tolerations=[], affinity=None), "docker") == params_from_manifest(pod(), "docker")


def test_problems_are_all_reported_at_once_in_manifest_order():
    manifest = pod(app(livenessProbe={"httpGet": {"port": 80}}), app(name="b", tty=True), nodeName="n1")
    assert problems(manifest, "docker") == [
        "spec.nodeName: not supported by docker_pod; the pod runs on the play's host, nothing schedules it; drop it",
        "spec.containers[0].livenessProbe: not supported by docker_pod; the runtime runs no probes; drop it",
        "spec.containers[1].tty: not supported by docker_pod; members run detached, without a terminal; drop it",
    ]


@pytest.mark.parametrize(("field", "value"), [
    ("unknownField", 1), ("overhead", {"cpu": "1"}), ("hostAliases", [{"ip": "1.2.3.4"}]), ("subdomain", "x"), ("runtimeClassName", "x"),
    ("serviceAccountName", "x"), ("imagePullSecrets", [{"name": "x"}]), ("ephemeralContainers", [{}]), ("readinessGates", [{}]),
])
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_unknown_pod_fields_are_refused_with_their_path(field, value, runtime):
    assert problems(pod(**{field: value}), runtime)[0].startswith(f"spec.{field}: not supported by {runtime}_pod")


@pytest.mark.parametrize("field", ["livenessProbe", "readinessProbe", "startupProbe", "lifecycle", "envFrom", "stdin", "tty",
                                   "terminationMessagePath", "resizePolicy", "restartPolicy", "volumeDevices"])
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_unknown_container_fields_are_refused_with_their_path(field, runtime):
    assert problems(pod(app(), app(name="b", **{field: "x"})), runtime)[0].startswith(f"spec.containers[1].{field}: not supported by {runtime}_pod")


def test_container_names_are_unique_across_the_pod():
    assert problems(pod(app(), app(), initContainers=[app()]), "cri") == [
        "spec.containers[1].name: 'app' is used twice; name every container of the pod differently, init containers included",
        "spec.initContainers[0].name: 'app' is used twice; name every container of the pod differently, init containers included",
    ]


def test_init_container_fields_are_refused_with_their_path():
    assert problems(pod(initContainers=[app(name="init", restartPolicy="Always")]), "cri") == [
        "spec.initContainers[0].restartPolicy: not supported by cri_pod"]


def test_missing_required_fields():
    assert problems({"apiVersion": "v1", "kind": "Pod", "metadata": {}, "spec": {"containers": [{}]}}, "docker") == [
        "metadata.name: required", "spec.containers[0].image: required", "spec.containers[0].name: required"]
    assert problems({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "foo"}}, "docker") == ["spec: required"]
    assert problems(pod(containers=[]) | {"spec": {"containers": []}}, "docker") == ["spec.containers: a Pod needs at least one container"]


@pytest.mark.parametrize(("manifest", "problem"), [
    (pod(app(command="sleep 1")), "spec.containers[0].command: expected a list, got 'sleep 1'"),
    (pod(app(args=["-p", 80])), "spec.containers[0].args[1]: expected a string, got 80; quote it"),
    (pod(hostNetwork="yes"), "spec.hostNetwork: expected true or false, got 'yes'"),
    (pod(app(ports=[{"containerPort": "80"}])), "spec.containers[0].ports[0].containerPort: expected a whole number from 1 to 65535, got '80'"),
    (pod(app(ports=[{"containerPort": 70000}])), "spec.containers[0].ports[0].containerPort: expected a whole number from 1 to 65535, got 70000"),
    (pod(app(workingDir=5)), "spec.containers[0].workingDir: expected a string, got 5; quote it"),
    (pod(app(env=[{"name": "A", "value": 1}])), "spec.containers[0].env[0].value: expected a string, got 1; quote it"),
    (pod(app(resources=[])), "spec.containers[0].resources: expected a mapping, got []"),
    (pod(terminationGracePeriodSeconds=-1), "spec.terminationGracePeriodSeconds: expected a whole number from 0, got -1"),
    (pod(securityContext={"runAsUser": True}), "spec.securityContext.runAsUser: expected a whole number from 0, got True"),
])
def test_wrong_types_are_refused_with_their_path(manifest, problem):
    assert problems(manifest, "docker") == [problem]


# -- metadata --------------------------------------------------------------------------------


def test_labels():
    manifest = pod()
    manifest["metadata"]["labels"] = {"app": "web", "tier": "front"}
    assert params_from_manifest(manifest, "docker")["labels"] == {"app": "web", "tier": "front"}
    manifest["metadata"]["labels"] = {"version": 2}
    assert problems(manifest, "docker") == ["metadata.labels.version: expected a string, got 2; quote it"]


def test_namespace_and_uid_on_cri():
    manifest = pod()
    manifest["metadata"].update(namespace="lab", uid="0c6e4f1a-1111-2222-3333-444455556666")
    params = params_from_manifest(manifest, "cri")
    assert (params["namespace"], params["uid"]) == ("lab", "0c6e4f1a-1111-2222-3333-444455556666")


def test_namespace_and_uid_on_docker():
    manifest = pod()
    manifest["metadata"]["namespace"] = "default"
    assert "namespace" not in params_from_manifest(manifest, "docker")
    manifest["metadata"].update(namespace="lab", uid="x")
    assert problems(manifest, "docker") == [
        "metadata.namespace: docker_pod has no namespaces; drop it (or write default), or use cri_pod",
        "metadata.uid: docker_pod has no pod UID; drop it, or use cri_pod",
    ]


def test_generate_name_is_refused():
    manifest = pod()
    manifest["metadata"] = {"generateName": "foo-"}
    assert problems(manifest, "cri") == ["metadata.generateName: not supported by cri_pod; give the pod a metadata.name", "metadata.name: required"]


# -- containers ------------------------------------------------------------------------------


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_command_is_the_entrypoint_and_args_the_command(runtime):
    container = member(pod(app(command=["/bin/sh", "-c"], args=["echo hi"])), runtime)
    assert (container["entrypoint"], container["command"]) == (["/bin/sh", "-c"], ["echo hi"])
    assert "entrypoint" not in member(pod(app(command=[])), runtime)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_env_literal_values_a_later_entry_wins(runtime):
    env = [{"name": "A", "value": "1"}, {"name": "B"}, {"name": "A", "value": "3"}]
    assert member(pod(app(env=env)), runtime)["env"] == {"A": "3", "B": ""}


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_env_value_from_is_refused(runtime):
    env = [{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]
    assert problems(pod(app(env=env)), runtime) == [
        f"spec.containers[0].env[0].valueFrom: not supported by {runtime}_pod; write the variable's value itself"]


@pytest.mark.parametrize(("fields", "path"), [
    ({"command": ["echo", "$(HOME)"]}, "command[1]"), ({"args": ["$(A)"]}, "args[0]"), ({"env": [{"name": "B", "value": "x$(A)"}]}, "env[0].value"),
])
def test_kubelet_expansion_is_refused(fields, path):
    assert problems(pod(app(**fields)), "docker") == [
        f"spec.containers[0].{path}: $(...) is expanded by kubelet, docker_pod would pass it on as written; write the value out"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_working_dir(runtime):
    assert member(pod(app(workingDir="/srv")), runtime)["working_dir"] == "/srv"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_images_map_references_to_local_images(runtime):
    images = {"nginx:1.25": "podlab/busybox:1", "docker.io/library/redis": "podlab/redis:1"}
    manifest = pod(app(image="docker.io/library/nginx:1.25"), app(name="b", image="redis"), app(name="c", image="nginx"))
    assert [m["image"] for m in params_from_manifest(manifest, runtime, images)["containers"]] == ["podlab/busybox:1", "podlab/redis:1", "nginx"]


def test_images_mapping_one_image_twice_is_refused():
    assert problems(pod(), "docker", {"busybox": "a", "docker.io/library/busybox:latest": "b"}) == [
        "images: 'docker.io/library/busybox:latest' names the same image as another key (docker.io/library/busybox:latest) but maps it to 'b', "
        "not 'a'; keep one"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_init_containers(runtime):
    manifest = pod(initContainers=[app(name="page", args=["sh", "-c", "echo hi"])])
    params = params_from_manifest(manifest, runtime)
    assert params["init_containers"] == [{"name": "page", "image": "podlab/busybox:1", "command": ["sh", "-c", "echo hi"]}]


# -- resources -------------------------------------------------------------------------------


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize(("limits", "memory", "cpus"), [
    ({"memory": "256Mi", "cpu": "500m"}, "268435456", "0.5"),
    ({"memory": "1G", "cpu": 2}, "1000000000", "2"),
    ({"memory": 1048576, "cpu": 0.25}, "1048576", "0.25"),
    ({"memory": "1.5Gi", "cpu": "10m"}, "1610612736", "0.01"),
    ({"memory": "0.5", "cpu": "1.0005"}, "1", "1.001"),  # a byte and a millicore rounded up
])
def test_limits(runtime, limits, memory, cpus):
    container = member(pod(app(resources={"limits": limits})), runtime)
    assert (container["memory"], container["cpus"]) == (memory, cpus)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_zero_limits_are_no_limits(runtime):
    container = member(pod(app(resources={"limits": {"memory": 0, "cpu": "0"}})), runtime)
    assert "memory" not in container
    assert "cpus" not in container


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_requests_equal_to_the_limits_are_accepted(runtime):
    resources = {"limits": {"memory": "256Mi", "cpu": "1"}, "requests": {"memory": "268435456", "cpu": "1000m"}}
    container = member(pod(app(resources=resources)), runtime)
    assert (container["memory"], container["cpus"]) == ("268435456", "1")


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_other_requests_are_refused(runtime):
    resources = {"limits": {"memory": "256Mi"}, "requests": {"memory": "128Mi", "cpu": "100m"}}
    module = f"{runtime}_pod"
    assert problems(pod(app(resources=resources)), runtime) == [
        f"spec.containers[0].resources.requests.memory: {module} sets limits only, so a request other than the limit (which also makes the "
        "QoS class Burstable) has no counterpart; drop it or make it equal to limits.memory",
        f"spec.containers[0].resources.requests.cpu: {module} has no cpu request of its own; write the amount under limits.cpu "
        "(a request defaults to its limit) or drop it",
    ]


@pytest.mark.parametrize(("resources", "problem"), [
    ({"limits": {"memory": "1gi"}}, "spec.containers[0].resources.limits.memory: '1gi' is not a Kubernetes quantity"),
    ({"limits": {"cpu": "1 "}, "requests": {"cpu": "one"}}, "spec.containers[0].resources.requests.cpu: 'one' is not a Kubernetes quantity"),
    ({"limits": {"memory": "-1Mi"}}, "spec.containers[0].resources.limits.memory: '-1Mi': a memory amount cannot be negative"),
    ({"limits": {"cpu": "5m"}}, "spec.containers[0].resources.limits.cpu: '5m' is below 10m, the smallest CPU limit docker_pod sets"),
    ({"limits": {"ephemeral-storage": "1Gi"}}, "spec.containers[0].resources.limits.ephemeral-storage: not supported by docker_pod"),
    ({"requests": {"nvidia.com/gpu": 1}}, "spec.containers[0].resources.requests.nvidia.com/gpu: not supported by docker_pod"),
    ({"claims": [{"name": "gpu"}]}, "spec.containers[0].resources.claims: not supported by docker_pod; limit cpu and memory only"),
])
def test_resource_refusals(resources, problem):
    found = problems(pod(app(resources=resources)), "docker")
    assert len(found) == 1
    assert found[0].startswith(problem)


# -- ports -----------------------------------------------------------------------------------


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_ports_publish_host_ports_only(runtime):
    ports = [{"containerPort": 80, "hostPort": 8080, "name": "http"}, {"containerPort": 53, "hostPort": 5353, "protocol": "UDP", "hostIP": "127.0.0.1"},
             {"containerPort": 9000}, {"containerPort": 443, "hostPort": 8443, "hostIP": "::1", "protocol": "SCTP"}]
    params = params_from_manifest(pod(app(ports=ports), app(name="b", ports=[{"containerPort": 81, "hostPort": 8081}])), runtime)
    assert params["ports"] == ["8080:80", "127.0.0.1:5353:53/udp", "[::1]:8443:443/sctp", "8081:81"]


@pytest.mark.parametrize(("port", "problem"), [
    ({"containerPort": 80, "protocol": "tcp"}, "spec.containers[0].ports[0].protocol: expected TCP, UDP or SCTP, got 'tcp'"),
    ({"containerPort": 80, "hostPort": 80, "hostIP": "localhost"}, "spec.containers[0].ports[0].hostIP: 'localhost' is not an IP address"),
    ({"hostPort": 80}, "spec.containers[0].ports[0].containerPort: required"),
])
def test_port_refusals(port, problem):
    assert problems(pod(app(ports=[port])), "docker") == [problem]


def test_ports_with_host_network_are_the_hosts():
    manifest = pod(app(ports=[{"containerPort": 80, "hostPort": 80}, {"containerPort": 81}]), hostNetwork=True)
    assert params_from_manifest(manifest, "docker")["ports"] == []
    manifest = pod(app(ports=[{"containerPort": 80, "hostPort": 8080}]), hostNetwork=True)
    assert problems(manifest, "docker") == [
        "spec.containers[0].ports[0].hostPort: with hostNetwork the pod listens on the host's ports, so hostPort must equal containerPort"]


# -- volumes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_empty_dir_and_host_path(runtime):
    manifest = pod(app(volumeMounts=[{"name": "www", "mountPath": "/www", "readOnly": True}, {"name": "logs", "mountPath": "/var/log/app"}]),
                   initContainers=[app(name="page", volumeMounts=[{"name": "www", "mountPath": "/www"}])],
                   volumes=[{"name": "www", "emptyDir": {}}, {"name": "logs", "hostPath": {"path": "/srv/logs"}}, {"name": "spare", "emptyDir": {}}])
    params = params_from_manifest(manifest, runtime)
    assert params["volumes"] == ["www", "spare"]
    assert params["containers"][0]["mounts"] == [
        {"type": "volume", "source": "www", "target": "/www", "read_only": True},
        {"type": "bind", "source": "/srv/logs", "target": "/var/log/app", "read_only": False},
    ]
    assert params["init_containers"][0]["mounts"] == [{"type": "volume", "source": "www", "target": "/www", "read_only": False}]
    validated(params, runtime)


def test_a_memory_volume_of_one_container_is_a_docker_tmpfs():
    manifest = pod(app(volumeMounts=[{"name": "scratch", "mountPath": "/tmp"}]), volumes=[{"name": "scratch", "emptyDir": {"medium": "Memory"}}])
    params = params_from_manifest(manifest, "docker")
    assert params["volumes"] == []
    assert params["containers"][0]["mounts"] == [{"type": "tmpfs", "target": "/tmp", "read_only": False}]
    assert build_spec(validated(params, "docker")).members[0].options["mounts"][0]["type"] == "tmpfs"


def test_memory_volumes_refused_where_no_tmpfs_can_stand_for_them():
    mounts = [{"name": "scratch", "mountPath": "/tmp"}]
    manifest = pod(app(volumeMounts=mounts), app(name="b", volumeMounts=mounts), volumes=[{"name": "scratch", "emptyDir": {"medium": "Memory"}}])
    assert problems(manifest, "docker") == [
        "spec.volumes[0].emptyDir.medium: a memory volume of docker_pod is one container's own tmpfs, but app, b mount it; "
        "drop medium to share a volume on disk"]
    assert problems(manifest, "cri") == [
        "spec.volumes[0].emptyDir.medium: memory-backed volumes are not supported by cri_pod; drop medium (a directory on disk)"]


@pytest.mark.parametrize(("volume", "problem"), [
    ({"name": "c", "configMap": {"name": "x"}}, "spec.volumes[0].configMap: configMap volumes are not supported by docker_pod; use an emptyDir or a hostPath"),
    ({"name": "c", "persistentVolumeClaim": {"claimName": "x"}},
     "spec.volumes[0].persistentVolumeClaim: persistentVolumeClaim volumes are not supported by docker_pod; use an emptyDir or a hostPath"),
    ({"name": "c"}, "spec.volumes[0]: no volume source; add emptyDir: {} or a hostPath"),
    ({"name": "c", "emptyDir": {"sizeLimit": "1Gi"}},
     "spec.volumes[0].emptyDir.sizeLimit: not supported by docker_pod; pod volumes have no size limit here; drop it"),
    ({"name": "c", "emptyDir": {"medium": "HugePages"}}, "spec.volumes[0].emptyDir.medium: HugePages is not supported by docker_pod; drop medium"),
    ({"name": "c", "hostPath": {"path": "/srv", "type": "DirectoryOrCreate"}},
     "spec.volumes[0].hostPath.type: DirectoryOrCreate is not supported by docker_pod, which neither checks nor creates host paths; "
     "drop type and make sure the path exists"),
    ({"name": "c", "hostPath": {"path": "srv"}}, "spec.volumes[0].hostPath.path: 'srv' is not an absolute path"),
])
def test_volume_refusals(volume, problem):
    # The mount of a refused volume says nothing more.
    assert problems(pod(app(volumeMounts=[{"name": "c", "mountPath": "/c"}]), volumes=[volume]), "docker") == [problem]


def test_a_volume_without_a_name_is_refused():
    assert problems(pod(volumes=[{"emptyDir": {}}]), "docker") == ["spec.volumes[0].name: required"]


def test_a_volume_declared_twice_is_refused():
    volumes = [{"name": "a", "emptyDir": {}}, {"name": "a", "emptyDir": {}}]
    assert problems(pod(volumes=volumes), "cri") == ["spec.volumes[1].name: volume 'a' is declared twice"]


@pytest.mark.parametrize(("mount", "problem"), [
    ({"name": "nope", "mountPath": "/x"}, "spec.containers[0].volumeMounts[0].name: no volume 'nope' in spec.volumes; declare it there"),
    ({"name": "www", "mountPath": "/x", "subPath": "a"},
     "spec.containers[0].volumeMounts[0].subPath: not supported by cri_pod; mount the whole volume, or a hostPath volume of that directory"),
    ({"name": "www", "mountPath": "/x", "mountPropagation": "Bidirectional"},
     "spec.containers[0].volumeMounts[0].mountPropagation: not supported by cri_pod; mounts are private; drop it"),
    ({"name": "www"}, "spec.containers[0].volumeMounts[0].mountPath: required"),
])
def test_volume_mount_refusals(mount, problem):
    assert problems(pod(app(volumeMounts=[mount]), volumes=[{"name": "www", "emptyDir": {}}]), "cri") == [problem]


# -- the pod's namespaces, hostname, user ----------------------------------------------------


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_namespaces_and_hostname(runtime):
    params = params_from_manifest(pod(shareProcessNamespace=True, hostIPC=True, hostname="web"), runtime)
    assert (params["share_pid"], params["host_ipc"], params["host_network"], params["host_pid"], params["hostname"]) == (True, True, False, False, "web")
    params = params_from_manifest(pod(hostNetwork=True, hostPID=True), runtime)
    assert (params["share_pid"], params["host_network"], params["host_pid"]) == (False, True, True)


def test_namespace_conflicts_are_refused_as_kubernetes_does():
    assert problems(pod(hostNetwork=True, hostname="web", shareProcessNamespace=True, hostPID=True), "docker") == [
        "spec.hostname: with hostNetwork the pod has the host's hostname; drop hostname",
        "spec.shareProcessNamespace: the pod cannot share its own PID namespace and use the host's (hostPID); drop one of them",
    ]


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize(("pod_context", "container_context", "user"), [
    ({"runAsUser": 1000}, None, "1000"),
    ({"runAsUser": 1000, "runAsGroup": 100}, None, "1000:100"),
    ({"runAsUser": 1000, "runAsGroup": 100}, {"runAsUser": 0}, "0:100"),  # field by field, the container's wins
    (None, {"runAsUser": 33, "runAsGroup": 33}, "33:33"),
    ({"runAsGroup": 5}, {"runAsUser": 7}, "7:5"),
])
def test_run_as_user_and_group(runtime, pod_context, container_context, user):
    manifest = pod(app(**({"securityContext": container_context} if container_context else {})), securityContext=pod_context)
    assert member(manifest, runtime)["user"] == user


def test_security_context_refusals():
    manifest = pod(app(securityContext={"privileged": True}), securityContext={"fsGroup": 2000, "runAsGroup": 5})
    assert problems(manifest, "docker") == [
        "spec.securityContext.fsGroup: not supported by docker_pod; only runAsUser and runAsGroup are mapped (to user); drop it",
        "spec.containers[0].securityContext.privileged: not supported by docker_pod; only runAsUser and runAsGroup are mapped (to user); drop it",
        "spec.containers[0].securityContext.runAsGroup: docker_pod sets a group only with a user; set runAsUser too",
    ]


# -- restartPolicy ---------------------------------------------------------------------------


@pytest.mark.parametrize(("policy", "docker"), [(None, "unless-stopped"), ("Always", "unless-stopped"), ("OnFailure", "on-failure"), ("Never", "no")])
def test_restart_policy_on_docker_is_each_members(policy, docker):
    manifest = pod(app(), app(name="b"), initContainers=[app(name="init")], **({"restartPolicy": policy} if policy else {}))
    params = params_from_manifest(manifest, "docker")
    assert [m["restart_policy"] for m in params["containers"]] == [docker, docker]
    assert "restart_policy" not in params["init_containers"][0]  # they run once to completion
    build_spec(validated(params, "docker"))


def test_restart_policy_on_cri_is_always_only():
    assert "restart_policy" not in member(pod(restartPolicy="Always"), "cri")
    assert problems(pod(restartPolicy="Never"), "cri") == [
        "spec.restartPolicy: Never is not supported by cri_pod: the next run with state started makes an exited member anew whatever its "
        "exit code, as kubelet does with Always; drop it or write Always"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_unknown_restart_policy(runtime):
    assert problems(pod(restartPolicy="Sometimes"), runtime) == ["spec.restartPolicy: expected Always, OnFailure or Never, got 'Sometimes'"]


# -- dns ----------------------------------------------------------------------------------------


def test_dns_config_on_cri():
    config = {"nameservers": ["1.1.1.1", "9.9.9.9"], "searches": ["lab.local"], "options": [{"name": "ndots", "value": "2"}, {"name": "rotate"}]}
    params = params_from_manifest(pod(dnsPolicy="None", dnsConfig=config), "cri")
    assert params["dns"] == {"servers": ["1.1.1.1", "9.9.9.9"], "searches": ["lab.local"], "options": ["ndots:2", "rotate"]}
    validated(params, "cri")


@pytest.mark.parametrize("policy", [None, "ClusterFirst", "Default", "ClusterFirstWithHostNet"])
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_dns_policies_without_config_are_the_runtimes_default(policy, runtime):
    params = params_from_manifest(pod(**({"dnsPolicy": policy} if policy else {})), runtime)
    assert params.get("dns") is None


def test_dns_refusals():
    assert problems(pod(dnsConfig={"nameservers": ["1.1.1.1"]}), "cri") == [
        "spec.dnsPolicy: cri_pod gives the pod exactly its dnsConfig, not merged with the host's resolver configuration; write dnsPolicy: None"]
    assert problems(pod(dnsPolicy="None"), "cri") == ["spec.dnsPolicy: None needs a dnsConfig; add spec.dnsConfig, or drop dnsPolicy"]
    assert problems(pod(dnsPolicy="None", dnsConfig={"nameservers": ["1.1.1.1"]}), "docker") == [
        "spec.dnsConfig: docker_pod gives the pod Docker's resolver configuration; drop it, or use cri_pod"]
    assert problems(pod(dnsPolicy="Cluster"), "docker") == [
        "spec.dnsPolicy: expected one of ClusterFirst, ClusterFirstWithHostNet, Default, None, got 'Cluster'"]
    assert problems(pod(dnsPolicy="None", dnsConfig={"options": [{"value": "2"}]}), "cri") == ["spec.dnsConfig.options[0].name: required"]


# -- the rest of the pod -------------------------------------------------------------------


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_termination_grace_period_is_the_stop_timeout(runtime):
    assert params_from_manifest(pod(terminationGracePeriodSeconds=30), runtime)["stop_timeout"] == 30
    assert "stop_timeout" not in params_from_manifest(pod(), runtime)


@pytest.mark.parametrize(("policies", "pull"), [(["IfNotPresent"], "missing"), (["Always", None, "Always"], "always"), (["Never"], "never"), ([None], None)])
def test_image_pull_policy_is_the_pods_pull(policies, pull):
    containers = [app(name=f"c{i}", **({"imagePullPolicy": p} if p else {})) for i, p in enumerate(policies)]
    assert params_from_manifest(pod(*containers), "cri").get("pull") == pull


def test_image_pull_policies_that_differ_are_refused():
    containers = [app(imagePullPolicy="Always"), app(name="b", imagePullPolicy="Never"), app(name="c", imagePullPolicy="Sometimes")]
    assert problems(pod(*containers), "docker") == [
        "spec.containers[1].imagePullPolicy: Never differs from spec.containers[0].imagePullPolicy's; docker_pod pulls every image of the "
        "pod alike; give every container the same imagePullPolicy",
        "spec.containers[2].imagePullPolicy: expected one of IfNotPresent, Always, Never, got 'Sometimes'",
    ]


def test_the_manifest_is_not_changed():
    manifest = pod(app(env=[{"name": "A", "value": "1"}], volumeMounts=[{"name": "w", "mountPath": "/w"}]), volumes=[{"name": "w", "emptyDir": {}}])
    before = copy.deepcopy(manifest)
    params_from_manifest(manifest, "docker")
    assert manifest == before


def test_yaml_text_without_pyyaml_on_the_host_says_what_to_do(monkeypatch):
    monkeypatch.setattr("ansible_collections.podlab.playground.plugins.module_utils._kube.yaml_text.HAS_YAML", False)
    assert problems(SEED, "docker") == [
        "manifest: YAML text needs PyYAML on the managed host (Debian's python3-yaml); or give the manifest as a mapping (from_yaml on the controller)"]
    assert params_from_manifest(pod(), "docker")["name"] == "foo"  # a mapping needs no PyYAML
