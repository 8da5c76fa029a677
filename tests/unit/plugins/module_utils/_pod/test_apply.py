# Copyright: podlab.playground contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The executor's background step: the actions that may overlap it begin at once and wait where they need it; every
other action waits for it to end; its failure fails the run as its own step's."""
from __future__ import annotations

import threading

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.podlab.playground.plugins.module_utils._pod.apply import PodError, PodExecutor
from ansible_collections.podlab.playground.plugins.module_utils._pod.plan import G_MEMBERS, PodAction
from ansible_collections.podlab.playground.plugins.module_utils._pod.spec import ARGUMENT_SPEC, build_spec


class Recording(PodExecutor):
    """A sandbox whose start goes on until the test lets it end; members that record what they saw."""

    runtime_errors = (OSError,)
    overlaps_background = frozenset({"member_create"})

    def __init__(self, spec, *, start_fails=False):
        super().__init__(spec, cgroup_parent=None, sandbox_id=None, cgroups={})
        self.release = threading.Event()
        self.events: list[str] = []
        self.lock = threading.Lock()
        self.start_fails = start_fails

    def note(self, event):
        with self.lock:
            self.events.append(event)

    def _start_sandbox(self):
        self.release.wait(5)
        self.note("sandbox started")
        if self.start_fails:
            raise OSError("cannot start container: OCI runtime error")

    def _sandbox_create(self, action):
        self.sandbox_id = "sb"
        self.in_background(action, self._start_sandbox)

    def _member_create(self, action):
        self.note(f"created {action.data['member']}")
        if len([e for e in self.events if e.startswith("created")]) == 2:
            self.release.set()  # both members were made while the sandbox was still starting
        self.settled()
        self.note(f"started {action.data['member']}")

    def _volume_remove(self, action):
        self.note("volume removed")


def spec():
    params = ArgumentSpecValidator(ARGUMENT_SPEC).validate(
        {"name": "foo", "containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "x"}]})
    return build_spec(params.validated_parameters)


def plan():
    return [PodAction("sandbox_create", "foo_sandbox", "missing", data={"start": True}),
            PodAction("member_create", "foo_a", "missing", G_MEMBERS, {"member": "a", "start": True}),
            PodAction("member_create", "foo_b", "missing", G_MEMBERS, {"member": "b", "start": True}),
            PodAction("volume_remove", "foo_old", "no longer a pod volume")]


def test_members_are_made_while_the_sandbox_starts_and_started_after_it():
    executor = Recording(spec())
    executor.run(plan())
    events = executor.events
    assert events.index("sandbox started") > max(events.index("created a"), events.index("created b"))
    assert events.index("sandbox started") < min(events.index("started a"), events.index("started b"))
    assert events[-1] == "volume removed"


def test_an_action_that_may_not_overlap_waits_for_the_background_step():
    executor = Recording(spec())
    actions = [plan()[0], plan()[3]]
    threading.Timer(0.2, executor.release.set).start()
    executor.run(actions)
    assert executor.events == ["sandbox started", "volume removed"]


def test_the_background_steps_failure_is_its_own_steps():
    executor = Recording(spec(), start_fails=True)
    with pytest.raises(PodError) as caught:
        executor.run(plan())
    assert caught.value.step == "create sandbox foo_sandbox (missing)"
    assert "cannot start container: OCI runtime error" in caught.value.cause
    assert not any(e.startswith("started") for e in executor.events)
    assert "volume removed" not in executor.events
