#!/usr/bin/python
# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

DOCUMENTATION = r"""
---
module: ns_facts
short_description: Namespace and cgroup facts of processes, containers and pods, read from the kernel
version_added: 0.1.0
description:
  - Gathers, as C(ansible_facts.podlab_ns), what the kernel says about processes, Docker containers,
    P(podlab.playground.docker_pod#module) pods and pods on a CRI runtime (made by P(podlab.playground.cri_pod#module)
    or by kubelet), so that any playbook can C(assert) what is shared and what is isolated.
  - Each namespace is identified by the device and inode of C(/proc/PID/ns/TYPE), for every type the
    kernel has (cgroup, ipc, mnt, net, pid, time, user, uts) and the C(*_for_children) links. Unlike
    C(lsns), a namespace is not named after the lowest PID that uses it, and threads whose namespaces
    differ from their process are reported.
  - The hostname is read inside the process's UTS namespace (what the kernel answers, not what Docker
    was asked), the cgroup path per hierarchy from C(/proc/PID/cgroup), and the C(NSpid) chain from
    C(/proc/PID/status).
  - For a container, the modes Docker recorded (NetworkMode, IpcMode, PidMode, UTSMode, CgroupnsMode,
    UsernsMode) are set beside what the kernel shows, and every disagreement is listed in C(drift), for
    example a member whose network namespace is no longer its sandbox's after the sandbox restarted.
  - For a CRI container, what its OCI runtime spec says it joined (C(linux.namespaces), from the runtime's verbose
    status) takes the place of Docker's modes, for example a member whose C(/proc/PID/ns/net) names a pause process
    that was killed.
  - For a pod, a share matrix says for every member and namespace type whether it is the host's
    (V(host), PID 1's), the pod's (V(pod), the sandbox's) or its own (V(private)), the pairs of members
    with the namespaces they share, and the pod's cgroup tree with the limits read from the kernel files.
  - The host (PID 1) is always read as the reference. Where PID 1 is out of reach (a sandbox, a
    container), the module's own process is the reference and a warning says so.
author:
  - podlab.playground contributors (@podlab)
requirements:
  - Linux; root to read other processes' namespaces and to enter UTS namespaces for the hostname.
  - For O(containers) and O(pods) the Docker daemon on the same host. Over its Unix socket (the default) nothing
    more is needed; a C(tcp://) or C(ssh://) O(docker_host) needs the Docker SDK for Python (5.0.3 or later).
  - For O(cri_pods) a CRI runtime on the same host (containerd with its CRI plugin) and grpcio and protobuf for Python
    (Debian's C(python3-grpcio) and C(python3-protobuf) will do). Without O(cri_pods) neither is needed.
extends_documentation_fragment:
  - podlab.playground.attributes
  - podlab.playground.attributes.read_only
  - ansible.builtin.action_common_attributes.facts
attributes:
  facts:
    support: full
options:
  pids:
    description: Processes to describe, by PID (in this host's PID namespace).
    type: list
    elements: int
    default: []
  containers:
    description: Docker containers to describe, by name or ID.
    type: list
    elements: str
    default: []
  pods:
    description:
      - Pods made by P(podlab.playground.docker_pod#module), by name (found by their C(podlab.pod) label).
      - A name may not be in O(cri_pods) too, since both are keyed by name in C(pods).
    type: list
    elements: str
    default: []
  cri_pods:
    description:
      - Pods on the CRI runtime at O(cri_socket), made by P(podlab.playground.cri_pod#module) or by kubelet, each given as
        the pod's name in O(namespace), as V(NAMESPACE/NAME), or as its sandbox's id or a unique prefix of it.
      - Found by the sandbox's metadata, not by labels; the members are the sandbox's containers, by their names.
    type: list
    elements: str
    default: []
  namespace:
    description:
      - The Kubernetes namespace (the sandbox's metadata) of the O(cri_pods) given by name alone. Not a Linux namespace.
    type: str
    default: default
  cri_socket:
    description:
      - The CRI runtime's socket on the managed host, for O(cri_pods).
    type: str
    default: unix:///run/containerd/containerd.sock
  proc:
    description:
      - Where procfs is mounted. Anything but C(/proc) gives a partial view, and a warning says so.
    type: path
    default: /proc
  docker_host:
    description:
      - The Docker daemon. Defaults to E(DOCKER_HOST), then C(unix:///var/run/docker.sock).
      - It must run on the managed host, whose C(/proc) holds the containers' processes.
      - A Unix socket is read with the standard library, the inspects of a run written at once over two connections
        (HTTP/1.1 pipelining); other schemes go through the Docker SDK for Python, one call at a time.
    type: str
notes:
  - A process that exits while it is read is left out with a warning; the run does not fail.
  - A CRI pod that does not exist, a CRI runtime that does not answer, a container that exited and a sandbox that is not
    ready are warnings too, and the other facts are returned.
  - It never changes anything; C(changed) is always false.
seealso:
  - module: podlab.playground.docker_pod
  - module: podlab.playground.cri_pod
  - name: namespaces(7)
    description: The kernel's description of namespaces and of C(/proc/PID/ns).
    link: https://man7.org/linux/man-pages/man7/namespaces.7.html
"""

