#!/usr/bin/python
# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

DOCUMENTATION = r"""
---
module: cgroup_parent
short_description: Manage a cgroup to use as a parent for containers (cgroup v1, v2, cgroupfs or systemd)
version_added: 0.1.0
description:
  - Creates, updates or removes one logical cgroup with CPU, memory and PIDs limits, what
    C(cgcreate -g cpu,memory,pids:/NAME) followed by C(cgset) does, on cgroup v1 and cgroup v2.
  - With the C(cgroupfs) driver the cgroup is a directory in every hierarchy that needs it
    (one per controller on v1; on v2 the controllers are enabled in C(cgroup.subtree_control)
    along the path). With the C(systemd) driver it is a slice unit whose limits are unit
    properties, so that systemd does not undo them on reload.
  - Returns the exact string to pass to C(docker run --cgroup-parent) for the Docker daemon's
    cgroup driver, read from the daemon when it answers.
  - Limits are compared with what the kernel shows, after the kernel's own rounding (memory
    to whole pages), so a second run with the same options changes nothing. Limits that are
    not set are left as they are.
author:
  - podlab.playground contributors (@podlab)
requirements:
  - Linux with cgroup v1 or v2 mounted on C(/sys/fs/cgroup); root.
  - systemd as init for O(driver=systemd).
  - Nothing more to read the local Docker daemon's cgroup driver over its Unix socket; the Docker SDK for Python (5.0.3
    or later) for a C(tcp://) or C(ssh://) O(docker_host). When the daemon does not answer, O(driver=auto) decides
    without it and warns.
extends_documentation_fragment:
  - podlab.playground.attributes
attributes:
  check_mode:
    support: full
    details: Check mode reports the same RV(actions) and C(changed) as a real run would.
  diff_mode:
    support: full
    details: The diff shows the state and the limits the kernel shows before and after.
  idempotent:
    support: full
options:
  name:
    description:
      - The cgroup's path below the cgroup root, for example V(pod-foo) or V(podlab/pod-foo).
        A leading V(/) is allowed.
      - With O(driver=systemd) the segments become a slice name in which V(/) is the only nesting, as with
        cgroupfs. A V(-) inside a segment is escaped as C(systemd-escape) does, because systemd reads a bare
        V(-) as nesting; V(podlab/pod-foo) becomes C(podlab-pod\x2dfoo.slice) in C(podlab.slice).
      - A single name ending in C(.slice), such as V(pod-foo.slice), is used as the unit name as given,
        with systemd's own nesting (C(pod-foo.slice) lives in C(pod.slice)).
      - Names with empty, V(.) or V(..) segments, filesystem paths such as C(/sys/fs/cgroup/...),
        and cgroups systemd owns (V(system.slice), V(user.slice), V(init.scope)) are refused
        before any change.
    type: str
    required: true
  state:
    description:
      - V(present) creates the cgroup and sets the limits given.
      - V(absent) removes it from every hierarchy, leaf first (runc creates a parent in all v1
        hierarchies and never removes it). A populated cgroup is refused unless O(force=true).
    type: str
    default: present
    choices: [present, absent]
  memory:
    description:
      - Memory limit, in Docker's notation (binary units) V(512m), V(512MB), V(512Mi), V(1g) or bytes
        (V(536870912)); V(max) (or V(-1), V(unlimited)) removes the limit.
      - Written to C(memory.limit_in_bytes) (v1), C(memory.max) (v2) or C(MemoryMax=) (systemd).
      - The kernel rounds down to whole pages; the module compares the rounded value.
    type: str
  memory_swap:
    description:
      - Memory plus swap, as C(docker run --memory-swap); needs O(memory). V(max) allows unlimited swap.
      - Written to C(memory.memsw.limit_in_bytes) on v1 (needs swap accounting), or as
        C(memory.swap.max) = O(memory_swap) - O(memory) on v2.
    type: str
  cpus:
    description:
      - CPU bandwidth in CPUs, as C(docker run --cpus); V(0.5) is a quota of 50 ms per 100 ms period.
        V(max) removes the limit.
      - C(cpu.cfs_quota_us)/C(cpu.cfs_period_us) on v1, C(cpu.max) on v2, C(CPUQuota=) with systemd.
    type: str
  cpu_weight:
    description:
      - Relative CPU weight in cgroup v2 units (1 to 10000, default 100). On v1 it is converted to
        C(cpu.shares) with runc's formula. Mutually exclusive with O(cpu_shares).
    type: int
  cpu_shares:
    description:
      - Relative CPU weight in cgroup v1 units (2 to 262144, default 1024), as C(docker run --cpu-shares).
        On v2 it is converted to C(cpu.weight) with runc's formula. Mutually exclusive with O(cpu_weight).
    type: int
  pids_max:
    description:
      - Most tasks (processes and threads) in the cgroup, or V(max). C(pids.max) or C(TasksMax=).
    type: str
  driver:
    description:
      - How the cgroup is made. V(cgroupfs) writes C(/sys/fs/cgroup) directly; V(systemd) manages a
        slice unit in C(/etc/systemd/system).
      - V(auto) uses the Docker daemon's cgroup driver when it answers, otherwise V(systemd) on cgroup v2
        under systemd and V(cgroupfs) elsewhere (Docker's own default), with a warning.
    type: str
    default: auto
    choices: [auto, cgroupfs, systemd]
  force:
    description:
      - With O(state=absent), stop (SIGKILL) every process still in the cgroup before removing it,
        and list them in RV(stopped). Without it a populated cgroup is refused.
    type: bool
    default: false
  docker_host:
    description:
      - The Docker daemon to ask for its cgroup driver. Defaults to E(DOCKER_HOST), then
        C(unix:///var/run/docker.sock).
    type: str
notes:
  - Lowering a memory limit below what the cgroup uses fails (the kernel answers EBUSY); the
    message says so.
  - On cgroup v2 a cgroup with processes cannot enable controllers for its children (the no
    internal processes rule), so the module refuses names under such a cgroup.
seealso:
  - name: Control Group v2
    description: The kernel's documentation of cgroup v2 files.
    link: https://docs.kernel.org/admin-guide/cgroup-v2.html
  - name: systemd.resource-control
    description: The unit properties used with O(driver=systemd).
    link: https://www.freedesktop.org/software/systemd/man/latest/systemd.resource-control.html
"""

