"""An observed pod written as a v1 Pod manifest, and the round trip: manifest -> options -> pod -> manifest -> the same options."""
from __future__ import annotations

import pytest
import yaml

from ansible_collections.podlab.playground.plugins.module_utils._kube.pod import KubeContainer, KubeMount, KubePod, KubePort, kube_restart_policy
from ansible_collections.podlab.playground.plugins.module_utils._kube.pod_in import params_from_manifest
from ansible_collections.podlab.playground.plugins.module_utils._kube.pod_out import export_gaps, manifest_from_pod, to_yaml

from .pods import SEED, SEED_IMAGES, observed, validated

BUSYBOX = "podlab/busybox:1"


def test_a_bare_pod_is_minimal():
    manifest = manifest_from_pod(KubePod(name="foo", hostname="foo", labels={"podlab.pod": "foo", "podlab.role": "container"},
                                         containers=[KubeContainer("app", BUSYBOX)]))
    assert manifest == {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "foo"}, "spec": {"containers": [{"name": "app", "image": BUSYBOX}]}}


def test_every_field():
    pod = KubePod(
        name="foo", namespace="lab", labels={"podlab.pod": "foo", "tier": "web", "app": "demo"}, hostname="web", share_pid=True, host_ipc=True,
        ports=[KubePort("", 8080, 80, "tcp"), KubePort("127.0.0.1", 5353, 53, "udp")], volumes=["www"],
        dns={"servers": ["1.1.1.1"], "searches": [], "options": ["ndots:2", "rotate"]}, restart_policy="OnFailure", stop_timeout=30,
        containers=[
            KubeContainer("app", BUSYBOX, entrypoint=["httpd"], command=["-f", "-p", "80"], env={"B": "2", "A": "1"}, working_dir="/www",
                          user="1000:100", memory=256 << 20, nano_cpus=500_000_000,
                          mounts=[KubeMount("volume", "/www", "www", read_only=True), KubeMount("bind", "/logs", "/srv/logs"),
                                  KubeMount("tmpfs", "/tmp")]),
            KubeContainer("sidecar", BUSYBOX, user="33", mounts=[KubeMount("bind", "/in", "/srv/logs", read_only=True)]),
        ],
        init_containers=[KubeContainer("page", BUSYBOX, command=["sh", "-c", "echo hi > /www/index.html"], mounts=[KubeMount("volume", "/www", "www")])],
    )
    assert manifest_from_pod(pod) == {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "foo", "namespace": "lab", "labels": {"app": "demo", "tier": "web"}},
        "spec": {
            "initContainers": [{"name": "page", "image": BUSYBOX, "args": ["sh", "-c", "echo hi > /www/index.html"],
                                "volumeMounts": [{"name": "www", "mountPath": "/www"}]}],
            "containers": [
                {"name": "app", "image": BUSYBOX, "command": ["httpd"], "args": ["-f", "-p", "80"],
                 "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}], "workingDir": "/www",
                 "ports": [{"containerPort": 80, "hostPort": 8080}, {"containerPort": 53, "hostPort": 5353, "hostIP": "127.0.0.1", "protocol": "UDP"}],
                 "resources": {"limits": {"memory": "256Mi", "cpu": "500m"}},
                 "volumeMounts": [{"name": "www", "mountPath": "/www", "readOnly": True}, {"name": "host-srv-logs", "mountPath": "/logs"},
                                  {"name": "tmpfs-app-tmp", "mountPath": "/tmp"}],
                 "securityContext": {"runAsUser": 1000, "runAsGroup": 100}},
                {"name": "sidecar", "image": BUSYBOX, "volumeMounts": [{"name": "host-srv-logs", "mountPath": "/in", "readOnly": True}],
                 "securityContext": {"runAsUser": 33}},
            ],
            "volumes": [{"name": "www", "emptyDir": {}}, {"name": "host-srv-logs", "hostPath": {"path": "/srv/logs"}},
                        {"name": "tmpfs-app-tmp", "emptyDir": {"medium": "Memory"}}],
            "hostname": "web", "shareProcessNamespace": True, "hostIPC": True, "restartPolicy": "OnFailure",
            "dnsPolicy": "None", "dnsConfig": {"nameservers": ["1.1.1.1"], "options": [{"name": "ndots", "value": "2"}, {"name": "rotate"}]},
            "terminationGracePeriodSeconds": 30,
        },
    }
    assert export_gaps(pod) == []


