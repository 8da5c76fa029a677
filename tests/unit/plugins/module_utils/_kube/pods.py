"""Test helpers: module options validated by the modules' own argument specs, and the observed pod a runtime would
report for them (what the integrator fills from Docker's inspect or the CRI's status)."""
from __future__ import annotations

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.podlab.playground.plugins.module_utils._kube.pod import KubeContainer, KubeMount, KubePod, KubePort, kube_restart_policy
from ansible_collections.podlab.playground.plugins.module_utils._pod.cri_spec import CRI_ARGUMENT_SPEC, build_cri_spec
from ansible_collections.podlab.playground.plugins.module_utils._pod.model import LABEL_POD
from ansible_collections.podlab.playground.plugins.module_utils._pod.spec import ARGUMENT_SPEC, MemberSpec, build_spec

SPECS = {"docker": ARGUMENT_SPEC, "cri": CRI_ARGUMENT_SPEC}

SEED = """\
apiVersion: v1
kind: Pod
metadata:
  name: foo
spec:
  containers:
    - name: app
      image: docker.io/kennethreitz/httpbin
      resources:
        limits:
          memory: 256Mi
      ports:
        - containerPort: 80
    - name: sidecar
      image: busybox
      command: ["/bin/sleep", "3650d"]
      resources:
        limits:
          memory: 128Mi
"""
SEED_IMAGES = {"docker.io/kennethreitz/httpbin": "podlab/busybox:1", "busybox": "podlab/busybox:1"}


def validated(params: dict, runtime: str) -> dict:
    """params as AnsibleModule would fill them from the runtime's module's argument spec; fails on any key or shape it refuses."""
    result = ArgumentSpecValidator(SPECS[runtime]).validate(params)
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


def _container(member: MemberSpec) -> KubeContainer:
    options = member.options
    return KubeContainer(
        name=member.name, image=member.image, entrypoint=options.get("entrypoint"), command=options.get("command"),
        env=dict(options.get("env") or {}), working_dir=options.get("working_dir"), user=options.get("user"),
        memory=options.get("memory"), nano_cpus=options.get("cpus"),
        mounts=[KubeMount(m["type"], m["target"], m.get("source") or "", m["read_only"]) for m in options.get("mounts") or []],
    )


def observed(params: dict, runtime: str) -> KubePod:
    """The pod the runtime would show after running params (validated), in the neutral shape pod_out reads."""
    if runtime == "docker":
        spec, cri = build_spec(params), None
    else:
        spec, cri = build_cri_spec(params, "cgroupfs")
    return KubePod(
        name=spec.name,
        namespace=cri.namespace if cri else None,
        labels={**spec.labels, LABEL_POD: spec.name},  # as the containers carry them
        hostname=spec.hostname,
        share_pid=spec.share_pid, host_network=spec.host_network, host_ipc=spec.host_ipc, host_pid=spec.host_pid,
        ports=[KubePort(p.host_ip, int(p.host_port) if p.host_port else None, p.container_port, p.proto) for p in spec.ports],
        volumes=list(spec.volumes),
        dns=(cri.dns or None) if cri else None,
        restart_policy=kube_restart_policy(m.options.get("restart_policy") for m in spec.members) if runtime == "docker" else None,
        stop_timeout=spec.stop_timeout,
        containers=[_container(m) for m in spec.members],
        init_containers=[_container(m) for m in spec.inits],
    )
