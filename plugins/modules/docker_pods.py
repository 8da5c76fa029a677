#!/usr/bin/python
# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

DOCUMENTATION = r"""
---
module: docker_pods
short_description: Several Kubernetes-style pods of Docker containers in one task
version_added: 0.2.0
description:
  - Runs M(podlab.playground.docker_pod) for every pod of O(pods), in one module process, so that a playground of many
    pods pays Ansible's cost of a task (connection, module transfer, a Python start) once instead of once per pod.
  - Each pod gets exactly what M(podlab.playground.docker_pod) gives it, meaning the same options with the same
    defaults, the same plan, check mode that predicts the real run, a diff, and messages that name the pod.
  - Every element of O(pods) is validated, and its spec built, before the first pod runs, so a wrong option in any
    pod refuses the whole task with nothing changed, as a wrong option of a task does. Two elements for one pod are
    refused the same way.
  - The pods then run one after another in list order, each under its own pod lock, as separate tasks would. A pod
    that fails (a missing image with O(podlab.playground.docker_pod#module:pull=never), a member Docker refuses)
    does not stop the others; the task fails at its end, with a message naming each failed pod and its own message,
    and still returns every pod's result.
author:
  - podlab.playground contributors (@podlab)
requirements:
  - As M(podlab.playground.docker_pod), the Docker SDK for Python 5.0.3 or later on the managed host to make changes,
    a Docker daemon, and root for the pods' cgroups and for reading C(/proc).
extends_documentation_fragment:
  - podlab.playground.attributes
attributes:
  check_mode:
    support: full
    details:
      - Every pod's check mode is M(podlab.playground.docker_pod)'s. It returns the same RV(pods[].actions) and
        C(changed) as a real run, except with O(podlab.playground.docker_pod#module:pull=always), where only a pull
        tells whether a newer image exists.
  diff_mode:
    support: full
    details:
      - A list of diffs, one per pod that ran, headed C(pod NAME), with the sandbox, every member and init container and the
        volumes, before and after. Ansible's diff callback shows each as its own diff, and a pod with nothing to change shows none.
  idempotent:
    support: full
    details:
      - A member that exits by itself is started again by the next run with
        O(podlab.playground.docker_pod#module:state=started).
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
options:
  pods:
    description:
      - The pods, in the order they are run. Each element takes the options of M(podlab.playground.docker_pod),
        with its defaults, and is validated by that module's own argument specification;
        O(podlab.playground.docker_pod#module:name), or a O(podlab.playground.docker_pod#module:manifest) that names
        the pod, is required in each.
      - A pod given twice is refused before anything runs.
    type: list
    elements: dict
    required: true
  defaults:
    description:
      - Options of M(podlab.playground.docker_pod) shared by every pod, such as
        O(podlab.playground.docker_pod#module:state), O(podlab.playground.docker_pod#module:pull),
        O(podlab.playground.docker_pod#module:cgroup_parent) or O(podlab.playground.docker_pod#module:docker_host),
        merged under each element of O(pods) one level deep. An option the element sets wins whole (a C(cgroup_parent)
        of the element replaces the default's, it is not merged into it); an option it sets to null is not set.
      - An option that M(podlab.playground.docker_pod) does not have is refused.
    type: dict
    default: {}
notes:
  - One task makes the pods one after another, so the time per pod is the module's own; what is saved is Ansible's
    per-task cost, measured in the collection's C(docs/bench.md).
  - Use a loop of M(podlab.playground.docker_pod) instead when each pod needs its own C(register), C(when), C(notify)
    or a different host.
seealso:
  - module: podlab.playground.docker_pod
  - module: podlab.playground.cri_pods
"""

EXAMPLES = r"""
- name: Three pods of two members each, sharing their images, pull policy and state
  podlab.playground.docker_pods:
    defaults:
      pull: never
      cgroup_parent:
        memory: 256Mi
    pods:
      - name: web
        containers:
          - name: app
            image: podlab/busybox:1
            command: [httpd, -f, -p, "80", -h, /tmp]
          - name: sidecar
            image: podlab/busybox:1
            command: [sleep, infinity]
      - name: cache
        containers:
          - name: app
            image: podlab/busybox:1
            command: [sleep, infinity]
          - name: sidecar
            image: podlab/busybox:1
            command: [sleep, infinity]
      - name: jobs
        containers:
          - name: worker
            image: podlab/busybox:1
            command: [sleep, infinity]
          - name: sidecar
            image: podlab/busybox:1
            command: [sleep, infinity]
  register: playground

- name: Show where each pod's sandbox runs
  ansible.builtin.debug:
    msg: "{{ playground.pods | map(attribute='pod.sandbox.pid') | list }}"

- name: Remove the three pods, their volumes and their cgroups
  podlab.playground.docker_pods:
    defaults:
      state: absent
    pods:
      - name: web
      - name: cache
      - name: jobs
"""

RETURN = r"""
pods:
  description: Every pod's result, in the order of O(pods), also when the task failed.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The pod's name.
      type: str
    changed:
      description: Whether the run changed this pod (a pod that failed after it began its changes counts as changed).
      type: bool
    actions:
      description:
        - The pod's plan, as M(podlab.playground.docker_pod) returns it in RV(podlab.playground.docker_pod#module:actions).
        - For a pod that failed, the plan it was about to carry out; empty when it failed before its plan was complete.
      type: list
      elements: str
    pod:
      description:
        - The pod after the run (in check mode, as it is now), as M(podlab.playground.docker_pod) returns it in
          RV(podlab.playground.docker_pod#module:pod).
        - Null for a pod that failed.
      type: dict
    failed:
      description: Whether this pod failed.
      type: bool
    msg:
      description: Why this pod failed, beginning with C(pod NAME:); null for a pod that did not.
      type: str
  sample: [{"name": "web", "changed": true, "failed": false, "msg": null,
            "actions": ["create sandbox web_sandbox (missing)", "create container web_app (missing)"],
            "pod": {"name": "web", "state": "running"}}]
msg:
  description: When any pod failed, how many, their names, and each failed pod's own message.
  returned: failure
  type: str
  sample: "1 of 3 pods failed (jobs); the others ran: pod jobs: image podlab/nope:1 is not present on the Docker host and pull is never; ..."
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.podlab.playground.plugins.module_utils._pod.manager import DockerPodManager
from ansible_collections.podlab.playground.plugins.module_utils._pod.many import MANY_ARGUMENT_SPEC, ManyPods


def main() -> None:
    module = AnsibleModule(argument_spec=MANY_ARGUMENT_SPEC, supports_check_mode=True)
    ManyPods(module, DockerPodManager).run()


if __name__ == "__main__":
    main()
