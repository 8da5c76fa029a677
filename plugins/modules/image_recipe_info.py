#!/usr/bin/python
# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

DOCUMENTATION = r"""
---
module: image_recipe_info
short_description: Read in one run what the playground images are made of
version_added: 0.1.0
description:
  - Reads what the recipes of the role C(podlab.playground.playground_images) depend on, so that a run of the role
    with nothing to build costs one task.
  - For each of O(files), its SHA-256 and the shared libraries C(ldd) reports for it (one C(ldd) for all files), and
    the SHA-256 of every such library.
  - For each of O(packages), whether the Debian package is installed (one C(dpkg-query) for all).
  - For each of O(images), its ID and labels, or null when the Docker daemon has no such image.
  - Always the host (Debian family or not, its dpkg architecture, the effective user, the C(docker) command) and the
    Docker daemon's version and platform. A daemon that does not answer is not a failure; RV(daemon.error) says why,
    for the caller to report.
author:
  - podlab.playground contributors (@podlab)
requirements:
  - C(ldd) when O(files) is given; C(dpkg) and C(dpkg-query) on Debian-family hosts.
  - The Docker daemon on the same host. Over its Unix socket (the default) nothing more is needed; a C(tcp://) or
    C(ssh://) O(docker_host) needs the Docker SDK for Python (5.0.3 or later).
extends_documentation_fragment:
  - podlab.playground.attributes
  - podlab.playground.attributes.read_only
options:
  files:
    description:
      - Files on the managed host to checksum and to ask C(ldd) about. Those that are not readable regular files are
        listed in RV(missing_files).
    type: list
    elements: path
    default: []
  packages:
    description:
      - Debian packages to look up, by name without an architecture qualifier. A package dpkg does not know is not
        installed.
    type: list
    elements: str
    default: []
  images:
    description: Docker images to read, by name or ID.
    type: list
    elements: str
    default: []
  docker_host:
    description:
      - The Docker daemon. Defaults to E(DOCKER_HOST), then C(unix:///var/run/docker.sock). The C(docker) command's
        contexts are not read.
    type: str
notes:
  - It never changes anything; C(changed) is always false.
  - The daemon's architecture is the kernel's machine name as Docker reports it (RV(daemon.architecture)), also given
    as a GOARCH name (RV(daemon.arch)), which is what C(docker version) says for a daemon built for the kernel's
    architecture.
seealso:
  - name: The playground_images role
    description: Builds the playground's images; this module is its preflight and change detection.
    link: https://github.com/podlab/playground/tree/main/roles/playground_images
"""

EXAMPLES = r"""
- name: Read the busybox binary, its package and the image made of it
  podlab.playground.image_recipe_info:
    files: [/bin/busybox, /usr/bin/ipcs]
    packages: [busybox-static]
    images: [podlab/busybox:1]
  register: recipe

- name: Rebuild the image when the binaries it holds changed
  ansible.builtin.debug:
    msg: >-
      busybox {{ recipe.checksums['/bin/busybox'] }}, ipcs needs {{ recipe.libraries['/usr/bin/ipcs'] | join(', ') }};
      the image is {{ recipe.images['podlab/busybox:1'].id | default('absent') }}
  when: recipe.daemon.error is none
"""

RETURN = r"""
host:
  description: The managed host.
  returned: always
  type: dict
  contains:
    debian:
      description: Whether it is a Debian-family system (C(/etc/debian_version) exists).
      type: bool
    os:
      description: C(PRETTY_NAME) from C(/etc/os-release), or null.
      type: str
    dpkg_arch:
      description: C(dpkg --print-architecture), or null without dpkg.
      type: str
    uid:
      description: The effective user ID the module runs as.
      type: int
    user:
      description: That user's name (the ID when it has none).
      type: str
    docker_cli:
      description: Path of the C(docker) command, or null when it is not on the PATH.
      type: str
  sample: {debian: true, os: Debian GNU/Linux 12 (bookworm), dpkg_arch: amd64, uid: 0, user: root, docker_cli: /usr/bin/docker}
daemon:
  description: The Docker daemon's version and platform, from its info; all null but RV(daemon.host) and RV(daemon.error) when it does not answer.
  returned: always
  type: dict
  contains:
    host:
      description: The daemon's address as read (O(docker_host), else E(DOCKER_HOST), else the default socket).
      type: str
    version:
      description: C(ServerVersion).
      type: str
    os:
      description: C(OSType), for example V(linux).
      type: str
    architecture:
      description: C(Architecture), the kernel's machine name, for example V(x86_64).
      type: str
    arch:
      description: The same as a GOARCH name, for example V(amd64).
      type: str
    error:
      description: Why the daemon did not answer, or null.
      type: str
  sample: {host: unix:///var/run/docker.sock, version: 20.10.24+dfsg1, os: linux, architecture: x86_64, arch: amd64, error: null}
libraries:
  description: For each of O(files), the libraries C(ldd) names with a path (none for a static file or an unreadable one).
  returned: always
  type: dict
  sample: {/bin/busybox: [], /usr/bin/ipcs: [/lib/x86_64-linux-gnu/libc.so.6, /lib64/ld-linux-x86-64.so.2]}
checksums:
  description: The SHA-256 of each of O(files) and of each of their libraries; null for a file that is not readable.
  returned: always
  type: dict
  sample: {/bin/busybox: 6f0c2a..., /lib/x86_64-linux-gnu/libc.so.6: 1d0e7a...}
missing_files:
  description: The files and libraries that are not readable regular files.
  returned: always
  type: list
  elements: str
  sample: [/usr/bin/tini-static]
libraries_not_found:
  description: The libraries C(ldd) cannot find, with the file that needs each.
  returned: always
  type: list
  elements: dict
  sample: [{file: /usr/local/bin/tool, library: libfoo.so.1}]
packages:
  description: For each of O(packages), whether it is installed; null for all when the host has no dpkg-query.
  returned: always
  type: dict
  sample: {busybox-static: true, debootstrap: false}
images:
  description: For each of O(images), C(id) and C(labels) ({} when it has none), or null when there is no such image
    (or the daemon did not answer).
  returned: always
  type: dict
  sample: {podlab/busybox:1: {id: "sha256:03706755d59a...", labels: {io.podlab.content-hash: 9c1f...}}, podlab/pause:1: null}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.podlab.playground.plugins.module_utils._image_recipe import ARGUMENT_SPEC, ImageRecipeInfo


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    module.exit_json(**ImageRecipeInfo(module).run())


if __name__ == "__main__":
    main()