EXAMPLES = r"""
- name: Create the pod's cgroup as cgcreate -g cpu,memory,pids:/pod-foo would, with limits
  podlab.playground.cgroup_parent:
    name: pod-foo
    memory: 512m
    cpus: 1.5
    pids_max: 256
  register: pod_cgroup

- name: Start a container under it with the string Docker expects for its cgroup driver
  ansible.builtin.command:
    argv: [docker, run, -d, --cgroup-parent, "{{ pod_cgroup.cgroup.docker_cgroup_parent }}", podlab/busybox:1, sleep, "3600"]
  changed_when: true

- name: Raise the memory limit in place
  podlab.playground.cgroup_parent:
    name: pod-foo
    memory: 1Gi

- name: A slice for Docker's systemd cgroup driver (podlab-pod\x2dfoo.slice in podlab.slice)
  podlab.playground.cgroup_parent:
    name: podlab/pod-foo
    driver: systemd
    memory: 256Mi
    cpu_weight: 200

- name: Remove it from every hierarchy, stopping whatever still runs in it
  podlab.playground.cgroup_parent:
    name: pod-foo
    state: absent
    force: true
"""

RETURN = r"""
actions:
  description: The plan, one line per step with its reason; in check mode what would be done.
  returned: always
  type: list
  elements: str
  sample: ["create cgroup /sys/fs/cgroup/memory/pod-foo (missing in the memory hierarchy)",
           "write '536870912' to /sys/fs/cgroup/memory/pod-foo/memory.limit_in_bytes (memory: max -> 512Mi)"]
cgroup:
  description: The cgroup as the kernel shows it after the run (predicted in check mode).
  returned: always
  type: dict
  contains:
    name:
      description: The name as given.
      type: str
      sample: pod-foo
    state:
      description: V(present) or V(absent).
      type: str
    version:
      description: The cgroup version of the host, 1 (v1 or hybrid) or 2 (unified).
      type: int
      sample: 1
    driver:
      description: The driver used, V(cgroupfs) or V(systemd).
      type: str
    unit:
      description: The slice unit with O(driver=systemd), else null.
      type: str
      sample: pod-foo.slice
    paths:
      description: The cgroup's directory per controller (v1) or under the key C(unified) (v2).
      type: dict
      sample: {"cpu": "/sys/fs/cgroup/cpu/pod-foo", "memory": "/sys/fs/cgroup/memory/pod-foo", "pids": "/sys/fs/cgroup/pids/pod-foo"}
    docker_cgroup_driver:
      description: The Docker daemon's cgroup driver, or null when the daemon did not answer.
      type: str
      sample: cgroupfs
    docker_cgroup_parent:
      description:
        - The value for C(docker run --cgroup-parent) (C(/pod-foo) for cgroupfs, C(pod-foo.slice) for systemd).
        - Null when the Docker daemon uses another driver than this cgroup (a warning says so).
      type: str
      sample: /pod-foo
    limits:
      description:
        - The limits the kernel shows, normalised; V(max) means unlimited, sizes are bytes, C(cpus) is quota/period.
        - C(cpu_weight) and C(cpu_shares) show the same setting in both units.
      type: dict
      sample: {"memory": 536870912, "memory_swap": "max", "cpus": 1.5, "cpu_weight": 39, "cpu_shares": 1024, "pids_max": 256}
stopped:
  description: Processes stopped because of O(force=true), with their command names.
  returned: always
  type: list
  elements: dict
  sample: [{"pid": 4242, "comm": "sleep"}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.podlab.playground.plugins.module_utils._cgroup.errors import CgroupError
from ansible_collections.podlab.playground.plugins.module_utils._cgroup_parent import ARGUMENT_SPEC, CgroupParentManager


def main() -> None:
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        mutually_exclusive=[("cpu_weight", "cpu_shares")],
        supports_check_mode=True,
    )
    try:
        result = CgroupParentManager(module).run()
    except CgroupError as exc:
        module.fail_json(msg=f"cgroup {module.params['name']}: {exc}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