EXAMPLES = r"""
- name: Gather the namespaces of pod foo
  podlab.playground.ns_facts:
    pods: [foo]

- name: Members share net and ipc with the sandbox, not uts, mnt or pid
  ansible.builtin.assert:
    that:
      - ansible_facts.podlab_ns.pods.foo.share.app.net == 'pod'
      - ansible_facts.podlab_ns.pods.foo.share.app.ipc == 'pod'
      - ansible_facts.podlab_ns.pods.foo.share.app.uts == 'private'
      - ansible_facts.podlab_ns.pods.foo.drift == {}

- name: Gather the seed's Kubernetes pod foo through containerd's CRI (kubelet's pods on a node too)
  podlab.playground.ns_facts:
    cri_pods: [foo]
  register: cri_foo

- name: Members of a CRI pod share net, ipc and uts with the pause process
  ansible.builtin.assert:
    that:
      - cri_foo.ansible_facts.podlab_ns.pods.foo.runtime == 'cri'
      - cri_foo.ansible_facts.podlab_ns.pods.foo.share.app.uts == 'pod'
      - cri_foo.ansible_facts.podlab_ns.pods.foo.drift == {}

- name: Gather a lone container and a process
  podlab.playground.ns_facts:
    containers: [web]
    pids: [1]

- name: A container without --network host has its own network namespace
  ansible.builtin.assert:
    that: ansible_facts.podlab_ns.containers.web.kernel.net == 'private'
"""

RETURN = r"""
ansible_facts:
  description: Facts under one key.
  returned: always
  type: complex
  contains:
    podlab_ns:
      description:
        - C(schema) (1), C(cgroup_version) (1 or 2), C(host) (a process, with C(source) V(pid 1) or V(self)),
          C(processes) (by PID as a string), C(containers) (by the name or ID given), C(pods) (by name),
          C(persistent) (list), C(warnings).
        - "A process: C(pid), C(comm), C(ppid), C(nspid) (list), C(namespaces) (type -> {C(device), C(inode)}),
          C(hostname), C(cgroup) ({C(version), C(paths) per hierarchy}), C(threads_differing) (list of {C(tid), C(namespaces)})."
        - "A container: C(id), C(name), C(state), C(pid), C(labels), C(modes) (Docker's, per namespace type; for a CRI
          container what its runtime spec says: the path it joins, V(private) or V(host)),
          C(sandbox_key) (the mount that pins its network namespace, or null), C(process),
          C(kernel) (per type V(host), V(container) (the one its mode names), V(private)), C(drift) (list of
          {C(type), C(recorded), C(expected), C(kernel), C(detail)}, and C(docker) for a Docker container)."
        - "A pod: C(name), C(found), C(runtime) (V(docker) or V(cri)), C(sandbox), C(members) and C(init_containers)
          (containers, by member name), C(share) (member -> type -> V(host), V(pod) or V(private)), C(pairs) (V(a/b) ->
          shared types that are not the host's), C(hostnames), C(cgroup) ({C(version), C(parent), C(paths), C(limits),
          C(children) per container with C(paths) and C(limits)}), C(drift) (member -> list); a CRI pod also has
          C(namespace) and C(uid)."
        - "C(persistent): namespaces pinned by an nsfs bind mount (C(ip netns add), Docker's C(/run/docker/netns)),
          which live on with no process in them and which C(lsns) does not list, as the host reference's mount namespace
          sees them: C(path), C(type), C(device), C(inode), C(pids) and C(containers) (those of this run that are in it)."
      type: dict
      returned: always
      sample:
        schema: 1
        cgroup_version: 1
        pods:
          foo:
            runtime: docker
            share: {app: {net: pod, ipc: pod, uts: private, pid: private, mnt: private, user: host, cgroup: host, time: host}}
            pairs: {"app/sidecar": [ipc, net]}
          foocri:
            runtime: cri
            share: {app: {net: pod, ipc: pod, uts: pod, pid: private, mnt: private, user: host, cgroup: host, time: host}}
            pairs: {"app/sidecar": [ipc, net, uts]}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.podlab.playground.plugins.module_utils._ns_facts import ARGUMENT_SPEC, NsFactsManager


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    module.exit_json(**NsFactsManager(module).run())


if __name__ == "__main__":
    main()
