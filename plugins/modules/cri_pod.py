#!/usr/bin/python
# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

DOCUMENTATION = r"""
---
module: cri_pod
short_description: A Kubernetes pod made as kubelet makes it, through a container runtime's CRI
version_added: 0.2.0
description:
  - Manages a pod through the Container Runtime Interface of containerd's CRI plugin (or any CRI v1 runtime) over
    its Unix socket, with the calls kubelet makes, C(RunPodSandbox), then C(CreateContainer) and C(StartContainer)
    for every init container (run to completion, in order) and member (started concurrently).
  - The sandbox's pause process owns the pod's network, IPC and UTS namespaces; members join all three and keep
    their own mount and PID namespaces (O(share_pid) shares PID too), which a Docker pod (M(podlab.playground.docker_pod))
    cannot do for UTS.
  - Takes the options of M(podlab.playground.docker_pod) wherever they mean the same, so one spec runs on both; options
    the CRI cannot honour are refused before any change, with what to do instead.
  - The pod's cgroup is kubelet's, C(kubepods/<qos>/pod<uid>) (C(kubepods-<qos>-pod<uid>.slice) with the systemd
    driver), with the QoS class from the members' limits (Guaranteed, Burstable, BestEffort) and kubelet's pod-level
    limits; it is made with the code of M(podlab.playground.cgroup_parent), passed as C(cgroup_parent) to the sandbox
    and, through the sandbox's config, to every container, and removed with the pod in every hierarchy.
  - State is discovered by labels (C(podlab.pod), C(podlab.role), C(podlab.member), C(podlab.spec-hash)) and by what
    the runtime and the kernel show; a sandbox whose pause process died is replaced and its members made anew, as
    kubelet does. A CRI sandbox or container is never started again once stopped, so O(state=started) after
    O(state=stopped) makes new ones.
author:
  - podlab.playground contributors (@podlab)
requirements:
  - grpcio and protobuf for Python on the managed host (Debian's C(python3-grpcio) 1.51 and C(python3-protobuf) 4.21, or
    current releases); the P(podlab.playground.cri_runtime#role) role installs them.
  - A CRI runtime serving O(cri_socket), such as containerd 1.6+ with its CRI plugin (the P(podlab.playground.cri_runtime#role)
    role), and the images in its C(k8s.io) namespace; root for the pod cgroup and for reading C(/proc).
extends_documentation_fragment:
  - podlab.playground.attributes
  - podlab.playground.pod
attributes:
  idempotent:
    support: full
    details: A member that exits by itself is made anew by the next run with O(state=started).
options:
  name:
    description:
      - The pod's name (C(metadata.name)), in O(namespace).
      - Required unless O(manifest) names the pod.
    type: str
  namespace:
    description: The pod's Kubernetes namespace (C(metadata.namespace)).
    type: str
    default: default
  uid:
    description: The pod's UID (C(metadata.uid)), in its cgroup's name. Defaults to a UUID derived from O(namespace) and O(name), the same on every run.
    type: str
  cri_socket:
    description: The CRI runtime's socket, as kubelet's C(--container-runtime-endpoint).
    type: str
    default: unix:///run/containerd/containerd.sock
  state:
    description:
      - V(started) (V(present) is an alias) makes what is missing, runs the init containers, and starts the members concurrently.
      - V(stopped) stops the members, then the sandbox (makes what is missing without starting the members).
      - V(restarted) makes a new sandbox and new members, and reruns the init containers. Always changed.
      - V(absent) removes the members, the init containers, the sandbox, the pod volumes, the pod's log directory and its cgroup
        (in every hierarchy).
    type: str
    default: started
    choices: [started, present, stopped, restarted, absent]
  sandbox:
    description: Refused; the CRI runtime runs its own pause image (containerd's C(sandbox_image)).
    type: dict
  hostname:
    description: The pod's hostname, in the UTS namespace every member shares. Defaults to the pod's name. Not allowed with O(host_network).
    type: str
  ports:
    description:
      - Port mappings of the sandbox, as C([IP:]HOST_PORT:CONTAINER_PORT[/PROTO]), e.g. V(8080:80) (Kubernetes' C(hostPort)).
        A port without a host port is refused. Not allowed with O(host_network).
    type: list
    elements: str
    default: []
  volumes:
    description: Pod volumes (like emptyDir), directories under C(/var/lib/podlab/cri/pods/<uid>/volumes), made with the pod and removed with it.
    type: list
    elements: str
    default: []
  labels:
    description: Labels added to the sandbox and every container. A change makes the pod anew.
    type: dict
    default: {}
  share_pid:
    description: Kubernetes' shareProcessNamespace, PID namespace mode C(POD); members see pause as PID 1. Conflicts with O(host_pid).
    type: bool
    default: false
  host_network:
    description: Kubernetes' hostNetwork, the host's network (and so UTS) namespace.
    type: bool
    default: false
  host_ipc:
    description: Kubernetes' hostIPC, the host's IPC namespace.
    type: bool
    default: false
  host_pid:
    description: Kubernetes' hostPID, the host's PID namespace. Conflicts with O(share_pid).
    type: bool
    default: false
  dns:
    description: The pod's C(dnsConfig); without it the runtime gives the pod the host's resolver configuration.
    type: dict
    suboptions:
      servers:
        description: Name servers.
        type: list
        elements: str
        default: []
      searches:
        description: Search domains.
        type: list
        elements: str
        default: []
      options:
        description: Resolver options such as V(ndots:2).
        type: list
        elements: str
        default: []
  cgroup_parent:
    description:
      - Pod-level limits on kubelet's pod cgroup C(kubepods/<qos>/pod<uid>). Unset, memory and CPU are kubelet's, the
        members' sum when every member has a limit (at least the largest init container's).
      - Each member's limit must fit inside the pod's; larger ones are refused before any change.
    type: dict
    default: {}
    suboptions:
      create:
        description: Refused; the pod cgroup is always made and removed with the pod.
        type: bool
      name:
        description: Refused; the pod cgroup's name is kubelet's.
        type: str
      memory:
        description: Pod-level memory limit.
        type: str
      cpus:
        description: Pod-level CPU limit.
        type: str
      pids_max:
        description: Pod-level tasks limit.
        type: str
      driver:
        description: V(auto) follows the CRI runtime's cgroup driver (runc's C(SystemdCgroup)); see M(podlab.playground.cgroup_parent).
        type: str
        default: auto
        choices: [auto, cgroupfs, systemd]
  pull:
    description:
      - V(missing) pulls an image (C(PullImage)) only when the runtime's C(k8s.io) namespace lacks it; V(always) pulls every time
        and makes anew the containers whose image changed; V(never) fails when an image is missing, with the command that imports it.
      - Without a registry, the images come from the P(podlab.playground.cri_runtime#role) role, which imports the offline images.
    type: str
    default: missing
    choices: [missing, always, never]
notes:
  - The container logs are in C(/var/log/podlab/pods/<namespace>_<name>_<uid>/<member>.log), in the CRI's log format.
  - Where kubelet runs too (a minikube node), pick a O(namespace) or O(name) its pods do not use; kubelet does not manage these pods.
seealso:
  - module: podlab.playground.docker_pod
  - module: podlab.playground.cgroup_parent
  - name: The Container Runtime Interface
    description: The API this module speaks.
    link: https://kubernetes.io/docs/concepts/architecture/cri/
"""

