#!/usr/bin/python
# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Test-only: what `crictl rmp -f`, `crictl rm -f` and `crictl stop` do, for the fault suite
(no crictl binary can be had here). Calls the CRI directly with the collection's client."""
from __future__ import annotations

DOCUMENTATION = r"""
module: cri_behind_back
short_description: Remove or stop a CRI sandbox or container behind cri_pod's back (tests only)
description: The fault suite's stand-in for crictl rmp -f, crictl rm -f and crictl stop.
options:
  op:
    description: What to do.
    type: str
    required: true
    choices: [remove_sandbox, remove_container, stop_container]
  id:
    description: The sandbox's or container's ID.
    type: str
    required: true
  cri_socket:
    description: The CRI endpoint.
    type: str
    default: unix:///run/containerd/containerd.sock
author: podlab.playground contributors
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.podlab.playground.plugins.module_utils._cri.client import CriClient, CriError


def main() -> None:
    module = AnsibleModule(argument_spec={
        "op": {"type": "str", "required": True, "choices": ["remove_sandbox", "remove_container", "stop_container"]},
        "id": {"type": "str", "required": True},
        "cri_socket": {"type": "str", "default": "unix:///run/containerd/containerd.sock"},
    })
    op, target = module.params["op"], module.params["id"]
    try:
        client = CriClient(module.params["cri_socket"])
        if op == "remove_sandbox":
            client.stop_pod_sandbox(target)
            client.remove_pod_sandbox(target)
        elif op == "remove_container":
            client.stop_container(target, 0)
            client.remove_container(target)
        else:
            client.stop_container(target, 0)
    except CriError as exc:
        module.fail_json(msg=f"{op} {target}: {exc}")
    module.exit_json(changed=True)


if __name__ == "__main__":
    main()
