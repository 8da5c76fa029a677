# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations


class ModuleDocFragment:
    # The options docker_pod and cri_pod share, and their check and diff modes: podlab.playground.pod
    # ansible-core merges a fragment's option into a module's one level deep (a module's `suboptions` would replace
    # all of these), so the member options are here whole, each saying where the runtimes differ.
    DOCUMENTATION = r"""
options:
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
        description:
          - The command, as a list or a string (split like a shell would split words, but never run by a shell).
          - It replaces the image's CMD, as Kubernetes' and the CRI's C(args) do.
        type: raw
      entrypoint:
        description: Overrides the image's entrypoint (Kubernetes' and the CRI's C(command)).
        type: list
        elements: str
      env:
        description: Environment variables. Only these are compared; the image may add others.
        type: dict
      working_dir:
        description: The working directory.
        type: str
      user:
        description: The user, as a uid, uid:gid or a name the image's C(/etc/passwd) knows (Kubernetes' C(runAsUser), C(runAsGroup)).
        type: str
      memory:
        description:
          - Memory limit (V(256m), V(256Mi), bytes), or V(max). Changed in place.
          - M(podlab.playground.cri_pod) sets it as kubelet does, with no swap beyond it, changes it with C(UpdateContainerResources),
            and counts it for the pod's QoS class.
        type: str
      cpus:
        description:
          - CPU limit in CPUs (V(0.5)), or V(max). Changed in place.
          - M(podlab.playground.docker_pod) sets it as Docker's CPU bandwidth; M(podlab.playground.cri_pod) as kubelet does, a CFS
            quota per 100 ms and shares as if requested, and counts it for the pod's QoS class.
        type: str
      pids_limit:
        description:
          - Most tasks in the container, or V(max). Changed in place.
          - Refused by M(podlab.playground.cri_pod), as the CRI has no per-container tasks limit (use O(cgroup_parent.pids_max)
            for the pod).
        type: str
      restart_policy:
        description:
          - Docker's restart policy. Changed in place. Not allowed for init containers.
          - Refused by M(podlab.playground.cri_pod), as the CRI runtime does not restart containers (kubelet does); the next run
            with O(state=started) does.
        type: str
        choices: ["no", on-failure, always, unless-stopped]
      mounts:
        description: Pod volumes (like Kubernetes' emptyDir), host paths (C(hostPath)) and tmpfs mounts.
        type: list
        elements: dict
        suboptions:
          type:
            description:
              - V(volume) mounts one of the pod's O(volumes) by its short name; V(bind) a host path; V(tmpfs) a fresh tmpfs.
              - V(tmpfs) is refused by M(podlab.playground.cri_pod); mount a pod volume instead.
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
  manifest:
    description:
      - A Kubernetes C(v1) Pod, as a dict or as YAML text (C(lookup('file', 'pod.yml'))), mapped onto this module's options as
        kubelet maps it onto its container runtime; the task's own options, where they differ from their defaults, win over the
        manifest's (members merge by name, labels by key).
      - A field this module's runtime cannot honour is refused with its path in the manifest (C(spec.containers[1].livenessProbe))
        before anything changes; nothing is silently dropped. Quantities (C(256Mi), C(500m)) are read as Kubernetes reads them.
      - The table of every Pod field and what each pod module does with it is in C(docs/manifest.md).
    type: raw
  images:
    description:
      - Local images for the manifest's image references (C(docker.io/kennethreitz/httpbin) to C(podlab/httpd:1)), so that a
        manifest naming registry images runs on the playground's offline images. References match with Docker's defaults
        filled in (C(docker.io/), C(library/), C(:latest)); one with no entry runs as written.
    type: dict
    default: {}
  stop_timeout:
    description: Seconds the container runtime (the Docker daemon, the CRI runtime) waits after SIGTERM before SIGKILL when stopping a container.
    type: int
    default: 10
  init_timeout:
    description: Seconds to wait for each init container to finish.
    type: int
    default: 300
  lock_timeout:
    description:
      - Seconds to wait while another run of the same pod holds the pod's lock on the managed host, held from the first read
        to the last change, so that two runs of one pod take turns and the second sees what the first made. The run fails
        with the holder's pid when it is not free in time.
      - The lock is a file in C(/run/lock/podlab/), C(docker_NAME.lock) for M(podlab.playground.docker_pod) and
        C(cri_NAMESPACE_NAME.lock) for M(podlab.playground.cri_pod).
    type: int
    default: 600
attributes:
  check_mode:
    support: full
    details:
      - Check mode returns the same RV(actions) and C(changed) as a real run, except with O(pull=always),
        where whether a newer image exists is only known by pulling it (check mode assumes not).
  diff_mode:
    support: full
    details: The diff shows the sandbox, every member and init container (image, state, spec hash) and the volumes, before and after.
"""