EXAMPLES = r"""
- name: The seed's pod from its Kubernetes manifest, its registry images run on the offline ones
  podlab.playground.cri_pod:
    manifest: "{{ lookup('ansible.builtin.file', 'seed-pod.yml') | ansible.builtin.from_yaml }}"
    images:
      docker.io/kennethreitz/httpbin: podlab/httpd:1
      docker.io/curlimages/curl: podlab/busybox:1
  register: seed

- name: Write the pod as it runs, as a manifest for kubectl apply
  ansible.builtin.copy:
    content: "{{ seed | podlab.playground.pod_manifest_yaml }}"
    dest: /tmp/seed-pod-cri_pod.yml
    mode: "0644"

- name: The seed's Kubernetes pod foo, on the offline images
  podlab.playground.cri_pod:
    name: foo
    containers:
      - name: app
        image: podlab/busybox:1
        command: [httpd, -f, -p, "80", -h, /www]
        memory: 256Mi
        mounts:
          - source: www
            target: /www
      - name: sidecar
        image: podlab/busybox:1
        command: [sleep, infinity]
        memory: 128Mi
    init_containers:
      - name: page
        image: podlab/busybox:1
        command: [sh, -c, "echo hello from the pod > /www/index.html"]
        mounts:
          - source: www
            target: /www
    volumes: [www]
  register: foo

- name: Show the QoS class and the pod's cgroup
  ansible.builtin.debug:
    msg: "{{ foo.pod.qos_class }} pod in {{ foo.pod.cgroup.parent }}"

- name: Remove the pod, its volumes and its cgroup
  podlab.playground.cri_pod:
    name: foo
    state: absent
"""

