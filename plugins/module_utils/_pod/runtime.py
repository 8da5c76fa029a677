# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to podlab.playground: what the pod engine asks of a container runtime. Not a public API.

The engine (spec -> observe -> plan -> apply) is one; Docker and the CRI differ only in what a
runtime implements here: how it observes the pod, what it can restart or change in place, the
namespaces its members share with the sandbox, and how it carries out each kind of plan action.
"""
from __future__ import annotations

from typing import Any, Protocol

from ansible_collections.podlab.playground.plugins.module_utils._pod.model import ContainerView
from ansible_collections.podlab.playground.plugins.module_utils._pod.observe import ObservedPod
from ansible_collections.podlab.playground.plugins.module_utils._pod.spec import MemberOption, MemberSpec, PodSpec

NOT_SHOWN = object()  # read_back's answer when the runtime does not show an option (the spec hash covers it)


class PodRuntime(Protocol):
    name: str
    # A stopped sandbox or exited container can be started again (Docker); else it is made anew (CRI).
    restartable: bool
    # state: absent removes the sandbox together with its members (Docker: each is a container of its own, and the
    # members hold the namespaces they joined), else after them (CRI: containerd's StopPodSandbox then has no
    # container left to stop; removing all at once measured slower, bench/cri_pod.py).
    sandbox_goes_with_members: bool

    def observe(self, spec: PodSpec) -> ObservedPod: ...

    def shared_namespaces(self, spec: PodSpec) -> tuple[str, ...]:
        """Namespace types every running member must share with the running sandbox."""

    def sandbox_drift(self, spec: PodSpec, sandbox: ContainerView) -> list[str]:
        """Why the sandbox differs from the spec in what the runtime shows beyond its spec hash."""

    def read_back(self, option: MemberOption, member: MemberSpec, container: ContainerView) -> Any:
        """The option's value as the runtime shows it, or NOT_SHOWN."""