def test_made_up_volume_names_are_dns_labels_and_unique():
    pod = KubePod(name="foo", volumes=["host-a"], containers=[KubeContainer("app", BUSYBOX, mounts=[
        KubeMount("bind", "/x", "/A"), KubeMount("bind", "/y", "/a"), KubeMount("bind", "/z", "/" + "d" * 100)])])
    names = [v["name"] for v in manifest_from_pod(pod)["spec"]["volumes"]]
    assert names == ["host-a", "host-a-2", "host-a-3", "host-" + "d" * 55]


def test_host_network_leaves_out_the_hosts_hostname():
    spec = manifest_from_pod(KubePod(name="foo", hostname="node1", host_network=True, host_pid=True, containers=[KubeContainer("app", BUSYBOX)]))["spec"]
    assert "hostname" not in spec
    assert (spec["hostNetwork"], spec["hostPID"]) == (True, True)


@pytest.mark.parametrize(("policies", "policy"), [
    (["unless-stopped", "unless-stopped"], "Always"), (["always"], "Always"), (["on-failure"], "OnFailure"), (["no", None], "Never"),
    ([None], "Never"), (["no", "always"], None),
])
def test_docker_restart_policies_in_kubernetes_terms(policies, policy):
    assert kube_restart_policy(policies) == policy


def test_what_a_pod_cannot_say_is_listed():
    pod = KubePod(name="foo", ports=[KubePort("", None, 80, "tcp")], containers=[KubeContainer("app", BUSYBOX, user="www-data")])
    assert export_gaps(pod) == [
        "container app: user 'www-data' is a name, a Pod sets numbers only (runAsUser, runAsGroup); the manifest leaves it out",
        "port 80/tcp is published on a host port Docker picks, which a Pod cannot say; the manifest lists it as a containerPort only, "
        "which publishes nothing",
    ]
    container = manifest_from_pod(pod)["spec"]["containers"][0]
    assert container["ports"] == [{"containerPort": 80}]
    assert "securityContext" not in container


def test_names_kubectl_refuses_are_listed():
    pod = KubePod(name="Foo_1", volumes=["www", "my_vol"], containers=[KubeContainer("app", BUSYBOX), KubeContainer("side.car", BUSYBOX)])
    assert export_gaps(pod) == [
        "pod name 'Foo_1' is not a DNS subdomain (lower-case letters, digits, '-' and '.'), which kubectl apply refuses",
        "container name 'side.car' is not a DNS label (lower-case letters, digits and '-'), which kubectl apply refuses",
        "volume name 'my_vol' is not a DNS label (lower-case letters, digits and '-'), which kubectl apply refuses",
    ]
    assert export_gaps(KubePod(name="web.lab", volumes=["www-1"], containers=[KubeContainer("a" * 63, BUSYBOX)])) == []


def test_yaml_is_block_style_in_kubectls_order():
    text = to_yaml(manifest_from_pod(KubePod(name="foo", containers=[KubeContainer("app", BUSYBOX, nano_cpus=2 * 10**9, command=["sleep", "1"])])))
    assert text == (
        "apiVersion: v1\n"
        "kind: Pod\n"
        "metadata:\n"
        "  name: foo\n"
        "spec:\n"
        "  containers:\n"
        "  - args:\n"
        "    - sleep\n"
        "    - '1'\n"
        "    image: podlab/busybox:1\n"
        "    name: app\n"
        "    resources:\n"
        "      limits:\n"
        "        cpu: '2'\n"
    )
    assert yaml.safe_load(text)["spec"]["containers"][0]["resources"]["limits"]["cpu"] == "2"


# -- the round trip ----------------------------------------------------------------------------