RETURN = r"""
actions:
  description: The plan, one line per step with its reason; in check mode what a real run would do.
  returned: always
  type: list
  elements: str
  sample: ["create sandbox foo_sandbox (missing)", "create container foo_app (missing)"]
pod:
  description: The pod after the run (in check mode, as it is now).
  returned: always
  type: dict
  contains:
    name:
      description: The pod's name.
      type: str
    namespace:
      description: The pod's namespace.
      type: str
    uid:
      description: The pod's UID.
      type: str
    runtime:
      description: V(cri).
      type: str
    qos_class:
      description: The pod's QoS class by kubelet's rule, V(Guaranteed), V(Burstable) or V(BestEffort).
      type: str
    state:
      description: V(running) (sandbox and every member running), V(stopped), V(degraded) or V(absent).
      type: str
    hostname:
      description: The pod's hostname.
      type: str
    sandbox:
      description: The pod sandbox; C(pid) is the pause process's.
      type: dict
      sample: {"name": "sandbox", "container": "foo_sandbox", "id": "4f2a...", "pid": 4242, "image": "docker.io/podlab/pause:1",
               "state": "running", "exit_code": null, "ip": "10.85.0.7"}
    members:
      description: The members in the order given, with C(name), C(container), C(id), C(pid), C(image), C(state), C(exit_code).
      type: list
      elements: dict
    init_containers:
      description: The init containers, same keys as RV(pod.members).
      type: list
      elements: dict
    volumes:
      description: The pod volumes' host directories.
      type: list
      elements: str
    cgroup:
      description: The pod cgroup, C(parent) as given to the runtime, C(name), C(paths), C(driver), C(version) and C(limits).
      type: dict
      sample: {"name": "kubepods/burstable/pod0c6e...", "parent": "/kubepods/burstable/pod0c6e...", "driver": "cgroupfs", "version": 1,
               "paths": {"memory": "/sys/fs/cgroup/memory/kubepods/burstable/pod0c6e..."}, "limits": {"memory": 402653184}}
    manifest:
      description:
        - The pod as a Kubernetes C(v1) Pod that C(kubectl apply) accepts, built from what the runtime shows of the pod (not from the
          task's input); given back as O(manifest), it makes the same pod and changes nothing.
        - Null when the pod does not exist. The filter P(podlab.playground.pod_manifest_yaml#filter) writes it as YAML.
      type: dict
      sample: {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "foo"},
               "spec": {"containers": [{"name": "app", "image": "podlab/httpd:1", "resources": {"limits": {"memory": "256Mi"}}}]}}
    manifest_gaps:
      description: What RV(pod.manifest) cannot say of this pod (a name C(kubectl) refuses, a host port the runtime picks), one sentence each.
      type: list
      elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.podlab.playground.plugins.module_utils._pod.cri import CriPodManager
from ansible_collections.podlab.playground.plugins.module_utils._pod.cri_spec import CRI_ARGUMENT_SPEC
from ansible_collections.podlab.playground.plugins.module_utils._pod.spec import REQUIRED_ONE_OF


def main() -> None:
    module = AnsibleModule(argument_spec=CRI_ARGUMENT_SPEC, supports_check_mode=True,
                           required_one_of=REQUIRED_ONE_OF)
    module.exit_json(**CriPodManager(module).run())


if __name__ == "__main__":
    main()
