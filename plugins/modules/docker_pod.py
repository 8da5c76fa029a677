#!/usr/bin/python
# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

DOCUMENTATION = r"""
---
module: docker_pod
short_description: A Kubernetes-style pod made of plain Docker containers
version_added: 0.1.0
description:
  - Manages a pod as one declarative object, made of a cgroup parent, a sandbox ("pause") container that owns
    the network and is started with shareable IPC, init containers that run to completion in order,
    and member containers that join the sandbox's network and IPC namespaces (and PID namespace with
    O(share_pid)), each with its own limits.
  - What the seed experiment does by hand with C(cgcreate), C(docker run --ipc shareable) and
    C(docker run --network container:SANDBOX --ipc container:SANDBOX), as one idempotent task.
  - State is discovered with one label-filtered list call. Each container carries the labels
    C(podlab.pod), C(podlab.role) (V(sandbox), V(container) or V(init)), C(podlab.member) and
    C(podlab.spec-hash), a hash of its wanted spec.
  - Change detection compares what you asked for with what really is, meaning the spec hash, the image
    ID, what C(docker inspect) shows for every option you set, and the kernel's namespace inodes
    (C(/proc/PID/ns/net)), so a member left in a dead network namespace after its sandbox restarted
    is seen and repaired. Options you did not set are never compared.
  - Smallest blast radius. A member whose O(containers[].memory), O(containers[].cpus),
    O(containers[].pids_limit) or O(containers[].restart_policy) changed is updated in place; any other
    change recreates that member alone; members are recreated only when the sandbox they joined
    is new, was replaced, or was started anew.
author:
  - podlab.playground contributors (@podlab)
requirements:
  - The Docker SDK for Python 5.0.3 or later on the managed host (Debian's C(python3-docker) works), to make changes
    and to reach a C(tcp://) or C(ssh://) daemon. A run with nothing to change on the local daemon reads its Unix socket
    without it.
  - A Docker daemon; root for the cgroup parent and for reading other processes' namespaces in C(/proc).
extends_documentation_fragment:
  - podlab.playground.attributes
  - podlab.playground.pod
attributes:
  idempotent:
    support: full
    details: A member that exits by itself is started again by the next run with O(state=started).
options:
  name:
    description:
      - The pod's name. Containers are named C(NAME_sandbox), C(NAME_MEMBER) and C(NAME_init_MEMBER);
        pod volumes C(NAME_VOLUME).
      - Required unless O(manifest) names the pod (C(metadata.name)).
    type: str
  state:
    description:
      - V(started) (V(present) is an alias) creates what is missing and starts the sandbox, runs the init
        containers, and starts the members concurrently.
      - V(stopped) creates what is missing without starting it, and stops the members, then the sandbox.
      - V(restarted) restarts the sandbox, reruns the init containers, and stops the members before and
        starts them after it, so that they join its new namespaces. Always changed.
      - V(absent) removes the members, the init containers, the sandbox, the pod volumes and the pod's
        cgroup (in every hierarchy), in that order.
    type: str
    default: started
    choices: [started, present, stopped, restarted, absent]
  sandbox:
    description: The pause container that owns the pod's network, IPC (shareable) and, with O(share_pid), PID namespaces.
    type: dict
    default: {}
    suboptions:
      image:
        description:
          - Its image. The default is built offline by the P(podlab.playground.playground_images#role) role
            (C(tini) as PID 1, reaping zombies).
        type: str
        default: podlab/pause:1
      command:
        description: Its command (list or string); the image's by default.
        type: raw
  hostname:
    description:
      - The pod's hostname, set on the sandbox. Members get it too (Docker copies it to containers that
        join a network namespace), although each has its own UTS namespace.
      - Defaults to the pod's name. Not allowed with O(host_network).
    type: str
  ports:
    description:
      - Ports published on the sandbox, as C([IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]), e.g. V(8080:80).
        Members listen in the sandbox's network namespace. Not allowed with O(host_network).
    type: list
    elements: str
    default: []
  volumes:
    description: Pod-scoped named volumes (like emptyDir), created with the pod and removed with it.
    type: list
    elements: str
    default: []
  labels:
    description: Labels added to every container and volume of the pod. A change recreates the pod's containers.
    type: dict
    default: {}
  share_pid:
    description:
      - Like Kubernetes' shareProcessNamespace, members join the sandbox's PID namespace, so its init is
        PID 1 for all of them. Conflicts with O(host_pid).
    type: bool
    default: false
  host_network:
    description: The sandbox (and so every member) uses the host's network namespace. Explicit opt-in.
    type: bool
    default: false
  host_ipc:
    description: The sandbox and the members use the host's IPC namespace. Explicit opt-in.
    type: bool
    default: false
  host_pid:
    description: The sandbox and the members use the host's PID namespace. Explicit opt-in; conflicts with O(share_pid).
    type: bool
    default: false
  cgroup_parent:
    description:
      - The pod's cgroup, made with the code of M(podlab.playground.cgroup_parent), one per pod by default,
        like the kubelet's pod cgroups. Every container of the pod is started under it.
      - Each member's own O(containers[].memory) and O(containers[].cpus) must fit inside the pod's; larger
        ones are refused before any change.
    type: dict
    default: {}
    suboptions:
      create:
        description: Create and manage the cgroup. With V(false) and O(cgroup_parent.name), use that parent as given; with neither, Docker's default.
        type: bool
        default: true
      name:
        description: The cgroup's name (see M(podlab.playground.cgroup_parent)); default C(pod-NAME).
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
        description: V(auto) follows the Docker daemon's cgroup driver; see M(podlab.playground.cgroup_parent).
        type: str
        default: auto
        choices: [auto, cgroupfs, systemd]
  pull:
    description:
      - V(missing) pulls an image only when the Docker host does not have it; V(always) pulls every time and
        recreates the containers whose image changed; V(never) fails when an image is missing.
      - Without a registry, the default images come from the P(podlab.playground.playground_images#role) role.
    type: str
    default: missing
    choices: [missing, always, never]
  docker_host:
    description: The Docker daemon. Defaults to E(DOCKER_HOST), then C(unix:///var/run/docker.sock).
    type: str
notes:
  - Docker gives a member that joins the sandbox's network the sandbox's hostname but its own UTS
    namespace; it refuses C(--hostname) on such a member, which is why O(hostname) is pod-level.
seealso:
  - module: podlab.playground.cgroup_parent
  - name: Kubernetes Pods
    description: The model this module follows.
    link: https://kubernetes.io/docs/concepts/workloads/pods/
"""