RICH = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "web", "labels": {"app": "web"}, "annotations": {"note": "ignored"}},
    "spec": {
        "hostname": "www", "shareProcessNamespace": True, "terminationGracePeriodSeconds": 5,
        "securityContext": {"runAsUser": 1000},
        "volumes": [{"name": "www", "emptyDir": {}}, {"name": "logs", "hostPath": {"path": "/srv/logs"}}],
        "initContainers": [{"name": "page", "image": "busybox", "command": ["sh", "-c"], "args": ["echo hi > /www/index.html"],
                            "volumeMounts": [{"name": "www", "mountPath": "/www"}]}],
        "containers": [
            {"name": "app", "image": "docker.io/kennethreitz/httpbin", "args": ["httpd", "-f", "-p", "80", "-h", "/www"],
             "env": [{"name": "MODE", "value": "demo"}, {"name": "EMPTY"}], "workingDir": "/www",
             "ports": [{"containerPort": 80, "hostPort": 8080}, {"containerPort": 53, "hostPort": 5353, "protocol": "UDP", "hostIP": "127.0.0.1"}],
             "resources": {"limits": {"memory": "256Mi", "cpu": "0.5"}, "requests": {"memory": "256Mi", "cpu": "500m"}},
             "volumeMounts": [{"name": "www", "mountPath": "/www", "readOnly": True}, {"name": "logs", "mountPath": "/var/log/app"}],
             "securityContext": {"runAsGroup": 100}},
            {"name": "sidecar", "image": "busybox", "command": ["/bin/sleep", "3650d"], "resources": {"limits": {"memory": "128Mi", "cpu": 1}}},
        ],
    },
}
DOCKER_ONLY = {"restartPolicy": "OnFailure", "volumes": [*RICH["spec"]["volumes"], {"name": "scratch", "emptyDir": {"medium": "Memory"}}]}
CRI_ONLY = {"dnsPolicy": "None", "dnsConfig": {"nameservers": ["10.0.0.10"], "searches": ["lab.local"], "options": [{"name": "ndots", "value": "2"}]}}


def rich(runtime):
    manifest = {**RICH, "metadata": {**RICH["metadata"]}, "spec": {**RICH["spec"], **(DOCKER_ONLY if runtime == "docker" else CRI_ONLY)}}
    if runtime == "docker":
        sidecar = {**manifest["spec"]["containers"][1], "volumeMounts": [{"name": "scratch", "mountPath": "/tmp"}]}
        manifest["spec"]["containers"] = [manifest["spec"]["containers"][0], sidecar]
    else:
        manifest["metadata"]["namespace"] = "lab"
    return manifest


def round_trip(manifest, runtime, images):
    """manifest -> options -> the pod the runtime shows -> manifest (as YAML) -> options."""
    first = validated(params_from_manifest(manifest, runtime, images), runtime)
    exported = manifest_from_pod(observed(first, runtime))
    second = validated(params_from_manifest(to_yaml(exported), runtime, images), runtime)
    return first, exported, second


@pytest.mark.parametrize("runtime", ["docker", "cri"])
def test_the_seeds_pod_round_trips(runtime):
    first, exported, second = round_trip(SEED, runtime, SEED_IMAGES)
    assert second == first
    containers = exported["spec"]["containers"]
    assert [(c["name"], c["image"], c["resources"]) for c in containers] == [
        ("app", BUSYBOX, {"limits": {"memory": "256Mi"}}), ("sidecar", BUSYBOX, {"limits": {"memory": "128Mi"}})]
    assert containers[1]["command"] == ["/bin/sleep", "3650d"]
    assert "args" not in containers[1]
    assert "ports" not in containers[0]  # the seed's containerPort published nothing
    assert exported["metadata"] == ({"name": "foo"} if runtime == "docker" else {"name": "foo", "namespace": "default"})


@pytest.mark.parametrize("runtime", ["docker", "cri"])
def test_a_pod_of_every_field_round_trips(runtime):
    first, exported, second = round_trip(rich(runtime), runtime, SEED_IMAGES)
    assert second == first
    app = next(m for m in first["containers"] if m["name"] == "app")
    assert (app["image"], app["user"], app["memory"], app["cpus"], app["env"]) == (BUSYBOX, "1000:100", "268435456", "0.5", {"MODE": "demo", "EMPTY": ""})
    assert first["ports"] == ["8080:80", "127.0.0.1:5353:53/udp"]
    assert first["stop_timeout"] == 5
    if runtime == "cri":
        assert first["dns"] == {"servers": ["10.0.0.10"], "searches": ["lab.local"], "options": ["ndots:2"]}
        assert exported["metadata"]["namespace"] == "lab"
    else:
        assert [m["restart_policy"] for m in first["containers"]] == ["on-failure", "on-failure"]
        assert first["containers"][1]["mounts"] == [{"type": "tmpfs", "source": None, "target": "/tmp", "read_only": False}]
    # Written out again, the manifest is the same: the export is stable.
    assert manifest_from_pod(observed(second, runtime)) == exported
