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
attributes:
  check_mode:
    support: full
    details:
      - Check mode returns the same RV(actions) and C(changed) as a real run, except with O(pull=always),
        where whether a newer image exists is only known by pulling it (check mode assumes not).
  diff_mode:
    support: full
    details: The diff shows the sandbox, every member and init container (image, state, spec hash) and the volumes, before and after.
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
  containers:
    description: The pod's members. They start concurrently once the sandbox and the init containers are done.
    type: list
    elements: dict
    default: []
    suboptions: &member
      name:
        description: The member's name, unique in the pod.
        type: str
        required: true
      image:
        description:
          - The image. See O(pull) for where it comes from.
          - Required unless O(manifest) has a container of this name, which gives it.
        type: str
      command:
        description: The command, as a list or a string (split like a shell would split words, but never run by a shell).
        type: raw
      entrypoint:
        description: Overrides the image's entrypoint.
        type: list
        elements: str
      env:
        description: Environment variables. Only these are compared; the image may add others.
        type: dict
      working_dir:
        description: The working directory.
        type: str
      user:
        description: The user (name or uid[:gid]).
        type: str
      memory:
        description: Memory limit in Docker's notation (V(256m), V(256Mi), bytes), or V(max). Changed in place.
        type: str
      cpus:
        description: CPU bandwidth in CPUs (V(0.5)), or V(max). Changed in place.
        type: str
      pids_limit:
        description: Most tasks in the container, or V(max). Changed in place.
        type: str
      restart_policy:
        description: Docker's restart policy. Changed in place. Not allowed for init containers.
        type: str
        choices: ["no", on-failure, always, unless-stopped]
      mounts:
        description: Pod volumes (like Kubernetes' emptyDir), host paths and tmpfs mounts.
        type: list
        elements: dict
        suboptions:
          type:
            description: V(volume) mounts one of the pod's O(volumes) by its short name; V(bind) a host path; V(tmpfs) a fresh tmpfs.
            type: str
            default: volume
            choices: [volume, bind, tmpfs]
          source:
            description: The pod volume's name (V(volume)) or the absolute host path (V(bind)).
            type: str
          target:
            description: Where it appears in the container.
            type: str
            required: true
          read_only:
            description: Mount it read-only.
            type: bool
            default: false
  init_containers:
    description:
      - Containers that run to completion, in order, in the pod's namespaces before the members start,
        like Kubernetes' initContainers. They run again when the sandbox is new, on O(state=restarted),
        or when one of them changed or did not succeed.
      - A failing one stops the run with its exit code and the tail of its log; the members are not started.
    type: list
    elements: dict
    default: []
    suboptions: *member
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
  stop_timeout:
    description: Seconds Docker waits after SIGTERM before SIGKILL when stopping a container.
    type: int
    default: 10
  init_timeout:
    description: Seconds to wait for each init container to finish.
    type: int
    default: 300
  lock_timeout:
    description:
      - Seconds to wait while another run of the same pod holds the pod's lock on the managed host
        (C(/run/lock/podlab/docker_NAME.lock)), held from the first read to the last change, so that two runs of one pod
        take turns and the second sees what the first made. The run fails with the holder's pid when it is not free in time.
    type: int
    default: 600
  manifest:
    description:
      - A Kubernetes C(v1) Pod, as a dict or as YAML text (C(lookup('file', 'pod.yml'))), mapped onto this module's options as
        kubelet maps it onto the Docker daemon (docker_pod); the task's own options, where they differ from their defaults, win over the
        manifest's (members merge by name, labels by key).
      - A field the Docker daemon (docker_pod) cannot honour is refused with its path in the manifest (C(spec.containers[1].livenessProbe))
        before anything changes; nothing is silently dropped. Quantities (C(256Mi), C(500m)) are read as Kubernetes reads them.
      - The table of every Pod field and what this module does with it is in C(docs/manifest.md).
    type: raw
  images:
    description:
      - Local images for the manifest's image references (C(docker.io/kennethreitz/httpbin) to C(podlab/httpd:1)), so that a
        manifest naming registry images runs on the playground's offline images. References match with Docker's defaults
        filled in (C(docker.io/), C(library/), C(:latest)); one with no entry runs as written.
    type: dict
    default: {}
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
from ansible_collections.podlab.playground.plugins.module_utils._pod.spec import ARGUMENT_SPEC


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True,
                           required_one_of=[("name", "manifest")])
    module.exit_json(**DockerPodManager(module).run())


if __name__ == "__main__":
    main()