EXAMPLES = r"""
- name: The seed's pod from its Kubernetes manifest, its registry images run on the offline ones
  podlab.playground.docker_pod:
    manifest: "{{ lookup('ansible.builtin.file', 'seed-pod.yml') | ansible.builtin.from_yaml }}"
    images:
      docker.io/kennethreitz/httpbin: podlab/httpd:1
      docker.io/curlimages/curl: podlab/busybox:1
  register: seed

- name: Write the pod as it runs, as a manifest for kubectl apply
  ansible.builtin.copy:
    content: "{{ seed | podlab.playground.pod_manifest_yaml }}"
    dest: /tmp/seed-pod-docker_pod.yml
    mode: "0644"

- name: The seed's pod foo, on the offline images
  podlab.playground.docker_pod:
    name: foo
    cgroup_parent:
      memory: 512Mi
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

- name: Give the sidecar more memory (in place, nothing else changes)
  podlab.playground.docker_pod:
    name: foo
    cgroup_parent:
      memory: 512Mi
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
        memory: 192Mi
    init_containers:
      - name: page
        image: podlab/busybox:1
        command: [sh, -c, "echo hello from the pod > /www/index.html"]
        mounts:
          - source: www
            target: /www
    volumes: [www]

- name: Remove the pod, its volumes and its cgroup
  podlab.playground.docker_pod:
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
    state:
      description: V(running) (sandbox and every member running), V(stopped), V(degraded) or V(absent).
      type: str
    hostname:
      description: The sandbox's hostname.
      type: str
    sandbox:
      description: The sandbox container.
      type: dict
      sample: {"name": "sandbox", "container": "foo_sandbox", "id": "4f2a...", "pid": 4242, "image": "podlab/pause:1",
               "state": "running", "exit_code": null, "ip": "172.17.0.2"}
    members:
      description: The members in the order given, with C(name), C(container), C(id), C(pid), C(image), C(state), C(exit_code).
      type: list
      elements: dict
    init_containers:
      description: The init containers, same keys as RV(pod.members).
      type: list
      elements: dict
    volumes:
      description: The pod's volumes (Docker names).
      type: list
      elements: str
    cgroup:
      description:
        - C(parent) is what every container got as C(--cgroup-parent) (null for Docker's default); C(name) the cgroup's name.
        - With a managed cgroup also C(paths), C(driver), C(version) and C(limits), as M(podlab.playground.cgroup_parent) returns them.
      type: dict
      sample: {"name": "pod-foo", "parent": "/pod-foo", "driver": "cgroupfs", "version": 1,
               "paths": {"memory": "/sys/fs/cgroup/memory/pod-foo"}, "limits": {"memory": 536870912}}
    manifest:
      description:
        - The pod as a Kubernetes C(v1) Pod that C(kubectl apply) accepts, built from what the runtime shows of the pod (not from the
          task's input); given back as O(manifest), it makes the same pod and changes nothing.
        - Null when the pod does not exist. The filter P(podlab.playground.pod_manifest_yaml#filter) writes it as YAML.
      type: dict
      sample: {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "foo"},
               "spec": {"containers": [{"name": "app", "image": "podlab/httpd:1", "resources": {"limits": {"memory": "256Mi"}}}]}}
    manifest_gaps:
      description: What RV(pod.manifest) cannot say of this pod (a name C(kubectl) refuses, a host port Docker picks), one sentence each.
      type: list
      elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.podlab.playground.plugins.module_utils._pod.manager import DockerPodManager
from ansible_collections.podlab.playground.plugins.module_utils._pod.spec import ARGUMENT_SPEC, REQUIRED_ONE_OF


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True,
                           required_one_of=REQUIRED_ONE_OF)
    module.exit_json(**DockerPodManager(module).run())


if __name__ == "__main__":
    main()
